"""PNG and GIF pictures of puzzles, answers and solve traces (Pillow only, no system fonts).

`render_puzzle` draws one picture; `save_png` writes it; `save_gif` animates a list of
hrm.solver.Frame (one per deep-supervision segment) with the segment number and q_halt on each.
Colours and layout are chosen so that `hrm.imaging.read_image` reads a clean render back exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hrm.errors import HRMError

if TYPE_CHECKING:
    from hrm.solver import Frame
    from hrm.tasks.base import Puzzle

RGB = tuple[int, int, int]

BACKGROUND: RGB = (255, 255, 255)
INK: RGB = (20, 20, 20)
MODEL_BLUE: RGB = (31, 95, 191)
RULE_RED: RGB = (214, 39, 40)
RULE_RED_FILL: RGB = (253, 221, 221)
CHANGED_FILL: RGB = (255, 241, 193)
HEADER_INK: RGB = (60, 60, 60)
HEADER_HEIGHT = 30

SUDOKU_CELL = 48
SUDOKU_PAD = 16

ARC_PALETTE: tuple[RGB, ...] = (
    (0x00, 0x00, 0x00), (0x00, 0x74, 0xD9), (0xFF, 0x41, 0x36), (0x2E, 0xCC, 0x40), (0xFF, 0xDC, 0x00),
    (0xAA, 0xAA, 0xAA), (0xF0, 0x12, 0xBE), (0xFF, 0x85, 0x1B), (0x7F, 0xDB, 0xFF), (0x87, 0x0C, 0x25),
)
ARC_LINE: RGB = (85, 85, 85)
ARC_PAD = 16
ARC_GAP = 28          # between the grids of a pair
ARC_ROW_GAP = 36      # between pairs
ARC_WRONG: RGB = (255, 0, 255)

MAZE_COLOURS: dict[int, RGB] = {
    1: (30, 30, 30),       # '#' wall
    2: (255, 255, 255),    # ' ' open
    3: (46, 204, 64),      # 'S' start: green
    4: (255, 65, 54),      # 'G' goal: red
    5: (0, 116, 217),      # 'o' path: blue
}
MAZE_PAD = 12
MAZE_PAGE: RGB = (205, 210, 220)   # around the maze: unlike its floor, so open rim cells stay visible


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` pixels: needs no system fonts."""
    return ImageFont.load_default(size=max(6, int(size)))


def render_puzzle(task_name: str, puzzle: Puzzle, answer: np.ndarray | None = None,
                  confidence: np.ndarray | None = None, changed: np.ndarray | None = None) -> Image.Image:
    """Picture of a puzzle, optionally with an answer drawn in (sudoku, maze or arc)."""
    renderers = {"sudoku": render_sudoku, "maze": render_maze, "arc": render_arc}
    if task_name not in renderers:
        raise HRMError(f"cannot draw task '{task_name}'", hint="choose one of: sudoku, maze, arc")
    return renderers[task_name](puzzle, answer, confidence, changed)


def save_png(task_name: str, puzzle: Puzzle, answer: np.ndarray | None, path: str | Path,
             confidence: np.ndarray | None = None, changed: np.ndarray | None = None) -> None:
    """Write `render_puzzle(...)` as a PNG file."""
    image = render_puzzle(task_name, puzzle, answer, confidence, changed)
    _write(path, lambda p: image.save(p, format="PNG", optimize=True))


def save_gif(task_name: str, puzzle: Puzzle, frames: Sequence[Frame], path: str | Path,
             duration_ms: int = 600, final_hold_ms: int = 2000) -> None:
    """Animated GIF with one picture per deep-supervision segment, captioned with segment and q_halt."""
    if not frames:
        raise HRMError("nothing to animate: the solve produced no frames")
    pictures = [caption(render_puzzle(task_name, puzzle, f.answer, f.confidence, f.changed), frame_title(f))
                for f in frames]
    size = (max(p.width for p in pictures), max(p.height for p in pictures))
    pictures = [_pad_to(p, size) for p in pictures]
    durations = [duration_ms] * (len(pictures) - 1) + [final_hold_ms]
    paletted = [p.convert("P", palette=Image.Palette.ADAPTIVE, colors=255) for p in pictures]
    _write(path, lambda p: paletted[0].save(p, format="GIF", save_all=True, append_images=paletted[1:],
                                            duration=durations, loop=0, disposal=1))


def frame_title(frame: Frame) -> str:
    status = "halted" if frame.halted else "thinking"
    verdict = "  solved" if frame.verdict.ok and frame.verdict.checkable else ""
    return f"segment {frame.segment}/{frame.max_segments}   q_halt {frame.q_halt:.2f}   {status}{verdict}"


def caption(image: Image.Image, text: str) -> Image.Image:
    """Add a header band with `text` above the picture."""
    out = Image.new("RGB", (image.width, image.height + HEADER_HEIGHT), BACKGROUND)
    out.paste(image, (0, HEADER_HEIGHT))
    ImageDraw.Draw(out).text((8, HEADER_HEIGHT // 2), text, fill=HEADER_INK, font=font(16), anchor="lm")
    return out


def _pad_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    out = Image.new("RGB", size, BACKGROUND)
    out.paste(image, (0, 0))
    return out


def _write(path: str | Path, save: Callable[[Path], object]) -> None:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise HRMError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        save(path)
    except OSError as exc:
        raise HRMError(f"cannot write {path}: {exc.strerror or exc}") from exc


# ----------------------------------------------------------------------------------------------
# sudoku


def sudoku_rule_breakers(grid: np.ndarray) -> np.ndarray:
    """bool 9x9: filled cells whose digit repeats in their row, column or box."""
    grid = np.asarray(grid)
    bad = np.zeros((9, 9), bool)
    units = [[(r, c) for c in range(9)] for r in range(9)]
    units += [[(r, c) for r in range(9)] for c in range(9)]
    units += [[(br + r, bc + c) for r in range(3) for c in range(3)] for br in (0, 3, 6) for bc in (0, 3, 6)]
    for unit in units:
        values = [grid[p] for p in unit]
        for p, v in zip(unit, values, strict=True):
            if v and values.count(v) > 1:
                bad[p] = True
    return bad


def render_sudoku(puzzle: Puzzle, answer: np.ndarray | None = None, confidence: np.ndarray | None = None,
                  changed: np.ndarray | None = None) -> Image.Image:
    givens = _as_grid(puzzle.grid, (9, 9), "sudoku puzzle")
    shown = givens if answer is None else _as_grid(answer, (9, 9), "sudoku answer")
    conf = None if confidence is None else _as_grid(confidence, (9, 9), "confidence", float)
    moved = None if changed is None else _as_grid(changed, (9, 9), "changed", bool)
    broken = sudoku_rule_breakers(shown)
    side = 9 * SUDOKU_CELL + 2 * SUDOKU_PAD
    image = Image.new("RGB", (side, side), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for r in range(9):
        for c in range(9):
            given = int(givens[r, c])
            # confidence fades the model's digits; with no answer it fades what was read from a photo
            cell_conf = None if conf is None or (given and answer is not None) else float(conf[r, c])
            _sudoku_cell(draw, r, c, given, int(shown[r, c]), bool(broken[r, c]), cell_conf,
                         bool(moved is not None and moved[r, c]))
    _sudoku_lines(draw)
    return image


def _sudoku_cell(draw: ImageDraw.ImageDraw, r: int, c: int, given: int, value: int, broken: bool,
                 conf: float | None, moved: bool) -> None:
    x0, y0 = SUDOKU_PAD + c * SUDOKU_CELL, SUDOKU_PAD + r * SUDOKU_CELL
    box = (x0, y0, x0 + SUDOKU_CELL, y0 + SUDOKU_CELL)
    if broken:
        draw.rectangle(box, fill=RULE_RED_FILL)
    elif moved:
        draw.rectangle(box, fill=CHANGED_FILL)
    if not value:
        return
    colour = RULE_RED if broken else (INK if given else MODEL_BLUE)
    if conf is not None:
        colour = _fade(colour, 0.25 + 0.75 * min(max(conf, 0.0), 1.0))
    draw.text((x0 + SUDOKU_CELL / 2, y0 + SUDOKU_CELL / 2 + 1), str(value), fill=colour,
              font=font(int(SUDOKU_CELL * 0.62)), anchor="mm")


def _sudoku_lines(draw: ImageDraw.ImageDraw) -> None:
    end = SUDOKU_PAD + 9 * SUDOKU_CELL
    for k in range(10):
        pos = SUDOKU_PAD + k * SUDOKU_CELL
        thick = k % 3 == 0
        width, colour = (3, INK) if thick else (1, (120, 120, 120))
        lo = pos - width // 2
        draw.rectangle((lo, SUDOKU_PAD - 1, lo + width - 1, end + 1), fill=colour)
        draw.rectangle((SUDOKU_PAD - 1, lo, end + 1, lo + width - 1), fill=colour)


def _fade(colour: RGB, strength: float) -> RGB:
    """Blend towards white: strength 1 keeps the colour, 0 gives white."""
    return tuple(int(round(255 - (255 - v) * strength)) for v in colour)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# maze


def render_maze(puzzle: Puzzle, answer: np.ndarray | None = None, confidence: np.ndarray | None = None,
                changed: np.ndarray | None = None) -> Image.Image:
    grid = _unpad_maze(puzzle, puzzle.grid)
    shown = grid if answer is None else _unpad_maze(puzzle, answer)
    h, w = grid.shape
    cell = max(6, min(24, 640 // max(h, w)))
    image = Image.new("RGB", (w * cell + 2 * MAZE_PAD, h * cell + 2 * MAZE_PAD), MAZE_PAGE)
    draw = ImageDraw.Draw(image)
    moved = None if changed is None else _unpad_maze(puzzle, np.asarray(changed, bool))
    for r in range(h):
        for c in range(w):
            code = int(shown[r, c]) if int(grid[r, c]) in (2, 5) else int(grid[r, c])
            x0, y0 = MAZE_PAD + c * cell, MAZE_PAD + r * cell
            fill = MAZE_COLOURS.get(code, MAZE_COLOURS[2])
            if code == 2 and moved is not None and moved[r, c]:
                fill = CHANGED_FILL
            draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=fill)
            if code in (3, 4) and cell >= 14:
                draw.text((x0 + cell / 2, y0 + cell / 2), "S" if code == 3 else "G", fill=BACKGROUND,
                          font=font(int(cell * 0.75)), anchor="mm")
    return image


def _unpad_maze(puzzle: Puzzle, grid: np.ndarray) -> np.ndarray:
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise HRMError(f"maze grid must be 2-D, got shape {grid.shape}")
    shape = puzzle.extra.get("shape")
    if shape is not None:
        grid = grid[: int(shape[0]), : int(shape[1])]
    return grid


# ----------------------------------------------------------------------------------------------
# arc


def render_arc(puzzle: Puzzle, answer: np.ndarray | None = None, confidence: np.ndarray | None = None,
               changed: np.ndarray | None = None) -> Image.Image:
    """Demonstration pairs (input beside output), then the test input beside the answer if given."""
    rows: list[list[np.ndarray]] = [[np.asarray(i), np.asarray(o)] for i, o in puzzle.extra.get("demos", [])]
    test_row = [np.asarray(puzzle.grid)]
    if answer is not None:
        test_row.append(np.asarray(answer))
    rows.append(test_row)
    for row in rows:
        for grid in row:
            _check_arc_grid(grid)
    cell = arc_cell_size(rows)
    widths = [sum(g.shape[1] * cell + 1 for g in row) + ARC_GAP * (len(row) - 1) for row in rows]
    heights = [max(g.shape[0] * cell + 1 for g in row) for row in rows]
    image = Image.new("RGB", (max(widths) + 2 * ARC_PAD, sum(heights) + ARC_ROW_GAP * (len(rows) - 1)
                              + 2 * ARC_PAD), BACKGROUND)
    draw = ImageDraw.Draw(image)
    wrong = _arc_wrong_cells(puzzle, answer)
    y = ARC_PAD
    for r, row in enumerate(rows):
        x = ARC_PAD
        for k, grid in enumerate(row):
            is_answer = r == len(rows) - 1 and k == 1
            _draw_arc_grid(draw, grid, x, y, cell, wrong if is_answer else None)
            x += grid.shape[1] * cell + 1 + ARC_GAP
        y += heights[r] + ARC_ROW_GAP
    return image


def arc_cell_size(rows: list[list[np.ndarray]]) -> int:
    widest = max(sum(g.shape[1] for g in row) for row in rows)
    tallest = sum(max(g.shape[0] for g in row) for row in rows)
    return int(max(6, min(24, 900 // max(widest, 1), 1400 // max(tallest, 1))))


def _draw_arc_grid(draw: ImageDraw.ImageDraw, grid: np.ndarray, x: int, y: int, cell: int,
                   wrong: np.ndarray | None) -> None:
    h, w = grid.shape
    draw.rectangle((x, y, x + w * cell, y + h * cell), fill=ARC_LINE)
    for r in range(h):
        for c in range(w):
            x0, y0 = x + c * cell + 1, y + r * cell + 1
            draw.rectangle((x0, y0, x0 + cell - 2, y0 + cell - 2), fill=ARC_PALETTE[int(grid[r, c])])
            if wrong is not None and wrong[r, c]:
                draw.rectangle((x0, y0, x0 + cell - 2, y0 + cell - 2), outline=ARC_WRONG, width=2)


def _arc_wrong_cells(puzzle: Puzzle, answer: np.ndarray | None) -> np.ndarray | None:
    if answer is None or puzzle.solution is None:
        return None
    solution, answer = np.asarray(puzzle.solution), np.asarray(answer)
    if solution.shape != answer.shape:
        return None
    return solution != answer


def _check_arc_grid(grid: np.ndarray) -> None:
    if grid.ndim != 2 or grid.size == 0:
        raise HRMError(f"ARC grid must be a non-empty 2-D array, got shape {grid.shape}")
    if grid.min() < 0 or grid.max() > 9:
        raise HRMError("ARC grid holds a colour outside 0..9")


def _as_grid(values: np.ndarray, shape: tuple[int, int], what: str, dtype: type = int) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype)
    if arr.shape != shape:
        raise HRMError(f"{what} must have shape {shape[0]}x{shape[1]}, got {arr.shape}")
    return arr
