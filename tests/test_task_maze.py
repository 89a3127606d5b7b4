"""MazeTask: parsing and padding, tokens, BFS helpers, path verification, dihedral augmentation."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.errors import HRMError, PuzzleParseError
from hrm.tasks import Puzzle, detect_task
from hrm.tasks.grid import dihedral
from hrm.tasks.maze import (
    CHAR_CODES,
    GOAL,
    OPEN,
    PATH,
    START,
    WALL,
    MazeTask,
    bfs_distances,
    count_shortest_paths,
    format_grid,
    keep_near_shortest,
    make_puzzle,
    nearest_shortest_paths,
    pad_to_canvas,
    path_violations,
    shortest_distance,
    shortest_path_solution,
    shortest_path_solutions,
)

TASK = MazeTask()
FAST = settings(deadline=None, max_examples=60)

DETOUR = """\
#######
#S   G#
# ### #
#     #
#######"""


@st.composite
def mazes(draw, max_side: int = 30, with_path: bool = False) -> np.ndarray:
    h = draw(st.integers(1, max_side))
    w = draw(st.integers(2 if h == 1 else 1, max_side))
    kinds = [WALL, OPEN, PATH] if with_path else [WALL, OPEN]
    grid = np.array(draw(st.lists(st.sampled_from(kinds), min_size=h * w, max_size=h * w))).reshape(h, w)
    start, goal = draw(st.lists(st.integers(0, h * w - 1), min_size=2, max_size=2, unique=True))
    grid.flat[start], grid.flat[goal] = START, GOAL
    return grid


def parse_error(text: str) -> PuzzleParseError:
    with pytest.raises(PuzzleParseError) as info:
        TASK.parse(text, "m.txt")
    return info.value


def random_canvas(rng: np.random.Generator, wall_fraction: float) -> np.ndarray:
    grid = np.where(rng.random((30, 30)) < wall_fraction, WALL, OPEN)
    free = rng.permutation(np.flatnonzero(grid == OPEN))
    grid.flat[free[0]], grid.flat[free[1]] = START, GOAL
    return grid


def example_puzzles(examples_dir) -> list[Puzzle]:
    paths = sorted((examples_dir / "maze").glob("hard*.txt"))
    assert len(paths) == 3
    return [TASK.parse(p.read_text(), str(p))[0] for p in paths]


# ----------------------------------------------------------------------------------------------------
# Round trips and layout


@FAST
@given(grid=mazes())
def test_format_parse_encode_decode_format_round_trip(grid):
    text = format_grid(grid)
    (puzzle,) = TASK.parse(text)
    assert puzzle.extra["shape"] == grid.shape and puzzle.grid.shape == (30, 30)
    assert (puzzle.grid[grid.shape[0]:] == WALL).all() and (puzzle.grid[:, grid.shape[1]:] == WALL).all()
    tokens = TASK.encode(puzzle)
    assert tokens.shape == (900,) and set(np.unique(tokens)) <= {WALL, OPEN, START, GOAL}
    assert TASK.format(TASK.decode(puzzle, tokens), puzzle) == text


@FAST
@given(grid=mazes(with_path=True))
def test_solved_maze_gives_question_and_solution(grid):
    text = format_grid(grid)
    (puzzle,) = TASK.parse(text)
    assert not (puzzle.grid == PATH).any()
    if "o" not in text:
        assert puzzle.solution is None
        return
    assert TASK.format(puzzle.solution, puzzle) == text
    assert TASK.format(puzzle.grid, puzzle) == text.replace("o", " ")


def test_right_stripped_lines_are_padded_with_open_cells():
    (puzzle,) = TASK.parse("#####\n#S  \n#  G#\n#####\n")
    assert puzzle.extra["shape"] == (4, 5)
    assert puzzle.grid[1, :5].tolist() == [WALL, START, OPEN, OPEN, OPEN]
    assert puzzle.grid[1, 5] == WALL   # canvas padding beyond the maze is wall


def test_dots_are_open_cells_and_crlf_is_accepted():
    (puzzle,) = TASK.parse("#S..G#\r\n#....#\r\n")
    assert puzzle.grid[0, :6].tolist() == [WALL, START, OPEN, OPEN, GOAL, WALL]


def test_csv_rows_with_header_and_without(examples_dir):
    puzzles = example_puzzles(examples_dir)
    rows = []
    for puzzle in puzzles:
        question = format_grid(puzzle.grid).replace("\n", "")
        answer = format_grid(shortest_path_solution(puzzle.grid)).replace("\n", "")
        rows.append(f"gen,{question},{answer},{shortest_distance(puzzle.grid)}")
    for text in ("\n".join(rows), "source,question,answer,rating\n" + "\n".join(rows) + "\n"):
        parsed = TASK.parse(text, "mazes.csv")
        assert len(parsed) == 3
        for original, got in zip(puzzles, parsed, strict=True):
            assert np.array_equal(got.grid, original.grid) and TASK.verify(got, got.solution).ok
            assert got.extra["rating"] == str(shortest_distance(original.grid))


def test_csv_field_that_lost_its_spaces_is_reported(examples_dir):
    question = format_grid(example_puzzles(examples_dir)[0].grid).replace("\n", "")
    error = parse_error(f"gen,{question.rstrip()},,1")
    assert error.line == 1 and error.column == 5 and "900" in error.message


def test_csv_answer_that_moves_a_wall_is_reported():
    question = "#S" + " " * 7 + "G" + "#" * 6
    answer = "#S" + "o" * 6 + "#G" + "#" * 6
    error = parse_error(f"x,{question},{answer},0")
    assert "changes r3c1" in error.message and (error.line, error.column) == (1, 28)


# ----------------------------------------------------------------------------------------------------
# Malformed input


NOT_UNKNOWN = set(CHAR_CODES) | set(",\n\r")


@FAST
@given(grid=mazes(max_side=29), data=st.data(),
       bad=st.characters(blacklist_categories=("Cs",)).filter(lambda ch: ch not in NOT_UNKNOWN))
def test_unknown_character_reports_line_and_column(grid, data, bad):
    lines = format_grid(grid).split("\n")
    row = data.draw(st.integers(0, len(lines) - 1))
    col = data.draw(st.integers(0, len(lines[row])))
    lines[row] = lines[row][:col] + bad + lines[row][col:]
    error = parse_error("\n".join(lines))
    assert (error.line, error.column) == (row + 1, col + 1)


def test_second_start_names_both_places():
    error = parse_error("#S#\n#S#\n#G#")
    assert (error.line, error.column) == (2, 2) and "line 1, column 2" in error.message


@pytest.mark.parametrize(("text", "words"), [
    ("#S#\n# #", "no G"), ("###\n#G#", "no S"), ("SG#G", "second G"),
    ("S" + " " * 30 + "G", "at most 30"), ("S\n" + "#\n" * 30 + "G", "at most 30"),
])
def test_bad_mazes(text, words):
    assert words in parse_error(text).message


def test_too_wide_row_points_at_column_31():
    error = parse_error("#S" + "#" * 29 + "\nG")
    assert (error.line, error.column) == (1, 31)


@pytest.mark.parametrize("text", ["", "\n\n", bytes(range(256)).decode("latin-1")])
def test_empty_and_binary_input(text):
    parse_error(text)


@FAST
@given(text=st.text(alphabet=st.sampled_from("# SGo.,\nx"), max_size=300))
def test_arbitrary_text_parses_or_fails_cleanly(text):
    try:
        puzzles = TASK.parse(text)
    except PuzzleParseError:
        return
    for puzzle in puzzles:
        assert puzzle.grid.shape == (30, 30)
        assert (puzzle.grid == START).sum() == 1 and (puzzle.grid == GOAL).sum() == 1


# ----------------------------------------------------------------------------------------------------
# BFS helpers


def reference_distances(grid: np.ndarray, start: tuple[int, int]) -> np.ndarray:
    dist = np.full(grid.shape, -1)
    dist[start] = 0
    queue = deque([start])
    while queue:
        r, c = queue.popleft()
        for i, j in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= i < grid.shape[0] and 0 <= j < grid.shape[1] and grid[i, j] != WALL and dist[i, j] < 0:
                dist[i, j] = dist[r, c] + 1
                queue.append((i, j))
    return dist


def test_bfs_matches_a_plain_queue_search(rng):
    grids = np.stack([random_canvas(rng, wall_fraction) for wall_fraction in np.linspace(0.2, 0.5, 40)])
    batched = shortest_distance(grids)
    for grid, distance in zip(grids, batched, strict=True):
        start = tuple(np.argwhere(grid == START)[0])
        expected = reference_distances(grid, start)
        assert np.array_equal(bfs_distances(grid, start), expected)
        assert distance == shortest_distance(grid) == expected[tuple(np.argwhere(grid == GOAL)[0])]
    assert (batched > 0).any() and (batched < 0).any()   # the sample covers both outcomes


def test_shortest_path_solution_is_shortest_and_valid(rng):
    for _ in range(20):
        grid = random_canvas(rng, 0.3)
        if shortest_distance(grid) < 0:
            with pytest.raises(ValueError):
                shortest_path_solution(grid)
            continue
        solution = shortest_path_solution(grid)
        assert (solution == PATH).sum() == shortest_distance(grid) - 1
        assert TASK.verify(make_puzzle(grid), solution).ok


def all_shortest_paths(grid: np.ndarray) -> list[frozenset[tuple[int, int]]]:
    """Every shortest S-to-G path of a small grid as its set of cells between S and G (plain search)."""
    start, goal = tuple(np.argwhere(grid == START)[0]), tuple(np.argwhere(grid == GOAL)[0])
    from_start, from_goal = reference_distances(grid, start), reference_distances(grid, goal)
    length = from_start[goal]
    paths: list[frozenset[tuple[int, int]]] = []

    def walk(cell: tuple[int, int], cells: list[tuple[int, int]]) -> None:
        if cell == goal:
            paths.append(frozenset(cells[1:-1]))
            return
        r, c = cell
        for nxt in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if (0 <= nxt[0] < grid.shape[0] and 0 <= nxt[1] < grid.shape[1]
                    and from_start[nxt] == from_start[cell] + 1 and from_goal[nxt] == length - from_start[nxt]):
                walk(nxt, [*cells, nxt])

    walk(start, [start])
    return paths


@st.composite
def small_mazes(draw: st.DrawFn) -> np.ndarray:
    side = draw(st.integers(3, 6))
    walls = draw(st.lists(st.booleans(), min_size=side * side, max_size=side * side))
    grid = np.where(np.array(walls).reshape(side, side), WALL, OPEN)
    cells = draw(st.lists(st.integers(0, side * side - 1), min_size=2, max_size=2, unique=True))
    grid.flat[cells[0]], grid.flat[cells[1]] = START, GOAL
    return grid


@settings(deadline=None, max_examples=150)
@given(grid=small_mazes(), seed=st.integers(0, 2**16))
def test_nearest_shortest_path_is_a_shortest_path_with_the_best_score(grid: np.ndarray, seed: int) -> None:
    scores = np.random.default_rng(seed).normal(size=grid.shape)
    nearest = nearest_shortest_paths(grid[None], scores[None])[0]
    if shortest_distance(grid) < 0:
        assert np.array_equal(nearest, grid)                 # nothing to draw: the grid comes back
        return
    assert path_violations(grid, nearest) == []
    chosen = frozenset(map(tuple, np.argwhere(nearest == PATH)))
    paths = all_shortest_paths(grid)
    assert chosen in paths
    assert sum(scores[c] for c in chosen) == pytest.approx(max(sum(scores[c] for c in p) for p in paths))


@settings(deadline=None, max_examples=150)
@given(grid=small_mazes())
def test_shortest_paths_are_counted_and_kept_when_the_room_around_them_is_walled(grid: np.ndarray) -> None:
    if shortest_distance(grid) < 0:
        with pytest.raises(ValueError, match="cannot be reached"):
            count_shortest_paths(grid)
        return
    paths = all_shortest_paths(grid)
    assert count_shortest_paths(grid) == len(paths)
    on_some_path = set().union(*paths)
    for slack in (0, 1, 2, 5):
        kept = keep_near_shortest(grid, slack)
        assert ((kept == WALL) | (kept == grid)).all()               # only open cells become walls
        assert shortest_distance(kept) == shortest_distance(grid)
        assert set(all_shortest_paths(kept)) == set(paths)          # the answers the verifier accepts
    only_paths = keep_near_shortest(grid, 0)
    assert set(map(tuple, np.argwhere(only_paths == OPEN))) == on_some_path


def test_detours_decide_which_cells_stay():
    grid = np.array([[CHAR_CODES[ch] for ch in line] for line in DETOUR.splitlines()])
    assert count_shortest_paths(grid) == 1
    assert np.array_equal(keep_near_shortest(grid, 4), grid)       # the way round: 8 moves against 4
    three = keep_near_shortest(grid, 3)
    assert three[3, 3] == WALL and three[2, 1] == OPEN              # S, down one and back: 2 moves more
    walled = keep_near_shortest(grid, 0)
    assert (walled[2:4] != OPEN).all() and (walled[1] == grid[1]).all()


def test_nearest_shortest_path_follows_the_label_rule_on_a_tie_and_the_scores_otherwise(rng):
    grids = np.stack([g for g in (random_canvas(rng, 0.25) for _ in range(60)) if shortest_distance(g) > 3])
    labels = shortest_path_solutions(grids)
    assert np.array_equal(nearest_shortest_paths(grids, np.zeros(grids.shape)), labels)
    # a model that prefers another shortest path gets that path as its target, cell for cell
    others = nearest_shortest_paths(grids, np.where(labels == PATH, -1.0, 0.0))
    moved = (others != labels).any(axis=(1, 2))
    assert moved.mean() > 0.5                                # most mazes have another shortest path
    for grid, other in zip(grids, others, strict=True):
        assert TASK.verify(make_puzzle(grid), other).ok
    assert np.array_equal(nearest_shortest_paths(grids, np.where(others == PATH, 1.0, -1.0)), others)


# ----------------------------------------------------------------------------------------------------
# Verification


def test_examples_are_long_solvable_and_detected(examples_dir):
    for path in sorted((examples_dir / "maze").glob("*.txt")):
        text = path.read_text()
        (puzzle,) = TASK.parse(text, str(path))
        assert puzzle.extra["shape"] == (30, 30) and TASK.check_givens(puzzle) == []
        assert shortest_distance(puzzle.grid) >= 110
        assert detect_task(text).name == "maze"
        assert TASK.verify(puzzle, shortest_path_solution(puzzle.grid)).ok


def test_corrupted_paths_are_rejected_with_reasons(examples_dir):
    puzzle = example_puzzles(examples_dir)[0]
    solution = shortest_path_solution(puzzle.grid)
    path_cells = np.argwhere(solution == PATH)
    broken = solution.copy()
    broken[tuple(path_cells[10])] = OPEN
    assert any("breaks at" in v for v in TASK.verify(puzzle, broken).violations)
    through_wall = solution.copy()
    through_wall[tuple(np.argwhere(puzzle.grid == WALL)[0])] = PATH
    assert any("through the wall" in v for v in TASK.verify(puzzle, through_wall).violations)
    overwritten = solution.copy()
    overwritten[puzzle.grid == START] = PATH
    assert any("S at" in v and "overwritten" in v for v in TASK.verify(puzzle, overwritten).violations)
    empty = puzzle.grid.copy()
    assert TASK.verify(puzzle, empty).violations == ["no path leaves S"]


def test_stray_and_branching_path_cells_are_rejected():
    (puzzle,) = TASK.parse(DETOUR)
    answer = TASK.parse(DETOUR.replace("#S   G#", "#SoooG#"))[0].solution
    assert TASK.verify(puzzle, answer).ok
    stray = answer.copy()
    stray[3, 3] = PATH
    assert TASK.verify(puzzle, stray).violations == ["1 path cell is off the route from S to G (r4c4)"]
    branch = answer.copy()
    branch[2, 1] = PATH
    assert TASK.verify(puzzle, branch).violations == ["the path branches at r2c2"]


def test_longer_path_is_not_accepted():
    (puzzle,) = TASK.parse(DETOUR)
    detour = TASK.parse(DETOUR.replace("# ### #\n#     #", "#o###o#\n#ooooo#"))[0].solution
    assert TASK.verify(puzzle, detour).violations == ["the path is 8 moves but the shortest is 4"]


def test_unreachable_goal_is_reported_by_check_givens_and_verify():
    (puzzle,) = TASK.parse("#S#\n###\n#G#")
    assert TASK.check_givens(puzzle) == ["G cannot be reached from S: walls cut every route"]
    assert not TASK.verify(puzzle, puzzle.grid).ok


def test_wrong_answer_shape_is_a_violation_not_a_crash():
    (puzzle,) = TASK.parse(DETOUR)
    assert "shape" in TASK.verify(puzzle, np.ones((5, 7), dtype=int)).violations[0]


def test_decode_reads_pad_tokens_as_walls():
    (puzzle,) = TASK.parse(DETOUR)
    tokens = TASK.encode(puzzle).astype(np.int64)
    tokens[8] = 0
    assert TASK.decode(puzzle, tokens)[0, 8] == WALL


# ----------------------------------------------------------------------------------------------------
# Augmentation


@FAST
@given(seed=st.integers(0, 2**32 - 1), tid=st.integers(0, 7))
def test_inverse_of_transform_is_exact(seed, tid):
    grid = np.random.default_rng(seed).integers(1, 6, size=(30, 30))
    moved = TASK.transform(tid, Puzzle("maze", grid, grid))
    assert np.array_equal(TASK.inverse_answer(tid, moved.solution), grid)


def test_transformed_examples_keep_valid_solutions(examples_dir):
    for puzzle in example_puzzles(examples_dir):
        puzzle.solution = shortest_path_solution(puzzle.grid)
        for tid in range(8):
            moved = TASK.transform(tid, puzzle)
            assert TASK.verify(moved, moved.solution).ok
            assert shortest_distance(moved.grid) == shortest_distance(puzzle.grid)


def test_small_maze_window_moves_with_the_transform():
    (puzzle,) = TASK.parse(DETOUR)
    for tid in range(8):
        moved = TASK.transform(tid, puzzle)
        expected = dihedral(np.array([list(line) for line in DETOUR.split("\n")]), tid)
        assert TASK.format(moved.grid, moved) == "\n".join("".join(row) for row in expected)
        assert TASK.check_givens(moved) == []


def test_random_transform_draws_all_eight(rng):
    assert {TASK.random_transform(rng) for _ in range(200)} == set(range(8))


def test_sniff_rejects_other_tasks(examples_dir):
    for path in [*(examples_dir / "sudoku").glob("*.txt"), *(examples_dir / "arc").glob("*.json")]:
        assert not TASK.sniff(path.read_text())


# ----------------------------------------------------------------------------------------------------
# Smaller model canvases


class _Config:
    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len


def solved_small_maze(rng: np.random.Generator, side: int) -> tuple[np.ndarray, np.ndarray]:
    while True:
        grid = np.where(rng.random((side, side)) < 0.3, WALL, OPEN)
        grid.flat[0], grid.flat[-1] = START, GOAL
        try:
            return grid, shortest_path_solution(grid)
        except ValueError:
            continue


@FAST
@given(seed=st.integers(0, 2**32 - 1), side=st.integers(4, 12), turn=st.integers(0, 7))
def test_small_canvas_reads_the_maze_window_in_any_orientation(seed, side, turn):
    grid, solution = solved_small_maze(np.random.default_rng(seed), side)
    small = TASK.for_model(_Config(144))
    puzzle = TASK.transform(turn, make_puzzle(grid, "m", solution))
    tokens = small.encode(puzzle)
    assert tokens.shape == (144,)
    expected = np.full((12, 12), WALL)
    expected[:side, :side] = dihedral(grid, turn)
    np.testing.assert_array_equal(tokens.reshape(12, 12), expected)
    decoded = small.decode(puzzle, small.encode_label(puzzle, puzzle.solution))
    np.testing.assert_array_equal(decoded, puzzle.solution)
    assert small.verify(puzzle, decoded).ok


def test_small_canvas_refuses_larger_mazes_and_odd_sizes(examples_dir):
    small = TASK.for_model(_Config(100))
    assert small.side == 10 and TASK.for_model(_Config(900)) is TASK
    big = example_puzzles(examples_dir)[0]
    with pytest.raises(HRMError, match="larger than this model's 10x10 canvas"):
        small.encode(big)
    with pytest.raises(HRMError, match="no square maze canvas"):
        TASK.for_model(_Config(99))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), side=st.integers(3, 9), count=st.integers(1, 6))
def test_a_batch_of_labels_is_each_maze_labelled_alone(seed: int, side: int, count: int) -> None:
    """The batched walk picks what a plain one-maze walk picks, and every label is a valid shortest path."""
    rng = np.random.default_rng(seed)
    grids = []
    while len(grids) < count:
        grid = np.where(rng.random((side, side)) < 0.3, WALL, OPEN)
        s, g = rng.choice(side * side, 2, replace=False)
        grid.flat[s], grid.flat[g] = START, GOAL
        if shortest_distance(grid) > 0:
            grids.append(grid)
    batch = shortest_path_solutions(np.stack(grids))
    for grid, label in zip(grids, batch, strict=True):
        np.testing.assert_array_equal(label, walked_back_from_goal(grid))
        assert (label == PATH).sum() == shortest_distance(grid) - 1
        assert TASK.verify(make_puzzle(grid), pad_to_canvas(label)).ok


def walked_back_from_goal(grid: np.ndarray) -> np.ndarray:
    """The label rule done plainly: from G, step to a neighbour one move nearer S, trying up, down, left,
    right in that order, until S."""
    dist = reference_distances(grid, tuple(np.argwhere(grid == START)[0]))
    here, label = tuple(np.argwhere(grid == GOAL)[0]), grid.copy()
    while dist[here] > 1:
        r, c = here
        here = next((i, j) for i, j in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
                    if 0 <= i < grid.shape[0] and 0 <= j < grid.shape[1] and dist[i, j] == dist[here] - 1)
        label[here] = PATH
    return label
