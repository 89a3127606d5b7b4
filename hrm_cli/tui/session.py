"""What `hrm watch` shows: one puzzle and the source of its frames, one iterator per attempt.

Nothing here imports torch: `model_source` imports the engine only when the first attempt runs,
and tests pass any callable that yields `Frame`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hrm.solver import Frame
from hrm.tasks.base import Puzzle, Task

if TYPE_CHECKING:
    from hrm.weights import LoadedModel

# attempt index -> the frames of that attempt, one per segment (attempt 0 is the plain run)
FrameSource = Callable[[int], Iterator[Frame]]

ATTEMPT_NOISE = 0.05  # input-embedding noise for attempts after the first


@dataclass
class Session:
    """One puzzle to watch and where its frames come from."""

    puzzle: Puzzle
    source: FrameSource
    attempts: int = 1
    max_segments: int | None = None
    l_cycles: int | None = None       # L calls per H cycle, to mark H updates in the H/L view
    label: str = ""                   # shown in the header, e.g. "easy.txt:1 · sudoku.safetensors"


def model_source(loaded: LoadedModel, task: Task, puzzle: Puzzle, max_segments: int | None) -> FrameSource:
    """Frames from a loaded model: attempt 0 is the plain run, attempt k > 0 adds noise with seed k."""

    def run(attempt: int) -> Iterator[Frame]:
        from hrm.solver import frames

        noise = ATTEMPT_NOISE if attempt > 0 else 0.0
        return frames(loaded, task, puzzle, max_segments=max_segments, noise=noise, seed=attempt,
                      record_inner=True)

    return run
