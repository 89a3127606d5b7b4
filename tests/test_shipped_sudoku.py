"""The shipped Sudoku weights: how they were trained, what they solve, and that a verified answer is
never wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hrm.data import build
from hrm.solver import solve
from hrm.tasks import get_task
from hrm.tasks.base import Puzzle
from hrm.train.config import TrainConfig, get_train_preset
from hrm.weights import default_weights, load_model
from tests.cli_helpers import run_cli

NEWSPAPER = ["newspaper_easy.txt", "newspaper_hard.txt", "newspaper_diabolical.txt"]


@pytest.fixture(scope="module")
def shipped():
    return load_model(None, "sudoku", "cpu")


def test_the_default_is_the_shipped_recipe(shipped) -> None:
    """`hrm train --task sudoku --preset shipped` is the configuration the default weights were trained
    with, then cooled down by resuming a copy with a decay window (README, docs/sudoku-training.md)."""
    stored = TrainConfig.from_dict(shipped.card["train_config"]).to_dict()   # fields added later: defaults
    preset = get_train_preset("sudoku", "shipped").to_dict()
    differ = {key for key in preset if stored[key] != preset[key]}
    assert differ <= {"data", "preset", "total_steps", "lr_decay_steps", "lr_min_ratio"}, differ
    cooldown = (stored["total_steps"], stored["lr_decay_steps"], stored["lr_min_ratio"])
    assert cooldown == (40_365, 3_000, 0.02) and int(shipped.metadata["train_step"]) == 40_365
    assert (shipped.config.halt_min_steps, shipped.config.halt_max_steps) == (3, 16)
    assert Path(stored["data"]).name == preset["data"]
    assert shipped.config.arch == "trm" and shipped.model.num_parameters() == 113_601


def test_the_hrm_model_ships_beside_it() -> None:
    hrm = load_model("sudoku-hrm-cpu", "sudoku", "cpu")
    assert hrm.config.arch == "hrm"
    assert default_weights("sudoku").name != "sudoku-hrm-cpu.safetensors"


@pytest.mark.parametrize("name", NEWSPAPER)
def test_newspaper_examples_are_solved_and_verified(capsys, monkeypatch, examples_dir, name) -> None:
    path = examples_dir / "sudoku" / name
    result = run_cli(capsys, monkeypatch, "solve", str(path), "--json")
    record = json.loads(result.out)
    task = get_task("sudoku")
    [puzzle] = task.parse(path.read_text())
    [answer] = task.parse(record["answer"])
    assert result.code == 0 and record["verified"] and record["status"] == "solved"
    assert task.verify(puzzle, answer.grid).ok       # judged again from the printed text alone


def test_a_verified_answer_is_never_wrong(shipped) -> None:
    """Over puzzles of every grade, solved or not: whatever the verifier accepts is the unique solution."""
    task = get_task("sudoku")
    puzzles = [Puzzle("sudoku", q.astype(np.int64), a.astype(np.int64), f"g{level}:{i}")
               for level, records in build.sudoku_grade_sets(8).items()
               for i, (q, a) in enumerate(zip(records.questions, records.answers, strict=True))]
    solutions = solve(shipped, task, puzzles, attempts=4, max_segments=4)
    assert any(s.verified for s in solutions)
    for s in solutions:
        if s.verified:
            np.testing.assert_array_equal(s.answer, s.puzzle.solution)
        else:
            assert not np.array_equal(s.answer, s.puzzle.solution) and s.verdict.violations
