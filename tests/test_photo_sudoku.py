"""Real phone photos of printed Sudoku: each failure class seen on real photos, and the whole
development set when ../shared/data/sudoku_photos is there (see tests/fixtures/photos/SOURCE.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hrm.errors import ImageReadError
from hrm.imaging.cells import blank_faint, turn_cells, turn_corners, upright_turns
from hrm.imaging.read import LOW_CONFIDENCE, read_image, read_picture

PHOTOS = Path(__file__).parent / "fixtures" / "photos"


def labels(folder: Path) -> list[dict]:
    with open(folder / "labels.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def grid_of(text: str) -> np.ndarray:
    return np.array([0 if ch == "." else int(ch) for ch in text]).reshape(9, 9)


@pytest.mark.parametrize("row", labels(PHOTOS), ids=lambda row: row["image"])
def test_photo_that_was_misread_reads_right(row: dict) -> None:
    """Blur, low contrast, text, a second puzzle, shading, sideways, EXIF that disagrees: kind detected."""
    (puzzle,) = read_image(PHOTOS / row["image"])
    assert puzzle.task == "sudoku", row["why"]
    assert np.array_equal(puzzle.grid, grid_of(row["question"])), row["why"]
    unsure = np.argwhere(puzzle.extra["read_confidence"] < LOW_CONFIDENCE)
    assert puzzle.extra["read_unsure"] == unsure.tolist()            # what --show-read and --json flag


def test_large_photo_with_exif_rotation_reads_right(tmp_path) -> None:
    """A 12 MP photo stored sideways with its EXIF orientation tag reads as the small one does."""
    row = labels(PHOTOS)[0]
    photo = Image.open(PHOTOS / row["image"]).convert("RGB").resize((4000, 3000), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[0x0112] = 6                                   # "rotate 90 degrees clockwise to display"
    path = tmp_path / "big.jpg"
    photo.transpose(Image.Transpose.ROTATE_90).save(path, quality=80, exif=exif.tobytes())
    (puzzle,) = read_image(path)
    assert np.array_equal(puzzle.grid, grid_of(row["question"]))
    assert puzzle.extra["read_turns"] == 0


def test_read_only_json_gives_confidence_and_cells_to_check(capsys, monkeypatch) -> None:
    from tests.cli_helpers import run_cli

    result = run_cli(capsys, monkeypatch, "solve", "--read-only", "--json", str(PHOTOS / "image30.jpg"))
    record = json.loads(result.out)
    confidence = np.array(record["read_confidence"])
    assert result.code == 0 and confidence.shape == (9, 9)
    assert record["unsure_cells"] == (np.argwhere(confidence < LOW_CONFIDENCE) + 1).tolist()   # from 1
    assert record["clashing_cells"] == []


def test_nothing_found_names_every_reader_tried() -> None:
    with pytest.raises(ImageReadError) as caught:
        read_picture(Image.new("RGB", (300, 200), (200, 60, 90)))
    assert all(f"{task}:" in caught.value.message for task in ("sudoku", "arc", "maze"))


# ----------------------------------------------------------------------------------------------
# cell decisions, on made-up cells


def digit_cells(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """81 cells: an upright 'L' of strong ink in 30 of them, paper noise in the rest."""
    cells = rng.uniform(0, 0.03, (81, 32, 32)).astype(np.float32)
    inked = rng.choice(81, 30, replace=False)
    cells[inked, 8:24, 10:13] = 1.0
    cells[inked, 21:24, 10:22] = 1.0
    return cells, inked


class UprightL:
    """Sure of an 'L' the right way up (ink bottom-left), unsure otherwise."""

    def predict(self, cells: np.ndarray) -> np.ndarray:
        upright = cells[:, 22, 11] > 0.5
        probs = np.full((len(cells), 10), 0.1, np.float32)
        probs[upright] = 0.01
        probs[upright, 4] = 0.91
        return probs


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
def test_sideways_grid_is_turned_upright(rng, turns: int) -> None:
    cells, _ = digit_cells(rng)
    photo = turn_cells(cells, -turns % 4)             # the photo was taken turned the other way
    back = upright_turns(photo, UprightL())
    assert back == turns
    assert np.array_equal(turn_cells(photo, back), cells)
    corners = np.array([[0, 0], [9, 0], [9, 9], [0, 9]])
    assert turn_corners(turn_corners(corners, back), 4 - back).tolist() == corners.tolist()


def test_faint_marks_read_empty_and_strong_digits_stay(rng) -> None:
    cells, inked = digit_cells(rng)
    faint = [i for i in range(81) if i not in inked][:3]
    cells[faint, 12:20, 12:20] = 0.15                 # show-through from the other side of the page
    probs = np.full((81, 10), 0.02, np.float32)
    probs[:, 7] = 0.82                                # the model sees a 7 everywhere, sure of it
    out = blank_faint(probs, cells)
    assert (out[inked].argmax(axis=1) == 7).all()
    assert (out[faint].argmax(axis=1) == 0).all() and (out[faint, 0] >= 0.9).all()
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


# ----------------------------------------------------------------------------------------------
# the development photos (163; about 2 minutes, so only on request)


@pytest.mark.slow
def test_every_development_photo_reads_as_sudoku(shared_data) -> None:
    folder = shared_data / "sudoku_photos"
    if not (folder / "labels.csv").is_file():
        pytest.skip(f"development photos not found at {folder}")
    tasks = {}
    for row in labels(folder):
        try:
            tasks[row["image"]] = read_image(folder / row["image"])[0].task
        except ImageReadError:
            tasks[row["image"]] = "none"
    assert [image for image, task in tasks.items() if task != "sudoku"] == []
