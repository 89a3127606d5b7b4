"""Guards against the two engines drifting apart: TRM's padded 16-token puzzle prefix computed alike, and
every ModelConfig field accounted for by both (a new field fails here until someone decides)."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

from hrm.checkpoint import save_model
from hrm.config import ModelConfig, get_preset
from hrm.model import HRM
from hrm.numpy_engine import NumpyHRM
from tests.test_numpy_engine import segments_on_both_engines

REPO = Path(__file__).resolve().parents[1]

# Where each engine reads a field: "file" (the field is named there), "file:name" (a property derived
# from it is named there), or "not read: why". The solver runs the halting loop for both engines.
NOT_READ = "not read:"
HANDLED: dict[str, tuple[str, str]] = {
    "arch": ("hrm/model.py", "hrm/numpy_engine.py"),
    "task": ("not read: a label for loaders and front ends", "not read: a label for loaders and front ends"),
    "vocab_size": ("hrm/model.py", "hrm/numpy_engine.py"),
    "seq_len": ("hrm/model.py", "hrm/numpy_engine.py"),
    "num_puzzle_identifiers": ("hrm/model.py", "hrm/numpy_engine.py"),
    "puzzle_emb_ndim": ("hrm/model.py", "hrm/numpy_engine.py"),
    "puzzle_emb_len": ("hrm/model.py:prefix_len", "hrm/numpy_engine.py:prefix_len"),
    "hidden_size": ("hrm/model.py", "hrm/numpy_engine.py"),
    "num_heads": ("hrm/model.py", "hrm/numpy_engine.py"),
    "expansion": ("hrm/model.py", "hrm/numpy_engine.py"),
    "H_layers": ("hrm/model.py", "hrm/numpy_engine.py"),
    "L_layers": ("hrm/model.py", "hrm/numpy_engine.py"),
    "H_cycles": ("hrm/model.py", "hrm/numpy_engine.py"),
    "L_cycles": ("hrm/model.py", "hrm/numpy_engine.py"),
    "grad_cycles": ("hrm/model.py", "not read: which recursions backpropagate, a training matter"),
    "halt_max_steps": ("hrm/model.py", "hrm/solver.py"),
    "halt_min_steps": ("hrm/solver.py", "hrm/solver.py"),
    "halt_exploration_prob": ("hrm/model.py", "not read: exploration happens in training only"),
    "pos_encodings": ("hrm/model.py", "hrm/numpy_engine.py"),
    "mixer": ("hrm/model.py", "hrm/numpy_engine.py"),
    "rms_norm_eps": ("hrm/model.py", "hrm/numpy_engine.py"),
    "rope_theta": ("hrm/model.py", "hrm/numpy_engine.py"),
    "forward_dtype": ("hrm/model.py", "not read: numpy computes in float32, as torch does on a CPU"),
    "loss_type": ("hrm/losses.py", "not read: a training loss"),
    "act_continue": ("hrm/model.py", "hrm/numpy_engine.py"),
    "attention_backend": ("hrm/kernels.py", "not read: numpy has one attention implementation"),
    "attention_window": ("hrm/model.py", "hrm/numpy_engine.py"),
    "window_levels": ("hrm/model.py", "hrm/numpy_engine.py"),
}


def test_every_model_config_field_is_handled_by_both_engines() -> None:
    names = {f.name for f in fields(ModelConfig)}
    assert names - HANDLED.keys() == set(), "a new ModelConfig field: say how each engine handles it"
    assert HANDLED.keys() - names == set(), "a ModelConfig field is gone: drop it from HANDLED"


@pytest.mark.parametrize("name", sorted(HANDLED))
def test_where_an_engine_reads_a_field_it_is_named(name: str) -> None:
    for where in HANDLED[name]:
        if where.startswith(NOT_READ):
            assert len(where) > len(NOT_READ) + 5, f"{name}: say why it is not read"
            continue
        path, _, token = where.partition(":")
        assert re.search(rf"\b{token or name}\b", (REPO / path).read_text()), f"{name}: not named in {path}"


def _trm_with_padded_prefix(**overrides: object) -> HRM:
    """TRM's layout: a puzzle embedding of two hidden vectors padded with zero tokens to a prefix of 16."""
    config = get_preset("trm-sudoku-att-tiny").with_overrides(
        puzzle_emb_len=16, puzzle_emb_ndim=128, num_puzzle_identifiers=5, H_cycles=2, L_cycles=2, **overrides)
    assert config.prefix_len == 16 and config.puzzle_emb_ndim == 2 * config.hidden_size
    torch.manual_seed(3)
    model = HRM(config).eval()
    with torch.no_grad():   # the heads and the puzzle table start at zero; make them matter
        model.q_head.weight.normal_(0, 0.5)
        model.puzzle_emb.weights.normal_(0, 1)
    return model


def _assert_close(mine: np.ndarray, reference: np.ndarray) -> None:
    """Float32 rounding grows over TRM's full recursion (values of a few units differ by ~2e-4 after two
    segments); a real drift, such as a misplaced prefix, differs by whole units."""
    scale = max(1.0, float(np.abs(reference).max()))
    assert float(np.abs(mine - reference).max()) < 2e-4 * scale


@pytest.mark.parametrize("overrides", [{}, {"mixer": "mlp", "pos_encodings": "none"},
                                       {"pos_encodings": "learned"}], ids=["attention", "mlp mixer", "learned"])
def test_a_trm_16_token_padded_prefix_matches_on_both_engines(overrides: dict, tmp_path: Path) -> None:
    model = _trm_with_padded_prefix(**overrides)
    save_model(tmp_path / "m.safetensors", model)
    twin, _ = NumpyHRM.from_file(tmp_path / "m.safetensors")
    rng = np.random.default_rng(4)
    inputs = rng.integers(1, model.config.vocab_size, size=(3, model.config.seq_len)).astype(np.int32)
    ids = np.array([1, 4, 2], dtype=np.int32)           # different rows, so the prefix differs per example
    for (zH, zL, logits, q), (nH, nL, n_logits, n_q) in segments_on_both_engines(model, twin, inputs, ids):
        assert n_logits.shape == (3, model.config.seq_len, model.config.vocab_size)
        _assert_close(n_logits, logits)
        _assert_close(n_q, q)
        _assert_close(nL, zL)                          # the state carries the 16 prefix positions too
        _assert_close(nH, zH)
    assert nL.shape[1] == model.config.seq_len + 16
    other = np.array([0, 0, 0], dtype=np.int32)          # the prefix matters: another row, other logits
    _, _, moved, _ = twin.segment(*twin.initial_state(3), inputs, other)
    _, _, first, _ = twin.segment(*twin.initial_state(3), inputs, ids)
    assert np.abs(moved - first).max() > 1e-3
