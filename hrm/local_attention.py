"""Neighbourhood attention on a square grid, tile by tile (the `attention_window` model option).

Which keys a query sees is set in hrm/grid_window.py. Here the grid is cut into tiles of t x t queries;
each tile's queries attend to the prefix and to the tile grown by K // 2 cells on every side, masked down
to each query's own K x K square. The work per query is about (t + K - 1)^2 keys instead of side^2, and
the numbers equal full attention under `window_mask` (a test holds them to it).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from hrm.grid_window import GridWindow


@dataclass(frozen=True)
class _TilePlan:
    """Index tables that cut the sequence into tiles and put the tiles back, with the tiles' mask."""

    query_index: torch.Tensor   # [tiles * t^2] sequence position of each tile query (0 on padding)
    key_index: torch.Tensor     # [tiles * keys] sequence position of each tile key (0 off the grid)
    mask: torch.Tensor          # [tiles, t^2, keys] bool: which keys each query sees
    output_index: torch.Tensor  # [S] where each grid token's output sits among the tile queries


@functools.cache
def _tile_plan(geometry: GridWindow, device: torch.device) -> _TilePlan:
    """Keys of a tile are the prefix, then the tile grown by the radius on every side (row-major). A key
    is visible when it lies on the grid and within the radius of the query. Queries on the padding beyond
    the grid see every key of their tile, so no softmax row is empty; their outputs are dropped.
    """
    t, r, side, p = geometry.tile_side, geometry.radius, geometry.side, geometry.prefix
    n, halo = geometry.padded_side // t, t + 2 * r
    q_row, q_col = torch.arange(t).repeat_interleave(t), torch.arange(t).repeat(t)            # within a tile
    k_row, k_col = torch.arange(halo).repeat_interleave(halo) - r, torch.arange(halo).repeat(halo) - r
    near = ((q_row[:, None] - k_row[None, :]).abs() <= r) & ((q_col[:, None] - k_col[None, :]).abs() <= r)
    origin_row, origin_col = (torch.arange(n) * t).repeat_interleave(n), (torch.arange(n) * t).repeat(n)
    key_rows, key_cols = origin_row[:, None] + k_row, origin_col[:, None] + k_col             # [tiles, halo^2]
    query_rows, query_cols = origin_row[:, None] + q_row, origin_col[:, None] + q_col         # [tiles, t^2]
    key_on_grid = _inside(key_rows, side) & _inside(key_cols, side)
    query_on_grid = _inside(query_rows, side) & _inside(query_cols, side)
    grid_mask = (near[None] & key_on_grid[:, None, :]) | ~query_on_grid[:, :, None]
    mask = torch.cat((torch.ones(n * n, t * t, p, dtype=torch.bool), grid_mask), dim=-1)
    key_index = torch.where(key_on_grid, p + key_rows * side + key_cols, 0)
    key_index = torch.cat((torch.arange(p).expand(n * n, p), key_index), dim=-1)
    query_index = torch.where(query_on_grid, p + query_rows * side + query_cols, 0)
    slot = torch.arange(n * n * t * t).view(n * n, t * t)
    output_index = torch.empty(side * side, dtype=torch.long)
    output_index[query_index[query_on_grid] - p] = slot[query_on_grid]
    return _TilePlan(query_index.flatten().to(device), key_index.flatten().to(device), mask.to(device),
                     output_index.to(device))


def _inside(index: torch.Tensor, side: int) -> torch.Tensor:
    return (index >= 0) & (index < side)


@dataclass(frozen=True)
class Tiles:
    """A window resolved for one device and dtype: what the tiled kernel reads. The model builds it outside
    the compiled region (`tiles_for`), so torch.compile sees plain tensor inputs rather than tracing the
    plan's construction, which it cannot do without graph breaks."""

    prefix: int
    query_index: torch.Tensor
    key_index: torch.Tensor
    mask: torch.Tensor          # CPU: additive [1, tiles, t^2, keys] bias in the dtype; CUDA: the bool mask
    output_index: torch.Tensor


@functools.cache
def tiles_for(geometry: GridWindow, device: torch.device, dtype: torch.dtype) -> Tiles:
    """The kernel's inputs for a window. On a CPU the mask becomes an additive bias (0 seen, -inf hidden):
    SDPA runs a bool or 3D mask through its unfused math path, and a 4D bias in the inputs' dtype takes the
    fused kernel (about 5x faster for 16x16 grids, with the same numbers up to rounding). CUDA keeps the
    bool mask its kernels were run with (an H200 30x30 run)."""
    plan = _tile_plan(geometry, torch.device(device))
    mask = plan.mask
    if torch.device(device).type == "cpu":
        mask = torch.zeros(mask.shape, dtype=dtype, device=device).masked_fill_(~mask, float("-inf"))[None]
    return Tiles(geometry.prefix, plan.query_index, plan.key_index, mask, plan.output_index)


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, window: GridWindow | Tiles) -> torch.Tensor:
    """Neighbourhood attention. q, k, v: [B, P + S, H, D] -> [B, P + S, H, D]."""
    plan = window if isinstance(window, Tiles) else tiles_for(window, q.device, q.dtype)
    batch, _, heads, dim = q.shape
    p = plan.prefix
    tiles, queries = plan.mask.shape[-3:-1]
    q, k, v = (x.transpose(1, 2) for x in (q, k, v))                                        # [B, H, N, D]
    prefix_out = F.scaled_dot_product_attention(q[:, :, :p], k, v)                          # [B, H, P, D]

    def cut(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:   # -> [B * H, tiles, per tile, D]
        return x.index_select(2, index).view(batch * heads, tiles, -1, dim)

    out = F.scaled_dot_product_attention(cut(q, plan.query_index), cut(k, plan.key_index),
                                         cut(v, plan.key_index), attn_mask=plan.mask)
    # reshape, not view: CUDA's masked SDPA kernels may hand back a non-contiguous layout
    grid_out = out.reshape(batch, heads, tiles * queries, dim).index_select(2, plan.output_index)
    return torch.cat((prefix_out, grid_out), dim=2).transpose(1, 2)
