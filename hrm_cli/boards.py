"""Rich renderings of puzzles and answers: givens and model cells styled apart, errors in red."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.columns import Columns
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

if TYPE_CHECKING:
    from hrm.tasks.base import Puzzle

ARC_COLOURS = ["#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00", "#AAAAAA", "#F012BE", "#FF851B",
               "#7FDBFF", "#870C25"]
MAZE_CHARS = {1: "█", 2: " ", 3: "S", 4: "G", 5: "•"}
MAZE_STYLES = {1: "grey50", 2: "", 3: "bold green", 4: "bold red", 5: "bold yellow"}


def sudoku_text(grid: np.ndarray, givens: np.ndarray | None = None, wrong: np.ndarray | None = None) -> Text:
    text = Text()
    for r in range(9):
        if r in (3, 6):
            text.append("------+-------+------\n", style="dim")
        for c in range(9):
            if c in (3, 6):
                text.append("| ", style="dim")
            value = int(grid[r, c])
            if value == 0:
                text.append(". ", style="dim")
                continue
            if wrong is not None and wrong[r, c]:
                style = "bold white on red"
            elif givens is None or givens[r, c] != 0:
                style = "bold"
            else:
                style = "cyan"
            text.append(f"{value}", style=style)
            text.append(" ")
        text.append("\n")
    text.rstrip()
    return text


def sudoku_wrong_cells(answer: np.ndarray) -> np.ndarray:
    """Cells whose digit repeats in its row, column or box."""
    wrong = np.zeros((9, 9), dtype=bool)
    for r in range(9):
        for c in range(9):
            v = answer[r, c]
            if v == 0:
                continue
            br, bc = 3 * (r // 3), 3 * (c // 3)
            box = answer[br:br + 3, bc:bc + 3]
            if (answer[r] == v).sum() > 1 or (answer[:, c] == v).sum() > 1 or (box == v).sum() > 1:
                wrong[r, c] = True
    return wrong


def maze_text(grid: np.ndarray) -> Text:
    text = Text()
    for row in grid:
        for value in row:
            text.append(MAZE_CHARS.get(int(value), "?"), style=MAZE_STYLES.get(int(value), ""))
        text.append("\n")
    text.rstrip()
    return text


ARC_LIGHT = {3, 4, 5, 7, 8}   # colours that take black digits; the rest take white


def arc_text(grid: np.ndarray) -> Text:
    """Each cell is its colour number on its colour, so the grid still reads without colour (pipes, NO_COLOR)."""
    text = Text()
    for row in np.asarray(grid):
        for value in row:
            value = int(value) % 10
            ink = "black" if value in ARC_LIGHT else "white"
            text.append(f"{value} ", style=f"{ink} on {ARC_COLOURS[value]}")
        text.append("\n")
    text.rstrip()
    return text


def board(task_name: str, grid: np.ndarray, puzzle: Puzzle | None = None, answer_of_puzzle: bool = False) -> Text:
    """One grid as styled text (for the answer, givens of `puzzle` are shown apart)."""
    grid = np.asarray(grid)
    if task_name == "sudoku":
        givens = np.asarray(puzzle.grid) if (answer_of_puzzle and puzzle is not None) else None
        wrong = sudoku_wrong_cells(grid) if answer_of_puzzle else None
        return sudoku_text(grid, givens, wrong)
    if task_name == "maze":
        if puzzle is not None and "shape" in puzzle.extra:
            (r0, c0), (h, w) = puzzle.extra.get("origin", (0, 0)), puzzle.extra["shape"]
            grid = grid[r0:r0 + h, c0:c0 + w]
        return maze_text(grid)
    return arc_text(grid)


def side_by_side(task_name: str, puzzle: Puzzle, answer: np.ndarray, answer_title: str) -> Columns:
    left = Panel(board(task_name, puzzle.grid, puzzle), title="puzzle", expand=False)
    right = Panel(board(task_name, answer, puzzle, answer_of_puzzle=True), title=answer_title, expand=False)
    return Columns([left, right])


def arc_demos(puzzle: Puzzle) -> Group:
    panels = []
    for i, (inp, out) in enumerate(puzzle.extra.get("demos", [])[:3]):
        panels.append(Columns([Panel(arc_text(inp), title=f"demo {i + 1} in", expand=False),
                               Panel(arc_text(out), title=f"demo {i + 1} out", expand=False)]))
    return Group(*panels)


def arc_submissions(puzzle: Puzzle, candidates: list[np.ndarray], shown: int, status: str) -> Columns:
    """ARC: the test input and the two submitted answers, the matching one marked."""
    panels = [Panel(arc_text(puzzle.grid), title="puzzle", expand=False)]
    for k, candidate in enumerate(candidates):
        mark = {"solved": " ✓", "unsolved": " ✗"}.get(status, "") if k == shown else ""
        panels.append(Panel(arc_text(candidate) if np.size(candidate) else Text("(empty)"),
                            title=f"answer {k + 1}{mark}", expand=False))
    return Columns(panels)
