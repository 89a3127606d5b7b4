"""What the board draws for one frame, decided without a running app so it can be unit-tested.

`board_view` turns a puzzle and a Frame into per-cell facts (given, changed, wrong, confidence), all
asked of the puzzle's task and cut to its window. The `*_strips` and `*_colours` functions turn those
facts into Line-API strips in the task's look, given a `Paint` of colours that the Board widget reads
from its CSS component classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip

from hrm.solver import Frame
from hrm.tasks import get_task
from hrm.tasks.base import Puzzle, cropped
from hrm.tasks.look import CodeLook, DigitLook, Look, PaletteLook

# A cell of zero confidence keeps this much of its colour, so low-confidence cells stay visible.
MIN_INTENSITY = 0.3


@dataclass(frozen=True)
class BoardView:
    """Per-cell facts for one frame. `answer` is None until the model produced a first segment."""

    look: Look
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


def board_view(puzzle: Puzzle, frame: Frame | None) -> BoardView:
    task = get_task(puzzle.task)
    question = cropped(task, puzzle, puzzle.grid)
    given = cropped(task, puzzle, task.given_mask(puzzle))
    if frame is None:
        return BoardView(task.look, question, None, None, None, given, None)
    answer = np.asarray(frame.answer)
    wrong = cropped(task, puzzle, task.rule_breaks(puzzle, answer))
    confidence, changed = np.asarray(frame.confidence, dtype=float), np.asarray(frame.changed, dtype=bool)
    answer, confidence, changed = (cropped(task, puzzle, a) for a in (answer, confidence, changed))
    return BoardView(task.look, question, answer, confidence, changed, given, wrong)


def intensity(confidence: float) -> float:
    return MIN_INTENSITY + (1.0 - MIN_INTENSITY) * float(np.clip(confidence, 0.0, 1.0))


# ---------------------------------------------------------------- digits in boxes (text cells)

DIGIT_SIZES = ((5, 3), (3, 1))  # (cell width, cell height), largest first


def digit_board_size(look: DigitLook, cell_w: int, cell_h: int) -> tuple[int, int]:
    box_rows, box_cols = look.box
    return (look.size * cell_w + look.size // box_cols + 1, look.size * cell_h + look.size // box_rows + 1)


def digit_cell_size(look: DigitLook, width: int, height: int) -> tuple[int, int]:
    for cell_w, cell_h in DIGIT_SIZES:
        need_w, need_h = digit_board_size(look, cell_w, cell_h)
        if need_w <= width and need_h <= height:
            return cell_w, cell_h
    return DIGIT_SIZES[-1]


def digit_strips(view: BoardView, look: DigitLook, paint: Paint, cell_w: int, cell_h: int) -> list[Strip]:
    box_rows, box_cols = look.box
    boxes, box = look.size // box_cols, box_cols * cell_w
    grid = paint.grid
    strips = [_rule("┌", "┬", "┐", box, boxes, grid)]
    for r in range(look.size):
        if r and r % box_rows == 0:
            strips.append(_rule("├", "┼", "┤", box, boxes, grid))
        for sub in range(cell_h):
            segments = [Segment("│", grid)]
            for c in range(look.size):
                text, style = _digit_cell(view, look, paint, r, c)
                shown = text if sub == cell_h // 2 else " "
                segments.append(Segment(shown.center(cell_w), style))
                if (c + 1) % box_cols == 0:
                    segments.append(Segment("│", grid))
            strips.append(Strip(segments))
    strips.append(_rule("└", "┴", "┘", box, boxes, grid))
    return strips


def _rule(left: str, mid: str, right: str, box: int, boxes: int, style: Style) -> Strip:
    return Strip([Segment(left + mid.join(["─" * box] * boxes) + right, style)])


def _digit_cell(view: BoardView, look: DigitLook, paint: Paint, r: int, c: int) -> tuple[str, Style]:
    bg = paint.background
    if view.answer is None:
        value = int(view.question[r, c])
        if view.given[r, c]:
            return str(value), paint.given + Style(bgcolor=bg.rich_color)
        return "·", Style(color=paint.faint.rich_color, bgcolor=bg.rich_color)
    value = int(view.answer[r, c])
    if view.changed[r, c]:
        bg = paint.changed
    text = str(value) if 1 <= value <= look.size else "·"
    if view.wrong[r, c]:
        return text, Style(color=paint.wrong.rich_color, bgcolor=bg.rich_color, bold=True, underline=True)
    if view.given[r, c]:
        return text, paint.given + Style(bgcolor=bg.rich_color)
    colour = paint.faint.blend(paint.digit, intensity(view.confidence[r, c]))
    return text, Style(color=colour.rich_color, bgcolor=bg.rich_color)


# ---------------------------------------------------------------- coded cells and palettes (colour cells)

HALF = 0                 # a cell is 1 column x half a row (two cells per character, via '▀')
SCALES = (4, 3, 2, 1)    # otherwise a cell is 2*scale columns x scale rows; larger first


def pixel_size(rows: int, cols: int, scale: int) -> tuple[int, int]:
    """(width, height) in terminal cells of a rows x cols colour grid drawn at `scale`."""
    return (2 * scale * cols, scale * rows) if scale else (cols, (rows + 1) // 2)


def code_colours(view: BoardView, look: CodeLook, paint: Paint) -> list[list[Color]]:
    rows, cols = view.question.shape
    return [[_code_colour(view, look, paint, r, c) for c in range(cols)] for r in range(rows)]


def _code_colour(view: BoardView, look: CodeLook, paint: Paint, r: int, c: int) -> Color:
    role = look.role(view.question[r, c])
    fixed = {"wall": paint.wall, "start": paint.start, "goal": paint.goal}
    if view.answer is None:
        return fixed.get(role, paint.open)
    if view.wrong[r, c]:
        return paint.wrong
    if role in fixed:
        return fixed[role]
    strength = intensity(view.confidence[r, c])
    if look.role(view.answer[r, c]) == "path":
        colour = paint.fresh if view.changed[r, c] else paint.path
        return paint.open.blend(colour, strength)
    if view.changed[r, c]:  # path withdrawn in this segment
        return paint.open.blend(paint.fresh, 0.35)
    return paint.open


def palette_colours(grid: np.ndarray, confidence: np.ndarray | None, look: PaletteLook,
                    paint: Paint) -> list[list[Color]]:
    """The palette's colours, faded by confidence; values outside it in the wrong colour. Cells that
    differ from a known output are not marked: that would hide the colour the model chose."""
    palette = [Color.parse(c) for c in look.palette]
    rows, cols = grid.shape
    out = []
    for r in range(rows):
        row = []
        for c in range(cols):
            value = int(grid[r, c])
            colour = palette[value] if 0 <= value < len(palette) else paint.wrong
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
