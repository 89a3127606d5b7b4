"""Find a Sudoku grid in a photo or screenshot, undo perspective, cut it into 81 cell images.

Pipeline (Pillow + numpy only, no OpenCV):
1. grayscale, shrink to at most DETECT_SIDE pixels, invert dark-mode screenshots;
2. adaptive thresholds: a pixel is ink when darker than its neighbourhood mean by a margin (three
   margins, plus the lenient mask's long line runs alone);
3. connected components of ink (vectorised run-length union-find);
4. for the largest components: convex hull, the largest inscribed quadrilateral = the grid corners;
5. rank the candidates by their 10x10 lattice on a coarse warp; for the best few, warp to a square,
   flatten lighting, and check that 10 + 10 grid lines are there; keep the largest clear grid;
6. locate every grid line inside every band (tolerates slightly curved paper), fit again to where the
   outer lines were found, and cut the 81 cells.

Cells come out as float32 "ink" images CELL x CELL in [0, 1] (0 = paper, 1 = darkest ink), the
exact input of the digit CNN in hrm.imaging.digits, whose training data (hrm.imaging.digits_train) goes
through `cut_cells` too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image, ImageFilter, ImageOps

from hrm.errors import ImageReadError

DETECT_SIDE = 900        # detection runs on an image at most this many pixels on its longer side
CELL = 32                # side of one cell image fed to the digit CNN
WARP_CELL = 64           # cell side in the warped grid (2x CELL, so cells are downsampled, not upsampled)
MARGIN = 0.5             # warped margin around the grid, in cells, so slightly-off corners still see lines
MAX_CANDIDATES = 6       # components tried as grid candidates, largest first
OUTLINE_ROWS = 400       # rows of a component's outline kept for its convex hull (first and last kept)
MIN_GRID_FRACTION = 0.01  # a grid's bounding box covers at least this fraction of the image
# Ink thresholds (grey levels below the neighbourhood mean): the strict ones keep the grid apart from
# text or another puzzle joined to it by fainter ink (a shadow, a crease); the lenient one keeps
# blurred, low-contrast grid lines connected.
INK_MARGINS = (20.0, 12.0, 6.0)
# Also the lenient mask's long horizontal and vertical runs alone (longer than 1/45 of the image):
# grid lines without the text and other puzzles that touch the grid.
LINE_RUN_FRACTION = 45
QUICK_WARP_CELL = 24     # cell side of the coarse warp that ranks candidates
QUICK_MIN_SCORE = 0.75   # coarse lattice score a candidate needs for a full fit
MAX_FULL_FITS = 3        # candidates fitted in full, best coarse scores first
REFIT_KEEP = 0.9         # a refit to the located outer lines is kept at this share of the first score


@dataclass
class GridFit:
    """A verified grid: its corners in the source image and its cut cells."""

    corners: np.ndarray      # [4, 2] float (x, y): top-left, top-right, bottom-right, bottom-left
    cells: np.ndarray        # [81, CELL, CELL] float32 ink in [0, 1], row-major
    line_score: float        # how clearly the 20 grid lines stand out (higher is better)
    line_corners: np.ndarray | None = None   # [4, 2] where the located outer lines cross, in the source


# ----------------------------------------------------------------------------------------------
# geometry


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 matrix H with dst ~ H @ src for four point pairs (x, y)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(np.asarray(src, float), np.asarray(dst, float), strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    try:
        h = np.linalg.solve(np.array(rows), np.array(rhs))
    except np.linalg.LinAlgError as exc:
        raise ImageReadError("grid corners are degenerate (three of them lie on a line)") from exc
    return np.append(h, 1.0).reshape(3, 3)


def apply_homography(h: np.ndarray, points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, float)
    homog = np.c_[pts, np.ones(len(pts))] @ h.T
    return homog[:, :2] / homog[:, 2:3]


def warp_quad(img: Image.Image, corners: np.ndarray, side: int, margin: float) -> Image.Image:
    """Map the quadrilateral `corners` onto a `side` square placed `margin` pixels inside the output."""
    out = side + 2 * int(round(margin))
    m = round(margin)
    square = np.array([[m, m], [m + side, m], [m + side, m + side], [m, m + side]], float)
    h_out_to_in = homography(square, corners)
    coeffs = (h_out_to_in / h_out_to_in[2, 2]).ravel()[:8]
    return img.transform((out, out), Image.Transform.PERSPECTIVE, tuple(coeffs),
                         resample=Image.Resampling.BICUBIC, fillcolor=255)


def order_corners(pts: np.ndarray) -> np.ndarray:
    """Order four points as top-left, top-right, bottom-right, bottom-left."""
    pts = np.asarray(pts, float)
    centre = pts.mean(axis=0)
    angles = np.arctan2(pts[:, 1] - centre[1], pts[:, 0] - centre[0])
    ring = pts[np.argsort(angles)]            # clockwise on screen (y points down)
    start = int(np.argmin(ring.sum(axis=1)))  # smallest x + y is the top-left corner
    return np.roll(ring, -start, axis=0)


def convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain; returns hull vertices in order, no repeats."""
    pts = np.unique(np.asarray(points, float), axis=0)
    if len(pts) < 3:
        return pts

    def half(seq: np.ndarray) -> list[np.ndarray]:
        chain: list[np.ndarray] = []
        for p in seq:
            while len(chain) >= 2 and _cross(chain[-2], chain[-1], p) <= 0:
                chain.pop()
            chain.append(p)
        return chain

    lower, upper = half(pts), half(pts[::-1])
    return np.array(lower[:-1] + upper[:-1])


def _cross(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float((a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]))


def largest_quadrilateral(hull: np.ndarray, max_vertices: int = 120) -> np.ndarray:
    """The four hull vertices spanning the largest area (a grid's corners, even under perspective)."""
    if len(hull) > max_vertices:
        hull = hull[np.linspace(0, len(hull) - 1, max_vertices).round().astype(int)]
    n = len(hull)
    if n < 4:
        raise ImageReadError("no four-cornered grid outline found")
    best, best_quad = -1.0, None
    for i in range(n):
        q = np.roll(hull, -i, axis=0) - hull[i]
        tri = np.abs(np.outer(q[:, 0], q[:, 1]) - np.outer(q[:, 1], q[:, 0])) / 2  # tri[j, k] = area(0, j, k)
        upper = np.triu(tri, 1)
        left = np.max(upper, axis=0)       # left[k] = max over j < k of area(0, j, k)
        right = np.max(upper, axis=1)      # right[k] = max over l > k of area(0, k, l)
        total = left + right
        k = int(np.argmax(total[2:n - 1])) + 2
        if total[k] > best:
            j = int(np.argmax(upper[:k, k]))
            l_ = k + 1 + int(np.argmax(upper[k, k + 1:]))
            best = float(total[k])
            best_quad = np.roll(hull, -i, axis=0)[[0, j, k, l_]]
    assert best_quad is not None
    return order_corners(best_quad)


# ----------------------------------------------------------------------------------------------
# connected components of a binary mask, on runs


@dataclass
class Components:
    run_row: np.ndarray      # per run: row index
    run_start: np.ndarray    # per run: first column
    run_end: np.ndarray      # per run: last column + 1
    run_label: np.ndarray    # per run: component index 0..n-1
    count: int


def label_components(mask: np.ndarray) -> Components:
    """8-connected components of `mask`, computed on horizontal runs without any per-pixel loop."""
    h, w = mask.shape
    wp = w + 2
    padded = np.zeros((h, wp), np.int8)
    padded[:, 1:-1] = mask
    flips = np.diff(padded.ravel())
    starts = np.flatnonzero(flips == 1) + 1
    ends = np.flatnonzero(flips == -1) + 1
    n = len(starts)
    if n == 0:
        empty = np.zeros(0, np.int64)
        return Components(empty, empty, empty, empty, 0)
    # runs of the row above that touch run b (8-connectivity) form one contiguous index range
    lo = np.searchsorted(ends, starts - wp, side="left")
    hi = np.searchsorted(starts, ends - wp, side="right")
    counts = np.clip(hi - lo, 0, None)
    b_idx = np.repeat(np.arange(n), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a_idx = np.repeat(lo, counts) + offsets
    labels = _merge_labels(n, a_idx, b_idx)
    uniq, compact = np.unique(labels, return_inverse=True)
    return Components(starts // wp, starts % wp - 1, ends % wp - 1, compact, len(uniq))


def _merge_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    labels = np.arange(n)
    while True:
        low = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, low)
        np.minimum.at(new, b, low)
        new = new[new]
        if np.array_equal(new, labels):
            return labels
        labels = new


# ----------------------------------------------------------------------------------------------
# detection


def to_gray(img: Image.Image) -> Image.Image:
    """8-bit grayscale."""
    return ImageOps.grayscale(img)


def ink_mask(gray: Image.Image, margin: float = INK_MARGINS[0]) -> np.ndarray:
    """Pixels darker than their neighbourhood by `margin` grey levels."""
    radius = max(4, max(gray.size) // 50)
    local = np.asarray(gray.filter(ImageFilter.BoxBlur(radius)), np.float32)
    return np.asarray(gray, np.float32) < local - margin


def candidate_quads(gray: Image.Image) -> list[np.ndarray]:
    """Corner quadrilaterals of the largest ink components at every threshold, in `gray` coordinates."""
    scale = min(1.0, DETECT_SIDE / max(gray.size))
    small = gray if scale == 1.0 else gray.resize(
        (max(1, round(gray.width * scale)), max(1, round(gray.height * scale))), Image.Resampling.BOX)
    masks = [ink_mask(small, margin) for margin in INK_MARGINS]
    length = max(10, max(small.size) // LINE_RUN_FRACTION)
    masks.append(long_runs(masks[-1], length) | long_runs(masks[-1].T, length).T)
    return [quad / scale for mask in masks for quad in _component_quads(mask)]


def long_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """The horizontal runs of `mask` at least `length` long: lines, without text or digits."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    flips = np.diff(padded.ravel())
    starts, ends = np.flatnonzero(flips == 1) + 1, np.flatnonzero(flips == -1) + 1
    keep = ends - starts >= length
    marks = np.zeros(padded.size + 1, np.int32)
    np.add.at(marks, starts[keep], 1)
    np.add.at(marks, ends[keep], -1)
    return (np.cumsum(marks)[:-1] > 0).reshape(h, w + 2)[:, 1:-1]


def _component_quads(mask: np.ndarray) -> list[np.ndarray]:
    """Corner quadrilaterals of the largest components of `mask`, biggest first."""
    small_area = mask.shape[0] * mask.shape[1]
    comps = label_components(mask)
    if comps.count == 0:
        return []
    boxes = _component_boxes(comps)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = [int(i) for i in np.argsort(-area)[:MAX_CANDIDATES] if area[i] >= MIN_GRID_FRACTION * small_area]
    quads = []
    for label in order:
        hull = convex_hull(_component_outline(comps, label))
        if len(hull) >= 4:
            quads.append(largest_quadrilateral(hull))
    return quads


def _component_boxes(comps: Components) -> np.ndarray:
    n = comps.count
    x0 = np.full(n, np.iinfo(np.int64).max)
    y0 = x0.copy()
    x1 = np.zeros(n, np.int64)
    y1 = x1.copy()
    np.minimum.at(x0, comps.run_label, comps.run_start)
    np.maximum.at(x1, comps.run_label, comps.run_end)
    np.minimum.at(y0, comps.run_label, comps.run_row)
    np.maximum.at(y1, comps.run_label, comps.run_row + 1)
    return np.stack([x0, y0, x1, y1], axis=1).astype(float)


def _component_outline(comps: Components, label: int) -> np.ndarray:
    """Leftmost and rightmost pixel corners of each row of one component: enough for its convex hull."""
    sel = comps.run_label == label
    rows, starts, ends = comps.run_row[sel], comps.run_start[sel], comps.run_end[sel]
    first = rows.min()
    span = rows.max() - first + 1
    left = np.full(span, np.iinfo(np.int64).max)
    right = np.full(span, -1)
    np.minimum.at(left, rows - first, starts)
    np.maximum.at(right, rows - first, ends)
    present = np.flatnonzero(right >= 0)
    step = max(1, len(present) // OUTLINE_ROWS)                # the hull's Python loop is the cost
    present = np.unique(np.r_[present[::step], present[-1]])
    ys = present + first
    left, right = left[present], right[present]
    xs = np.concatenate([left, right, left, right])
    return np.stack([xs, np.concatenate([ys, ys, ys + 1, ys + 1])], axis=1).astype(float)


# ----------------------------------------------------------------------------------------------
# warped grid: lighting, lines, cells


def flatten_lighting(warped: np.ndarray, cell: int) -> np.ndarray:
    """Ink image in [0, 1]: divide by a local paper-brightness estimate, then stretch.

    The paper estimate is a morphological closing (max then min filter, about half a cell wide),
    which removes ink strokes but keeps the sharp edge of a cast shadow where it is.
    """
    img = Image.fromarray(warped.astype(np.uint8))
    small_side = max(8, warped.shape[0] // 4)
    small = img.resize((small_side, small_side), Image.Resampling.BOX)
    size = max(3, (cell // 8) | 1)            # odd, about half a cell at quarter resolution
    closed = _rank(_rank(np.asarray(small), size, np.max), size, np.min)
    paper = Image.fromarray(closed).filter(ImageFilter.GaussianBlur(1.0))
    paper_full = np.asarray(paper.resize(img.size, Image.Resampling.BILINEAR), np.float32)
    ratio = np.clip(warped / np.maximum(paper_full, 16.0), 0.0, 1.0)
    ink = 1.0 - ratio
    strong = float(np.percentile(ink, 99.0))
    return np.clip(ink / max(strong, 0.2), 0.0, 1.0).astype(np.float32)


def _rank(arr: np.ndarray, size: int, reduce: Callable[..., np.ndarray]) -> np.ndarray:
    """Max or min over a size x size window, edges replicated (same as Pillow's MaxFilter, faster)."""
    half = size // 2
    windows = sliding_window_view(np.pad(arr, half, mode="edge"), (size, size))
    return reduce(windows, axis=(-2, -1))


def band_profiles(ink: np.ndarray, margin: int, pitch: float, axis: int) -> np.ndarray:
    """[9, L] ink profiles across `axis` (0: for horizontal lines), one per nominal band of the other axis.

    A median over the band, not a mean: a grid line inks (nearly) every pixel of its row, while a
    row through digits inks only a few, so medians separate lines from digits even for faint lines.
    """
    rows = []
    for j in range(9):
        lo, hi = int(round(margin + j * pitch)), int(round(margin + (j + 1) * pitch))
        strip = ink[:, lo:hi] if axis == 0 else ink[lo:hi, :].T
        rows.append(np.convolve(np.median(strip, axis=1), [0.25, 0.5, 0.25], mode="same"))
    return np.stack(rows)


def _peak(profile: np.ndarray, expected: float, radius: float, pitch: float) -> tuple[float, float]:
    """Position of the profile maximum within `radius` of `expected`, and its contrast to the paper
    within half a cell around it."""
    lo, hi = max(0, int(round(expected - radius))), min(len(profile), int(round(expected + radius)) + 1)
    if hi - lo < 2:
        return expected, 0.0
    pos = lo + int(np.argmax(profile[lo:hi]))
    around = profile[max(0, int(expected - pitch / 2)):int(expected + pitch / 2) + 1]
    return float(pos), float(profile[pos] - np.median(around))


def locate_lines(profiles: np.ndarray, margin: int, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """Per band positions [9, 10] of the 10 lines and each line's contrast [10] (median over bands)."""
    overall = profiles.mean(axis=0)
    positions = np.zeros((9, 10))
    contrast = np.zeros((9, 10))
    for k in range(10):
        centre, _ = _peak(overall, margin + k * pitch, 0.3 * pitch, pitch)
        for band in range(9):
            positions[band, k], contrast[band, k] = _peak(profiles[band], centre, 0.12 * pitch, pitch)
        strength = np.median(contrast[:, k])
        weak = contrast[:, k] < 0.5 * strength
        positions[weak, k] = np.median(positions[~weak, k]) if (~weak).any() else centre
    return positions, np.median(contrast, axis=0)


def lattice_score(contrast: np.ndarray) -> float:
    """>= 1 when the 10 lines look like a Sudoku grid: strong box lines, visible cell lines."""
    thick = np.sort(contrast[[0, 3, 6, 9]])[1]       # tolerate one box line hidden by glare or a finger
    thin = np.median(contrast[[1, 2, 4, 5, 7, 8]])
    return float(min(thick / 0.2, thin / 0.06))


def cut_cells(ink: np.ndarray, v_lines: np.ndarray, h_lines: np.ndarray) -> np.ndarray:
    """Crop every cell between its four surrounding lines and resize to CELL x CELL."""
    img = Image.fromarray(ink)
    cells = np.empty((81, CELL, CELL), np.float32)
    for r in range(9):
        for c in range(9):
            x0, x1 = v_lines[r, c], v_lines[r, c + 1]
            y0, y1 = h_lines[c, r], h_lines[c, r + 1]
            crop = img.resize((CELL, CELL), Image.Resampling.BILINEAR, box=(x0, y0, x1, y1))
            cells[r * 9 + c] = np.asarray(crop, np.float32)
    return np.clip(cells, 0.0, 1.0)


def fit_grid(gray: Image.Image, corners: np.ndarray, min_score: float = 1.0) -> GridFit | None:
    """Warp the quadrilateral, verify the 10x10 line lattice and cut the cells; None if not a grid."""
    corners = np.asarray(corners, float)
    score, ink, v_lines, h_lines = _lattice(gray, corners, WARP_CELL, min_score)
    if score < min_score:
        return None
    crossings = _outer_crossings(v_lines, h_lines, int(MARGIN * WARP_CELL), WARP_CELL)
    side, margin = 9 * WARP_CELL, int(MARGIN * WARP_CELL)
    square = np.array([[margin, margin], [margin + side, margin], [margin + side, margin + side],
                       [margin, margin + side]], float)
    line_corners = apply_homography(homography(square, corners), crossings)
    return GridFit(corners=corners, cells=cut_cells(ink, v_lines, h_lines), line_score=score,
                   line_corners=line_corners)


def _outer_crossings(v_lines: np.ndarray, h_lines: np.ndarray, margin: int, cell: int) -> np.ndarray:
    """[4, 2] warped points where the located outer grid lines cross (straight lines fitted per band)."""
    centres = margin + (np.arange(9) + 0.5) * cell
    corners = []
    for row_line, col_line in ((0, 0), (0, 9), (9, 9), (9, 0)):
        slope_y, y0 = np.polyfit(centres, h_lines[:, row_line], 1)      # y = y0 + slope_y * x
        slope_x, x0 = np.polyfit(centres, v_lines[:, col_line], 1)      # x = x0 + slope_x * y
        x = (x0 + slope_x * y0) / (1.0 - slope_x * slope_y)
        corners.append([x, y0 + slope_y * x])
    return np.array(corners)


def quick_score(gray: Image.Image, corners: np.ndarray, light_lines: bool = False) -> float:
    """`fit_grid`'s lattice score on a coarser warp, dark lines only (or light ones only): cheap
    enough to rank every candidate."""
    return _lattice(gray, np.asarray(corners, float), QUICK_WARP_CELL, 1.0, (light_lines,))[0]


def _lattice(gray: Image.Image, corners: np.ndarray, cell: int, min_score: float,
             light_lines: tuple[bool, ...] = (False, True)) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Score, ink image and line positions of the warped quadrilateral, in its clearer polarity.

    Dark lines on light paper are tried first, then the inverse (dark-mode screenshots).
    """
    side, margin = 9 * cell, int(MARGIN * cell)
    source, scaled = _shrink_for_warp(gray, corners, side)
    warped = np.asarray(warp_quad(source, scaled, side, margin), np.float32)
    best: tuple[float, np.ndarray, np.ndarray, np.ndarray] | None = None
    for light in light_lines:
        ink = flatten_lighting(255.0 - warped if light else warped, cell)
        h_lines, h_contrast = locate_lines(band_profiles(ink, margin, cell, axis=0), margin, cell)
        v_lines, v_contrast = locate_lines(band_profiles(ink, margin, cell, axis=1), margin, cell)
        score = min(lattice_score(h_contrast), lattice_score(v_contrast))
        if best is None or score > best[0]:
            best = (score, ink, v_lines, h_lines)
        if score >= max(min_score, 1.0):
            break
    assert best is not None
    return best


def _shrink_for_warp(gray: Image.Image, corners: np.ndarray, side: int) -> tuple[Image.Image, np.ndarray]:
    """Downscale the source first when the grid is much larger than the warp, to avoid aliasing."""
    extent = max(np.ptp(corners[:, 0]), np.ptp(corners[:, 1]))
    factor = int(extent // (1.5 * side))
    if factor < 2:
        return gray, corners
    small = gray.reduce(factor)
    return small, corners / factor


def find_grid(img: Image.Image) -> GridFit:
    """The best-verified Sudoku grid in an image, or ImageReadError."""
    gray = to_gray(img)
    fits = _fits(gray, candidate_quads(gray), light_lines=False)
    if not fits:                                            # dark-mode grids: light lines on dark
        fits = _fits(gray, candidate_quads(ImageOps.invert(gray)), light_lines=True)
    if not fits:
        raise ImageReadError("no Sudoku grid found: no 9x9 pattern of lines in the image",
                             hint="photograph the whole grid, its border visible, filling most of the frame")
    return refit(gray, choose_fit(fits))


def refit(gray: Image.Image, fit: GridFit) -> GridFit:
    """The grid fitted again to the corners where its outer lines were found, when the outline's own
    corners were off (a corner hidden, bent or merged with something): kept if the lattice is as clear."""
    if fit.line_corners is None or _same_quad(fit.line_corners, fit.corners):
        return fit
    again = fit_grid(gray, fit.line_corners)
    return again if again is not None and again.line_score >= REFIT_KEEP * fit.line_score else fit


def _fits(gray: Image.Image, quads: list[np.ndarray], light_lines: bool) -> list[GridFit]:
    """Full fits of the few distinct candidates whose coarse lattice looks most like a grid."""
    distinct: list[np.ndarray] = []
    for quad in quads:
        if not any(_same_quad(quad, other) for other in distinct):
            distinct.append(quad)
    scored = sorted(((quick_score(gray, q, light_lines), i) for i, q in enumerate(distinct)), reverse=True)
    floor = max(QUICK_MIN_SCORE, 0.6 * scored[0][0]) if scored else QUICK_MIN_SCORE
    chosen = [distinct[i] for score, i in scored[:MAX_FULL_FITS] if score >= floor]
    return [fit for quad in chosen if (fit := fit_grid(gray, quad)) is not None]


def _same_quad(a: np.ndarray, b: np.ndarray) -> bool:
    extent = max(np.ptp(a[:, 0]), np.ptp(a[:, 1]), 1.0)
    return float(np.abs(a - b).max()) < 0.02 * extent


def choose_fit(fits: list[GridFit]) -> GridFit:
    """The clearest lattice wins; among nearly as clear ones, the largest (a grid, not one of its boxes).

    A whole newspaper page can pass as a weak lattice (rows of text), so clarity comes first.
    """
    best = max(f.line_score for f in fits)
    return max((f for f in fits if f.line_score >= 0.75 * best), key=lambda f: _quad_area(f.corners))


def _quad_area(corners: np.ndarray) -> float:
    x, y = corners[:, 0], corners[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
