"""Benchmark: read Sudoku puzzles from photo-like images the digit model has never seen.

200 held-out puzzles (magictour top1465 from ../shared/data/sudoku) are typeset with fonts that
were never used for training (hrm.imaging.digits_train.HELD_OUT_FONTS: URW base35, Caladea, EB Garamond,
Noto Serif) and photographed by a simulated camera whose distortions are implemented here and
differ from the training generator's: 3-D tilt of the page, lens barrel/pincushion, page curl,
vignetting, a hard-edged cast shadow, motion or defocus blur, signal-dependent sensor noise,
colour cast, low resolution, and JPEG or WebP compression.

Every image is written to a file and read back with hrm.imaging.read_image(path, task="sudoku"),
so decoding is timed too. Figures are given for the full reader and for the digit model alone
(its first choice per cell, faint marks read as empty, before the reader repairs rule clashes and
unsolvable readings).
Prints the figures and writes bench/results/photo_sudoku.json.

With --real FOLDER (../shared/data/sudoku_photos: real phone photos of newspaper Sudoku and their
digits in labels.csv), the real photos are read first, the kind of puzzle detected as a user's would
be, and scored by leave-one-phone-out: cells and whole grids per held-out phone and overall, wrong
cells flagged unsure, seconds per photo; written to bench/results/photo_sudoku_real.json. The digit
model never sees a real cell (it trains on synthetic pages), so the reader is the same in every
fold and each phone's photos are plainly held out.

    python bench/bench_photo_sudoku.py [--real ../shared/data/sudoku_photos] [--n 200] [--seed 7]
                                       [--save-failures DIR]

Needs the Debian packages fonts-urw-base35 fonts-crosextra-caladea fonts-ebgaramond fonts-noto-core.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import lzma
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hrm.errors import ImageReadError  # noqa: E402
from hrm.imaging.digits_train import HELD_OUT_FONTS, find_fonts, load_font  # noqa: E402
from hrm.imaging.read import LOW_CONFIDENCE, read_image  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "sudoku" / "puzzles3_magictour_top1465.csv.xz"
RESULTS = ROOT / "bench" / "results" / "photo_sudoku.json"
REAL_RESULTS = ROOT / "bench" / "results" / "photo_sudoku_real.json"
WORDS = ("the", "puzzle", "each", "row", "column", "and", "box", "must", "contain", "digits", "one", "to",
         "nine", "weather", "today", "sunny", "council", "meeting", "results", "page", "solution", "tomorrow")


def load_puzzles(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    with lzma.open(DATA, "rt") as handle:
        lines = handle.read().splitlines()[1:]
    chosen = rng.choice(len(lines), size=min(n, len(lines)), replace=False)
    grids = []
    for i in chosen:
        question = lines[i].split(",")[1]
        grids.append(np.array([0 if ch in ".0" else int(ch) for ch in question]).reshape(9, 9))
    return grids


# ----------------------------------------------------------------------------------------------
# typesetting


def typeset(rng: np.random.Generator, grid: np.ndarray, font_name: str) -> Image.Image:
    """A newspaper-like page: a headline, columns of text, and the grid in the middle."""
    cell = int(rng.integers(34, 64))
    side = 9 * cell
    margin = int(side * rng.uniform(0.2, 0.45))
    page = Image.new("L", (side + 2 * margin, side + 2 * margin), int(rng.integers(225, 250)))
    draw = ImageDraw.Draw(page)
    _columns_of_text(rng, draw, page.size, font_name, cell)
    x0 = y0 = margin
    clear = int(cell * rng.uniform(0.15, 0.4))
    draw.rectangle((x0 - clear, y0 - clear, x0 + side + clear, y0 + side + clear), fill=page.getpixel((0, 0)))
    size = int(cell * rng.uniform(0.5, 0.78))
    font = load_font(font_name, size)
    for (r, c), d in np.ndenumerate(grid):
        if d:
            draw.text((x0 + (c + 0.5) * cell, y0 + (r + 0.52) * cell), str(d), fill=int(rng.integers(0, 50)),
                      font=font, anchor="mm")
    thin, thick = int(rng.integers(1, 3)), int(rng.integers(3, 6))
    for k in range(10):
        w = thick if k % 3 == 0 else thin
        p = k * cell - w // 2
        tone = 0 if k % 3 == 0 else int(rng.integers(0, 120))
        draw.rectangle((x0 + p, y0 - thick // 2, x0 + p + w - 1, y0 + side + thick // 2), fill=tone)
        draw.rectangle((x0 - thick // 2, y0 + p, x0 + side + thick // 2, y0 + p + w - 1), fill=tone)
    return page.convert("RGB")


def _columns_of_text(rng: np.random.Generator, draw: ImageDraw.ImageDraw, size: tuple[int, int],
                     font_name: str, cell: int) -> None:
    font = load_font(font_name, max(9, int(cell * rng.uniform(0.22, 0.4))))
    step = int(font.size * 1.35)
    y = 4
    while y < size[1] - step:
        words = " ".join(rng.choice(WORDS, 30))
        draw.text((4, y), words, fill=int(rng.integers(10, 70)), font=font)
        y += step


# ----------------------------------------------------------------------------------------------
# the simulated camera (independent of the training distortions)


def camera(rng: np.random.Generator, page: Image.Image) -> tuple[bytes, str]:
    """The photo as compressed file bytes, and the file suffix."""
    image = tilt(rng, page)
    image = lens(rng, image)
    image = light(rng, image)
    image = blur(rng, image)
    return sensor(rng, image)


def tilt(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """Rotate the page in 3-D (pitch, yaw up to 20 degrees, roll up to 20) and project with a pinhole."""
    w, h = image.size
    pitch, yaw, roll = np.deg2rad(rng.uniform(-20, 20, 3))
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    focal = 1.6 * max(w, h)
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    cam = corners @ (rz @ ry @ rx).T + [0, 0, focal]
    projected = focal * cam[:, :2] / cam[:, 2:3]
    projected -= projected.min(axis=0)
    pad = rng.uniform(0.03, 0.12) * max(w, h)
    projected += pad
    out = (int(projected[:, 0].max() + pad), int(projected[:, 1].max() + pad))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    coeffs = _perspective_coeffs(projected, src)
    table = tuple(int(v) for v in rng.integers(40, 200, 3))
    return image.transform(out, Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR, fillcolor=table)


def _perspective_coeffs(dst: np.ndarray, src: np.ndarray) -> tuple[float, ...]:
    """Pillow wants the map from output (dst) to input (src) pixels."""
    a, b = [], []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        b += [u, v]
    return tuple(np.linalg.solve(np.array(a, float), np.array(b, float)))


def lens(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """Radial lens distortion plus a gentle page curl, through a 24x24 mesh of quads."""
    w, h = image.size
    k1 = rng.uniform(-0.06, 0.06)
    curl = rng.uniform(0, 0.012) * h
    n = 24
    mesh = []
    for i in range(n):
        for j in range(n):
            box = (j * w // n, i * h // n, (j + 1) * w // n, (i + 1) * h // n)
            quad = [_distorted(x, y, w, h, k1, curl) for x, y in
                    ((box[0], box[1]), (box[0], box[3]), (box[2], box[3]), (box[2], box[1]))]
            mesh.append((box, tuple(v for point in quad for v in point)))
    return image.transform((w, h), Image.Transform.MESH, mesh, Image.Resampling.BILINEAR,
                           fillcolor=image.getpixel((0, 0)))


def _distorted(x: float, y: float, w: int, h: int, k1: float, curl: float) -> tuple[float, float]:
    nx, ny = (x - w / 2) / (w / 2), (y - h / 2) / (h / 2)
    factor = 1 + k1 * (nx * nx + ny * ny)
    sx, sy = w / 2 + nx * factor * w / 2, h / 2 + ny * factor * h / 2
    return sx, sy + curl * np.sin(np.pi * x / w)


def light(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    """Vignetting, a hard-edged shadow (a hand or a phone), warm or cold colour cast."""
    w, h = image.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    radius = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
    gain = 1 - rng.uniform(0.1, 0.4) * radius ** 2
    if rng.random() < 0.7:
        mask = Image.new("L", (w, h), 0)
        x_edge = rng.uniform(0.2, 0.8) * w
        slope = rng.uniform(-0.5, 0.5) * w
        ImageDraw.Draw(mask).polygon([(0, 0), (x_edge, 0), (x_edge + slope, h), (0, h)], fill=255)
        mask = mask.filter(ImageFilter.GaussianBlur(rng.uniform(2, 12)))
        gain *= 1 - rng.uniform(0.25, 0.5) * np.asarray(mask, np.float32) / 255
    cast = np.array([1.0, rng.uniform(0.9, 1.0), rng.uniform(0.75, 1.0)])[rng.permutation(3)]
    arr = np.asarray(image, np.float32) * gain[..., None] * cast
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def blur(rng: np.random.Generator, image: Image.Image) -> Image.Image:
    kind = rng.integers(3)
    if kind == 0:                        # hand shake: a short line kernel
        size = 5
        kernel = np.zeros((size, size))
        angle = rng.uniform(0, np.pi)
        for t in np.linspace(-2, 2, 9):
            kernel[int(round(2 + t * np.sin(angle))), int(round(2 + t * np.cos(angle)))] = 1
        return image.filter(ImageFilter.Kernel((size, size), kernel.ravel().tolist(), scale=kernel.sum()))
    if kind == 1:                        # defocus
        return image.filter(ImageFilter.BoxBlur(rng.uniform(0.5, 1.5)))
    return image


def sensor(rng: np.random.Generator, image: Image.Image) -> tuple[bytes, str]:
    """Lower resolution, signal-dependent noise, then JPEG or WebP."""
    scale = rng.uniform(0.55, 1.0)
    image = image.resize((int(image.width * scale), int(image.height * scale)), Image.Resampling.LANCZOS)
    arr = np.asarray(image, np.float32)
    noisy = arr + rng.normal(0, 1, arr.shape) * np.sqrt(arr + 1) * rng.uniform(0.2, 0.8)
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    if rng.random() < 0.7:
        image.save(buf, format="JPEG", quality=int(rng.integers(35, 85)))
        return buf.getvalue(), ".jpg"
    image.save(buf, format="WEBP", quality=int(rng.integers(40, 85)))
    return buf.getvalue(), ".webp"


# ----------------------------------------------------------------------------------------------


def run(n: int, seed: int, save_failures: Path | None) -> dict:
    import torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(seed)
    fonts = find_fonts(HELD_OUT_FONTS)
    if not fonts:
        sys.exit("no held-out fonts found: apt-get install fonts-urw-base35 fonts-crosextra-caladea "
                 "fonts-ebgaramond fonts-noto-core")
    puzzles = load_puzzles(n, rng)
    cells_right = grids_right = failures = raw_cells = raw_grids = repaired_grids = 0
    seconds, per_font = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, grid in enumerate(puzzles):
            font_name = fonts[i % len(fonts)]
            photo, suffix = camera(rng, typeset(rng, grid, font_name))
            path = Path(tmp) / f"photo{i:03d}{suffix}"
            path.write_bytes(photo)
            started = time.perf_counter()
            try:
                puzzle = read_image(path, task="sudoku")[0]
                read, raw = puzzle.grid, puzzle.extra["read_raw"]
                repaired_grids += bool(puzzle.extra["read_repaired"])
            except ImageReadError:
                read = raw = np.full((9, 9), -1)
                failures += 1
            seconds.append(time.perf_counter() - started)
            raw_cells += int((raw == grid).sum())
            raw_grids += bool((raw == grid).all())
            right = int((read == grid).sum())
            cells_right += right
            grids_right += right == 81
            stats = per_font.setdefault(font_name, [0, 0])
            stats[0] += right == 81
            stats[1] += 1
            if right < 81 and save_failures:
                save_failures.mkdir(parents=True, exist_ok=True)
                (save_failures / path.name).write_bytes(photo)
            if (i + 1) % 20 == 0:
                print(f"  {i + 1}/{len(puzzles)}  cells {cells_right / (81 * (i + 1)):.4f}  "
                      f"grids {grids_right / (i + 1):.3f}", file=sys.stderr)
    return {
        "images": len(puzzles), "seed": seed, "source": DATA.name,
        "cell_accuracy": round(cells_right / (81 * len(puzzles)), 5),
        "grid_accuracy": round(grids_right / len(puzzles), 4),
        "grid_not_found": failures,
        "grids_changed_by_repair": repaired_grids,
        "model_only_cell_accuracy": round(raw_cells / (81 * len(puzzles)), 5),
        "model_only_grid_accuracy": round(raw_grids / len(puzzles), 4),
        "seconds_per_image_mean": round(float(np.mean(seconds)), 3),
        "seconds_per_image_p95": round(float(np.percentile(seconds, 95)), 3),
        "torch_threads": 1, "cpu": platform.processor() or platform.machine(),
        "fonts": {name: f"{a}/{b}" for name, (a, b) in per_font.items()},
    }


# ----------------------------------------------------------------------------------------------
# real photos


def load_labels(folder: Path) -> list[dict]:
    with open(folder / "labels.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def read_real_photo(folder: Path, row: dict) -> dict:
    """Read one labelled photo as a user would (puzzle kind detected) and compare with its digits."""
    truth = np.array([0 if ch == "." else int(ch) for ch in row["question"]]).reshape(9, 9)
    started = time.perf_counter()
    try:
        puzzle = read_image(folder / row["image"])[0]
        task = puzzle.task
    except ImageReadError:
        puzzle, task = None, "none"
    seconds = time.perf_counter() - started
    if task != "sudoku":
        read, unsure = np.full((9, 9), -1), np.zeros((9, 9), bool)
    else:
        read, unsure = puzzle.grid, puzzle.extra["read_confidence"] < LOW_CONFIDENCE
    wrong = read != truth
    return {"image": row["image"], "phone": row["phone"], "task": task, "cells_right": int((~wrong).sum()),
            "wrong_flagged": int((wrong & unsure).sum()), "right_flagged": int((~wrong & unsure).sum()),
            "seconds": round(seconds, 3)}


def real_figures(records: list[dict]) -> dict:
    n = len(records)
    wrong = sum(81 - r["cells_right"] for r in records if r["task"] == "sudoku")
    seconds = [r["seconds"] for r in records]
    return {"photos": n, "cell_accuracy": round(sum(r["cells_right"] for r in records) / (81 * n), 5),
            "grid_accuracy": round(sum(r["cells_right"] == 81 for r in records) / n, 4),
            "grid_not_found": sum(r["task"] == "none" for r in records),
            "read_as_other_puzzle": sum(r["task"] not in ("sudoku", "none") for r in records),
            "wrong_cells_in_found_grids": wrong,
            "wrong_cells_flagged_unsure": sum(r["wrong_flagged"] for r in records),
            "right_cells_flagged_unsure": sum(r["right_flagged"] for r in records),
            "seconds_per_photo_mean": round(float(np.mean(seconds)), 3),
            "seconds_per_photo_p95": round(float(np.percentile(seconds, 95)), 3)}


def run_real(folder: Path) -> dict:
    """Leave one phone out: each phone's photos are read by a reader fitted to none of them.

    The digit model is trained on synthetic pages only and no constant of the reader is fitted to
    these photos, so the reader is the same in every fold and each fold is plainly held out.
    """
    records = []
    for i, row in enumerate(load_labels(folder)):
        records.append(read_real_photo(folder, row))
        if (i + 1) % 20 == 0:
            print(f"  {i + 1} photos read", file=sys.stderr)
    phones = sorted({r["phone"] for r in records})
    folds = {phone: real_figures([r for r in records if r["phone"] == phone]) for phone in phones}
    return {"folder": str(folder), "protocol": "leave-one-phone-out; digit model trained on synthetic pages "
            "only (no real cell), so every fold uses the same reader", "low_confidence_below": LOW_CONFIDENCE,
            **real_figures(records), "folds": folds,
            "failures": [r for r in records if r["cells_right"] < 81]}


def print_real(result: dict, out: Path) -> None:
    print(f"real photos, leave one phone out ({result['photos']} photos, {len(result['folds'])} phones): "
          f"cells {result['cell_accuracy']:.2%}  grids {result['grid_accuracy']:.1%}  "
          f"not found {result['grid_not_found']}  read as another puzzle {result['read_as_other_puzzle']}  "
          f"{result['seconds_per_photo_mean']:.2f} s/photo (p95 {result['seconds_per_photo_p95']:.2f})")
    print(f"  wrong cells in found grids {result['wrong_cells_in_found_grids']}, flagged unsure "
          f"{result['wrong_cells_flagged_unsure']}; right cells flagged unsure {result['right_cells_flagged_unsure']}")
    for phone, fold in result["folds"].items():
        print(f"  held out {phone:<22} {fold['photos']:>3} photos  cells {fold['cell_accuracy']:.2%}  "
              f"grids {fold['grid_accuracy']:.1%}")
    print(f"  -> {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200, help="synthetic photos (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save-failures", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--real", type=Path, default=None,
                        help="folder of real photos with labels.csv (../shared/data/sudoku_photos)")
    parser.add_argument("--real-out", type=Path, default=REAL_RESULTS)
    args = parser.parse_args()
    if args.real is not None:
        real = run_real(args.real)
        write_json(args.real_out, real)
        print_real(real, args.real_out)
    if args.n > 0:
        result = run(args.n, args.seed, args.save_failures)
        write_json(args.out, result)
        print_synthetic(result, args.out)


def write_json(path: Path, result: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")


def print_synthetic(result: dict, out: Path) -> None:
    print(f"synthetic photos ({result['images']}, held-out fonts): model alone: cells "
          f"{result['model_only_cell_accuracy']:.2%}  grids {result['model_only_grid_accuracy']:.1%}")
    print(f"  cells {result['cell_accuracy']:.2%}  grids {result['grid_accuracy']:.1%}  "
          f"not found {result['grid_not_found']}  {result['seconds_per_image_mean']:.2f} s/image "
          f"(p95 {result['seconds_per_image_p95']:.2f})  -> {out}")


if __name__ == "__main__":
    main()
