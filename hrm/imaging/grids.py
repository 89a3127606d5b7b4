"""Maze and ARC puzzles from images (screenshots, renders, scans): Pillow + numpy only.

Both readers label every pixel with a small set of classes (ARC: the 10 palette colours; maze: wall,
floor, start, goal, path), find the cell lattice, and read each cell from its central part.

The lattice is found from colour *transitions*: every place where the class changes between two
neighbouring pixel columns lies on a cell boundary, so the number of columns is the smallest n
for which (nearly) all transitions fall on the n + 1 equally spaced boundaries. Grid lines, when
drawn, only add transitions on those boundaries.

Line mazes (thin walls between square cells) are converted to the block form used by the maze task:
an R x C line maze becomes (2R + 1) x (2C + 1) blocks, cells at odd positions, walls between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from hrm.errors import ImageReadError
from hrm.imaging.render import hex_rgb
from hrm.tasks.arc import PALETTE as ARC_COLOURS
from hrm.tasks.base import Puzzle

MAZE_CANVAS = 30
WALL, OPEN, START, GOAL, PATH = 1, 2, 3, 4, 5      # maze task codes
WORK_SIDE = 1600          # images are reduced (nearest neighbour, colours kept) below this size
PALETTE = np.array([hex_rgb(c) for c in ARC_COLOURS], np.float32)
OTHER = 10                # first label for non-palette pixels (10 + grey level / 32)
MAX_ARC_SIDE = 30


# ----------------------------------------------------------------------------------------------
# shared: lattice from transitions


def reduce_exact(rgb: np.ndarray) -> np.ndarray:
    """Shrink large images by an integer factor, sampling pixels (no colour mixing)."""
    factor = max(1, int(np.ceil(max(rgb.shape[:2]) / WORK_SIDE)))
    return rgb[::factor, ::factor] if factor > 1 else rgb


def transitions(labels: np.ndarray, axis: int) -> np.ndarray:
    """Per position along `axis` (1: columns), how many lines change class there (index 0 is 0)."""
    diff = labels[:, 1:] != labels[:, :-1] if axis == 1 else labels[1:, :] != labels[:-1, :]
    counts = diff.sum(axis=1 - axis).astype(float)
    return np.concatenate([[0.0], counts])


def lattice_count(trans: np.ndarray, length: float, max_cells: int, min_pitch: float = 3.0,
                  coverage: float = 0.97, origin: float = 0.0, slack: float = 0.0,
                  noise_floor: float = 0.02) -> int | None:
    """Smallest n for which `coverage` of the transition mass lies on the n-cell lattice over `length`
    starting at `origin`; `slack` widens the tolerance (half the thickness of drawn lines); positions
    with less than `noise_floor` of the strongest transition count are ignored."""
    noise = noise_floor * max(trans.max(), 1.0)
    xs = np.flatnonzero(trans > noise).astype(float) - origin
    weights = trans[trans > noise]
    if weights.sum() == 0:
        return None
    for n in range(1, max_cells + 1):
        pitch = length / n
        if pitch < min_pitch:
            break
        tol = max(1.01, 0.12 * pitch, slack)
        frac = xs / pitch
        near = np.abs(frac - np.round(frac)) * pitch <= tol
        if weights[near].sum() >= coverage * weights.sum():
            return n
    return None


def bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) exclusive bounds of True pixels, or None."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def cell_modes(labels: np.ndarray, rows: int, cols: int, num_labels: int,
               inner: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Most common label in the central `inner` part of every cell, and its share there."""
    h, w = labels.shape
    modes = np.zeros((rows, cols), np.int64)
    shares = np.zeros((rows, cols))
    lo, hi = (1 - inner) / 2, (1 + inner) / 2
    for r in range(rows):
        y0 = int((r + lo) * h / rows)
        y1 = max(y0 + 1, int(np.ceil((r + hi) * h / rows)))
        for c in range(cols):
            x0 = int((c + lo) * w / cols)
            x1 = max(x0 + 1, int(np.ceil((c + hi) * w / cols)))
            counts = np.bincount(labels[y0:y1, x0:x1].ravel(), minlength=num_labels)
            modes[r, c] = int(np.argmax(counts))
            shares[r, c] = counts.max() / max(1, counts.sum())
    return modes, shares


# ----------------------------------------------------------------------------------------------
# ARC


def arc_labels(rgb: np.ndarray) -> np.ndarray:
    """Palette index 0..9 per pixel, or OTHER + grey level / 32 for colours far from the palette."""
    q = (rgb >> 3).astype(np.int64)
    return _arc_lookup()[q[..., 0], q[..., 1], q[..., 2]]


@lru_cache(maxsize=1)
def _arc_lookup() -> np.ndarray:
    """Label of every colour quantised to 5 bits per channel (32768 entries, built once)."""
    levels = np.arange(32, dtype=np.float32) * 8 + 4
    cube = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(-1, 3)
    dist = ((cube[:, None, :] - PALETTE[None, :, :]) ** 2).sum(axis=2)
    grey = (cube @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.int64) // 32
    labels = np.where(dist.min(axis=1) <= 55.0 ** 2, dist.argmin(axis=1), OTHER + grey)
    return labels.reshape(32, 32, 32)


@dataclass
class Block:
    top: int
    left: int
    bottom: int
    right: int


def split_blocks(foreground: np.ndarray) -> list[list[Block]]:
    """Rows of rectangular blocks separated by background-only rows and columns (reading order)."""
    out: list[list[Block]] = []
    for top, bottom in _runs(foreground.any(axis=1)):
        band = foreground[top:bottom]
        row = []
        for left, right in _runs(band.any(axis=0)):
            box = bounding_box(band[:, left:right])
            if box is not None:
                row.append(Block(top + box[0], left + box[1], top + box[2], left + box[3]))
        if row:
            out.append(row)
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def read_arc_grid(labels: np.ndarray) -> np.ndarray | None:
    """One ARC grid from the labels of its bounding box, or None when it is not a palette grid."""
    h, w = labels.shape
    if min(h, w) < 3 or (labels < OTHER).mean() < 0.5:     # mostly non-palette: a photo, text, a maze
        return None
    shape = arc_lattice(labels) or arc_lattice(mode_filter(labels), noise_floor=0.1, coverage=0.9)
    if shape is None:
        return _uniform_grid(labels)
    rows, cols = shape
    modes, shares = cell_modes(labels, rows, cols, OTHER + 8)
    if (modes >= OTHER).mean() > 0.02 or np.median(shares) < 0.8:
        return None
    return np.minimum(modes, 9)


def arc_lattice(labels: np.ndarray, noise_floor: float = 0.02, coverage: float = 0.97) -> tuple[int, int] | None:
    h, w = labels.shape
    cols = lattice_count(transitions(labels, 1), w, MAX_ARC_SIDE, noise_floor=noise_floor, coverage=coverage)
    rows = lattice_count(transitions(labels, 0), h, MAX_ARC_SIDE, noise_floor=noise_floor, coverage=coverage)
    return None if cols is None or rows is None else (rows, cols)


def mode_filter(labels: np.ndarray) -> np.ndarray:
    """3x3 majority filter: removes isolated mislabelled pixels (JPEG ringing, anti-aliasing)."""
    image = Image.fromarray(labels.astype(np.uint8))
    return np.asarray(image.filter(ImageFilter.ModeFilter(3)), np.int64)


def _uniform_grid(labels: np.ndarray) -> np.ndarray | None:
    """A grid with no inner transitions reads as one cell of its colour (ambiguous size otherwise)."""
    values = np.bincount(labels.ravel())
    colour = int(np.argmax(values))
    return np.array([[colour]]) if colour < OTHER and values[colour] > 0.95 * labels.size else None


def read_arc(image: Image.Image, name: str = "") -> Puzzle:
    """An ARC test input, or a whole task drawn as rows of (input, output) pairs ending in the test input."""
    rgb = reduce_exact(np.asarray(image.convert("RGB")))
    labels = arc_labels(rgb)
    background = _border_mode(labels)
    layout = split_blocks(labels != background)
    grids: list[list[np.ndarray]] = []
    for row in layout:
        read = [read_arc_grid(labels[b.top:b.bottom, b.left:b.right]) for b in row]
        found = [g for g in read if g is not None]
        if found:
            grids.append(found)
    if not grids:
        raise ImageReadError("no ARC grid found: no block of ARC palette colours in the image",
                             hint="ARC images must use the standard ARC palette, one colour per cell")
    return _arc_puzzle(grids, name)


def _arc_puzzle(grids: list[list[np.ndarray]], name: str) -> Puzzle:
    task_id = Path(name).stem if name else "image"   # 4cd1b7b2.png is task 4cd1b7b2, as 4cd1b7b2.json is
    name = name or task_id
    if len(grids) == 1 and len(grids[0]) == 1:
        return Puzzle("arc", grids[0][0], None, name, {"demos": [], "task_id": task_id, "test_index": 0})
    if any(len(row) != 2 for row in grids[:-1]) or len(grids[-1]) > 2:
        raise ImageReadError(f"found {sum(len(r) for r in grids)} ARC grids but not laid out as a task",
                             hint="draw one grid, or rows of input-output pairs with the test input last")
    demos = [(row[0], row[1]) for row in grids[:-1]]
    solution = grids[-1][1] if len(grids[-1]) == 2 else None
    extra = {"demos": demos, "task_id": task_id, "test_index": 0}
    return Puzzle("arc", grids[-1][0], solution, name, extra)


def _border_mode(labels: np.ndarray) -> int:
    border = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    return int(np.bincount(border).argmax())


# ----------------------------------------------------------------------------------------------
# mazes: pixel classes

M_WALL, M_OPEN, M_START, M_GOAL, M_PATH = range(5)
_CODES = np.array([WALL, OPEN, START, GOAL, PATH])


def maze_labels(rgb: np.ndarray) -> np.ndarray:
    """wall / floor by brightness; saturated green = start, red = goal, other strong colours = path."""
    arr = rgb.astype(np.float32)
    hi, lo = arr.max(axis=2), arr.min(axis=2)
    sat = (hi - lo) / np.maximum(hi, 1.0)
    lum = arr @ np.array([0.299, 0.587, 0.114], np.float32)
    neutral = lum[sat < 0.3]
    cut = _two_level_threshold(neutral) if neutral.size else 128.0
    labels = np.where(lum < cut, M_WALL, M_OPEN)
    hue = _hue(arr, hi, lo)
    coloured = (sat >= 0.3) & (hi >= 80)
    labels = np.where(coloured, M_PATH, labels)
    labels = np.where(coloured & (hue >= 75) & (hue <= 165), M_START, labels)
    labels = np.where(coloured & ((hue <= 15) | (hue >= 340)), M_GOAL, labels)
    return labels


def _two_level_threshold(values: np.ndarray) -> float:
    """Otsu's threshold on 0..255 values."""
    hist = np.bincount(np.clip(values, 0, 255).astype(np.int64), minlength=256).astype(float)
    total = hist.sum()
    cum, cum_mean = np.cumsum(hist), np.cumsum(hist * np.arange(256))
    w0, w1 = cum, total - cum
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (cum_mean[-1] * w0 - cum_mean * total) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0
    return float(np.argmax(between)) + 0.5


def _hue(arr: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    r, g, b = arr[..., 0], arr[..., 1], arr[..., 2]
    span = np.maximum(hi - lo, 1e-6)
    hue = np.where(hi == r, (g - b) / span % 6, np.where(hi == g, (b - r) / span + 2, (r - g) / span + 4))
    return hue * 60.0


# ----------------------------------------------------------------------------------------------
# mazes: reading


def read_maze(image: Image.Image, name: str = "") -> Puzzle:
    """A block maze or a line maze, converted to the maze task's codes (padded to 30x30)."""
    rgb = reduce_exact(np.asarray(image.convert("RGB")))
    labels = maze_labels(rgb)
    box = bounding_box(differs_from_border(rgb))
    if box is None or min(box[2] - box[0], box[3] - box[1]) < 6:
        raise ImageReadError("no maze found: the image has no walls")
    crop = labels[box[0]:box[2], box[1]:box[3]]
    grid = read_line_maze(crop) if is_line_maze(crop) else read_block_maze(crop)
    return maze_puzzle(grid, name)


def differs_from_border(rgb: np.ndarray) -> np.ndarray:
    """Pixels unlike the colour around the image's edge: on a page whose colour differs from the
    maze's floor (as rendered here) this frames the whole maze, even where its rim is open floor."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]]).astype(np.int64)
    colour = np.median(border, axis=0)
    return np.abs(rgb.astype(np.int64) - colour).sum(axis=2) > 40


def is_line_maze(labels: np.ndarray) -> bool:
    """Thin walls between wide corridors (line maze) versus walls as wide as corridors (block maze)."""
    dark = labels == M_WALL
    wall_runs = np.concatenate([_run_lengths(dark), _run_lengths(dark.T)])
    floor_runs = np.concatenate([_run_lengths(~dark), _run_lengths(~dark.T)])
    if len(wall_runs) == 0 or len(floor_runs) == 0:
        return False
    return float(np.median(wall_runs)) < 0.45 * float(np.median(floor_runs))


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    flips = np.diff(padded.ravel())
    starts, ends = np.flatnonzero(flips == 1), np.flatnonzero(flips == -1)
    return ends - starts


def read_block_maze(labels: np.ndarray) -> np.ndarray:
    h, w = labels.shape
    limit = 4 * MAZE_CANVAS
    walls = (labels == M_WALL).astype(np.int8)   # letters drawn on S or G cells must not look like cells
    cols = lattice_count(transitions(walls, 1), w, limit, coverage=0.95)
    rows = lattice_count(transitions(walls, 0), h, limit, coverage=0.95)
    if cols is None or rows is None:
        raise ImageReadError("no maze found: could not find square cells of wall and floor",
                             hint="block mazes need one colour per square cell; line mazes thin dark walls")
    modes, shares = cell_modes(labels, rows, cols, 5)
    if np.median(shares) < 0.8:
        raise ImageReadError("no maze found: cells are not uniformly wall or floor")
    grid = _CODES[modes]
    _keep_marked_cells(grid, labels, rows, cols)
    return _mark_letters(grid, labels, rows, cols)


def _keep_marked_cells(grid: np.ndarray, labels: np.ndarray, rows: int, cols: int) -> None:
    """A start or goal cell with a big letter on it is still that cell, even where the letter dominates."""
    for code, label in ((START, M_START), (GOAL, M_GOAL)):
        share = cell_share(labels == label, rows, cols)
        if (grid == code).sum() == 0 and share.max() >= 0.2:
            grid[np.unravel_index(int(share.argmax()), share.shape)] = code


def cell_share(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Fraction of each cell's pixels where `mask` holds."""
    h, w = mask.shape
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            part = mask[int(r * h / rows):max(int((r + 1) * h / rows), int(r * h / rows) + 1),
                        int(c * w / cols):max(int((c + 1) * w / cols), int(c * w / cols) + 1)]
            out[r, c] = part.mean()
    return out


def read_line_maze(labels: np.ndarray) -> np.ndarray:
    dark = labels == M_WALL
    h, w = dark.shape
    thickness = max(1.0, float(np.median(np.concatenate([_run_lengths(dark), _run_lengths(dark.T)]))))
    limit = (MAZE_CANVAS - 1) // 2 * 2       # refuse silly counts, report a too-large maze below
    cols = _line_count(dark, axis=1, thickness=thickness, limit=4 * limit)
    rows = _line_count(dark, axis=0, thickness=thickness, limit=4 * limit)
    grid = np.full((2 * rows + 1, 2 * cols + 1), WALL, np.int64)
    grid[1::2, 1::2] = OPEN
    px, py = (w - thickness) / cols, (h - thickness) / rows
    half = max(1, int(round(thickness / 2)))
    for r in range(rows):
        for c in range(cols + 1):        # vertical wall pieces left of cell (r, c)
            x = int(round(thickness / 2 + c * px))
            y0, y1 = int(thickness / 2 + (r + 0.2) * py), int(thickness / 2 + (r + 0.8) * py)
            if dark[y0:y1 + 1, max(0, x - half):x + half + 1].any(axis=1).mean() < 0.5:
                grid[2 * r + 1, 2 * c] = OPEN
    for r in range(rows + 1):
        for c in range(cols):
            y = int(round(thickness / 2 + r * py))
            x0, x1 = int(thickness / 2 + (c + 0.2) * px), int(thickness / 2 + (c + 0.8) * px)
            if dark[max(0, y - half):y + half + 1, x0:x1 + 1].any(axis=0).mean() < 0.5:
                grid[2 * r, 2 * c + 1] = OPEN
    _mark_line_cells(grid, labels, rows, cols, thickness)
    return grid


def _line_count(dark: np.ndarray, axis: int, thickness: float, limit: int) -> int:
    length = dark.shape[1 if axis == 1 else 0]
    trans = transitions(dark.astype(np.int8), axis)
    n = lattice_count(trans, length - thickness, limit, min_pitch=2 * thickness + 2, coverage=0.9,
                      origin=thickness / 2, slack=thickness / 2 + 1)
    if n is None:
        raise ImageReadError("no maze found: the walls do not sit on a regular lattice")
    return n


def _mark_line_cells(grid: np.ndarray, labels: np.ndarray, rows: int, cols: int, thickness: float) -> None:
    """Start/goal in a line maze: coloured cells, else letters, else the two gaps in the outer wall."""
    h, w = labels.shape
    px, py = (w - thickness) / cols, (h - thickness) / rows
    sub = np.full((rows, cols), M_OPEN)
    for r in range(rows):
        for c in range(cols):
            y0, y1 = int(thickness + r * py), int((r + 1) * py)
            x0, x1 = int(thickness + c * px), int((c + 1) * px)
            cell = labels[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
            counts = np.bincount(cell.ravel(), minlength=5)
            if counts[M_START] > 0.1 * cell.size:
                sub[r, c] = M_START
            elif counts[M_GOAL] > 0.1 * cell.size:
                sub[r, c] = M_GOAL
            elif counts[M_PATH] > 0.1 * cell.size:
                sub[r, c] = M_PATH
    for (r, c), value in np.ndenumerate(sub):
        if value != M_OPEN:
            grid[2 * r + 1, 2 * c + 1] = _CODES[value]
    if (grid == START).sum() == 0 and (grid == GOAL).sum() == 0:
        _mark_openings(grid)


def _mark_openings(grid: np.ndarray) -> None:
    """Classic line mazes: the entrance and exit are gaps in the outer wall."""
    h, w = grid.shape
    border = [(0, c) for c in range(w)] + [(r, 0) for r in range(1, h)]
    border += [(r, w - 1) for r in range(1, h)] + [(h - 1, c) for c in range(1, w - 1)]
    gaps = [p for p in border if grid[p] == OPEN]
    if len(gaps) == 2:
        grid[gaps[0]], grid[gaps[1]] = START, GOAL


def _mark_letters(grid: np.ndarray, labels: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Floor cells holding a dark letter S or G (when start and goal are not marked by colour)."""
    if (grid == START).any() and (grid == GOAL).any():
        return grid
    h, w = labels.shape
    marked = []
    for (r, c), code in np.ndenumerate(grid):
        if code != OPEN:
            continue
        y0, y1 = int((r + 0.1) * h / rows), int((r + 0.9) * h / rows)
        x0, x1 = int((c + 0.1) * w / cols), int((c + 0.9) * w / cols)
        ink = labels[y0:y1 + 1, x0:x1 + 1] == M_WALL
        if 0.04 < ink.mean() < 0.6:
            marked.append(((r, c), ink))
    if len(marked) != 2:
        return grid
    (p1, ink1), (p2, ink2) = marked
    s_first = _letter_score(ink1, "S") + _letter_score(ink2, "G")
    g_first = _letter_score(ink1, "G") + _letter_score(ink2, "S")
    grid[p1], grid[p2] = (START, GOAL) if s_first >= g_first else (GOAL, START)
    return grid


def _letter_score(ink: np.ndarray, letter: str) -> float:
    """Correlation of a cell's ink with the letter drawn in Pillow's bundled font."""
    crop = bounding_box(ink)
    if crop is None:
        return 0.0
    glyph = ink[crop[0]:crop[2], crop[1]:crop[3]]
    glyph_image = Image.fromarray(glyph.astype(np.uint8) * 255)
    sample = np.asarray(glyph_image.resize((16, 16), Image.Resampling.BILINEAR), np.float32)
    template = _letter_template(letter)
    a, b = sample - sample.mean(), template - template.mean()
    return float((a * b).sum() / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-6))


@lru_cache(maxsize=4)
def _letter_template(letter: str) -> np.ndarray:
    from hrm.imaging.render import font

    canvas = Image.new("L", (64, 64), 0)
    ImageDraw.Draw(canvas).text((32, 32), letter, fill=255, font=font(48), anchor="mm")
    box = canvas.getbbox() or (0, 0, 64, 64)
    return np.asarray(canvas.crop(box).resize((16, 16), Image.Resampling.BILINEAR), np.float32)


def maze_puzzle(grid: np.ndarray, name: str) -> Puzzle:
    """Check start and goal, drop the drawn path into `solution`, pad to the 30x30 canvas."""
    h, w = grid.shape
    if h > MAZE_CANVAS or w > MAZE_CANVAS:
        raise ImageReadError(f"the maze in the image is {h}x{w} cells; the maze task handles at most "
                             f"{MAZE_CANVAS}x{MAZE_CANVAS}")
    starts, goals = int((grid == START).sum()), int((grid == GOAL).sum())
    if starts != 1 or goals != 1:
        raise ImageReadError(f"maze found ({h}x{w}) but it has {starts} start and {goals} goal marks, "
                             "expected one of each", hint="mark S in green and G in red, or write S and G")
    question = np.where(grid == PATH, OPEN, grid)
    canvas = np.full((MAZE_CANVAS, MAZE_CANVAS), WALL, np.int64)
    canvas[:h, :w] = question
    solution = None
    if (grid == PATH).any():
        solution = np.full((MAZE_CANVAS, MAZE_CANVAS), WALL, np.int64)
        solution[:h, :w] = grid
    return Puzzle("maze", canvas, solution, name, {"shape": (h, w), "origin": (0, 0)})
