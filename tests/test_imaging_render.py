"""Rendering puzzles, answers and solve traces to PNG and GIF."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from hrm.errors import HRMError
from hrm.imaging.render import (
    DIGIT_CELL,
    DIGIT_PAD,
    MODEL_BLUE,
    ROLE_COLOURS,
    RULE_RED,
    render_puzzle,
    save_gif,
    save_png,
)
from hrm.solver import Frame
from hrm.tasks.base import Puzzle, Verdict
from hrm.tasks.sudoku import conflict_mask

MAZE_COLOURS = {code: ROLE_COLOURS[role] for code, role in ((1, "wall"), (3, "start"), (4, "goal"), (5, "path"))}

GIVENS = np.zeros((9, 9), int)
GIVENS[0, :3] = [5, 3, 4]


def cell_pixels(image: Image.Image, r: int, c: int) -> np.ndarray:
    x0, y0 = DIGIT_PAD + c * DIGIT_CELL + 4, DIGIT_PAD + r * DIGIT_CELL + 4
    return np.asarray(image)[y0:y0 + DIGIT_CELL - 8, x0:x0 + DIGIT_CELL - 8].reshape(-1, 3)


def has_colour(pixels: np.ndarray, colour: tuple[int, int, int], tol: int = 40) -> bool:
    return bool((np.abs(pixels.astype(int) - colour).max(axis=1) <= tol).any())


def test_sudoku_givens_dark_model_digits_blue_conflicts_red() -> None:
    answer = GIVENS.copy()
    answer[1, 0] = 7           # a model digit that breaks no rule
    answer[2, 2] = 5           # repeats the 5 of the box: both fives break a rule
    image = render_puzzle("sudoku", Puzzle("sudoku", GIVENS), answer)
    assert has_colour(cell_pixels(image, 1, 0), MODEL_BLUE)
    assert not has_colour(cell_pixels(image, 0, 1), MODEL_BLUE)       # given 3: dark, not blue
    assert has_colour(cell_pixels(image, 0, 1), (20, 20, 20))
    assert has_colour(cell_pixels(image, 2, 2), RULE_RED)
    assert has_colour(cell_pixels(image, 0, 0), RULE_RED)             # the given five it clashes with


def test_rule_breakers_marks_every_repeat_and_nothing_else() -> None:
    grid = np.zeros((9, 9), int)
    grid[0, 0] = grid[0, 8] = 4          # row
    grid[5, 5] = grid[8, 5] = 2          # column
    grid[6, 6] = grid[7, 7] = 9          # box
    grid[4, 4] = 1
    bad = conflict_mask(grid)
    assert {tuple(p) for p in np.argwhere(bad)} == {(0, 0), (0, 8), (5, 5), (8, 5), (6, 6), (7, 7)}


def test_low_confidence_digits_are_drawn_fainter() -> None:
    answer = GIVENS.copy()
    answer[4, 4] = 6
    sure = render_puzzle("sudoku", Puzzle("sudoku", GIVENS), answer, confidence=np.ones((9, 9)))
    unsure = render_puzzle("sudoku", Puzzle("sudoku", GIVENS), answer, confidence=np.full((9, 9), 0.1))
    assert cell_pixels(unsure, 4, 4).min() > cell_pixels(sure, 4, 4).min() + 60


def test_maze_render_draws_walls_start_goal_and_path() -> None:
    grid = np.full((30, 30), 1)
    grid[1, 1:6] = [3, 2, 2, 2, 4]
    answer = grid.copy()
    answer[1, 2:5] = 5
    puzzle = Puzzle("maze", grid, extra={"shape": (3, 7), "origin": (0, 0)})
    image = render_puzzle("maze", puzzle, answer)
    pixels = np.asarray(image).reshape(-1, 3)
    for code in (1, 3, 4, 5):
        assert has_colour(pixels, MAZE_COLOURS[code], tol=5), code
    plain = render_puzzle("maze", puzzle)
    assert not has_colour(np.asarray(plain).reshape(-1, 3), MAZE_COLOURS[5], tol=5)
    assert image.width > image.height      # cropped to the 3x7 original, not the 30x30 canvas


def test_arc_render_puts_answer_beside_input_and_demos_above() -> None:
    grid = np.arange(6).reshape(2, 3)
    alone = render_puzzle("arc", Puzzle("arc", grid))
    with_answer = render_puzzle("arc", Puzzle("arc", grid), answer=grid)
    with_demo = render_puzzle("arc", Puzzle("arc", grid, extra={"demos": [(grid, grid)]}))
    assert with_answer.width > alone.width and with_answer.height == alone.height
    assert with_demo.height > alone.height


def test_save_png_round_trips_pixels(tmp_path) -> None:
    path = tmp_path / "s.png"
    save_png("sudoku", Puzzle("sudoku", GIVENS), None, path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert np.array_equal(np.asarray(image.convert("RGB")),
                              np.asarray(render_puzzle("sudoku", Puzzle("sudoku", GIVENS))))


def test_save_gif_one_frame_per_segment(tmp_path) -> None:
    frames = []
    for k in range(1, 4):
        answer = GIVENS.copy()
        answer[3, :k] = np.arange(1, k + 1)
        frames.append(Frame(segment=k, max_segments=3, answer=answer, confidence=np.full((9, 9), 0.5 + k / 10),
                            changed=answer != GIVENS, q_halt=k / 4, halted=k == 3, verdict=Verdict(False),
                            accuracy=None, seconds=0.01))
    path = tmp_path / "trace.gif"
    save_gif("sudoku", Puzzle("sudoku", GIVENS), frames, path)
    with Image.open(path) as gif:
        assert gif.n_frames == 3
        pictures = []
        for i in range(3):
            gif.seek(i)
            pictures.append(np.asarray(gif.convert("RGB")).copy())
    assert not np.array_equal(pictures[0], pictures[2])
    assert not np.array_equal(pictures[0][:30], pictures[1][:30])   # the caption (segment, q_halt) changes


@pytest.mark.parametrize("call", [
    lambda: render_puzzle("chess", Puzzle("chess", GIVENS)),
    lambda: render_puzzle("sudoku", Puzzle("sudoku", np.zeros((4, 4), int))),
    lambda: render_puzzle("arc", Puzzle("arc", np.full((2, 2), 12))),
    lambda: save_gif("sudoku", Puzzle("sudoku", GIVENS), [], "x.gif"),
])
def test_bad_requests_raise_hrm_error(call) -> None:
    with pytest.raises(HRMError):
        call()


def test_save_png_into_missing_folder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(HRMError, match="does not exist"):
        save_png("sudoku", Puzzle("sudoku", GIVENS), None, tmp_path / "nope" / "x.png")


def test_read_confidence_fades_digits_read_from_a_photo() -> None:
    conf = np.ones((9, 9))
    conf[0, 1] = 0.1
    image = render_puzzle("sudoku", Puzzle("sudoku", GIVENS), confidence=conf)
    assert cell_pixels(image, 0, 1).min() > cell_pixels(image, 0, 2).min() + 60
