"""The one Task interface every puzzle family implements (sudoku, maze, arc).

A task turns a user's text into `Puzzle`s, encodes a puzzle into model tokens and decodes tokens
back into an answer grid, verifies answers, and offers invertible augmentations.
Adding a task = one new module implementing `Task` + one line in `hrm.tasks.REGISTRY`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from hrm.errors import HRMError

if TYPE_CHECKING:
    from hrm.config import ModelConfig


@dataclass
class Puzzle:
    """One puzzle instance in task-native form.

    grid:      the question as an int array (sudoku: 9x9 with 0 = blank, 1..9 digits;
               maze: HxW codes 1 '#' wall, 2 open, 3 'S', 4 'G'; arc: the test input colours 0..9).
    solution:  the known answer in the same form (maze: with 5 = 'o' on the path), or None.
    name:      where it came from (file:line, task id), for messages.
    extra:     task-specific data (arc: demonstration pairs and the puzzle identifier name;
               maze: the original size before padding to 30x30).
    """

    task: str
    grid: np.ndarray
    solution: np.ndarray | None = None
    name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Verdict:
    """Result of checking an answer: ok, plus a human-readable list of broken rules."""

    ok: bool
    violations: list[str] = field(default_factory=list)
    checkable: bool = True   # False when nothing can be checked (an ARC test input with no known output)
    more: int = 0            # broken rules beyond those listed
    notes: list[str] = field(default_factory=list)   # diagnostics that are not broken rules

    @property
    def count(self) -> int:
        """How many rules the answer breaks, listed or not."""
        return len(self.violations) + self.more

    def __bool__(self) -> bool:
        return self.ok


MAX_LISTED = 20


def listed_verdict(problems: list[str], limit: int = MAX_LISTED) -> Verdict:
    """A verdict that lists the first `limit` problems and counts the rest."""
    return Verdict(ok=not problems, violations=problems[:limit], more=max(0, len(problems) - limit))


@runtime_checkable
class Task(Protocol):
    name: str          # registry key: "sudoku" | "maze" | "arc"
    vocab_size: int    # token vocabulary including PAD = 0
    seq_len: int       # tokens per example (81 or 900)
    default_attempts: int  # views `hrm solve` tries per puzzle unless told (see hrm.solver.attempt_waves)

    def parse(self, text: str, source: str = "<input>") -> list[Puzzle]:
        """Parse one or many puzzles; raise PuzzleParseError with line/column on bad input."""
        ...

    def sniff(self, text: str) -> bool:
        """Cheap guess whether `text` holds puzzles of this task (used by --task auto)."""
        ...

    def format(self, grid: np.ndarray, puzzle: Puzzle | None = None) -> str:
        """Render a grid as text in the same form `parse` accepts."""
        ...

    def encode(self, puzzle: Puzzle) -> np.ndarray:
        """Question -> int array [seq_len] of tokens."""
        ...

    def encode_label(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        """Answer grid -> int array [seq_len] of label tokens (0 = ignored position)."""
        ...

    def decode(self, puzzle: Puzzle, tokens: np.ndarray) -> np.ndarray:
        """Predicted tokens [seq_len] -> answer grid in task-native form."""
        ...

    def check_givens(self, puzzle: Puzzle) -> list[str]:
        """Rule conflicts already present in the question (empty list = solvable as far as we know)."""
        ...

    def verify(self, puzzle: Puzzle, answer: np.ndarray) -> Verdict:
        """Is `answer` a correct solution of `puzzle`? (ARC: equal to the known output.)"""
        ...

    def random_transform(self, rng: np.random.Generator) -> Any:
        """Draw a random invertible augmentation."""
        ...

    def transform(self, t: Any, puzzle: Puzzle) -> Puzzle:
        """Apply an augmentation to the question (and solution when present)."""
        ...

    def inverse_answer(self, t: Any, answer: np.ndarray) -> np.ndarray:
        """Map an answer of the transformed puzzle back to the original puzzle's frame."""
        ...

    def for_model(self, config: ModelConfig) -> Task:
        """This task as a model with `config` reads it (ARC: the model's canvas)."""
        ...


def same_size_for_model(task: Task, config: ModelConfig) -> Task:
    """`for_model` of a fixed-size task: the model must read exactly the task's sequence."""
    if config.seq_len != task.seq_len:
        raise HRMError(f"the model reads {config.seq_len} tokens but a {task.name} puzzle has {task.seq_len}",
                       hint="the weights were trained for a different puzzle size")
    return task
