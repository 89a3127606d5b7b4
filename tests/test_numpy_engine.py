"""The numpy engine computes what the torch model computes, reads the same files, and keeps torch unloaded."""

from __future__ import annotations

import json
import re
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from hrm.checkpoint import save_model
from hrm.config import get_preset
from hrm.errors import HRMError, WeightsError
from hrm.model import HRM
from hrm.numpy_engine import NumpyHRM, read_safetensors
from hrm.solver import iter_steps, solve
from hrm.tasks import get_task
from hrm.weights import _gpu_present, load_model, pick_engine

REPO = Path(__file__).resolve().parents[1]

CASES = {
    "hrm attention rope": ("hrm-sudoku-tiny", {}),
    "hrm mlp mixer": ("hrm-sudoku-tiny", {"mixer": "mlp", "pos_encodings": "none"}),
    "hrm learned positions, two layers": ("hrm-sudoku-tiny", {"pos_encodings": "learned", "L_layers": 2}),
    "trm, no continue head": ("trm-sudoku-tiny", {}),
    "arc puzzle prefix": ("hrm-arc-tiny", {"num_puzzle_identifiers": 5, "seq_len": 64}),
    "hrm 3x3 attention window": ("hrm-sudoku-tiny", {"attention_window": 3}),
    "trm window on L only, prefix of 4": ("trm-sudoku-att-tiny", {"attention_window": 5, "window_levels": "L",
                                                                  "puzzle_emb_len": 4, "H_cycles": 1, "L_cycles": 2}),
    "trm rope2d with a 3x3 window": ("trm-sudoku-att-tiny", {"pos_encodings": "rope2d", "attention_window": 3,
                                                             "H_cycles": 1, "L_cycles": 2}),
}


def _random_model(preset: str, overrides: dict) -> HRM:
    torch.manual_seed(1)
    model = HRM(get_preset(preset).with_overrides(**overrides)).eval()
    with torch.no_grad():  # make the heads and puzzle table matter (they start at zero)
        model.q_head.weight.normal_(0, 0.5)
        if model.puzzle_emb is not None:
            model.puzzle_emb.weights.normal_(0, 1)
    return model


def _batch(config, batch: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, config.vocab_size, size=(batch, config.seq_len)).astype(np.int32)
    ids = rng.integers(0, config.num_puzzle_identifiers, size=batch).astype(np.int32)
    return inputs, ids


Outputs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]   # z_H, z_L, logits, q_logits


def segments_on_both_engines(model: HRM, twin: NumpyHRM, inputs: np.ndarray, ids: np.ndarray,
                             count: int = 2) -> Iterator[tuple[Outputs, Outputs]]:
    """`count` segments of the torch model and its numpy twin, each from its own carry; yields
    (torch outputs as numpy, numpy outputs) after every segment."""
    data = {"inputs": torch.as_tensor(inputs), "puzzle_identifiers": torch.as_tensor(ids)}
    with torch.no_grad():
        zH, zL = model.initial_state(len(inputs))
    nH, nL = twin.initial_state(len(inputs))
    for _ in range(count):
        with torch.no_grad():
            zH, zL, logits, q = model.segment(zH, zL, data)
        nH, nL, n_logits, n_q = twin.segment(nH, nL, inputs, ids)
        yield (zH.numpy(), zL.numpy(), logits.numpy(), q.numpy()), (nH, nL, n_logits, n_q)


@pytest.mark.parametrize("case", CASES)
def test_two_segments_match_the_torch_model(case: str, tmp_path: Path):
    model = _random_model(*CASES[case])
    save_model(tmp_path / "m.safetensors", model)
    twin, _ = NumpyHRM.from_file(tmp_path / "m.safetensors")
    inputs, ids = _batch(model.config)
    for (_, zL, logits, q), (_, nL, n_logits, n_q) in segments_on_both_engines(model, twin, inputs, ids):
        for mine, theirs in ((n_logits, logits), (n_q, q), (nL, zL)):
            assert _float32_close(mine, theirs)
    assert twin.num_parameters() == model.num_parameters()


def _float32_close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to float32 rounding of two BLAS libraries summing in different orders: 1e-4 of the
    tensor's scale (states reach 3-5; a bug shows as differences of order 1)."""
    return float(np.abs(a - b).max()) < 1e-4 * max(1.0, float(np.abs(b).max()))


def test_bf16_files_are_widened_exactly(tmp_path: Path):
    model = _random_model("hrm-sudoku-tiny", {})
    save_model(tmp_path / "half.safetensors", model, dtype=torch.bfloat16)
    tensors, metadata = read_safetensors(tmp_path / "half.safetensors")
    expected = model.lm_head.weight.detach().to(torch.bfloat16).float().numpy()
    assert tensors["lm_head.weight"].dtype == np.float32
    np.testing.assert_array_equal(tensors["lm_head.weight"], expected)
    assert metadata["dtype"] == "bfloat16"


def test_shipped_weights_give_the_same_trajectory_on_both_engines(examples_dir: Path):
    task = get_task("sudoku")
    puzzles = [task.parse((examples_dir / "sudoku" / f"easy{i}.txt").read_text())[0] for i in (1, 2, 3)]
    inputs = np.stack([task.encode(p) for p in puzzles])
    runs = {engine: list(iter_steps(load_model(None, "sudoku", "cpu", engine=engine).model, inputs,
                                    adaptive=True, record_inner=True))
            for engine in ("torch", "numpy")}
    assert len(runs["torch"]) == len(runs["numpy"])
    for a, b in zip(runs["torch"], runs["numpy"], strict=True):
        np.testing.assert_array_equal(a.tokens, b.tokens)
        np.testing.assert_array_equal(a.halted, b.halted)
        np.testing.assert_allclose(a.q_halt, b.q_halt, atol=5e-5)   # fp32 sums in another order, 3+ segments
        np.testing.assert_allclose(a.l_residuals, b.l_residuals, rtol=1e-3)


def test_numpy_engine_solves_with_attempts_and_noise(examples_dir: Path):
    task = get_task("sudoku")
    loaded = load_model(None, "sudoku", engine="numpy")
    puzzle = task.parse((examples_dir / "sudoku" / "easy1.txt").read_text())[0]
    solution = solve(loaded, task, [puzzle], attempts=2, noise=0.05)[0]
    assert solution.verified and task.verify(puzzle, solution.answer).ok


@pytest.mark.parametrize("garbage", [b"", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}",
                                     b"\xff" * 8 + b"{}", b"not a weights file at all"])
def test_malformed_files_raise_weights_errors(tmp_path: Path, garbage: bytes):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(garbage)
    with pytest.raises(WeightsError):
        NumpyHRM.from_file(path)


def test_truncated_weights_raise_weights_errors(tmp_path: Path):
    shipped = (REPO / "weights" / "sudoku-hrm-h128.safetensors").read_bytes()
    path = tmp_path / "cut.safetensors"
    path.write_bytes(shipped[: len(shipped) // 2])
    with pytest.raises(WeightsError, match="truncated"):
        NumpyHRM.from_file(path)


def test_engine_choice_weighs_the_model(tmp_path: Path):
    from hrm.numpy_engine import model_size

    shipped = REPO / "weights" / "sudoku-hrm-h128.safetensors"
    model = load_model(shipped, engine="torch").model
    assert model_size(shipped) == (model.num_parameters(), 81)
    big = tmp_path / "big.safetensors"   # paper-width maze model: 1.7e7 parameters x 900 tokens
    save_model(big, _random_model("hrm-maze-tiny", {"hidden_size": 512, "num_heads": 8, "H_layers": 4,
                                                      "L_layers": 4}))
    assert model_size(big)[0] * 900 > 5e9 > model_size(shipped)[0] * 81
    assert pick_engine("auto", "cpu", 1, shipped) == "numpy"
    assert pick_engine("auto", "cpu", 1, big) == "torch"       # numpy would cost more than the import saves
    assert pick_engine("numpy", "cpu", 1, big) == "numpy"      # unless asked for


def test_engine_choice():
    assert pick_engine("numpy", "cpu", 1000) == "numpy"
    assert pick_engine("torch", "auto", 1) == "torch"
    assert pick_engine("auto", "cpu", 1) == "numpy"
    assert pick_engine("auto", "cpu", 1000) == "torch"
    assert pick_engine("auto", "cuda", 1) == "torch"
    with pytest.raises(WeightsError, match="CPU only"):
        pick_engine("numpy", "cuda", 1)
    with pytest.raises(WeightsError, match="unknown engine"):
        pick_engine("jax", "cpu", 1)


def test_a_one_puzzle_solve_never_imports_torch(examples_dir: Path):
    # on a machine with a GPU, 'auto' picks torch (and the GPU) by design: the CPU path is then asked for
    cpu = ", '--device', 'cpu'" if _gpu_present() else ""
    script = ("import runpy, sys\n"
              f"sys.argv = ['hrm', 'solve', {str(examples_dir / 'sudoku' / 'easy2.txt')!r}, '--json'{cpu}]\n"
              "try:\n    runpy.run_module('hrm_cli', run_name='__main__')\n"
              "except SystemExit as stop:\n    code = stop.code\n"
              "print('exit', code, 'torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "exit 0 False", out.stderr
    assert '"verified": true' in out.stdout


@pytest.mark.parametrize("case", CASES)
def test_expected_shapes_are_the_torch_state_dict(case: str):
    from hrm.numpy_engine import expected_shapes

    model = _random_model(*CASES[case])
    assert expected_shapes(model.config) == {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_tensors_that_do_not_fit_the_stored_config_are_refused(tmp_path: Path):
    model = _random_model("hrm-sudoku-tiny", {})
    other = _random_model("hrm-sudoku-tiny", {"expansion": 8.0})     # wider SwiGLU, same embeddings
    save_model(tmp_path / "m.safetensors", other, meta={"hrm_config": model.config.to_json()})
    with pytest.raises(WeightsError, match="shape mismatch in .*mlp"):
        NumpyHRM.from_file(tmp_path / "m.safetensors")


HeaderEdit = Callable[[dict, bytes], tuple[object, bytes]]


def _rewrite_header(path: Path, edit: HeaderEdit) -> None:
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header, data = edit(json.loads(raw[8:8 + length]), raw[8 + length:])
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def _load_both(path: Path) -> list[str]:
    """The error line of each engine (the torch one through hrm.checkpoint)."""
    from hrm.checkpoint import load_model as load_torch

    errors = []
    for load in (NumpyHRM.from_file, load_torch):
        with pytest.raises(WeightsError) as info:
            load(path)
        errors.append(info.value.message)
    return errors


def _swap_offsets(header: dict, data: bytes) -> tuple[dict, bytes]:
    a, b = sorted((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"])[:2]
    header[b]["data_offsets"] = list(header[a]["data_offsets"])          # b now reads a's bytes too
    return header, data


@pytest.mark.parametrize(("edit", "message"), [
    (_swap_offsets, "overlaps|offsets do not hold"),
    (lambda h, d: (h, d + b"\0" * 4096), "not fully covered"),             # bytes no tensor claims
    (lambda h, d: ([h], d), "not a JSON object"),
    (lambda h, d: ({**h, "x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, d), "invalid shape"),
    (lambda h, d: ({**h, "x": {"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}}, d), "unsupported dtype"),
    (lambda h, d: ({**h, "__metadata__": {"hrm_config": 7}}, d), "__metadata__"),
])
def test_both_engines_refuse_the_same_malformed_headers(tmp_path: Path, edit: HeaderEdit, message: str) -> None:
    path = tmp_path / "m.safetensors"
    save_model(path, _random_model("trm-sudoku-tiny", {}))
    _rewrite_header(path, edit)
    for error in _load_both(path):
        assert re.search(message, error), error


def test_a_config_claiming_more_layers_than_the_file_holds_is_refused_before_allocation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file whose config says 32 layers of width 8192 would need gigabytes: both engines
    compare the config's tensors with the header and refuse before building anything."""
    import hrm.checkpoint

    small = _random_model("trm-sudoku-tiny", {})
    huge = small.config.with_overrides(L_layers=32, hidden_size=8192, num_heads=64)
    save_model(tmp_path / "m.safetensors", small, meta={"hrm_config": huge.to_json()})

    def no_model(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was built")

    monkeypatch.setattr(hrm.checkpoint, "HRM", no_model)
    monkeypatch.setattr(NumpyHRM, "__init__", no_model)
    for error in _load_both(tmp_path / "m.safetensors"):
        assert "tensors do not match the stored config" in error


def test_a_config_with_an_infinite_sequence_is_one_clear_error_in_the_size_check(tmp_path: Path) -> None:
    """Found by bench/fuzz.py: `solve -w` sized the job from the raw JSON (int(inf) -> OverflowError)."""
    from hrm.numpy_engine import model_size

    path = tmp_path / "m.safetensors"
    save_model(path, _random_model("trm-sudoku-tiny", {}))

    def infinite_sequence(header: dict, data: bytes) -> tuple[dict, bytes]:
        header["__metadata__"]["hrm_config"] = header["__metadata__"]["hrm_config"].replace(
            '"seq_len": 81', '"seq_len": Infinity')
        return header, data

    _rewrite_header(path, infinite_sequence)
    with pytest.raises(HRMError, match="seq_len must be int"):
        model_size(path)


@pytest.mark.parametrize("card", ['["a", "list"]', '"text"', "7", "[[[[", "{}"])
def test_a_card_that_is_not_a_json_object_reads_as_no_card(card: str) -> None:
    """Found by bench/fuzz.py: `hrm info` iterated a list card (AttributeError)."""
    from hrm.weights import card as read_card

    assert read_card({"card": card}) == {}
