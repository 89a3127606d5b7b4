"""rope2d: a cell's rotation follows its row and column, so attention scores depend on the 2D offset
between two cells alone, on any canvas; and a model trained on a small canvas loads into a large one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.config import get_preset
from hrm.errors import HRMError
from hrm.grid_rope import grid_rope_tables
from hrm.model import HRM
from hrm.numpy_engine import apply_rope


def _score(q: np.ndarray, k: np.ndarray, tables: tuple[np.ndarray, np.ndarray], i: int, j: int) -> float:
    """q rotated at sequence position i dotted with k rotated at position j."""
    cos, sin = tables
    rq = apply_rope(q[None, None, None, :], cos[i:i + 1], sin[i:i + 1])
    rk = apply_rope(k[None, None, None, :], cos[j:j + 1], sin[j:j + 1])
    return float((rq * rk).sum())


@settings(max_examples=60, deadline=None)
@given(side=st.integers(2, 12), other=st.integers(2, 12), prefix=st.integers(0, 3),
       head_dim=st.sampled_from([4, 8, 16]), data=st.data())
def test_scores_depend_on_the_2d_offset_alone_on_any_canvas(side: int, other: int, prefix: int, head_dim: int,
                                                             data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    q, k = rng.standard_normal(head_dim).astype(np.float32), rng.standard_normal(head_dim).astype(np.float32)
    small, large = (grid_rope_tables(head_dim, n * n, prefix, 10000.0) for n in (side, other))
    r1, c1, r2, c2 = (data.draw(st.integers(0, min(side, other) - 1)) for _ in range(4))
    dr, dc = r2 - r1, c2 - c1
    r0, c0 = data.draw(st.integers(max(0, -dr), other - 1 - max(0, dr))), \
        data.draw(st.integers(max(0, -dc), other - 1 - max(0, dc)))
    here = _score(q, k, small, prefix + r1 * side + c1, prefix + r2 * side + c2)
    moved = _score(q, k, large, prefix + r0 * other + c0, prefix + (r0 + dr) * other + c0 + dc)
    assert here == pytest.approx(moved, rel=1e-4, abs=1e-4)


def test_row_and_column_neighbours_are_told_apart() -> None:
    """Flattened RoPE on a 2-wide grid puts the cell below at distance 2, the same as two to the right
    would be on a wider grid; rope2d gives the right, left, down and up neighbours four different scores."""
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal(16).astype(np.float32), rng.standard_normal(16).astype(np.float32)
    tables = grid_rope_tables(16, 25, 0, 10000.0)
    centre = 2 * 5 + 2
    scores = {_score(q, k, tables, centre, centre + step) for step in (1, -1, 5, -5)}
    assert len(scores) == 4


def test_prefix_tokens_are_not_rotated() -> None:
    cos, sin = grid_rope_tables(8, 16, 2, 10000.0)
    assert cos.shape == sin.shape == (18, 8)
    np.testing.assert_array_equal(cos[:2], 1.0)
    np.testing.assert_array_equal(sin[:2], 0.0)
    assert not np.allclose(sin[3], 0.0)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"seq_len": 90}, "square grid"),
    ({"num_heads": 8, "hidden_size": 48}, "divisible by 4"),
])
def test_bad_rope2d_configs_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(HRMError, match=message):
        get_preset("trm-maze-tiny").with_overrides(pos_encodings="rope2d", **overrides)


def test_a_small_canvas_model_loads_into_a_large_canvas_one() -> None:
    """The curriculum this is for: the same tensors, and on the large canvas a cell whose window lies
    inside the small maze's area sees what it saw on the small canvas, so its update is the same."""
    config = get_preset("trm-maze-tiny").with_overrides(pos_encodings="rope2d", attention_window=3,
                                                         puzzle_emb_ndim=0, H_cycles=1, L_cycles=1)
    torch.manual_seed(0)
    small = HRM(config.with_overrides(seq_len=100)).eval()
    large = HRM(config.with_overrides(seq_len=900)).eval()
    large.load_state_dict(small.state_dict())
    grid = torch.randint(1, config.vocab_size, (1, 10, 10))
    canvas = torch.full((1, 30, 30), 1)
    canvas[:, :10, :10] = grid
    with torch.no_grad():
        out_small = small.L_level(small.input_embeddings(grid.view(1, 100), None), torch.zeros(1, 100, 64),
                                  small._rope(), small.L_window)
        out_large = large.L_level(large.input_embeddings(canvas.view(1, 900), None), torch.zeros(1, 900, 64),
                                  large._rope(), large.L_window)
    inner = out_large.view(1, 30, 30, 64)[:, 1:9, 1:9]
    torch.testing.assert_close(inner, out_small.view(1, 10, 10, 64)[:, 1:9, 1:9], rtol=1e-5, atol=1e-5)
