"""Training loop: bit-identical resume, run directory contents, configs and overrides, curves."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from hrm.checkpoint import load_model, read_metadata
from hrm.errors import HRMError
from hrm.train import TRAIN_PRESETS, get_train_preset, train
from hrm.train.config import TrainConfig
from hrm.train.state import load_resume
from tests.test_train_support import make_copy_dataset, tiny_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_copy_dataset(tmp_path_factory.mktemp("data") / "copy")


def _tensors(state: dict, prefix: str = "") -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state.items():
        if isinstance(value, torch.Tensor):
            out[prefix + str(key)] = value
        elif isinstance(value, dict):
            out.update(_tensors(value, f"{prefix}{key}."))
    return out


def test_resume_continues_bit_identically(dataset: Path, tmp_path: Path) -> None:
    config = tiny_config(total_steps=10, eval_every=4, ema=True)
    straight = train(config, tmp_path / "straight", device="cpu", data_dir=dataset)
    paused = train(config, tmp_path / "split", device="cpu", data_dir=dataset, until=5)
    assert (straight.status, paused.status, paused.step) == ("finished", "paused", 5)
    resumed = train(config, tmp_path / "split", device="cpu", data_dir=dataset, resume=True)
    assert (resumed.status, resumed.step) == ("finished", 10)

    a, b = load_resume(tmp_path / "straight" / "resume.pt"), load_resume(tmp_path / "split" / "resume.pt")
    for part in ("model", "optimizer", "ema", "carry"):
        ta, tb = _tensors(a[part]), _tensors(b[part])
        assert ta.keys() == tb.keys() and ta, part
        for key in ta:
            assert torch.equal(ta[key], tb[key]), f"{part}.{key}"
    assert a["sampler"] == b["sampler"]
    assert torch.equal(a["rng"][0]["cpu"], b["rng"][0]["cpu"])
    # the exported (EMA) weights and the eval records agree too
    wa, _ = load_model(tmp_path / "straight" / "last.safetensors")
    wb, _ = load_model(tmp_path / "split" / "last.safetensors")
    for (name, x), (_, y) in zip(wa.state_dict().items(), wb.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    evals = [[r for r in map(json.loads, (tmp_path / run / "metrics.jsonl").read_text().splitlines())
              if "eval/exact_accuracy" in r] for run in ("straight", "split")]
    strip = [[{k: v for k, v in r.items() if k != "time"} for r in runs] for runs in evals]
    assert strip[0] == strip[1] and [r["step"] for r in evals[0]] == [4, 8, 10]


def test_run_directory_layout_and_checkpoint_metadata(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = train(tiny_config(total_steps=6, eval_every=3), run, device="cpu", data_dir=dataset)
    assert {p.name for p in run.iterdir()} >= {"config.json", "metrics.jsonl", "last.safetensors",
                                                "best.safetensors", "resume.pt"}
    assert not [p for p in run.iterdir() if p.name.startswith(".")], "temporary files left behind"
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["total_steps"] == 6 and config["dataset"]["content_hash"]
    meta = read_metadata(run / "last.safetensors")
    assert meta["task"] == "sudoku" and meta["train_step"] == "6"
    assert meta["dataset_hash"] == config["dataset"]["content_hash"]
    assert json.loads(meta["hrm_config"])["hidden_size"] == 32
    assert result.best is not None and read_metadata(run / "best.safetensors")["train_step"] == str(result.best["step"])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    train_records = [r for r in records if "train/loss" in r]
    assert [r["step"] for r in train_records] == [3, 6]
    assert all(r["lr"] > 0 and r["examples_per_s"] > 0 and "train/exact_accuracy" in r for r in train_records)
    with pytest.raises(HRMError, match="already holds a run"):
        train(tiny_config(total_steps=6), run, device="cpu", data_dir=dataset)


def test_training_reduces_the_loss(dataset: Path, tmp_path: Path) -> None:
    result = train(tiny_config(total_steps=30, eval_every=30, log_every=10, lr=3e-3), tmp_path / "run",
                   device="cpu", data_dir=dataset)
    # the LM loss falls; the total may rise for a while as q_halt starts seeing exact answers
    losses = [r["train/lm_loss"] for r in result.history if "train/lm_loss" in r]
    assert losses[-1] < 0.5 * losses[0]
    assert result.last_eval is not None and result.last_eval.token_accuracy > 0.5


def test_resume_refuses_a_different_model(dataset: Path, tmp_path: Path) -> None:
    train(tiny_config(total_steps=4), tmp_path / "run", device="cpu", data_dir=dataset, until=2)
    other = tiny_config(total_steps=4, model_overrides={"hidden_size": 64, "puzzle_emb_ndim": 64})
    with pytest.raises(HRMError, match="model config differs"):
        train(other, tmp_path / "run", device="cpu", data_dir=dataset, resume=True)


def test_plot_writes_a_png(dataset: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from hrm.train.plot import plot_run

    train(tiny_config(total_steps=6, eval_every=3), tmp_path / "run", device="cpu", data_dir=dataset)
    path = plot_run(tmp_path / "run")
    assert path == tmp_path / "run" / "curves.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------------
# Configuration


def test_paper_presets_follow_the_reference() -> None:
    sudoku, arc = TRAIN_PRESETS["sudoku-paper"], TRAIN_PRESETS["arc-paper"]
    assert (sudoku.global_batch_size, sudoku.lr, sudoku.lr_warmup_steps, sudoku.weight_decay,
            sudoku.puzzle_emb_lr, sudoku.epochs, sudoku.eval_interval) == (768, 1e-4, 2000, 1.0, 1e-4, 20000, 2000)
    assert (arc.weight_decay, arc.puzzle_emb_lr, arc.epochs, arc.eval_interval) == (0.1, 1e-2, 100000, 10000)
    assert (sudoku.beta1, sudoku.beta2, sudoku.lr_min_ratio, sudoku.ema) == (0.9, 0.95, 1.0, False)
    # Sudoku 1k with 1000 augmentations: 1000 examples per epoch -> 26,041 optimizer steps (reference sampler)
    assert sudoku.steps_for(1000.0) == (26041, 2605)
    trm = get_train_preset("sudoku", "trm")
    assert (trm.model, trm.ema, trm.ema_decay) == ("trm-sudoku", True, 0.999)
    for task in ("sudoku", "maze", "arc"):
        cpu = get_train_preset(task, "cpu")
        assert cpu.model_config().hidden_size <= 128 and cpu.total_steps > 0


def test_overrides_are_typed_and_validated() -> None:
    config = get_train_preset("sudoku", "paper").with_overrides(
        ["lr=3e-4", "ema=true", "eval_limit=100", "compile=auto", "model.halt_max_steps=8", "--global-batch-size=384"])
    assert (config.lr, config.ema, config.eval_limit, config.compile, config.global_batch_size) == (
        3e-4, True, 100, None, 384)
    assert config.model_config().halt_max_steps == 8
    for bad, message in (("lr", "not key=value"), ("lrr=1", "unknown training option"),
                         ("model.size=3", "unknown model option"), ("global_batch_size=1.5", "expected an integer"),
                         ("ema=maybe", "expected bool"), ("lr=-1", "lr must be positive")):
        with pytest.raises(HRMError, match=message):
            get_train_preset("sudoku", "paper").with_overrides([bad])


def test_config_round_trips_through_json() -> None:
    config = get_train_preset("arc", "trm").with_overrides(["model.halt_max_steps=4", "seed=3"])
    assert TrainConfig.from_dict(json.loads(config.to_json())) == config


def test_unknown_presets_and_mismatched_models_are_clear_errors() -> None:
    with pytest.raises(HRMError, match="choose one of: paper, trm, cpu"):
        get_train_preset("maze", "fast")
    with pytest.raises(HRMError, match="is for maze, not sudoku"):
        get_train_preset("sudoku", "paper").with_overrides(["model=hrm-maze"])


def test_training_engine_imports_no_front_end() -> None:
    import subprocess
    import sys

    code = ("import sys, hrm.train, hrm.train.plot, hrm.train.distributed; "
            "print(sorted(m for m in ('rich', 'typer', 'textual', 'hrm_cli', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_curriculum_stage_starts_from_the_last_stages_weights(dataset: Path, tmp_path: Path) -> None:
    first = train(tiny_config(total_steps=4, eval_every=4, seed=1), tmp_path / "a", device="cpu", data_dir=dataset)
    trained, _ = load_model(first.run_dir / "last.safetensors")
    second = train(tiny_config(total_steps=4, eval_every=4, init_weights=str(first.run_dir / "last.safetensors")),
                   tmp_path / "b", device="cpu", data_dir=dataset, until=1)
    assert second.status == "paused"
    state = load_resume(tmp_path / "b" / "resume.pt")["model"]
    start = {k: v for k, v in trained.state_dict().items()}
    moved = [k for k, v in start.items() if not torch.allclose(v.float(), state[k].float(), atol=2.5e-3)]
    assert not moved, moved                            # one step of lr 1e-3 away from the loaded weights
    fresh = train(tiny_config(total_steps=4, eval_every=4), tmp_path / "c", device="cpu", data_dir=dataset, until=1)
    assert fresh.status == "paused"
    far = load_resume(tmp_path / "c" / "resume.pt")["model"]
    assert any(not torch.allclose(v.float(), far[k].float(), atol=0.05) for k, v in start.items())
    with pytest.raises(HRMError, match="does not fit this model"):
        train(tiny_config(init_weights=str(first.run_dir / "last.safetensors"),
                          model_overrides={"hidden_size": 64, "num_heads": 2}),
              tmp_path / "d", device="cpu", data_dir=dataset)


def test_a_resume_file_with_code_in_it_is_refused_without_torchs_unsafe_advice(tmp_path: Path) -> None:
    import os
    import pickle

    class Payload:
        def __reduce__(self) -> tuple:   # the classic pickle payload: run a shell command on load
            return (os.system, ("echo owned > " + str(tmp_path / "owned"),))

    path = tmp_path / "resume.pt"
    torch.save({"version": 1, "x": Payload()}, path, pickle_module=pickle)
    with pytest.raises(HRMError) as caught:
        load_resume(path)
    assert "never runs code" in str(caught.value) and "weights_only" not in str(caught.value)
    assert not (tmp_path / "owned").exists()


def test_warmup_stable_decay_holds_the_rate_then_cools_down_over_its_last_steps() -> None:
    from hrm.optim import lr_at

    def rates(decay_steps: int) -> list[float]:
        return [lr_at(step, 1e-3, 10, 100, 0.1, decay_steps) for step in range(101)]

    wsd, cosine = rates(20), rates(0)
    assert wsd[:11] == cosine[:11]                                        # the same warmup
    assert all(rate == 1e-3 for rate in wsd[10:81])                       # constant until the last 20
    assert all(a > b for a, b in zip(wsd[80:], wsd[81:], strict=False))   # then strictly down
    assert wsd[100] == pytest.approx(1e-4) and cosine[100] == pytest.approx(1e-4)
    assert cosine[50] < 1e-3                                              # plain cosine decays from the warmup


def test_a_constant_rate_run_is_cooled_down_by_resuming_with_a_decay_window(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(tiny_config(total_steps=12), run, device="cpu", data_dir=dataset, until=6)
    cooled = tiny_config(total_steps=12, lr_decay_steps=6, lr_min_ratio=0.1)
    assert train(cooled, run, device="cpu", data_dir=dataset, resume=True).status == "finished"
    rates = {r["step"]: r["lr"] for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
             if "lr" in r}
    assert rates[3] == rates[6] == 1e-3 and 1e-4 < rates[9] < 1e-3 and rates[12] == pytest.approx(1e-4)
    with pytest.raises(HRMError, match="lr_decay_steps"):
        cooled.with_overrides(["lr_decay_steps=-1"])


def test_compile_on_a_cpu_without_a_cxx_compiler_trains_eager_with_a_warning(
        dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from hrm.train import Reporter, loop

    class Collect(Reporter):
        def __init__(self) -> None:
            self.lines: list[str] = []

        def log(self, message: str) -> None:
            self.lines.append(message)

    compiled: list[object] = []
    monkeypatch.setattr(loop.shutil, "which", lambda name: None)
    monkeypatch.setattr(torch.nn.Module, "compile", lambda module, *a, **k: compiled.append(module))
    reporter = Collect()
    result = train(tiny_config(total_steps=2, compile=True), tmp_path / "run", device="cpu", data_dir=dataset,
                   reporter=reporter)
    assert result.status == "finished" and not compiled
    assert any("needs a C++ compiler" in line for line in reporter.lines)


def test_an_hrm_seeded_by_a_trm_starts_with_the_trms_forward() -> None:
    """TRM's two updates are HRM's with H_level = L_level: seeded from a TRM, the HRM's segments
    (latents, logits, halting) equal the TRM's, and without the copy they do not."""
    from hrm.config import get_preset
    from hrm.model import HRM
    from hrm.train.loop import seeded_from_trm

    torch.manual_seed(0)
    trm_config = get_preset("trm-sudoku-tiny")
    hrm_config = replace(trm_config, arch="hrm", H_layers=1)
    trm, hrm, unseeded = HRM(trm_config), HRM(hrm_config), HRM(hrm_config)
    with torch.no_grad():
        trm.q_head.weight.normal_()                   # a non-trivial halting head to compare
    hrm.load_state_dict(seeded_from_trm(hrm, trm))
    unseeded.load_state_dict({**seeded_from_trm(unseeded, trm),
                              **{k: v for k, v in unseeded.state_dict().items() if k.startswith("H_level.")}})
    batch = {"inputs": torch.randint(1, 11, (3, 81)), "labels": torch.randint(1, 11, (3, 81)),
             "puzzle_identifiers": torch.zeros(3, dtype=torch.int32)}
    states = [model.initial_state(3) for model in (trm, hrm, unseeded)]
    for _ in range(3):
        outs = [model.segment(*state, batch) for model, state in zip((trm, hrm, unseeded), states, strict=True)]
        for mine, theirs in zip(outs[1], outs[0], strict=True):
            torch.testing.assert_close(mine, theirs, rtol=0, atol=0)
        assert not torch.allclose(outs[2][2], outs[0][2], atol=1e-3)
        states = [(out[0], out[1]) for out in outs]


def test_nearest_targets_are_for_mazes_only() -> None:
    maze = get_train_preset("maze", "cpu")
    assert replace(maze, targets="nearest").targets == "nearest"
    with pytest.raises(HRMError, match="nearest is for mazes"):
        tiny_config(targets="nearest")
    with pytest.raises(HRMError, match="targets must be one of"):
        replace(maze, targets="closest")


def test_nearest_targets_replace_the_labels_in_training_and_evaluation(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from hrm.data.build import BuildOptions, build_dataset
    from hrm.train import loop

    root = build_dataset("maze-small", tmp_path / "maze", BuildOptions(limit=8, workers=1))
    seen: list[tuple[int, bool]] = []
    real = loop.nearest_path_labels

    def spy(inputs: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        seen.append((inputs.shape[0], torch.is_grad_enabled()))
        return real(inputs, labels, logits)

    monkeypatch.setattr(loop, "nearest_path_labels", spy)
    config = replace(get_train_preset("maze", "cpu"), model="trm-maze-tiny", global_batch_size=4, total_steps=2,
                     eval_every=2, eval_batch_size=8, lr_warmup_steps=1, log_every=1, compile=False,
                     targets="nearest", model_overrides={"attention_window": 3, "pos_encodings": "rope2d",
                                                         "halt_max_steps": 2})
    result = train(config, tmp_path / "run", device="cpu", data_dir=root)
    assert result.status == "finished"
    training_calls = [n for n, grad in seen if grad]
    evaluation_calls = [n for n, grad in seen if not grad]
    assert training_calls == [4, 4]                  # one per step, on the batch
    assert len(evaluation_calls) == 2                # one per segment of the held-out batch
