"""Grid helpers shared by the tasks: the 8 dihedral transforms and value (digit/colour) permutations.

Dihedral ids follow the reference data builders: 0 identity, 1 rot90, 2 rot180, 3 rot270, 4 fliplr,
5 flipud, 6 transpose, 7 anti-diagonal (= fliplr(rot90)). Rotations are counter-clockwise, as np.rot90.
"""

from __future__ import annotations

import numpy as np

DIHEDRAL_COUNT = 8
DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)


def dihedral(grid: np.ndarray, tid: int) -> np.ndarray:
    """Apply dihedral transform `tid` to the last two axes of `grid` (returns a new contiguous array)."""
    axes = (-2, -1)
    if tid == 0:
        out = grid
    elif tid in (1, 2, 3):
        out = np.rot90(grid, k=tid, axes=axes)
    elif tid == 4:
        out = np.flip(grid, axis=-1)
    elif tid == 5:
        out = np.flip(grid, axis=-2)
    elif tid == 6:
        out = np.swapaxes(grid, -2, -1)
    elif tid == 7:
        out = np.flip(np.rot90(grid, k=1, axes=axes), axis=-1)
    else:
        raise ValueError(f"dihedral id must be 0..7, got {tid}")
    return np.ascontiguousarray(out)


def inverse_dihedral(grid: np.ndarray, tid: int) -> np.ndarray:
    """Undo `dihedral(grid, tid)`."""
    return dihedral(grid, DIHEDRAL_INVERSE[tid])


def random_value_permutation(rng: np.random.Generator, n: int = 9) -> np.ndarray:
    """A lookup table of length n + 1 mapping 0 -> 0 and 1..n to a random permutation of 1..n."""
    return np.concatenate([[0], rng.permutation(n) + 1]).astype(np.int64)


def invert_permutation(mapping: np.ndarray | tuple[int, ...]) -> np.ndarray:
    """The lookup table that undoes `mapping` (a permutation of 0..len-1)."""
    mapping = np.asarray(mapping, dtype=np.int64)
    inverse = np.empty_like(mapping)
    inverse[mapping] = np.arange(len(mapping))
    return inverse


def is_value_permutation(mapping: np.ndarray | tuple[int, ...]) -> bool:
    """True when `mapping` permutes 0..len-1 and keeps 0 fixed."""
    values = np.asarray(mapping)
    return values.ndim == 1 and len(values) > 0 and values[0] == 0 and sorted(values.tolist()) == list(
        range(len(values)))


def apply_mapping(grid: np.ndarray, mapping: np.ndarray | tuple[int, ...]) -> np.ndarray:
    """Relabel every cell value v of `grid` as mapping[v]."""
    return np.asarray(mapping, dtype=np.int64)[np.asarray(grid)]


def cell_name(row: int, col: int) -> str:
    """0-based indices -> the 1-based 'r3c7' form used in every user message."""
    return f"r{row + 1}c{col + 1}"


def cell_list(cells: list[tuple[int, int]], limit: int = 8) -> str:
    """'r1c2, r3c4, ... (+5 more)' for 0-based cells."""
    names = [cell_name(r, c) for r, c in cells[:limit]]
    more = f" (+{len(cells) - limit} more)" if len(cells) > limit else ""
    return ", ".join(names) + more
