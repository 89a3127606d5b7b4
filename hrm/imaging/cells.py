"""Decisions on the 81 cut cells before and after the digit model: orientation and faint marks.

- A photo may be sideways or upside down (no EXIF, or EXIF that disagrees with the pixels), so
  the grid is read in the quarter turn under which the digit model is most sure of the inked cells.
- Paper shows the print of the other side through, and smudges, shadows and pencil marks leave
  faint ink in empty cells. A printed digit is about as dark as the grid's other digits, so a cell
  whose strongest ink is far below the grid's typical digit is read as empty.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

FAINT_RELATIVE = 0.3     # strongest ink under this share of the grid's typical digit: an empty cell
WEAK_RELATIVE = 0.6      # weaker than this and no digit above UNSURE_DIGIT: an empty cell, unsure
UNSURE_DIGIT = 0.5
INKED_RELATIVE = 0.45    # cells at least this strong decide the orientation
TURN_MARGIN = 0.05       # mean log-probability a quarter turn must gain over the photo as it is
TURN_SAMPLE = 24         # strongest cells that decide the orientation
UPRIGHT_CONFIDENCE = 0.9  # geometric-mean digit probability above which the photo is taken as upright


class CellClassifier(Protocol):
    def predict(self, cells: np.ndarray) -> np.ndarray: ...


def ink_strength(cells: np.ndarray) -> np.ndarray:
    """[N] strongest 3x3-averaged ink in the central part of each cell (lines and edges excluded)."""
    side = cells.shape[-1]
    lo, hi = side // 8, side - side // 8
    centre = np.asarray(cells, np.float32)[:, lo:hi, lo:hi]
    smooth = sliding_window_view(centre, (3, 3), axis=(1, 2)).mean(axis=(-1, -2))
    return smooth.reshape(len(cells), -1).max(axis=1)


def relative_strength(cells: np.ndarray) -> np.ndarray:
    """[N] ink strength as a share of the grid's typical digit (the median of its stronger cells)."""
    strength = ink_strength(cells)
    top = np.sort(strength)[-max(8, len(strength) // 6):]       # a puzzle has at least 17 givens
    return strength / max(float(np.median(top)), 1e-3)


def turn_cells(cells: np.ndarray, turns: int) -> np.ndarray:
    """[81, S, S] cells of the grid turned `turns` quarter turns counter-clockwise, row-major again."""
    side = cells.shape[-1]
    grid = np.asarray(cells).reshape(9, 9, side, side)
    turned = np.rot90(np.rot90(grid, turns, axes=(0, 1)), turns, axes=(2, 3))
    return np.ascontiguousarray(turned).reshape(81, side, side)


def turn_corners(corners: np.ndarray, turns: int) -> np.ndarray:
    """Corners (top-left first, clockwise) of the grid after `turns` counter-clockwise quarter turns."""
    return np.roll(np.asarray(corners), -turns, axis=0)


def upright_turns(cells: np.ndarray, classifier: CellClassifier) -> int:
    """How many counter-clockwise quarter turns make the digits upright (0 unless clearly better).

    Judged on the most strongly inked cells (at most TURN_SAMPLE); a photo whose digits the model
    already reads with confidence is taken as upright without trying the other turns.
    """
    rel = relative_strength(cells)
    strongest = np.argsort(-rel)[:TURN_SAMPLE]
    inked = cells[strongest[rel[strongest] >= INKED_RELATIVE]]
    if len(inked) < 4:
        return 0
    scores = [_turn_score(classifier, inked, 0)]
    if scores[0] >= np.log(UPRIGHT_CONFIDENCE):
        return 0
    scores += [_turn_score(classifier, inked, turns) for turns in (1, 2, 3)]
    best = int(np.argmax(scores))
    return best if scores[best] > scores[0] + TURN_MARGIN else 0


def _turn_score(classifier: CellClassifier, inked: np.ndarray, turns: int) -> float:
    """Mean log-probability of the likeliest digit of the inked cells turned `turns` quarter turns."""
    probs = classifier.predict(np.rot90(inked, turns, axes=(1, 2)))
    return float(np.mean(np.log(probs[:, 1:].max(axis=1) + 1e-6)))


def empty_floor(rel: np.ndarray) -> np.ndarray:
    """Least probability of an empty cell given its relative ink strength: from 1 for no ink down to
    0.5 at FAINT_RELATIVE (most empty cells lie far below it, so they are not flagged), then down
    to 0 at WEAK_RELATIVE, where printed digits begin."""
    faint = 1.0 - 0.5 * (np.minimum(rel, FAINT_RELATIVE) / FAINT_RELATIVE) ** 3
    weak = 0.5 * np.clip((WEAK_RELATIVE - rel) / (WEAK_RELATIVE - FAINT_RELATIVE), 0.0, 1.0)
    return np.where(rel < FAINT_RELATIVE, faint, weak)


def blank_faint(probs: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Class probabilities with the chance of an empty cell raised where the ink is faint or weak.

    Weak cells whose digit the model is unsure of become empty with confidence 0.5, so they are
    flagged and a repair may still bring the digit back. The digits keep their order among themselves.
    """
    rel = relative_strength(cells)
    out = np.array(probs, np.float64, copy=True)
    unsure = (rel < WEAK_RELATIVE) & (out[:, 1:].max(axis=1) < UNSURE_DIGIT)
    empty = np.maximum(empty_floor(rel), np.where(unsure, 0.5, 0.0))
    change = np.flatnonzero(empty > out[:, 0])
    digits = out[change, 1:]
    out[change, 1:] = digits * ((1.0 - empty[change]) / np.maximum(digits.sum(axis=1), 1e-12))[:, None]
    out[change, 0] = empty[change]
    return out.astype(np.float32)
