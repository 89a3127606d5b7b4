"""The real CLI on examples/ for every task: the printed answer parses back and the verifier agrees."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hrm.checkpoint import save_model
from hrm.config import get_preset
from hrm.model import HRM
from hrm.tasks import get_task
from tests.cli_helpers import run_cli

EASY_EXAMPLES = ["easy1.txt", "easy2.txt", "easy3.txt"]


@pytest.mark.parametrize("name", EASY_EXAMPLES)
def test_shipped_weights_solve_the_easy_sudoku_examples(capsys, monkeypatch, examples_dir, name):
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "sudoku" / name), "--json", "--attempts", "1")
    record = json.loads(result.out)
    task = get_task("sudoku")
    [puzzle] = task.parse((examples_dir / "sudoku" / name).read_text())
    [answer] = task.parse(record["answer"])
    assert result.code == 0 and record["verified"] and record["status"] == "solved"
    assert task.verify(puzzle, answer.grid).ok  # judged again here, from the printed text alone


def test_batch_file_summary(capsys, monkeypatch, examples_dir):
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "sudoku" / "easy_batch.txt"))
    lines = result.out.strip().splitlines()
    assert len(lines) == 20 and all(line.split()[0] in ("solved", "unsolved") for line in lines)
    assert "solved and verified" in result.err and "ms per puzzle" in result.err


def _untrained(tmp_path, preset: str):
    torch.manual_seed(0)
    path = tmp_path / f"{preset}.safetensors"
    save_model(path, HRM(get_preset(preset).with_overrides(halt_max_steps=1)))
    return path


@pytest.mark.parametrize("task_name, example, preset", [
    ("maze", "maze/hard1.txt", "trm-maze-tiny"),
    ("arc", "arc/4cd1b7b2.json", "trm-arc-tiny"),   # a model of the full 30x30 canvas
])
def test_maze_and_arc_examples_run_end_to_end(capsys, monkeypatch, tmp_path, examples_dir, task_name, example,
                                               preset):
    """Untrained models check the plumbing (no shipped Maze weights yet), and the CLI stays honest."""
    weights = _untrained(tmp_path, preset)
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / example), "-w", str(weights), "--json",
                     "--attempts", "2")
    record = json.loads(result.out.splitlines()[0])
    task = get_task(task_name)
    [puzzle] = task.parse((examples_dir / example).read_text(), str(examples_dir / example))
    if task_name == "maze":  # the text may be no valid puzzle (an untrained model drops S): map characters
        codes = {"#": 1, " ": 2, ".": 2, "S": 3, "G": 4, "o": 5}
        rows = record["answer"].split("\n")
        answer = np.array([[codes[ch] for ch in row.ljust(30)] for row in rows], dtype=np.int64)
    else:
        answer = np.array(record["answer"], dtype=np.int64).reshape(len(record["answer"]), -1) \
            if record["answer"] else np.zeros((0, 0), dtype=np.int64)
    assert record["verified"] == task.verify(puzzle, answer).ok
    assert result.code == (0 if record["verified"] else 1)
    assert record["attempts"] == 2


def test_missing_maze_weights_are_explained(capsys, monkeypatch, tmp_path, examples_dir):
    (tmp_path / "MANIFEST.json").write_text('{"sudoku": {"file": "x.safetensors"}}')
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "maze" / "hard1.txt"),
                     env={"HRM_WEIGHTS_DIR": str(tmp_path)})
    assert result.code == 2 and "no shipped weights for task 'maze'" in result.err and "--weights" in result.err
    assert "needs a GPU" in result.err and "hrm train --task maze --preset paper" in result.err
    assert result.err.strip().count("\n") == 0


def test_a_cpu_maze_run_says_what_it_will_not_reach(capsys, monkeypatch, tmp_path):
    import hrm.train.loop
    from hrm.errors import HRMError

    def no_training(*args: object, **kwargs: object) -> None:
        raise HRMError("stopped by the test before any work")

    monkeypatch.setattr(hrm.train.loop, "train", no_training)
    result = run_cli(capsys, monkeypatch, "train", "--task", "maze", "--device", "cpu", "--out", str(tmp_path / "r"))
    assert "not yet 30x30" in result.err and "needs a GPU" in result.err
    assert result.code == 2 and "stopped by the test" in result.err
    result = run_cli(capsys, monkeypatch, "train", "--task", "sudoku", "--device", "cpu", "--out", str(tmp_path / "s"))
    assert "needs a GPU" not in result.err


@pytest.mark.parametrize("name", ["easy2", "easy3"])
def test_photo_examples_are_read_and_solved(capsys, monkeypatch, examples_dir, name):
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "sudoku" / f"{name}_photo.jpg"), "--json")
    record = json.loads(result.out)
    expected = get_task("sudoku").parse((examples_dir / "sudoku" / f"{name}.txt").read_text())[0]
    assert record["input"] == "".join(str(v) if v else "." for v in expected.grid.reshape(-1))
    assert result.code == 0 and record["verified"]


@pytest.mark.parametrize("name", ["00576224", "4cd1b7b2", "66e6c45b"])
def test_shipped_arc_weights_solve_the_arc_examples(capsys, monkeypatch, examples_dir, name):
    """The ARC stand-in was trained on these tasks' demonstrations only; their test outputs are held out."""
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "arc" / f"{name}.json"), "--json")
    record = json.loads(result.out)
    task = json.loads((examples_dir / "arc" / f"{name}.json").read_text())
    assert result.code == 0 and record["verified"] and record["attempts"] == 16
    assert record["answer"] == task["test"][0]["output"] == record["candidates"][record["submission"]]
    assert "not trained on" not in result.err


def test_arc_image_is_read_and_solved_end_to_end(capsys, monkeypatch, examples_dir):
    """The picture holds the demonstrations and the test input, not the output, so the answer is
    unverified there; it must equal the known output stored in the task's JSON."""
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "arc" / "4cd1b7b2.png"), "--json")
    record = json.loads(result.out)
    task = json.loads((examples_dir / "arc" / "4cd1b7b2.json").read_text())
    assert record["status"] == "unverified" and result.code == 0
    assert record["answer"] == task["test"][0]["output"]
