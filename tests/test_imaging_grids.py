"""Maze and ARC images: clean renders read back exactly; line mazes, letters, scaling, JPEG."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from hrm.errors import ImageReadError
from hrm.imaging.grids import read_arc, read_maze
from hrm.imaging.read import read_picture
from hrm.imaging.render import font, render_puzzle
from hrm.tasks.base import Puzzle


def dfs_maze(rows: int, cols: int, seed: int) -> np.ndarray:
    """(2R+1) x (2C+1) block maze: 1 wall, 2 open."""
    rng = np.random.default_rng(seed)
    grid = np.ones((2 * rows + 1, 2 * cols + 1), int)
    grid[1::2, 1::2] = 2
    seen = np.zeros((rows, cols), bool)
    stack, seen[0, 0] = [(0, 0)], True
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
                   if 0 <= r + dr < rows and 0 <= c + dc < cols and not seen[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        nr, nc = options[rng.integers(len(options))]
        grid[r + nr + 1, c + nc + 1] = 2
        seen[nr, nc] = True
        stack.append((nr, nc))
    return grid


def maze_puzzle(rows: int, cols: int, seed: int) -> tuple[Puzzle, np.ndarray]:
    maze = dfs_maze(rows, cols, seed)
    maze[1, 1], maze[-2, -2] = 3, 4
    canvas = np.ones((30, 30), int)
    canvas[:maze.shape[0], :maze.shape[1]] = maze
    return Puzzle("maze", canvas, extra={"shape": maze.shape, "origin": (0, 0)}), maze


@pytest.mark.parametrize(("rows", "cols", "seed"), [(14, 14, 0), (5, 9, 1), (3, 3, 2)])
def test_block_maze_render_reads_back(rows: int, cols: int, seed: int) -> None:
    puzzle, maze = maze_puzzle(rows, cols, seed)
    read = read_maze(render_puzzle("maze", puzzle))
    assert read.extra["shape"] == maze.shape
    assert np.array_equal(read.grid, puzzle.grid)
    assert read.solution is None


def test_drawn_path_becomes_the_solution_not_the_question() -> None:
    puzzle, maze = maze_puzzle(4, 4, 3)
    answer = puzzle.grid.copy()
    answer[tuple(np.argwhere(answer == 2)[0])] = 5
    read = read_maze(render_puzzle("maze", puzzle, answer))
    assert np.array_equal(read.grid, puzzle.grid)
    assert read.solution is not None and np.array_equal(read.solution, answer)


def test_block_maze_at_any_scale_and_jpeg() -> None:
    puzzle, _ = maze_puzzle(7, 7, 4)
    image = render_puzzle("maze", puzzle)
    big = image.resize((image.width * 3, image.height * 3), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=80)
    assert np.array_equal(read_maze(Image.open(buf)).grid, puzzle.grid)


def test_black_and_white_maze_with_letters() -> None:
    maze = dfs_maze(6, 6, 5)
    cell = 24
    image = Image.new("RGB", (maze.shape[1] * cell + 20, maze.shape[0] * cell + 20), "white")
    draw = ImageDraw.Draw(image)
    for (r, c), v in np.ndenumerate(maze):
        if v == 1:
            draw.rectangle((10 + c * cell, 10 + r * cell, 9 + (c + 1) * cell, 9 + (r + 1) * cell), fill="black")
    for (r, c), letter in (((1, 1), "G"), ((11, 11), "S")):
        draw.text((10 + (c + 0.5) * cell, 10 + (r + 0.5) * cell), letter, fill="black", font=font(18), anchor="mm")
    read = read_maze(image)
    assert read.grid[1, 1] == 4 and read.grid[11, 11] == 3


def draw_line_maze(maze: np.ndarray, cell: int = 28, wall: int = 3) -> Image.Image:
    rows, cols = maze.shape[0] // 2, maze.shape[1] // 2
    image = Image.new("RGB", (cols * cell + 30, rows * cell + 30), "white")
    draw = ImageDraw.Draw(image)
    for (r, c), v in np.ndenumerate(maze):
        x, y = 15 + (c // 2) * cell, 15 + (r // 2) * cell
        if v == 1 and r % 2 == 0 and c % 2 == 1:
            draw.rectangle((x, y - wall // 2, x + cell, y + wall // 2), fill=(20, 20, 20))
        if v == 1 and c % 2 == 0 and r % 2 == 1:
            draw.rectangle((x - wall // 2, y, x + wall // 2, y + cell), fill=(20, 20, 20))
    return image


def test_line_maze_with_coloured_marks_becomes_blocks() -> None:
    maze = dfs_maze(9, 12, 6)
    image = draw_line_maze(maze)
    draw = ImageDraw.Draw(image)
    draw.ellipse((15 + 8, 15 + 8, 15 + 20, 15 + 20), fill=(0, 170, 0))                  # cell (0, 0)
    draw.ellipse((15 + 11 * 28 + 8, 15 + 8 * 28 + 8, 15 + 11 * 28 + 20, 15 + 8 * 28 + 20), fill=(220, 0, 0))
    expected = maze.copy()
    expected[1, 1], expected[17, 23] = 3, 4
    read = read_maze(image)
    h, w = read.extra["shape"]
    assert (h, w) == expected.shape
    assert np.array_equal(read.grid[:h, :w], expected)


def test_line_maze_entrance_and_exit_gaps_become_start_and_goal() -> None:
    maze = dfs_maze(6, 6, 7)
    maze[0, 1] = 2        # gap in the top wall
    maze[12, 11] = 2      # gap in the bottom wall
    read = read_maze(draw_line_maze(maze))
    assert read.grid[0, 1] == 3 and read.grid[12, 11] == 4


def test_maze_larger_than_the_canvas_is_refused() -> None:
    puzzle = Puzzle("maze", dfs_maze(20, 20, 8))
    with pytest.raises(ImageReadError, match="at most 30x30"):
        read_maze(render_puzzle("maze", puzzle))


def test_maze_without_start_and_goal_is_refused() -> None:
    with pytest.raises(ImageReadError, match="start"):
        read_maze(render_puzzle("maze", Puzzle("maze", dfs_maze(4, 4, 9))))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_arc_grid_render_reads_back(h: int, w: int, seed: int) -> None:
    grid = np.random.default_rng(seed).integers(0, 10, (h, w))
    read = read_arc(render_puzzle("arc", Puzzle("arc", grid)))
    assert read.grid.shape == grid.shape
    assert np.array_equal(read.grid, grid)
    assert read.extra["demos"] == []


def test_arc_task_image_gives_demos_and_test_input(shared_data) -> None:
    path = sorted((shared_data / "arc" / "agi1" / "training").glob("*.json"))[0]
    task = json.loads(path.read_text())
    demos = [(np.array(p["input"]), np.array(p["output"])) for p in task["train"]]
    test_input = np.array(task["test"][0]["input"])
    read = read_arc(render_puzzle("arc", Puzzle("arc", test_input, extra={"demos": demos})))
    assert np.array_equal(read.grid, test_input)
    assert len(read.extra["demos"]) == len(demos)
    for (a, b), (c, d) in zip(read.extra["demos"], demos, strict=True):
        assert np.array_equal(a, c) and np.array_equal(b, d)


def test_arc_grid_without_grid_lines_scaled_and_jpeg() -> None:
    grid = np.random.default_rng(1).integers(0, 10, (7, 11))
    from hrm.imaging.grids import PALETTE

    pixels = PALETTE.astype(np.uint8)[grid]
    image = Image.fromarray(pixels).resize((11 * 13, 7 * 13), Image.Resampling.NEAREST)
    framed = Image.new("RGB", (image.width + 40, image.height + 40), "white")
    framed.paste(image, (20, 20))
    buf = io.BytesIO()
    framed.save(buf, format="JPEG", quality=85)
    assert np.array_equal(read_arc(Image.open(buf)).grid, grid)


def test_detection_tells_maze_from_arc() -> None:
    puzzle, _ = maze_puzzle(5, 5, 10)
    assert read_picture(render_puzzle("maze", puzzle))[0].task == "maze"
    grid = np.random.default_rng(2).integers(0, 10, (6, 6))
    assert read_picture(render_puzzle("arc", Puzzle("arc", grid)))[0].task == "arc"


def test_photo_of_nothing_is_not_an_arc_grid() -> None:
    with pytest.raises(ImageReadError):
        read_arc(Image.new("RGB", (200, 100), "white"))
