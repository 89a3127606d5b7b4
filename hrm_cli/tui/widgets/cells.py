"""What the board draws for one frame, decided without a running app so it can be unit-tested.

`board_view` turns a puzzle and a Frame into per-cell facts (given, changed, wrong, confidence).
The `*_strips` functions turn those facts into Line-API strips, given a `Paint` of colours that the
Board widget reads from its CSS component classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip

from hrm.solver import Frame
from hrm.tasks.base import Puzzle

ARC_PALETTE = tuple(Color.parse(c) for c in (
    "#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00",
    "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF", "#870C25",
))

# Maze cell codes (hrm.tasks.maze): 1 wall, 2 open, 3 start, 4 goal, 5 path.
WALL, OPEN, START, GOAL, PATH = 1, 2, 3, 4, 5

# A cell of zero confidence keeps this much of its colour, so low-confidence cells stay visible.
MIN_INTENSITY = 0.3


@dataclass(frozen=True)
class BoardView:
    """Per-cell facts for one frame. `answer` is None until the model produced a first segment."""

    task: str
    question: np.ndarray
    answer: np.ndarray | None
    confidence: np.ndarray | None
    changed: np.ndarray | None
    given: np.ndarray
    wrong: np.ndarray | None


@dataclass(frozen=True)
class Paint:
    """Colours the Board reads from its component classes (`board--*`)."""

    background: Color
    grid: Style
    given: Style
    digit: Color
    faint: Color
    changed: Color       # background of changed text cells (sudoku)
    fresh: Color         # colour of changed colour cells (maze path, ARC)
    wrong: Color
    wall: Color
    open: Color
    start: Color
    goal: Color
    path: Color
    caption: Style


def sudoku_conflicts(grid: np.ndarray) -> np.ndarray:
    """Bool mask of filled cells whose digit repeats in their row, column or 3x3 box."""
    grid = np.asarray(grid)
    mask = np.zeros(grid.shape, dtype=bool)
    for r in range(9):
        mask[r, :] |= _repeats(grid[r, :])
    for c in range(9):
        mask[:, c] |= _repeats(grid[:, c])
    for br in range(0, 9, 3):
        for bc in range(0, 9, 3):
            mask[br:br + 3, bc:bc + 3] |= _repeats(grid[br:br + 3, bc:bc + 3].ravel()).reshape(3, 3)
    return mask


def _repeats(unit: np.ndarray) -> np.ndarray:
    counts = np.bincount(unit.ravel(), minlength=10)
    return (unit != 0) & (counts[unit] > 1)


def maze_crop(puzzle: Puzzle, grid: np.ndarray) -> np.ndarray:
    """Drop the wall padding added to mazes smaller than 30x30."""
    shape = puzzle.extra.get("shape")
    if not shape or tuple(grid.shape) == tuple(int(n) for n in shape):
        return grid
    top, left = (int(n) for n in puzzle.extra.get("origin", (0, 0)))
    return grid[top: top + int(shape[0]), left: left + int(shape[1])]


def board_view(puzzle: Puzzle, frame: Frame | None) -> BoardView:
    question = np.asarray(puzzle.grid)
    if puzzle.task == "maze":
        question = maze_crop(puzzle, question)
    if frame is None:
        return BoardView(puzzle.task, question, None, None, None, _given(puzzle.task, question), None)
    answer = np.asarray(frame.answer)
    confidence = np.asarray(frame.confidence, dtype=float)
    changed = np.asarray(frame.changed, dtype=bool)
    if puzzle.task == "maze":
        answer, confidence, changed = (maze_crop(puzzle, a) for a in (answer, confidence, changed))
    wrong = _wrong(puzzle.task, question, answer)
    return BoardView(puzzle.task, question, answer, confidence, changed, _given(puzzle.task, question), wrong)


def _given(task: str, question: np.ndarray) -> np.ndarray:
    if task == "sudoku":
        return question != 0
    if task == "maze":
        return np.isin(question, (WALL, START, GOAL))
    return np.zeros(question.shape, dtype=bool)


def _wrong(task: str, question: np.ndarray, answer: np.ndarray) -> np.ndarray:
    """Cells that visibly break the puzzle's rules (ARC has none to check cell by cell)."""
    if task == "sudoku" and answer.shape == question.shape == (9, 9):
        overwritten = (question != 0) & (answer != question)
        return sudoku_conflicts(answer) | overwritten
    if task == "maze" and answer.shape == question.shape:
        through_wall = (answer == PATH) & (question == WALL)
        lost_endpoint = np.isin(question, (START, GOAL)) & (answer != question)
        return through_wall | lost_endpoint
    return np.zeros(answer.shape, dtype=bool)


def intensity(confidence: float) -> float:
    return MIN_INTENSITY + (1.0 - MIN_INTENSITY) * float(np.clip(confidence, 0.0, 1.0))


# ---------------------------------------------------------------- sudoku (text cells)

SUDOKU_SIZES = ((5, 3), (3, 1))  # (cell width, cell height), largest first


def sudoku_size(cell_w: int, cell_h: int) -> tuple[int, int]:
    return 9 * cell_w + 4, 9 * cell_h + 4


def sudoku_cell_size(width: int, height: int) -> tuple[int, int]:
    for cell_w, cell_h in SUDOKU_SIZES:
        need_w, need_h = sudoku_size(cell_w, cell_h)
        if need_w <= width and need_h <= height:
            return cell_w, cell_h
    return SUDOKU_SIZES[-1]


def sudoku_strips(view: BoardView, paint: Paint, cell_w: int, cell_h: int) -> list[Strip]:
    box = 3 * cell_w
    grid = paint.grid
    strips = [_rule("┌", "┬", "┐", box, grid)]
    for r in range(9):
        if r in (3, 6):
            strips.append(_rule("├", "┼", "┤", box, grid))
        for sub in range(cell_h):
            segments = [Segment("│", grid)]
            for c in range(9):
                text, style = _sudoku_cell(view, paint, r, c)
                shown = text if sub == cell_h // 2 else " "
                segments.append(Segment(shown.center(cell_w), style))
                if c in (2, 5, 8):
                    segments.append(Segment("│", grid))
            strips.append(Strip(segments))
    strips.append(_rule("└", "┴", "┘", box, grid))
    return strips


def _rule(left: str, mid: str, right: str, box: int, style: Style) -> Strip:
    return Strip([Segment(left + mid.join(["─" * box] * 3) + right, style)])


def _sudoku_cell(view: BoardView, paint: Paint, r: int, c: int) -> tuple[str, Style]:
    bg = paint.background
    if view.answer is None:
        value = int(view.question[r, c])
        if view.given[r, c]:
            return str(value), paint.given + Style(bgcolor=bg.rich_color)
        return "·", Style(color=paint.faint.rich_color, bgcolor=bg.rich_color)
    value = int(view.answer[r, c])
    if view.changed[r, c]:
        bg = paint.changed
    text = str(value) if 1 <= value <= 9 else "·"
    if view.wrong[r, c]:
        return text, Style(color=paint.wrong.rich_color, bgcolor=bg.rich_color, bold=True, underline=True)
    if view.given[r, c]:
        return text, paint.given + Style(bgcolor=bg.rich_color)
    colour = paint.faint.blend(paint.digit, intensity(view.confidence[r, c]))
    return text, Style(color=colour.rich_color, bgcolor=bg.rich_color)


# ---------------------------------------------------------------- maze and ARC (colour cells)

HALF = 0                 # a cell is 1 column x half a row (two cells per character, via '▀')
SCALES = (4, 3, 2, 1)    # otherwise a cell is 2*scale columns x scale rows; larger first


def pixel_size(rows: int, cols: int, scale: int) -> tuple[int, int]:
    """(width, height) in terminal cells of a rows x cols colour grid drawn at `scale`."""
    return (2 * scale * cols, scale * rows) if scale else (cols, (rows + 1) // 2)


def maze_colours(view: BoardView, paint: Paint) -> list[list[Color]]:
    rows, cols = view.question.shape
    return [[_maze_colour(view, paint, r, c) for c in range(cols)] for r in range(rows)]


def _maze_colour(view: BoardView, paint: Paint, r: int, c: int) -> Color:
    q = int(view.question[r, c])
    fixed = {WALL: paint.wall, START: paint.start, GOAL: paint.goal}
    if view.answer is None:
        return fixed.get(q, paint.open)
    if view.wrong[r, c]:
        return paint.wrong
    if q in fixed:
        return fixed[q]
    strength = intensity(view.confidence[r, c])
    if int(view.answer[r, c]) == PATH:
        colour = paint.fresh if view.changed[r, c] else paint.path
        return paint.open.blend(colour, strength)
    if view.changed[r, c]:  # path withdrawn in this segment
        return paint.open.blend(paint.fresh, 0.35)
    return paint.open


def arc_colours(grid: np.ndarray, confidence: np.ndarray | None, paint: Paint) -> list[list[Color]]:
    rows, cols = grid.shape
    out = []
    for r in range(rows):
        row = []
        for c in range(cols):
            value = int(grid[r, c])
            colour = ARC_PALETTE[value] if 0 <= value <= 9 else paint.wrong
            if confidence is not None:
                colour = paint.background.blend(colour, intensity(confidence[r, c]))
            row.append(colour)
        out.append(row)
    return out


def pixel_strips(colours: list[list[Color]], scale: int, marks: np.ndarray | None = None) -> list[Strip]:
    """Draw a colour grid. At scale >= 1, cells flagged in `marks` carry a small dot."""
    if scale == HALF:
        return _half_block_strips(colours)
    strips = []
    for r, row in enumerate(colours):
        for sub in range(scale):
            middle = sub == scale // 2
            strips.append(Strip([
                _block_cell(colour, 2 * scale, middle and marks is not None and bool(marks[r, c]))
                for c, colour in enumerate(row)
            ]))
    return strips


def _half_block_strips(colours: list[list[Color]]) -> list[Strip]:
    strips = []
    for r in range(0, len(colours), 2):
        top = colours[r]
        bottom = colours[r + 1] if r + 1 < len(colours) else None
        strips.append(Strip([
            Segment("▀", Style(color=t.rich_color, bgcolor=bottom[c].rich_color if bottom else None))
            for c, t in enumerate(top)
        ]))
    return strips


def _block_cell(colour: Color, width: int, marked: bool) -> Segment:
    text = ("•" if marked else " ").center(width)
    return Segment(text, Style(color=colour.get_contrast_text().rich_color, bgcolor=colour.rich_color))


# ---------------------------------------------------------------- layout helpers


def captioned(caption: str, strips: list[Strip], style: Style, background: Style) -> list[Strip]:
    """A block: a caption line above `strips`, both centred on the wider of the two."""
    width = max([len(caption)] + [s.cell_length for s in strips])
    head = Strip([Segment(caption.center(width), style)]).apply_style(background)
    return [head] + [s.text_align(width, "center").apply_style(background) for s in strips]


def hstack(blocks: list[list[Strip]], gap: int, style: Style) -> list[Strip]:
    height = max(len(b) for b in blocks)
    widths = [max((s.cell_length for s in b), default=0) for b in blocks]
    rows = []
    for y in range(height):
        parts = []
        for i, (block, width) in enumerate(zip(blocks, widths, strict=True)):
            if i:
                parts.append(Strip.blank(gap, style))
            line = block[y] if y < len(block) else Strip.blank(width, style)
            parts.append(line.extend_cell_length(width, style))
        rows.append(Strip.join(parts))
    return rows


def centre(strips: list[Strip], width: int, height: int, style: Style) -> list[Strip]:
    """Place the drawing in the middle of a width x height area (cropping when it does not fit)."""
    top = max(0, (height - len(strips)) // 2)
    drawing_w = max((s.cell_length for s in strips), default=0)
    left = max(0, (width - drawing_w) // 2)
    out = [Strip.blank(width, style)] * top
    for s in strips[: height - top]:
        out.append((Strip.blank(left, style) + s).crop_extend(0, width, style))
    out += [Strip.blank(width, style)] * (height - len(out))
    return out
