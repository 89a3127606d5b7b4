"""Which tokens a grid token may attend to under the `attention_window` model option (numpy only).

The sequence is `prefix` puzzle-embedding tokens followed by a side x side grid in row-major order. With a
window of K (odd), a grid token attends to the grid tokens inside the K x K square centred on it (clipped
at the edges) and to every prefix token; a prefix token attends to everything. A shortest path grows one
cell per step, so a local window carries the bias of a wavefront at about K*K / (side*side) of the cost
of full attention. The numpy engine applies `window_mask` directly; hrm/local_attention.py computes the
same thing tile by tile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GridWindow:
    side: int      # the grid is side x side tokens
    prefix: int    # puzzle-embedding tokens in front of the grid
    window: int    # K (odd): each grid token sees the K x K square around it
    tile: int = 0  # query tile side for the tiled kernel; 0 picks a default

    @property
    def radius(self) -> int:
        return self.window // 2

    @property
    def tile_side(self) -> int:
        """The side in [max(4, K - 1), 8] that pads the grid least, the larger on a tie: padding queries
        cost as much as real ones, and fewer, larger tiles cost less per query (docs/maze-training.md
        has the CPU timings: 5 for 10x10 grids, 8 for 16x16, 6 for 30x30)."""
        if self.tile:
            return self.tile
        low = max(4, self.window - 1)
        sides = range(min(low, self.side), min(self.side, max(low, 8)) + 1)
        # min over (padded side, -t) tuples rather than min(key=...), which torch.compile cannot trace
        return -min((math.ceil(self.side / t) * t, -t) for t in sides)[1]

    @property
    def padded_side(self) -> int:
        return math.ceil(self.side / self.tile_side) * self.tile_side


def grid_window(seq_len: int, prefix: int, window: int) -> GridWindow | None:
    """The window of a model config, or None when attention is full: window 0, or one so wide that every
    cell sees the whole grid (then the model is exactly the full-attention one)."""
    side = math.isqrt(seq_len)
    if window == 0 or window // 2 >= side - 1:
        return None
    return GridWindow(side, prefix, window)


def grid_neighbours(side: int, radius: int) -> np.ndarray:
    """[S, S] bool: grid cells i and j lie within `radius` rows and columns of each other."""
    rows, cols = np.divmod(np.arange(side * side), side)
    near_rows = np.abs(rows[:, None] - rows[None, :]) <= radius
    near_cols = np.abs(cols[:, None] - cols[None, :]) <= radius
    return near_rows & near_cols


def window_mask(geometry: GridWindow) -> np.ndarray:
    """[P + S, P + S] bool, True where query (row) may attend to key (column)."""
    p, s = geometry.prefix, geometry.side * geometry.side
    mask = np.ones((p + s, p + s), dtype=bool)
    mask[p:, p:] = grid_neighbours(geometry.side, geometry.radius)
    return mask
