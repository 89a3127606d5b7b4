"""Maze generator: bit-sliced BFS agrees with a plain BFS, and accepted tasks follow the recipe."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.data import maze_gen
from hrm.tasks.maze import GOAL, PATH, START, WALL, bfs_distances, shortest_distance, shortest_path_solution


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_pack_and_unpack_are_inverse(seed) -> None:
    masks = np.random.default_rng(seed).random((128, 30, 30)) < 0.5
    np.testing.assert_array_equal(maze_gen.unpack(maze_gen.pack(masks)), masks)


def test_bit_sliced_sweep_matches_plain_bfs(rng) -> None:
    walls, starts = maze_gen.random_layouts(rng, 64, maze_gen.MazeSpec())
    sweep = maze_gen._sweep(maze_gen.pack(~walls), maze_gen._single_cell_bits(starts, 30), cap=900)
    last = maze_gen.unpack(sweep.last)
    for i in range(0, 64, 7):
        start = divmod(int(starts[i]), 30)
        assert not walls[i][start]
        dist = bfs_distances(np.where(walls[i], WALL, 2), start)
        assert sweep.eccentricity[i] == dist.max()
        np.testing.assert_array_equal(last[i], dist == dist.max())


def test_pair_mask_lists_exactly_the_pairs_in_range(rng) -> None:
    walls, _ = maze_gen.random_layouts(rng, 1, maze_gen.MazeSpec(wall_fraction=(0.4, 0.4)))
    sources, in_range = maze_gen.pair_mask(walls[0], 10, 25)
    grid = np.where(walls[0], WALL, 2)
    for k in range(0, len(sources), 37):
        dist = bfs_distances(grid, divmod(int(sources[k]), 30)).reshape(900)
        np.testing.assert_array_equal(in_range[k], (dist >= 10) & (dist <= 25))


def test_wall_counts_follow_the_recipe(rng) -> None:
    walls, starts = maze_gen.random_layouts(rng, 500, maze_gen.MazeSpec())
    counts = walls.reshape(500, -1).sum(axis=1)
    assert counts.min() >= 270 and counts.max() <= 450 and counts.std() > 30
    assert not walls.reshape(500, -1)[np.arange(500), starts].any()


@pytest.fixture(scope="module")
def hard_mazes() -> list[maze_gen.MazeSample]:
    return maze_gen.generate_mazes(4, seed=11)


def test_accepted_mazes_have_long_canonical_shortest_paths(hard_mazes) -> None:
    assert len({m.layout_hash for m in hard_mazes}) == len(hard_mazes) == 4
    for m in hard_mazes:
        q = m.question.astype(np.int64)
        assert (q == START).sum() == 1 and (q == GOAL).sum() == 1
        assert 270 <= (q == WALL).sum() <= 450
        assert m.moves > 110 and shortest_distance(q) == m.moves
        np.testing.assert_array_equal(m.answer, shortest_path_solution(q))
        assert (m.answer == PATH).sum() == m.moves - 1
        np.testing.assert_array_equal(np.where(m.answer == PATH, 2, m.answer), m.question)


def test_generation_is_deterministic_and_independent_of_workers(hard_mazes) -> None:
    again = maze_gen.generate_mazes(4, seed=11, workers=2)
    assert [m.layout_hash for m in again] == [m.layout_hash for m in hard_mazes]
    assert all(np.array_equal(a.answer, b.answer) for a, b in zip(again, hard_mazes, strict=True))
    other = maze_gen.generate_mazes(2, seed=12)
    assert not {m.layout_hash for m in other} & {m.layout_hash for m in hard_mazes}


def test_excluded_layouts_and_length_ranges_are_respected(hard_mazes) -> None:
    skip = {hard_mazes[0].layout_hash}
    again = maze_gen.generate_mazes(2, seed=11, exclude=skip)
    assert again[0].layout_hash == hard_mazes[1].layout_hash
    short = maze_gen.generate_mazes(5, seed=3, spec=maze_gen.MazeSpec(20, 30, (0.2, 0.3)))
    for m in short:
        assert 20 <= m.moves <= 30 and 180 <= (m.question == WALL).sum() <= 270


def test_perfect_mazes_are_trees_with_long_unique_paths():
    from hrm.tasks.maze import path_violations

    mazes = maze_gen.generate_perfect_mazes(40, seed=3, side=11, min_moves=10)
    assert len({m.layout_hash for m in mazes}) == 40
    for m in mazes:
        free = m.question != WALL
        cells = int(free.sum())
        edges = int((free[1:, :] & free[:-1, :]).sum() + (free[:, 1:] & free[:, :-1]).sum())
        assert edges == cells - 1                          # a spanning tree of its open cells: one path
        assert m.moves >= 10 and not path_violations(m.question, m.answer, (0, 0))
    again = maze_gen.generate_perfect_mazes(40, seed=3, side=11, min_moves=10)
    assert all(np.array_equal(a.question, b.question) for a, b in zip(mazes, again, strict=True))
    with pytest.raises(ValueError):
        maze_gen.generate_perfect_mazes(1, seed=0, side=10)
