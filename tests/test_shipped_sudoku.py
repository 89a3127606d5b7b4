"""The shipped Sudoku weights: how they were trained, what they solve, and that a verified answer is
never wrong."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hrm.data import build
from hrm.solver import solve
from hrm.tasks import get_task
from hrm.tasks.base import Puzzle
from hrm.train.config import TrainConfig, get_train_preset
from hrm.weights import default_weights, load_model
from tests.cli_helpers import run_cli

REPO = Path(__file__).resolve().parent.parent

NEWSPAPER = ["newspaper_easy.txt", "newspaper_hard.txt", "newspaper_diabolical.txt"]


@pytest.fixture(scope="module")
def shipped():
    return load_model(None, "sudoku", "cpu")


# The default's two stages over the shipped preset (README, docs/sudoku-training.md "The GPU stage").
WIDE = ["model.hidden_size=128", "model.expansion=4"]
GPU_STAGE = [*WIDE, "global_batch_size=768", "lr_warmup_steps=200", "eval_limit=1000", "compile=false"]


def _differences(stored: dict, preset: TrainConfig) -> set[str]:
    expected = preset.to_dict()
    return {key for key in expected if stored[key] != expected[key]}


def test_the_default_is_the_documented_two_stage_recipe(shipped) -> None:
    """The default: the wide TRM of `--preset shipped` with WIDE on a CPU to step 7,000, then GPU_STAGE
    from those weights (init_weights) to step 10,633; exported with Mmax 32 and a first halt at 3."""
    stored = TrainConfig.from_dict(shipped.card["train_config"]).to_dict()   # fields added later: defaults
    gpu_stage = get_train_preset("sudoku", "shipped").with_overrides(GPU_STAGE)
    assert _differences(stored, gpu_stage) == {"data", "init_weights"}
    assert Path(stored["data"]).name == gpu_stage.data and stored["init_weights"]
    assert int(shipped.metadata["train_step"]) == 10_633
    assert (shipped.config.halt_min_steps, shipped.config.halt_max_steps) == (3, 32)
    assert shipped.config.arch == "trm" and shipped.model.num_parameters() == 262_529


def test_the_first_stage_is_the_wide_cpu_run() -> None:
    """Stage one's weights (kept in training/) came from `--preset shipped` plus WIDE alone."""
    first = load_model(REPO / "training" / "sudoku-h128-gpu" / "init-step7000.safetensors", "sudoku", "cpu")
    stored = TrainConfig.from_dict(first.card["train_config"]).to_dict()
    assert _differences(stored, get_train_preset("sudoku", "shipped").with_overrides(WIDE)) == {"data"}
    assert int(first.metadata["train_step"]) == 7_000


def test_the_cpu_only_trm_stays_beside_it() -> None:
    """The tiny TRM trained on one CPU thread alone (`--preset shipped`, cooled down) is still shipped."""
    tiny = load_model("sudoku-trm-cpu", "sudoku", "cpu")
    stored = TrainConfig.from_dict(tiny.card["train_config"]).to_dict()
    assert _differences(stored, get_train_preset("sudoku", "shipped")) <= {
        "data", "preset", "total_steps", "lr_decay_steps", "lr_min_ratio"}
    cooldown = (stored["total_steps"], stored["lr_decay_steps"], stored["lr_min_ratio"])
    assert cooldown == (40_365, 3_000, 0.02) and int(tiny.metadata["train_step"]) == 40_365
    assert tiny.model.num_parameters() == 113_601


# The HRM beside the default (docs/sudoku-training.md, "The HRM beside it"): seeded by the default's
# TRM, then trained with HRM's own one-step gradient on one CPU thread.
HRM_STAGE = ["model=hrm-sudoku-tiny", *WIDE, "model.H_cycles=3", "model.L_cycles=6", "model.act_continue=false",
             "lr=2e-4", "puzzle_emb_lr=2e-4", "lr_warmup_steps=100", "eval_limit=1000"]


def test_the_hrm_model_ships_beside_it() -> None:
    """The paper's two modules, seeded from the default's TRM and trained apart: its levels differ."""
    hrm = load_model("sudoku-hrm-h128", "sudoku", "cpu")
    stored = TrainConfig.from_dict(hrm.card["train_config"]).to_dict()
    assert _differences(stored, get_train_preset("sudoku", "shipped").with_overrides(HRM_STAGE)) == {
        "data", "init_weights"}
    assert Path(stored["init_weights"]).parent.name == "sudoku-h128-gpu"
    assert hrm.config.arch == "hrm" and hrm.model.num_parameters() == 522_113
    assert int(hrm.metadata["train_step"]) == 1_000
    assert (hrm.config.halt_min_steps, hrm.config.halt_max_steps) == (3, 32)
    levels = hrm.model.state_dict()
    apart = [k for k in levels if k.startswith("L_level.")
             and not torch.equal(levels[k], levels["H_level." + k.removeprefix("L_level.")])]
    assert len(apart) == sum(k.startswith("L_level.") for k in levels)
    assert default_weights("sudoku").name == "sudoku-trm-h128.safetensors"


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
