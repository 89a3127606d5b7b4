"""`hrm import` and `--weights hf:...`: the reference layout's variants, every user error as one line, and the
hub path for real against the loopback hub on 127.0.0.1 (tests/loopback_hub.py)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch

from hrm.importer import import_checkpoint, locate
from tests.cli_helpers import run_cli
from tests.loopback_hub import LoopbackHub, closed_port_url

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
PUZZLE = "697.2154.4837596.212563.98785694.371.1.583..63.21678..5742961.8.683.57.4931.78.65"   # examples/sudoku/easy2


@pytest.fixture
def hrm_folder(tmp_path: Path) -> Path:
    """A writable copy of the HRM fixture (checkpoint + all_config.yaml)."""
    folder = tmp_path / "hrm-run"
    shutil.copytree(FIXTURES / "hrm", folder)
    (folder / "reference_outputs.npz").unlink()
    return folder


def edit_arch(folder: Path, old: str, new: str) -> None:
    path = folder / "all_config.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def one_line_error(result) -> str:
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.out == ""
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "Traceback" not in result.err, result.err
    return lines[0]


# ----------------------------------------------------------------------------------------------------
# The reference layout


def test_import_writes_weights_that_solve(hrm_folder, tmp_path, capsys, monkeypatch) -> None:
    out = tmp_path / "imported.safetensors"
    result = run_cli(capsys, monkeypatch, "import", str(hrm_folder), "-o", str(out), "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["arch"] == "hrm" and record["task"] == "sudoku" and record["parameters"] == 132_610
    solved = run_cli(capsys, monkeypatch, "solve", "--weights", str(out), "-", "--json", "-k", "1", stdin=PUZZLE)
    assert solved.code in (0, 1), solved.err       # random weights: it runs; whether it solves is not the point
    answer = json.loads(solved.out.splitlines()[0])
    assert answer["task"] == "sudoku" and answer["segments"] >= 1
    info = run_cli(capsys, monkeypatch, "info", str(out), "--json")
    card = json.loads(info.out)["card"]
    assert card["source"] == str(hrm_folder.resolve()) and card["licence"] == "not stated in the source"
    assert card["stored_dtypes"] == "float32 (H_init, L_init bfloat16), as in the source"


def test_weights_file_choice_step_and_prefix(hrm_folder, tmp_path) -> None:
    state = torch.load(hrm_folder / "checkpoint", weights_only=True)
    (hrm_folder / "checkpoint").unlink()
    torch.save({k.removeprefix("_orig_mod."): v for k, v in state.items()}, hrm_folder / "step_900")
    torch.save({"_orig_mod.garbage": torch.zeros(1)}, hrm_folder / "step_80")
    folder = locate(hrm_folder)
    assert folder.weights.name == "step_900" and folder.train_step == 900     # the highest step, not the last
    import_checkpoint(hrm_folder, tmp_path / "out.safetensors")               # `model.inner.` keys read too


def test_arch_file_with_interpolation_as_config(hrm_folder, tmp_path) -> None:
    arch = tmp_path / "hrm_v1.yaml"
    arch.write_text("name: hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1  # the reference's arch file\n"
                    "loss:\n  name: losses@ACTLossHead\n  loss_type: stablemax_cross_entropy\n"
                    "halt_exploration_prob: 0.1\nhalt_max_steps: 16\nH_cycles: 2\nL_cycles: 2\nH_layers: 1\n"
                    "L_layers: 1\nhidden_size: 64\nnum_heads: 4\nexpansion: 2\npuzzle_emb_ndim: ${.hidden_size}\n"
                    "pos_encodings: rope\n")
    (hrm_folder / "all_config.yaml").unlink()
    converted = import_checkpoint(hrm_folder, tmp_path / "out.safetensors", config=arch)
    assert converted.config.puzzle_emb_ndim == 64


@pytest.mark.parametrize(("change", "message"), [
    (("name: hrm.hrm_act_v1@", "name: hrm.hrm_act_v2@"), "unknown architecture 'hrm.hrm_act_v2@"),
    (("hidden_size: 64", "hidden_size: 128"), "the tensors do not match its all_config.yaml"),
    (("H_layers: 1", "H_layers: 2"), "missing ['H_level.layers.1"),
    (("num_heads: 4", "num_heads: four"), "arch.num_heads must be an integer, not 'four'"),
    (("num_heads: 4", "num_heads: 5"), "hidden_size must be divisible by num_heads"),
    (("arch:\n", "arch:\n  - broken\n"), "all_config.yaml: line"),
])
def test_config_problems_are_one_line(hrm_folder, capsys, monkeypatch, change, message) -> None:
    edit_arch(hrm_folder, *change)
    line = one_line_error(run_cli(capsys, monkeypatch, "import", str(hrm_folder), "-o", str(hrm_folder / "o.st")))
    assert message in line


def test_file_problems_are_one_line(hrm_folder, tmp_path, capsys, monkeypatch) -> None:
    out = str(tmp_path / "o.safetensors")

    def error(*args: str) -> str:
        return one_line_error(run_cli(capsys, monkeypatch, "import", *args, "-o", out))

    assert "no such file or folder" in error(str(tmp_path / "absent"))
    assert "pass --task sudoku" in error(str(hrm_folder), "--task", "maze")
    (hrm_folder / "identifiers.json").write_text(json.dumps(["<blank>", "a", "b"]))
    assert "names 3 puzzles but the checkpoint's puzzle table has 1 rows" in error(str(hrm_folder))
    (hrm_folder / "identifiers.json").unlink()
    (hrm_folder / "all_config.yaml").rename(tmp_path / "elsewhere.yaml")
    assert "no all_config.yaml beside" in error(str(hrm_folder))
    (tmp_path / "elsewhere.yaml").rename(hrm_folder / "all_config.yaml")
    (hrm_folder / "checkpoint").write_bytes(b"PK\x03\x04 not really a zip")
    assert "not a readable torch checkpoint" in error(str(hrm_folder))
    torch.save({"weights": [torch.zeros(2)]}, hrm_folder / "checkpoint")
    assert "not a state_dict" in error(str(hrm_folder))
    assert not Path(out).exists()


class Payload:
    """Unpickling this would run code of the file's choosing: a weights-only load must refuse it."""

    def __reduce__(self) -> tuple:
        return (print, ("unpickled!",))


def test_an_unsafe_pickle_is_refused_without_running(hrm_folder, capsys, monkeypatch) -> None:
    torch.save({"_orig_mod.model.inner.H_init": Payload()}, hrm_folder / "checkpoint")
    line = one_line_error(run_cli(capsys, monkeypatch, "import", str(hrm_folder), "-o", str(hrm_folder / "o")))
    assert "refused: it holds Python objects" in line
    assert "unpickled!" not in capsys.readouterr().out


def test_arc_rows_without_names_warn(tmp_path, capsys, monkeypatch) -> None:
    folder = tmp_path / "run"
    shutil.copytree(FIXTURES / "trm-att", folder)
    (folder / "identifiers.json").unlink()
    result = run_cli(capsys, monkeypatch, "import", str(folder), "-o", str(tmp_path / "o.safetensors"))
    assert result.code == 0
    assert "no identifiers.json beside model.pt: the 3 puzzle-table rows cannot be matched" in result.err


# ----------------------------------------------------------------------------------------------------
# The hub


def hub_files(fixture: str) -> dict[str, bytes]:
    files = {p.name: p.read_bytes() for p in (FIXTURES / fixture).iterdir() if p.name != "reference_outputs.npz"}
    files["README.md"] = b"---\nlicense: apache-2.0\ntags:\n- sudoku\n---\n# A model card\n"
    files["optimizer_state.bin"] = b"x" * 1000          # not a reference file: never downloaded
    return files


@pytest.fixture
def hub(loopback_hub: LoopbackHub, monkeypatch, tmp_path) -> LoopbackHub:
    pytest.importorskip("huggingface_hub", reason="the hub path needs the hub extra: pip install 'hrm[hub]'")
    monkeypatch.setenv("HF_ENDPOINT", loopback_hub.url)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HRM_CACHE", str(tmp_path / "hrm-cache"))
    return loopback_hub


def test_solve_with_hub_weights_end_to_end(hub, tmp_path, capsys, monkeypatch) -> None:
    repo = hub.add_model("sapientinc/HRM-checkpoint-sudoku-extreme", hub_files("hrm"))
    puzzle = tmp_path / "puzzle.txt"
    puzzle.write_text(PUZZLE + "\n")
    spec = "hf:sapientinc/HRM-checkpoint-sudoku-extreme"
    result = run_cli(capsys, monkeypatch, "solve", "--weights", spec, str(puzzle), "--json", "-k", "1")
    assert result.code in (0, 1), result.err
    record = json.loads(result.out)
    cache = tmp_path / "hrm-cache" / "hub" / "sapientinc--HRM-checkpoint-sudoku-extreme"
    converted = cache / f"{repo.commit}.safetensors"
    assert record["weights"] == str(converted) and record["segments"] >= 1
    fetched = [path for method, path, _ in hub.requests if method == "GET" and "/resolve/" in path]
    assert not any("optimizer_state" in path for path in fetched)
    info = json.loads(run_cli(capsys, monkeypatch, "info", spec, "--json").out)
    assert info["card"]["licence"] == "apache-2.0"
    assert info["card"]["hub_id"] == "sapientinc/HRM-checkpoint-sudoku-extreme"
    reported = info["card"]["reported_accuracy"]
    assert all("reported by the authors, not measured by hrm" in value for value in reported.values())
    assert [path for method, path, _ in hub.requests if method == "GET" and "/resolve/" in path] == fetched, \
        "the second use downloads nothing"
    converted_at = converted.stat().st_mtime_ns
    run_cli(capsys, monkeypatch, "info", spec, "--json")
    assert converted.stat().st_mtime_ns == converted_at, "converted once"


def test_hub_import_revision_and_cache_offline(hub, tmp_path, capsys, monkeypatch) -> None:
    repo = hub.add_model("someone/trm", hub_files("trm-mlp"), branches=("main", "v1"))
    out = tmp_path / "trm.safetensors"
    assert run_cli(capsys, monkeypatch, "import", "hf:someone/trm@v1", "-o", str(out)).code == 0
    assert out.is_file()
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())       # offline: the cached snapshot still serves
    again = run_cli(capsys, monkeypatch, "import", f"hf:someone/trm@{repo.commit}", "-o", str(tmp_path / "b.st"))
    assert again.code == 0, again.err


@pytest.mark.parametrize(("spec", "message"), [
    ("hf:nobody/nothing", "hf:nobody/nothing: no such model on http"),
    ("hf:someone/trm@v9", "hf:someone/trm@v9: no such revision on http"),
    ("hf:not-a-name", "'hf:not-a-name' is not a hub model name"),
])
def test_hub_names_that_do_not_resolve(hub, capsys, monkeypatch, spec, message) -> None:
    hub.add_model("someone/trm", hub_files("trm-mlp"))
    assert message in one_line_error(run_cli(capsys, monkeypatch, "solve", "--weights", spec, "-", stdin=PUZZLE))


def test_no_network_and_nothing_cached_is_one_line(hub, capsys, monkeypatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url())
    line = one_line_error(run_cli(capsys, monkeypatch, "import", "hf:someone/trm"))
    assert "cannot download it from http://127.0.0.1:" in line and "no copy is cached" in line


def test_missing_huggingface_hub_is_one_line(hub, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)     # import fails as when it is not installed
    line = one_line_error(run_cli(capsys, monkeypatch, "info", "hf:someone/trm"))
    assert "needs huggingface_hub" in line and "pip install 'hrm[hub]'" in line


def test_hub_folder_without_its_config_takes_one_given(hub, tmp_path, capsys, monkeypatch) -> None:
    """As sapientinc/HRM-checkpoint-ARC-2 ships: weights without all_config.yaml (nor identifiers.json)."""
    files = hub_files("trm-att")
    config, names = files.pop("all_config.yaml"), files.pop("identifiers.json")
    hub.add_model("someone/arc-like", files)
    out = tmp_path / "arc-like.safetensors"
    line = one_line_error(run_cli(capsys, monkeypatch, "import", "hf:someone/arc-like", "-o", str(out)))
    assert "no all_config.yaml beside" in line and "pass --config" in line
    (tmp_path / "all_config.yaml").write_bytes(config)
    (tmp_path / "identifiers.json").write_bytes(names)
    result = run_cli(capsys, monkeypatch, "import", "hf:someone/arc-like", "-o", str(out), "--json",
                     "--config", str(tmp_path / "all_config.yaml"), "--identifiers", str(tmp_path / "identifiers.json"))
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["named_puzzles"] == 2 and record["source"].startswith("https://huggingface.co/someone/arc-like")
