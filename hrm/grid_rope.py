"""2D rotary positions for grid puzzles (`pos_encodings=rope2d`), numpy only.

Plain RoPE numbers the flattened sequence, so on a side x side grid the offset between two cells is
side * dr + dc: the same neighbour has a different position on a 10x10 canvas than on a 30x30 one.
Here each head's rotation pairs are split between the two axes: the first half of the pairs turns
with the cell's row, the second half with its column, at the frequencies of a RoPE of half the head
width. The score between two cells then depends on (dr, dc) alone, whatever the canvas, so a model
trained on small mazes reads large ones with the same weights (the window sees the same offsets).

The layout is RoPE's rotate-half one (pair i is dimensions i and i + D/2), so `apply_rope` of either
engine takes these tables unchanged. Prefix (puzzle-embedding) tokens are not rotated: position (0, 0).
"""

from __future__ import annotations

import math

import numpy as np


def grid_rope_tables(head_dim: int, seq_len: int, prefix: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    """cos, sin: [prefix + seq_len, head_dim] float32 for a square grid of seq_len cells in row-major order."""
    side = math.isqrt(seq_len)
    if side * side != seq_len or head_dim % 4:
        raise ValueError(f"rope2d needs a square grid and head_dim divisible by 4 (got {seq_len}, {head_dim})")
    half = head_dim // 2
    inv_freq = (1.0 / (base ** (np.arange(0, half, 2, dtype=np.float32) / half))).astype(np.float32)
    rows, cols = np.divmod(np.arange(seq_len, dtype=np.float32), side)
    angles = np.concatenate((np.outer(rows, inv_freq), np.outer(cols, inv_freq)), axis=-1)   # [S, D/2]
    angles = np.concatenate((np.zeros((prefix, half), dtype=np.float32), angles), axis=0)   # [P + S, D/2]
    emb = np.concatenate((angles, angles), axis=-1)
    return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)
