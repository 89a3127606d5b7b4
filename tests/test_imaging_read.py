"""Reading Sudoku images (clean renders and photo-like ones) and failing cleanly on garbage files."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFilter

from hrm.errors import ImageReadError
from hrm.imaging.read import REPAIR_BELOW, decode_digits, load_image, read_image
from hrm.imaging.render import font, render_puzzle
from hrm.imaging.sudoku_photo import homography
from hrm.tasks.base import Puzzle

QUESTIONS = [
    "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........",
    "52...6.........7.13...........4..8..6......5...........418.........3..2...87.....",
]


def grid_of(text: str) -> np.ndarray:
    return np.array([0 if ch == "." else int(ch) for ch in text]).reshape(9, 9)


def photograph(image: Image.Image, seed: int) -> bytes:
    """Put the render on a page with text, tilt it 15 degrees, warp, shade, add noise, save as JPEG."""
    rng = np.random.default_rng(seed)
    page = Image.new("RGB", (image.width + 260, image.height + 260), (236, 232, 220))
    draw = ImageDraw.Draw(page)
    for y in range(4, page.height - 12, 15):
        draw.text((4, y), "Solve the puzzle below; every row, column and box holds 1 to 9. " * 2,
                  fill=(40, 40, 40), font=font(12))
    draw.rectangle((110, 110, 150 + image.width, 150 + image.height), fill=(236, 232, 220))
    page.paste(image, (130, 130))
    page = page.rotate(15, expand=True, fillcolor=(90, 80, 70), resample=Image.Resampling.BICUBIC)
    w, h = page.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], float)
    dst = src + np.array([[30, 10], [-20, 40], [-50, -10], [15, -30]], float)
    inverse = homography(dst, src)
    coeffs = tuple((inverse / inverse[2, 2]).ravel()[:8])
    page = page.transform((w, h), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC,
                          fillcolor=(90, 80, 70))
    shade = np.linspace(1.0, 0.45, w, dtype=np.float32)[None, :, None]          # shadow gradient
    arr = np.asarray(page.filter(ImageFilter.GaussianBlur(0.8)), np.float32) * shade
    arr += rng.normal(0, 6, arr.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=60)
    return buf.getvalue()


@pytest.mark.parametrize("question", QUESTIONS)
def test_clean_render_reads_back(tmp_path, question: str) -> None:
    grid = grid_of(question)
    path = tmp_path / "clean.png"
    render_puzzle("sudoku", Puzzle("sudoku", grid)).save(path)
    (puzzle,) = read_image(path, task="sudoku")
    assert puzzle.task == "sudoku"
    assert np.array_equal(puzzle.grid, grid)
    confidence = puzzle.extra["read_confidence"]
    assert confidence.shape == (9, 9) and confidence.dtype == np.float32
    assert confidence.min() > 0.9


@pytest.mark.parametrize(("question", "seed"), [(QUESTIONS[0], 0), (QUESTIONS[1], 1)])
def test_tilted_warped_shaded_noisy_jpeg_photo_reads_right(tmp_path, question: str, seed: int) -> None:
    grid = grid_of(question)
    path = tmp_path / "photo.jpg"
    path.write_bytes(photograph(render_puzzle("sudoku", Puzzle("sudoku", grid)), seed))
    (puzzle,) = read_image(path)                 # task detected, not given
    assert puzzle.task == "sudoku"
    assert np.array_equal(puzzle.grid, grid)
    assert len(puzzle.extra["read_corners"]) == 4


def test_dark_mode_screenshot_reads_right(tmp_path) -> None:
    grid = grid_of(QUESTIONS[0])
    image = Image.eval(render_puzzle("sudoku", Puzzle("sudoku", grid)), lambda v: 255 - v)
    path = tmp_path / "dark.png"
    image.save(path)
    assert np.array_equal(read_image(path, task="sudoku")[0].grid, grid)


def write_png(path, image: Image.Image) -> None:
    image.save(path, format="PNG")


@pytest.mark.parametrize("make", [
    pytest.param(lambda p: write_png(p, Image.fromarray(
        np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8))), id="random-noise"),
    pytest.param(lambda p: write_png(p, Image.new("RGB", (400, 560), (250, 250, 245))), id="blank-page"),
    pytest.param(lambda p: p.write_text("4...3.......6..8....\nthis is text, not a picture\n"), id="text-as-png"),
    pytest.param(lambda p: p.write_bytes(b""), id="empty-file"),
])
def test_garbage_fails_with_image_read_error(tmp_path, make) -> None:
    path = tmp_path / "garbage.png"
    make(path)
    with pytest.raises(ImageReadError) as info:
        read_image(path)
    assert "\n" not in str(info.value)


def test_truncated_png_fails_cleanly(tmp_path) -> None:
    full = io.BytesIO()
    render_puzzle("sudoku", Puzzle("sudoku", grid_of(QUESTIONS[0]))).save(full, format="PNG")
    path = tmp_path / "truncated.png"
    path.write_bytes(full.getvalue()[: len(full.getvalue()) // 2])
    with pytest.raises(ImageReadError, match="damaged or truncated"):
        read_image(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header_only(60_000, 60_000))
    with pytest.raises(ImageReadError, match="too large"):
        load_image(path)


def png_header_only(width: int, height: int) -> bytes:
    """A small PNG file whose header claims a huge size (its pixel data is a few bytes)."""
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 64)) \
        + _chunk(b"IEND", b"")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def test_missing_file_and_unknown_task(tmp_path) -> None:
    with pytest.raises(ImageReadError, match="no such file"):
        read_image(tmp_path / "nope.png")
    render_puzzle("sudoku", Puzzle("sudoku", grid_of(QUESTIONS[0]))).save(tmp_path / "s.png")
    with pytest.raises(Exception, match="unknown task"):
        read_image(tmp_path / "s.png", task="chess")


def test_repair_replaces_the_unsure_cell_of_a_clash() -> None:
    probs = np.zeros((81, 10))
    probs[:, 0] = 1.0                        # all blank...
    probs[0] = np.eye(10)[5] * 0.99 + 0.001  # ...but a sure 5 at r1c1
    probs[4] = 0.0
    probs[4, 5], probs[4, 6] = 0.6, 0.4      # an unsure 5 (or 6) in the same row
    grid, confidence, repaired = decode_digits(probs)
    assert grid[0, 0] == 5 and grid[0, 4] == 6
    assert repaired == [(0, 4)]
    assert confidence[0, 4] == pytest.approx(0.4)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.5, 8.0))
def test_repair_leaves_only_confident_clashes(seed: int, sharpness: float) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, sharpness, (81, 10))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    grid, confidence, _ = decode_digits(probs)
    for r in range(9):
        for c in range(9):
            v = grid[r, c]
            if v == 0:
                continue
            row, col = np.delete(grid[r], c), np.delete(grid[:, c], r)
            box = grid[3 * (r // 3):3 * (r // 3) + 3, 3 * (c // 3):3 * (c // 3) + 3].ravel()
            clash = v in row or v in col or (box == v).sum() > 1
            assert not clash or confidence[r, c] >= REPAIR_BELOW


@pytest.mark.parametrize(("picture", "text"), [
    ("sudoku/magictour_photo.jpg", "sudoku/magictour_top1465.txt"),
    ("sudoku/forum_hardest_photo.jpg", "sudoku/forum_hardest_1106.txt"),
    ("sudoku/easy_17_clue_screenshot.png", "sudoku/easy_17_clue.txt"),
    ("maze/hard1.png", "maze/hard1.txt"),
    ("arc/4cd1b7b2.png", "arc/4cd1b7b2.json"),
])
def test_example_pictures_hold_the_example_puzzles(examples_dir, picture: str, text: str) -> None:
    from hrm.tasks import get_task

    (read,) = read_image(examples_dir / picture)
    task = get_task(read.task)
    expected = task.parse((examples_dir / text).read_text(), text)[0]
    assert read.task == picture.split("/")[0]
    assert np.array_equal(read.grid, expected.grid)
    assert read.extra.get("task_id") == expected.extra.get("task_id")   # ARC: the file stem, trained rows
    for (a, b), (c, d) in zip(read.extra.get("demos", []), expected.extra.get("demos", []), strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def confident_probs(grid: np.ndarray) -> np.ndarray:
    probs = np.full((9, 9, 10), 0.001)
    for (r, c), v in np.ndenumerate(grid):
        probs[r, c, v] = 0.991
    return probs


@pytest.mark.parametrize("sure", [False, True])
def test_unsolvable_reading_tries_the_runner_up_of_unsure_cells_only(sure: bool) -> None:
    from hrm.imaging.read import prefer_unique_solution

    truth = grid_of(QUESTIONS[0])
    probs = confident_probs(truth)
    read = truth.copy()
    read[0, 4] = 8                                        # the given 3 misread as an 8...
    probs[0, 4] = 0.001
    probs[0, 4, 8], probs[0, 4, 3] = (0.98, 0.01) if sure else (0.55, 0.4)
    confidence = probs.max(axis=2)
    changed = prefer_unique_solution(read, confidence, probs)
    if sure:                                              # ...a confident reading is left alone
        assert changed == [] and read[0, 4] == 8
    else:
        assert changed == [(0, 4)] and np.array_equal(read, truth)
        assert confidence[0, 4] == pytest.approx(0.4)
