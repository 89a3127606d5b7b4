"""Rich renderings of puzzles and answers, drawn from the task's look: givens and model cells styled
apart, cells that break a rule in red."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.columns import Columns
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from hrm.tasks.base import cropped
from hrm.tasks.look import CodeLook, DigitLook, PaletteLook, unknown_look

if TYPE_CHECKING:
    from hrm.tasks.base import Puzzle, Task

WRONG = "bold white on red"
ROLE_CHARS = {"wall": "█", "open": " ", "start": "S", "goal": "G", "path": "•"}
ROLE_STYLES = {"wall": "grey50", "open": "", "start": "bold green", "goal": "bold red", "path": "bold yellow"}


def digit_text(grid: np.ndarray, look: DigitLook, given: np.ndarray | None = None,
               wrong: np.ndarray | None = None) -> Text:
    """Digits ruled into boxes; '.' for blanks. Without `given`, every digit is drawn as a given."""
    box_rows, box_cols = look.box
    rule = "+-".join(["-" * (2 * box_cols)] * (look.size // box_cols))[:-1] + "\n"
    text = Text()
    for r in range(look.size):
        if r and r % box_rows == 0:
            text.append(rule, style="dim")
        for c in range(look.size):
            if c and c % box_cols == 0:
                text.append("| ", style="dim")
            value = int(grid[r, c])
            if value == 0:
                text.append(". ", style="dim")
                continue
            if wrong is not None and wrong[r, c]:
                style = WRONG
            elif given is None or given[r, c]:
                style = "bold"
            else:
                style = "cyan"
            text.append(f"{value}", style=style)
            text.append(" ")
        text.append("\n")
    text.rstrip()
    return text


def code_text(grid: np.ndarray, look: CodeLook, wrong: np.ndarray | None = None) -> Text:
    """One character per cell by its role; codes the look does not know show as '?'."""
    text = Text()
    for r, row in enumerate(np.asarray(grid)):
        for c, value in enumerate(row):
            known = int(value) in look.roles
            role = look.role(value)
            style = WRONG if wrong is not None and wrong[r, c] else ROLE_STYLES[role] if known else ""
            text.append(ROLE_CHARS[role] if known else "?", style=style)
        text.append("\n")
    text.rstrip()
    return text


def palette_text(grid: np.ndarray, look: PaletteLook) -> Text:
    """Each cell is its colour number on its colour, so the grid still reads without colour (pipes, NO_COLOR)."""
    text = Text()
    for row in np.asarray(grid):
        for value in row:
            value = int(value) % len(look.palette)
            ink = "black" if value in look.light else "white"
            text.append(f"{value} ", style=f"{ink} on {look.palette[value]}")
        text.append("\n")
    text.rstrip()
    return text


def board(task: Task, grid: np.ndarray, puzzle: Puzzle | None = None, answer_of_puzzle: bool = False) -> Text:
    """One grid as styled text, cut to the puzzle's window (for an answer, the puzzle's givens are shown
    apart and the cells that break a rule in red)."""
    grid = np.asarray(grid)
    given = wrong = None
    if puzzle is not None:
        if answer_of_puzzle:
            given = cropped(task, puzzle, task.given_mask(puzzle))
            wrong = cropped(task, puzzle, task.rule_breaks(puzzle, grid))
        grid = cropped(task, puzzle, grid)
    look = task.look
    if isinstance(look, DigitLook):
        return digit_text(grid, look, given, wrong)
    if isinstance(look, CodeLook):
        return code_text(grid, look, wrong)
    if isinstance(look, PaletteLook):
        return palette_text(grid, look)
    raise unknown_look(look, "the text board")


def side_by_side(task: Task, puzzle: Puzzle, answer: np.ndarray, answer_title: str) -> Columns:
    left = Panel(board(task, puzzle.grid, puzzle), title="puzzle", expand=False)
    right = Panel(board(task, answer, puzzle, answer_of_puzzle=True), title=answer_title, expand=False)
    return Columns([left, right])


def demonstrations(task: Task, puzzle: Puzzle, limit: int = 3) -> Group | None:
    """The puzzle's demonstration pairs (ARC), input beside output; None when it has none."""
    pairs = puzzle.extra.get("demos") or []
    if not pairs:
        return None
    return Group(*[Columns([Panel(board(task, inp), title=f"demo {i + 1} in", expand=False),
                            Panel(board(task, out), title=f"demo {i + 1} out", expand=False)])
                   for i, (inp, out) in enumerate(pairs[:limit])])


def submissions(task: Task, puzzle: Puzzle, candidates: list[np.ndarray], shown: int, status: str) -> Columns:
    """The puzzle and every submitted answer (ARC's two), the matching one marked."""
    panels = [Panel(board(task, puzzle.grid), title="puzzle", expand=False)]
    for k, candidate in enumerate(candidates):
        mark = {"solved": " ✓", "unsolved": " ✗"}.get(status, "") if k == shown else ""
        panels.append(Panel(board(task, candidate) if np.size(candidate) else Text("(empty)"),
                            title=f"answer {k + 1}{mark}", expand=False))
    return Columns(panels)
