"""The typed boundary between the engines and their front ends: both engines are a SegmentModel, a
LoadedModel carries one, and a Solution says its own status."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from hrm.checkpoint import save_model
from hrm.config import get_preset
from hrm.model import HRM
from hrm.segment_model import SegmentModel
from hrm.solver import Solution
from hrm.tasks.base import Puzzle, Verdict
from hrm.weights import LoadedModel, load_model

ENGINES = ("torch", "numpy")


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "tiny.safetensors"
    save_model(path, HRM(get_preset("hrm-sudoku-tiny")))
    return path


@pytest.fixture(scope="module")
def loaded(weights: Path) -> dict[str, LoadedModel]:
    return {engine: load_model(weights, "sudoku", "cpu", engine=engine) for engine in ENGINES}


@pytest.mark.parametrize("engine", ENGINES)
def test_each_engine_is_a_segment_model(loaded: dict[str, LoadedModel], engine: str):
    model = loaded[engine].model
    assert isinstance(model, SegmentModel)
    config = model.config
    assert config is loaded[engine].config and config.task == "sudoku"
    assert str(model.device) == str(loaded[engine].device) == "cpu"
    assert model.eval() is model
    assert model.num_parameters() == loaded["torch"].model.num_parameters() > 0
    z_H, z_L = model.initial_state(2)
    assert tuple(z_H.shape) == tuple(z_L.shape) == (2, config.full_seq_len, config.hidden_size)
    q_logits = [[1.0, 0.0], [-1.0, 0.0]] if config.act_continue else [[1.0], [-1.0]]
    as_array = torch.tensor if engine == "torch" else np.array
    assert np.asarray(model.wants_to_halt(as_array(q_logits))).tolist() == [True, False]


def test_an_object_without_the_members_is_not_a_segment_model():
    assert not isinstance(object(), SegmentModel)


def _solution(verdict: Verdict, rejected: bool = False) -> Solution:
    grid = np.zeros((2, 2), dtype=np.int64)
    return Solution(Puzzle("sudoku", grid), grid, verdict, 0 if rejected else 3, 0.5, 0.1, rejected=rejected)


@pytest.mark.parametrize(("solution", "status"), [
    (_solution(Verdict(True)), "solved"),
    (_solution(Verdict(False, ["row 1 repeats 3"])), "unsolved"),
    (_solution(Verdict(False, checkable=False)), "unverified"),
    (_solution(Verdict(False, ["row 1 repeats 3"]), rejected=True), "rejected"),
])
def test_a_solution_says_its_status(solution: Solution, status: str):
    assert solution.status == status
