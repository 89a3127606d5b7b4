"""PNG and GIF pictures of puzzles, answers and solve traces (Pillow only, no system fonts).

`render_puzzle` draws one picture in the task's look (digits in boxes, coded cells, palette colours);
`save_png` writes it; `save_gif` animates a list of hrm.solver.Frame (one per deep-supervision
segment) with the segment number and q_halt on each.
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
from hrm.tasks import get_task
from hrm.tasks.base import cropped
from hrm.tasks.look import CodeLook, DigitLook, PaletteLook, unknown_look

if TYPE_CHECKING:
    from hrm.solver import Frame
    from hrm.tasks.base import Puzzle, Task

RGB = tuple[int, int, int]

BACKGROUND: RGB = (255, 255, 255)
INK: RGB = (20, 20, 20)
MODEL_BLUE: RGB = (31, 95, 191)
RULE_RED: RGB = (214, 39, 40)
RULE_RED_FILL: RGB = (253, 221, 221)
CHANGED_FILL: RGB = (255, 241, 193)
HEADER_INK: RGB = (60, 60, 60)
HEADER_HEIGHT = 30

DIGIT_CELL = 48
DIGIT_PAD = 16

PALETTE_LINE: RGB = (85, 85, 85)
PALETTE_PAD = 16
PALETTE_GAP = 28          # between the grids of a pair
PALETTE_ROW_GAP = 36      # between pairs
OUTLINE: RGB = (255, 0, 255)   # a colour cell that breaks a rule

ROLE_COLOURS: dict[str, RGB] = {
    "wall": (30, 30, 30),
    "open": (255, 255, 255),
    "start": (46, 204, 64),      # green
    "goal": (255, 65, 54),       # red
    "path": (0, 116, 217),       # blue
}
ROLE_LETTERS = {"start": "S", "goal": "G"}
CODE_PAD = 12
CODE_PAGE: RGB = (205, 210, 220)   # around the grid: unlike its floor, so open rim cells stay visible


def hex_rgb(colour: str) -> RGB:
    """'#rrggbb' -> (r, g, b)."""
    value = int(colour.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


@lru_cache(maxsize=16)
def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at `size` pixels: needs no system fonts."""
    return ImageFont.load_default(size=max(6, int(size)))


def render_puzzle(task: str | Task, puzzle: Puzzle, answer: np.ndarray | None = None,
                  confidence: np.ndarray | None = None, changed: np.ndarray | None = None) -> Image.Image:
    """Picture of a puzzle, optionally with an answer drawn in, as the task's look says (hrm.tasks.look)."""
    spec = get_task(task) if isinstance(task, str) else task
    look = spec.look
    if isinstance(look, DigitLook):
        return render_digits(spec, look, puzzle, answer, confidence, changed)
    if isinstance(look, CodeLook):
        return render_codes(spec, look, puzzle, answer, changed)
    if isinstance(look, PaletteLook):
        return render_palette(spec, look, puzzle, answer)
    raise HRMError(f"cannot draw {spec.name} puzzles: {unknown_look(look, 'the PNG renderer')}")


def save_png(task: str | Task, puzzle: Puzzle, answer: np.ndarray | None, path: str | Path,
             confidence: np.ndarray | None = None, changed: np.ndarray | None = None) -> None:
    """Write `render_puzzle(...)` as a PNG file."""
    image = render_puzzle(task, puzzle, answer, confidence, changed)
    _write(path, lambda p: image.save(p, format="PNG", optimize=True))


def save_gif(task: str | Task, puzzle: Puzzle, frames: Sequence[Frame], path: str | Path,
             duration_ms: int = 600, final_hold_ms: int = 2000) -> None:
    """Animated GIF with one picture per deep-supervision segment, captioned with segment and q_halt."""
    if not frames:
        raise HRMError("nothing to animate: the solve produced no frames")
    pictures = [caption(render_puzzle(task, puzzle, f.answer, f.confidence, f.changed), frame_title(f))
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
# digits in boxes (Sudoku)


def render_digits(task: Task, look: DigitLook, puzzle: Puzzle, answer: np.ndarray | None = None,
                  confidence: np.ndarray | None = None, changed: np.ndarray | None = None) -> Image.Image:
    givens = _as_grid(puzzle.grid, look.shape, f"{task.name} puzzle")
    shown = givens if answer is None else _as_grid(answer, look.shape, f"{task.name} answer")
    conf = None if confidence is None else _as_grid(confidence, look.shape, "confidence", float)
    moved = None if changed is None else _as_grid(changed, look.shape, "changed", bool)
    broken = task.rule_breaks(puzzle, shown)
    given = task.given_mask(puzzle)
    side = look.size * DIGIT_CELL + 2 * DIGIT_PAD
    image = Image.new("RGB", (side, side), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for r, c in np.ndindex(*look.shape):
        # confidence fades the model's digits; with no answer it fades what was read from a photo
        cell_conf = None if conf is None or (given[r, c] and answer is not None) else float(conf[r, c])
        _digit_cell(draw, r, c, bool(given[r, c]), int(shown[r, c]), bool(broken[r, c]), cell_conf,
                    bool(moved is not None and moved[r, c]))
    _box_lines(draw, look)
    return image


def _digit_cell(draw: ImageDraw.ImageDraw, r: int, c: int, given: bool, value: int, broken: bool,
                conf: float | None, moved: bool) -> None:
    x0, y0 = DIGIT_PAD + c * DIGIT_CELL, DIGIT_PAD + r * DIGIT_CELL
    box = (x0, y0, x0 + DIGIT_CELL, y0 + DIGIT_CELL)
    if broken:
        draw.rectangle(box, fill=RULE_RED_FILL)
    elif moved:
        draw.rectangle(box, fill=CHANGED_FILL)
    if not value:
        return
    colour = RULE_RED if broken else (INK if given else MODEL_BLUE)
    if conf is not None:
        colour = _fade(colour, 0.25 + 0.75 * min(max(conf, 0.0), 1.0))
    draw.text((x0 + DIGIT_CELL / 2, y0 + DIGIT_CELL / 2 + 1), str(value), fill=colour,
              font=font(int(DIGIT_CELL * 0.62)), anchor="mm")


def _box_lines(draw: ImageDraw.ImageDraw, look: DigitLook) -> None:
    """Thin lines between cells, thick ones between boxes (rows and columns of a box may differ)."""
    end = DIGIT_PAD + look.size * DIGIT_CELL
    box_rows, box_cols = look.box
    for k in range(look.size + 1):
        pos = DIGIT_PAD + k * DIGIT_CELL
        for thick, vertical in ((k % box_cols == 0, True), (k % box_rows == 0, False)):
            width, colour = (3, INK) if thick else (1, (120, 120, 120))
            lo = pos - width // 2
            if vertical:
                draw.rectangle((lo, DIGIT_PAD - 1, lo + width - 1, end + 1), fill=colour)
            else:
                draw.rectangle((DIGIT_PAD - 1, lo, end + 1, lo + width - 1), fill=colour)


def _fade(colour: RGB, strength: float) -> RGB:
    """Blend towards white: strength 1 keeps the colour, 0 gives white."""
    return tuple(int(round(255 - (255 - v) * strength)) for v in colour)  # type: ignore[return-value]


# ----------------------------------------------------------------------------------------------
# cell codes with roles (mazes)


def render_codes(task: Task, look: CodeLook, puzzle: Puzzle, answer: np.ndarray | None = None,
                 changed: np.ndarray | None = None) -> Image.Image:
    """The puzzle's window; an answer shows only where the question is open (walls, S and G stay)."""
    grid = _window_of(task, puzzle, puzzle.grid)
    shown = grid if answer is None else _window_of(task, puzzle, answer)
    broken = None if answer is None else _window_of(task, puzzle, task.rule_breaks(puzzle, answer))
    moved = None if changed is None else _window_of(task, puzzle, np.asarray(changed, bool))
    h, w = grid.shape
    cell = max(6, min(24, 640 // max(h, w)))
    image = Image.new("RGB", (w * cell + 2 * CODE_PAD, h * cell + 2 * CODE_PAD), CODE_PAGE)
    draw = ImageDraw.Draw(image)
    for r, c in np.ndindex(h, w):
        role = look.role(grid[r, c])
        if role in ("open", "path"):
            role = look.role(shown[r, c])
        x0, y0 = CODE_PAD + c * cell, CODE_PAD + r * cell
        fill = CHANGED_FILL if role == "open" and moved is not None and moved[r, c] else ROLE_COLOURS[role]
        draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=fill)
        if role in ROLE_LETTERS and cell >= 14:
            draw.text((x0 + cell / 2, y0 + cell / 2), ROLE_LETTERS[role], fill=BACKGROUND,
                      font=font(int(cell * 0.75)), anchor="mm")
        if broken is not None and broken[r, c]:
            draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), outline=OUTLINE, width=2)
    return image


def _window_of(task: Task, puzzle: Puzzle, grid: np.ndarray) -> np.ndarray:
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise HRMError(f"{task.name} grid must be 2-D, got shape {grid.shape}")
    return cropped(task, puzzle, grid)


# ----------------------------------------------------------------------------------------------
# palette colours (ARC)


def render_palette(task: Task, look: PaletteLook, puzzle: Puzzle, answer: np.ndarray | None = None) -> Image.Image:
    """Demonstration pairs (input beside output), then the test input beside the answer if given;
    answer cells that break a rule (ARC: differ from the known output) are outlined."""
    rows: list[list[np.ndarray]] = [[np.asarray(i), np.asarray(o)] for i, o in puzzle.extra.get("demos", [])]
    test_row = [np.asarray(puzzle.grid)]
    if answer is not None:
        test_row.append(np.asarray(answer))
    rows.append(test_row)
    for row in rows:
        for grid in row:
            _check_palette_grid(grid, len(look.palette))
    colours = [hex_rgb(c) for c in look.palette]
    cell = palette_cell_size(rows)
    widths = [sum(g.shape[1] * cell + 1 for g in row) + PALETTE_GAP * (len(row) - 1) for row in rows]
    heights = [max(g.shape[0] * cell + 1 for g in row) for row in rows]
    image = Image.new("RGB", (max(widths) + 2 * PALETTE_PAD, sum(heights) + PALETTE_ROW_GAP * (len(rows) - 1)
                              + 2 * PALETTE_PAD), BACKGROUND)
    draw = ImageDraw.Draw(image)
    wrong = None if answer is None else task.rule_breaks(puzzle, answer)
    y = PALETTE_PAD
    for r, row in enumerate(rows):
        x = PALETTE_PAD
        for k, grid in enumerate(row):
            is_answer = r == len(rows) - 1 and k == 1
            _draw_palette_grid(draw, grid, colours, x, y, cell, wrong if is_answer else None)
            x += grid.shape[1] * cell + 1 + PALETTE_GAP
        y += heights[r] + PALETTE_ROW_GAP
    return image


def palette_cell_size(rows: list[list[np.ndarray]]) -> int:
    widest = max(sum(g.shape[1] for g in row) for row in rows)
    tallest = sum(max(g.shape[0] for g in row) for row in rows)
    return int(max(6, min(24, 900 // max(widest, 1), 1400 // max(tallest, 1))))


def _draw_palette_grid(draw: ImageDraw.ImageDraw, grid: np.ndarray, colours: list[RGB], x: int, y: int,
                       cell: int, wrong: np.ndarray | None) -> None:
    h, w = grid.shape
    draw.rectangle((x, y, x + w * cell, y + h * cell), fill=PALETTE_LINE)
    for r, c in np.ndindex(h, w):
        x0, y0 = x + c * cell + 1, y + r * cell + 1
        draw.rectangle((x0, y0, x0 + cell - 2, y0 + cell - 2), fill=colours[int(grid[r, c])])
        if wrong is not None and wrong[r, c]:
            draw.rectangle((x0, y0, x0 + cell - 2, y0 + cell - 2), outline=OUTLINE, width=2)


def _check_palette_grid(grid: np.ndarray, colours: int) -> None:
    if grid.ndim != 2 or grid.size == 0:
        raise HRMError(f"a colour grid must be a non-empty 2-D array, got shape {grid.shape}")
    if grid.min() < 0 or grid.max() >= colours:
        raise HRMError(f"the grid holds a colour outside 0..{colours - 1}")


def _as_grid(values: np.ndarray, shape: tuple[int, int], what: str, dtype: type = int) -> np.ndarray:
    arr = np.asarray(values, dtype=dtype)
    if arr.shape != shape:
        raise HRMError(f"{what} must have shape {shape[0]}x{shape[1]}, got {arr.shape}")
    return arr
