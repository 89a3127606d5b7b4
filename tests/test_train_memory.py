"""The training memory estimate and the refusal of runs that cannot fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from hrm.config import get_preset
from hrm.errors import HRMError
from hrm.model import HRM
from hrm.train.memory import check_training_memory, training_memory
from tests.cli_helpers import run_cli

MEASURED = Path(__file__).resolve().parents[1] / "bench" / "results" / "memory_scaling.json"


def _parameters(config) -> int:
    with torch.device("meta"):
        return HRM(config).num_parameters()


def test_saved_activations_match_the_measured_ones_within_15_percent() -> None:
    """bench/bench_memory_scaling.py measured the bytes autograd saves per example at hidden 512."""
    sweeps = json.loads(MEASURED.read_text())["sweeps"]
    checked = 0
    for points in sweeps.values():
        for point in points:
            config = get_preset(point["preset"]).with_overrides(H_cycles=point["H_cycles"],
                                                                L_cycles=point["L_cycles"])
            estimate = training_memory(config, 1, _parameters(config), ema=False)
            measured = point["saved_activations_mib_per_example"] * 2**20
            assert estimate.saved_bytes == pytest.approx(measured, rel=0.15), point
            checked += 1
    assert checked >= 10


def test_a_run_that_fits_passes_and_one_that_does_not_names_the_numbers() -> None:
    config = get_preset("trm-sudoku")
    estimate = training_memory(config, 768, _parameters(config), ema=True)
    check_training_memory(estimate, 1, 10 * estimate.peak_bytes, "sudoku-trm", 768, "cpu")
    with pytest.raises(HRMError, match=r"sudoku-trm with batch 768 needs about .* GiB .* 22\.0 GiB available"):
        check_training_memory(estimate, 1, 22 * 2**30, "sudoku-trm", 768, "cpu")


def test_a_gpu_preset_on_a_small_cpu_is_refused_before_any_work(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("hrm.train.memory.available_memory", lambda device: 8 * 2**30)
    run = tmp_path / "run"
    result = run_cli(capsys, monkeypatch, "train", "--task", "sudoku", "--preset", "trm", "--device", "cpu",
                     "--out", str(run), "--data", str(tmp_path / "data"))
    assert result.code == 2 and "needs about" in result.err and "8.0 GiB available" in result.err
    assert result.err.strip().count("\n") == 0
    assert not run.exists() and not (tmp_path / "data").exists()


def test_nproc_on_a_cpu_says_what_it_costs(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setattr("hrm.train.memory.available_memory", lambda device: 1 * 2**20)
    result = run_cli(capsys, monkeypatch, "train", "--task", "sudoku", "--preset", "cpu", "--device", "cpu",
                     "--nproc", "4", "--out", str(tmp_path / "run"))
    assert "--nproc 4 on a CPU: 4 processes share" in result.err and "each with batch 8" in result.err
    assert result.code == 2 and "4 processes x" in result.err
