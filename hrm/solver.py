"""One streaming solve core: every consumer (CLI, TUI, exporters, tests) reads these iterators.

`iter_steps` runs the ACT loop on a batch of token sequences and yields a `Step` after every
deep-supervision segment. `frames` turns that stream into per-puzzle `Frame`s in task-native form.
`solve` collects results for many puzzles, with optional test-time attempts chosen by the verifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hrm.tasks.base import Puzzle, Verdict


@dataclass
class Step:
    """State of a batch after one deep-supervision segment."""

    segment: int                      # 1-based index of the segment just finished
    tokens: np.ndarray                # [B, seq_len] argmax token predictions
    confidence: np.ndarray            # [B, seq_len] probability of the predicted token
    q_halt: np.ndarray                # [B] sigmoid(q_halt logit)
    q_continue: np.ndarray | None     # [B] sigmoid(q_continue logit) (HRM), None for TRM
    halted: np.ndarray                # [B] bool: this sample has halted at or before this segment
    seconds: float                    # wall time of the segment
    l_residuals: np.ndarray | None = None  # [B, n_calls] ||dz_L|| / ||z_L|| per inner low-level call


@dataclass
class Frame:
    """One puzzle's view after one segment, in task-native form (what the TUI and GIFs draw)."""

    segment: int
    max_segments: int
    answer: np.ndarray                # decoded answer grid
    confidence: np.ndarray            # same shape as `answer`, values in [0, 1]
    changed: np.ndarray               # bool, same shape: differs from the previous frame's answer
    q_halt: float
    halted: bool
    verdict: Verdict
    accuracy: float | None            # fraction of cells equal to the known solution, if any
    seconds: float
    l_residuals: list[float] | None = None


@dataclass
class Attempt:
    answer: np.ndarray
    verdict: Verdict
    segments: int
    q_halt: float
    description: str                  # e.g. "identity", "dihedral 3", "noise 0.1 seed 2"


@dataclass
class Solution:
    puzzle: Puzzle
    answer: np.ndarray                # the chosen attempt's answer
    verdict: Verdict
    segments: int
    q_halt: float
    seconds: float
    attempts: list[Attempt] = field(default_factory=list)
    winner: int = 0                   # index into attempts
    candidates: list[np.ndarray] = field(default_factory=list)  # ARC: ranked distinct answers (pass@K)

    @property
    def verified(self) -> bool:
        return self.verdict.ok
