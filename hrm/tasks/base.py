"""The one Task interface every puzzle family implements (sudoku, maze, arc).

A task turns a user's text into `Puzzle`s, encodes a puzzle into model tokens and decodes tokens
back into an answer grid, verifies answers, and offers invertible augmentations. It also carries
what the front ends would otherwise re-derive: how its grids look (hrm.tasks.look), which cells are
given and which break a rule, the window of the canvas a puzzle occupies, whether a verifier can
choose among answers, how many answers it submits, how images of it are read, and its training
defaults. Adding a task = one module implementing `Task` (`TaskDefaults` supplies the usual
answers) + one `hrm.tasks.register_task` call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from hrm.errors import HRMError, ImageReadError

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

    from hrm.config import ModelConfig
    from hrm.tasks.look import Look
    from hrm.weights import LoadedModel


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


Window = tuple[slice, slice]
FULL_WINDOW: Window = (slice(None), slice(None))


@runtime_checkable
class Task(Protocol):
    name: str          # registry key: "sudoku" | "maze" | "arc"
    vocab_size: int    # token vocabulary including PAD = 0
    seq_len: int       # tokens per example (81 or 900)
    default_attempts: int  # views `hrm solve` tries per puzzle unless told (see hrm.solver.attempt_waves)
    look: Look         # how its grids are drawn (hrm.tasks.look)
    detect_priority: int   # text detection asks lower numbers first (ARC JSON before mazes before Sudoku)
    image_priority: int | None  # image detection order; None: this task reads no images
    uses_verifier: bool    # False: its check is an answer key, which must not choose among answers (ARC)
    submissions: int       # answers submitted per puzzle (ARC's two; solved when either is right)
    train_recipes: Mapping[str, Mapping[str, Any]]  # recipe (paper, trm, cpu) -> TrainConfig fields for it
    puzzle_noun: str       # "sudoku", "ARC task": what one puzzle is called in messages
    untrained_hint: str    # what to do when the model has no puzzle-table row for a puzzle (named views)

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

    def view_transform(self, attempt: int, rng: np.random.Generator) -> Any:
        """The augmentation of `hrm solve`'s view number `attempt` (1, 2, ...; view 0 is the puzzle itself):
        a random one, or, for a task with few symmetries, each of them in turn."""
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

    def canvas_side(self, puzzles: Sequence[Puzzle]) -> int | None:
        """The smallest square canvas these puzzles fit, for a model that can read any canvas (a maze
        model with 2D positions); None: the model's own canvas."""
        ...

    def window(self, puzzle: Puzzle | None) -> Window:
        """The part of a question-sized grid the puzzle occupies (a small maze on the 30x30 canvas)."""
        ...

    def given_mask(self, puzzle: Puzzle) -> np.ndarray:
        """bool, the question's shape: cells fixed by the question that an answer must keep."""
        ...

    def rule_breaks(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        """bool, the answer's shape: cells that break a rule (the one check behind every red cell)."""
        ...

    def keep_givens(self, puzzle: Puzzle, answer: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The answer with the givens the model overwrote put back, and a note for each."""
        ...

    def text_form(self, grid: np.ndarray, puzzle: Puzzle) -> str | list[list[int]]:
        """A grid as --json prints it, in a form `parse` reads back."""
        ...

    def view_name(self, puzzle: Puzzle, transform: Any | None) -> str | None:
        """The name a model's puzzle table may give this view (None: every puzzle shares one row)."""
        ...

    def trained_views(self, puzzle: Puzzle, loaded: LoadedModel) -> list[tuple[str, Any]]:
        """(name, transform) of the views of `puzzle` the model has table rows for, in table order."""
        ...

    def read_image(self, image: Image.Image, name: str, weights: str | Path | None) -> Puzzle:
        """Read a picture as this task's puzzle; raise ImageReadError when it is not one."""
        ...

    def convincing(self, puzzle: Puzzle) -> bool:
        """Whether an image reading settles detection at once (else later tasks are tried too)."""
        ...


class TaskDefaults:
    """The usual answers to the Task protocol's questions for a fixed-size task with no givens, no
    image reader and one answer chosen by its verifier; tasks override what differs."""

    detect_priority = 50
    image_priority: int | None = None
    uses_verifier = True
    submissions = 1
    train_recipes: Mapping[str, Mapping[str, Any]] = {}
    untrained_hint = ""

    @property
    def puzzle_noun(self) -> str:
        return getattr(self, "name", "puzzle")

    def window(self, puzzle: Puzzle | None) -> Window:
        return FULL_WINDOW

    def canvas_side(self, puzzles: Sequence[Puzzle]) -> int | None:
        return None

    def given_mask(self, puzzle: Puzzle) -> np.ndarray:
        return np.zeros(np.shape(puzzle.grid), dtype=bool)

    def rule_breaks(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        return np.zeros(np.shape(answer), dtype=bool)

    def keep_givens(self, puzzle: Puzzle, answer: np.ndarray) -> tuple[np.ndarray, list[str]]:
        return answer, []

    def random_transform(self, rng: np.random.Generator) -> Any:
        raise NotImplementedError

    def view_transform(self, attempt: int, rng: np.random.Generator) -> Any:
        return self.random_transform(rng)

    def text_form(self, grid: np.ndarray, puzzle: Puzzle) -> str | list[list[int]]:
        return self.format(grid, puzzle)

    def format(self, grid: np.ndarray, puzzle: Puzzle | None = None) -> str:
        raise NotImplementedError

    def view_name(self, puzzle: Puzzle, transform: Any | None) -> str | None:
        return None

    def trained_views(self, puzzle: Puzzle, loaded: LoadedModel) -> list[tuple[str, Any]]:
        return []

    def read_image(self, image: Image.Image, name: str, weights: str | Path | None) -> Puzzle:
        raise ImageReadError(f"{name or 'image'}: pictures of {getattr(self, 'name', 'this task')} puzzles "
                             "cannot be read", hint="give the puzzle as text")

    def convincing(self, puzzle: Puzzle) -> bool:
        return True


def cropped(task: Task, puzzle: Puzzle, grid: np.ndarray) -> np.ndarray:
    """`grid` cut to the puzzle's window when it has the question's shape (an ARC answer of another
    size is left whole)."""
    grid = np.asarray(grid)
    if grid.shape != np.shape(puzzle.grid):
        return grid
    return grid[task.window(puzzle)]


def same_size_for_model(task: Task, config: ModelConfig) -> Task:
    """`for_model` of a fixed-size task: the model must read exactly the task's sequence."""
    if config.seq_len != task.seq_len:
        raise HRMError(f"the model reads {config.seq_len} tokens but a {task.name} puzzle has {task.seq_len}",
                       hint="the weights were trained for a different puzzle size")
    return task
