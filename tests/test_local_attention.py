"""The attention window: the tiled kernel equals full attention under the window mask (values and
gradients), a cell never sees past its square, and a window that covers the grid is the full model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.config import get_preset
from hrm.errors import HRMError
from hrm.grid_window import GridWindow, grid_window, window_mask
from hrm.local_attention import local_attention
from hrm.model import HRM


def _qkv(geometry: GridWindow, batch: int = 2, heads: int = 2, dim: int = 4) -> list[torch.Tensor]:
    tokens = geometry.prefix + geometry.side * geometry.side
    return [torch.randn(batch, tokens, heads, dim, dtype=torch.float64, requires_grad=True) for _ in range(3)]


def _masked_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, geometry: GridWindow) -> torch.Tensor:
    mask = torch.from_numpy(window_mask(geometry))
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), attn_mask=mask)
    return out.transpose(1, 2)


@st.composite
def geometries(draw: st.DrawFn) -> GridWindow:
    side = draw(st.integers(2, 11))
    window = draw(st.sampled_from([w for w in range(1, 2 * side, 2)]))
    return GridWindow(side, draw(st.integers(0, 3)), window, tile=draw(st.integers(0, side)))


@settings(max_examples=40, deadline=None)
@given(geometry=geometries(), seed=st.integers(0, 2**16))
def test_tiled_kernel_equals_masked_full_attention(geometry: GridWindow, seed: int) -> None:
    torch.manual_seed(seed)
    q, k, v = _qkv(geometry)
    tiled = local_attention(q, k, v, geometry)
    reference = _masked_reference(q, k, v, geometry)
    torch.testing.assert_close(tiled, reference, rtol=1e-9, atol=1e-9)
    weights = torch.randn_like(tiled)
    tiled_grads = torch.autograd.grad((tiled * weights).sum(), (q, k, v))
    reference_grads = torch.autograd.grad((reference * weights).sum(), (q, k, v))
    for got, want in zip(tiled_grads, reference_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


def test_a_cell_never_sees_past_its_square() -> None:
    geometry = GridWindow(side=8, prefix=2, window=3)
    q, k, v = (x.detach() for x in _qkv(geometry))
    before = local_attention(q, k, v, geometry)
    far = geometry.prefix + 7 * 8 + 7              # cell (7, 7); cell (0, 0) sees rows and columns 0..1 only
    k[:, far], v[:, far] = 100.0, -100.0
    after = local_attention(q, k, v, geometry)
    corner, near = geometry.prefix, geometry.prefix + 6 * 8 + 6
    assert torch.equal(before[:, corner], after[:, corner])
    assert not torch.allclose(before[:, near], after[:, near])       # (6, 6) sees (7, 7)
    assert not torch.allclose(before[:, 0], after[:, 0])             # the prefix sees every cell


def test_every_cell_sees_the_prefix() -> None:
    geometry = GridWindow(side=6, prefix=1, window=1)
    q, k, v = (x.detach() for x in _qkv(geometry))
    before = local_attention(q, k, v, geometry)
    v[:, 0] += 1.0
    after = local_attention(q, k, v, geometry)
    assert not torch.isclose(before[:, 1:], after[:, 1:]).all(dim=-1).any()


def test_a_window_that_covers_the_grid_is_the_full_model() -> None:
    config = get_preset("hrm-sudoku-tiny")
    assert grid_window(config.seq_len, config.prefix_len, 17) is None       # radius 8 reaches across 9 cells
    assert grid_window(config.seq_len, config.prefix_len, 15) is not None
    torch.manual_seed(0)
    full = HRM(config).eval()
    torch.manual_seed(0)
    covering = HRM(config.with_overrides(attention_window=17)).eval()
    batch = {"inputs": torch.randint(0, 11, (2, 81)), "puzzle_identifiers": torch.zeros(2, dtype=torch.long)}
    with torch.no_grad():
        got = covering.segment(*covering.initial_state(2), batch)[2]
        want = full.segment(*full.initial_state(2), batch)[2]
    assert torch.equal(got, want)


def test_the_window_adds_no_parameters_and_changes_the_answer() -> None:
    config = get_preset("hrm-maze-tiny").with_overrides(seq_len=100)
    torch.manual_seed(0)
    full = HRM(config).eval()
    torch.manual_seed(0)
    local = HRM(config.with_overrides(attention_window=5)).eval()
    assert local.num_parameters() == full.num_parameters()
    batch = {"inputs": torch.randint(0, 6, (2, 100)), "puzzle_identifiers": torch.zeros(2, dtype=torch.long)}
    with torch.no_grad():
        assert not torch.allclose(local.segment(*local.initial_state(2), batch)[2],
                                  full.segment(*full.initial_state(2), batch)[2])


def test_training_through_the_window_reaches_every_weight() -> None:
    config = get_preset("trm-maze-tiny").with_overrides(seq_len=64, attention_window=3, window_levels="L")
    model = HRM(config).train()
    batch = {"inputs": torch.randint(0, 6, (2, 64)), "puzzle_identifiers": torch.zeros(2, dtype=torch.long)}
    logits = model.segment(*model.initial_state(2), batch)[2]
    logits.square().mean().backward()
    attention = model.L_level.layers[0].self_attn
    assert attention.qkv_proj.weight.grad.abs().sum() > 0
    assert torch.isfinite(attention.qkv_proj.weight.grad).all()


def test_a_windowed_reasoning_module_compiles_to_one_graph() -> None:
    """The tile plan is built outside the compiled modules: traced inside, its cached builders and
    data-dependent indexing split a 30x30 maze step into 8 graphs (session 16)."""
    config = get_preset("trm-maze-tiny").with_overrides(seq_len=100, attention_window=3, pos_encodings="rope2d")
    model = HRM(config).eval()
    state = torch.randn(2, config.full_seq_len, config.hidden_size)
    torch._dynamo.reset()
    explained = torch._dynamo.explain(model.L_level)(state, state, model._rope(), model._tiles(model.L_window))
    assert (explained.graph_count, explained.graph_break_count) == (1, 0), explained.break_reasons


@pytest.mark.parametrize(("overrides", "message"), [
    ({"attention_window": 4}, "odd"),
    ({"attention_window": 3, "mixer": "mlp", "pos_encodings": "none"}, "mixer=attention"),
    ({"attention_window": 3, "seq_len": 80}, "square grid"),
    ({"attention_window": 3, "window_levels": "H"}, "both or L"),
    ({"attention_window": -1}, "outside"),
])
def test_bad_window_configs_are_refused(overrides: dict, message: str) -> None:
    with pytest.raises(HRMError, match=message):
        get_preset("hrm-sudoku-tiny").with_overrides(**overrides)


def test_a_non_contiguous_attention_output_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """CUDA's masked SDPA kernels can return [B, H, N, D] as a transposed view of [B, N, H, D] memory
    (a 30x30 maze run on an H200 failed on it); the tiles must be put back without assuming contiguity."""
    sdpa = F.scaled_dot_product_attention

    def transposed_layout(*args: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor:
        out = sdpa(*args, **kwargs)
        return out.transpose(1, 2).contiguous().transpose(1, 2)

    geometry = GridWindow(side=6, prefix=1, window=3, tile=3)
    q, k, v = (x.detach() for x in _qkv(geometry))
    monkeypatch.setattr(F, "scaled_dot_product_attention", transposed_layout)
    tiled = local_attention(q, k, v, geometry)
    monkeypatch.undo()
    torch.testing.assert_close(tiled, _masked_reference(q, k, v, geometry), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("side", "window", "tile"), [(10, 3, 5), (16, 3, 8), (30, 3, 6), (30, 5, 6), (9, 3, 5),
                                                      (4, 3, 4), (30, 9, 8)])
def test_the_default_tile_pads_the_grid_least(side: int, window: int, tile: int) -> None:
    assert GridWindow(side, 1, window).tile_side == tile


def test_the_tiles_take_the_fused_attention_kernel() -> None:
    """A bool or 3D mask sends SDPA down its unfused math path, about 5x slower on a CPU (docs/maze-training.md)."""
    geometry = GridWindow(side=10, prefix=1, window=3)
    q, k, v = (torch.randn(2, 101, 2, 8) for _ in range(3))
    with torch.profiler.profile() as profile:
        local_attention(q, k, v, geometry)
    ops = {event.key for event in profile.key_averages()}
    assert "aten::_scaled_dot_product_attention_math" not in ops
    assert "aten::scaled_dot_product_attention" in ops
