"""Image file -> puzzles: safe loading, task detection, and the Sudoku digit reading.

`read_image(path, task=None)` returns a list of Puzzle (one per grid found; today always one).
Sudoku puzzles carry what the reader saw, so the CLI can show it (`--show-read`):
  extra["read_confidence"]  9x9 float32, probability of the digit (or blank) read in each cell
  extra["read_raw"]         9x9 int, the first choice per cell before any repair (the digit model's,
                            faint marks already read as empty: hrm.imaging.cells)
  extra["read_unsure"]      [[row, col], ...] cells read with confidence below LOW_CONFIDENCE: to check
  extra["read_turns"]       quarter turns (counter-clockwise) that made the photo's digits upright
  extra["read_corners"]     the grid's corners in the image, [[x, y] x 4] from top-left clockwise
  extra["read_repaired"]    cells changed because the first reading broke a Sudoku rule or had no
                            unique solution (only cells the digit model was unsure about)
"""

from __future__ import annotations

import contextlib
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from hrm.errors import ImageReadError
from hrm.tasks import all_tasks, get_task, task_choices
from hrm.tasks.base import Puzzle, Task
from hrm.tasks.sudoku import conflict_mask as clash_mask

MAX_FILE_BYTES = 64 * 1024 * 1024      # larger files are refused before decoding
MAX_PIXELS = 50_000_000                # ~ an 8K photo; also bounded by Pillow's Image.MAX_IMAGE_PIXELS
WORK_SIDE = 2400                       # larger images are shrunk to this before reading
MIN_GIVENS = 17
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")
REPAIR_BELOW = 0.97                    # only cells read with less confidence may be changed by the repair
SUSPECT_BELOW = 0.9                    # cells whose runner-up reading is tried when the puzzle has no solution
LOW_CONFIDENCE = 0.9                   # cells read with less confidence are flagged for the user to check
MAX_SUSPECTS = 6
SOLVE_BUDGET_S = 1.5


def is_image_path(path: str | Path) -> bool:
    """Cheap check by file name, for callers deciding between text and image input."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def load_image(path: str | Path) -> Image.Image:
    """Decode an image file into RGB, upright (EXIF), transparency over white, at most WORK_SIDE pixels."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise ImageReadError(f"{path}: the file is empty")
    if size > MAX_FILE_BYTES:
        raise ImageReadError(f"{path}: {size / 2**20:.0f} MiB is too large for an image of a puzzle",
                             hint=f"the limit is {MAX_FILE_BYTES // 2**20} MiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path)
            _check_pixels(path, image.size)
            image.draft("RGB", (WORK_SIDE, WORK_SIDE))   # JPEG: decode at reduced scale, much faster
            image.load()
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(f"{path}: the image is too large to read safely") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(f"{path}: not an image format that can be read",
                             hint="use PNG, JPEG, WebP, GIF, BMP or TIFF") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(f"{path}: the image is damaged or truncated ({_first_line(exc)})") from exc
    return _normalise(image)


def _check_pixels(path: Path, size: tuple[int, int]) -> None:
    limit = min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS)
    if size[0] * size[1] > limit:
        raise ImageReadError(f"{path}: {size[0]}x{size[1]} pixels is too large to read safely",
                             hint=f"the limit is {limit / 1e6:.0f} megapixels; shrink the image")
    if min(size) < 16:
        raise ImageReadError(f"{path}: {size[0]}x{size[1]} pixels is too small to hold a puzzle")


def _normalise(image: Image.Image) -> Image.Image:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):   # broken EXIF: read as stored
        image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    image = image.convert("RGB")
    if max(image.size) > WORK_SIDE:
        image.thumbnail((WORK_SIDE, WORK_SIDE), Image.Resampling.LANCZOS)
    return image


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_image(path: str | Path, task: str | None = None, weights: str | Path | None = None) -> list[Puzzle]:
    """Puzzles found in an image file; `task` None tries every task that reads images, in the order of
    their `image_priority` (Sudoku, then ARC, then maze)."""
    image = load_image(path)
    return read_picture(image, task=task, name=Path(path).name, weights=weights)


def read_picture(image: Image.Image, task: str | None = None, name: str = "",
                 weights: str | Path | None = None) -> list[Puzzle]:
    """Same as `read_image` for an already loaded RGB picture: the first convincing reading wins (see
    Task.convincing), else the first reading at all."""
    if task is not None:
        return [get_task(task).read_image(image, name, weights)]
    reasons: dict[str, str] = {}
    found: list[Puzzle] = []                  # weak readings, best first, kept in case nothing better
    for candidate in image_readers():
        try:
            puzzle = candidate.read_image(image, name, weights)
        except ImageReadError as exc:
            reasons[candidate.name] = exc.message
            continue
        if candidate.convincing(puzzle):
            return [puzzle]
        found.append(puzzle)
    if found:
        return found[:1]
    raise _nothing_recognised(name, reasons)


def image_readers() -> list[Task]:
    """The tasks that read pictures, in detection order."""
    readers = [task for task in all_tasks() if task.image_priority is not None]
    return sorted(readers, key=lambda task: task.image_priority)


def _nothing_recognised(name: str, reasons: dict[str, str]) -> ImageReadError:
    tried = "; ".join(f"{task}: {reason}" for task, reason in reasons.items())
    error = ImageReadError(f"{name or 'image'}: no Sudoku grid, maze or ARC grid recognised (tried {tried})",
                           hint=f"pass --task {task_choices()} to read it as that kind of puzzle")
    error.reasons = reasons           # per task, for --debug output
    return error


# ----------------------------------------------------------------------------------------------
# sudoku


def read_sudoku(image: Image.Image, name: str = "", weights: str | Path | None = None) -> Puzzle:
    """Find the grid, recognise the 81 cells, fix readings that break a rule when unsure."""
    from hrm.imaging.cells import blank_faint, turn_cells, turn_corners, upright_turns
    from hrm.imaging.digits import load_classifier
    from hrm.imaging.sudoku_photo import find_grid

    fit = find_grid(image)
    classifier = load_classifier(weights)
    turns = upright_turns(fit.cells, classifier)
    cells = turn_cells(fit.cells, turns)
    probs = blank_faint(classifier.predict(cells), cells)
    grid, confidence, repaired = decode_digits(probs)
    repaired += prefer_unique_solution(grid, confidence, probs)
    raw = probs.reshape(9, 9, 10).argmax(axis=2).astype(np.int64)
    extra = {"read_confidence": confidence, "read_corners": turn_corners(fit.corners, turns).round(1).tolist(),
             "read_repaired": repaired, "read_raw": raw, "read_turns": turns,
             "read_unsure": [[int(r), int(c)] for r, c in np.argwhere(confidence < LOW_CONFIDENCE)]}
    return Puzzle("sudoku", grid, None, name, extra)


def decode_digits(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """[81, 10] class probabilities -> 9x9 digits, 9x9 confidence, cells changed by the repair."""
    probs = np.asarray(probs, np.float64).reshape(9, 9, 10)
    grid = probs.argmax(axis=2)
    confidence = probs.max(axis=2)
    repaired: list[tuple[int, int]] = []
    for _ in range(81):
        cell = _least_sure_conflict(grid, confidence)
        if cell is None:
            break
        grid[cell], confidence[cell] = _best_fitting_class(grid, probs, cell)
        repaired.append((int(cell[0]), int(cell[1])))
    return grid.astype(np.int64), confidence.astype(np.float32), repaired


def prefer_unique_solution(grid: np.ndarray, confidence: np.ndarray, probs: np.ndarray,
                           budget_s: float = SOLVE_BUDGET_S) -> list[tuple[int, int]]:
    """When the reading has no solution or several, try the runner-up readings of unsure cells.

    A printed puzzle has exactly one solution, so a reading without one usually hides a misread
    digit. One, then two, of the least certain cells (confidence below SUSPECT_BELOW) are changed to
    their next most likely class, most likely first; the first change giving a unique solution is
    kept (in place). Confident readings are never touched, and the search stops after `budget_s`.
    """
    from hrm.data.sudoku_gen import count_solutions

    deadline = time.perf_counter() + budget_s
    if count_solutions(grid, limit=2) == 1:
        return []
    options = _runner_up_options(grid, confidence, np.asarray(probs).reshape(9, 9, 10))
    trials = [[o] for o in options] + [[a, b] for i, a in enumerate(options) for b in options[i + 1:]
                                       if a[0] != b[0]]
    for trial in trials:
        if time.perf_counter() > deadline:
            break
        candidate = grid.copy()
        for cell, value, _ in trial:
            candidate[cell] = value
        if not clash_mask(candidate).any() and count_solutions(candidate, limit=2) == 1:
            for cell, value, prob in trial:
                grid[cell], confidence[cell] = value, prob
            return [(int(c[0]), int(c[1])) for c, _, _ in trial]
    return []


def _runner_up_options(grid: np.ndarray, confidence: np.ndarray,
                       probs: np.ndarray) -> list[tuple[tuple[int, int], int, float]]:
    """(cell, other class, its probability) for the unsure cells, most plausible first."""
    order = np.argsort(confidence, axis=None)[:MAX_SUSPECTS]
    options = []
    for flat in order:
        r, c = divmod(int(flat), 9)
        if confidence[r, c] >= SUSPECT_BELOW:
            break
        for value in np.argsort(-probs[r, c])[:3]:
            if value != grid[r, c] and probs[r, c, value] >= 0.02:
                options.append(((r, c), int(value), float(probs[r, c, value])))
    return sorted(options, key=lambda o: -o[2] / confidence[o[0]])


def _least_sure_conflict(grid: np.ndarray, confidence: np.ndarray) -> tuple[int, int] | None:
    """The least confident cell among those sharing a digit with a unit mate, if it is unsure enough."""
    clashing = clash_mask(grid)
    if not clashing.any():
        return None
    masked = np.where(clashing, confidence, np.inf)
    r, c = np.unravel_index(int(np.argmin(masked)), masked.shape)
    return (int(r), int(c)) if masked[r, c] < REPAIR_BELOW else None


def _best_fitting_class(grid: np.ndarray, probs: np.ndarray, cell: tuple[int, int]) -> tuple[int, float]:
    r, c = cell
    for value in np.argsort(-probs[r, c]):
        if value != grid[r, c] and (value == 0 or not _clashes(grid, r, c, int(value))):
            return int(value), float(probs[r, c, value])
    return 0, float(probs[r, c, 0])


def _clashes(grid: np.ndarray, r: int, c: int, value: int) -> bool:
    """Would `value` at (r, c) repeat a digit of its row, column or box (other cells)?"""
    candidate = grid.copy()
    candidate[r, c] = value
    return bool(clash_mask(candidate)[r, c])
