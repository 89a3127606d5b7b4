"""Maze 30x30: parse/format text, token encoding, path verification, BFS helpers, dihedral augmentation.

Cells: '#' wall, ' ' (or '.') open, 'S' start, 'G' goal, 'o' path. Codes equal tokens:
PAD 0, wall 1, open 2, S 3, G 4, path 5 (vocab 6, 900 tokens). Smaller mazes are padded with walls on a
30x30 canvas; `extra["shape"]` and `extra["origin"]` locate the maze on it so `format` can crop.
A file holds one maze drawn as text, or CSV rows `source,question,answer,rating` with 900-char fields.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from hrm.errors import HRMError, PuzzleParseError
from hrm.tasks.base import FULL_WINDOW, Puzzle, TaskDefaults, Verdict, Window, listed_verdict
from hrm.tasks.grid import cell_list, cell_name, dihedral, inverse_dihedral
from hrm.tasks.look import CodeLook

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

    from hrm.config import ModelConfig

CANVAS = 30
PAD, WALL, OPEN, START, GOAL, PATH = 0, 1, 2, 3, 4, 5
CHARSET = "# SGo"
CHAR_CODES = {"#": WALL, " ": OPEN, ".": OPEN, "S": START, "G": GOAL, "o": PATH}
_CODE_CHARS = np.array(["?", *CHARSET])
_HINT_ALPHABET = "a maze uses '#' wall, ' ' or '.' open, 'S' start, 'G' goal, 'o' path"


# ----------------------------------------------------------------------------------------------------
# Breadth-first search (vectorised over any leading batch axes)


def _grow(frontier: np.ndarray) -> np.ndarray:
    """Cells 4-adjacent to (or in) `frontier` over the last two axes."""
    grown = frontier.copy()
    grown[..., 1:, :] |= frontier[..., :-1, :]
    grown[..., :-1, :] |= frontier[..., 1:, :]
    grown[..., :, 1:] |= frontier[..., :, :-1]
    grown[..., :, :-1] |= frontier[..., :, 1:]
    return grown


def _bfs(passable: np.ndarray, start: np.ndarray, stop: np.ndarray | None = None) -> np.ndarray:
    """Distances in moves from `start` cells through `passable` cells; -1 where unreachable.

    With `stop`, the search ends once every batch item has reached one of its stop cells (or is stuck).
    """
    dist = np.full(passable.shape, -1, dtype=np.int32)
    frontier = start & passable
    visited = frontier.copy()
    step = 0
    while frontier.any():
        dist[frontier] = step
        if stop is not None and ((visited & stop).any(axis=(-2, -1)) | ~frontier.any(axis=(-2, -1))).all():
            break
        frontier = _grow(frontier) & passable & ~visited
        visited |= frontier
        step += 1
    return dist


def bfs_distances(grid: np.ndarray, start: tuple[int, int] | np.ndarray) -> np.ndarray:
    """Moves from `start` to every cell of `grid` ([H, W] or [B, H, W] codes); -1 = unreachable.

    `start` is a (row, col) pair (for one grid) or a boolean mask of the grid's shape. Walls and PAD
    block; open, S, G and path cells are passable.
    """
    grid = np.asarray(grid)
    if isinstance(start, tuple):
        mask = np.zeros(grid.shape, dtype=bool)
        mask[start] = True
    else:
        mask = np.asarray(start, dtype=bool)
    return _bfs(grid >= OPEN, mask)


def shortest_distance(grid: np.ndarray) -> int | np.ndarray:
    """Shortest S-to-G distance in moves (-1 when G is unreachable) of one grid, or per grid of a batch."""
    grid = np.asarray(grid)
    start, goal = grid == START, grid == GOAL
    if not (start.any(axis=(-2, -1)).all() and goal.any(axis=(-2, -1)).all()):
        raise ValueError("every maze needs an S and a G")
    dist = _bfs(grid >= OPEN, start, stop=goal)
    result = np.where(goal & (dist >= 0), dist, -1).max(axis=(-2, -1))
    return int(result) if grid.ndim == 2 else result


def shortest_path_solution(grid: np.ndarray) -> np.ndarray:
    """`grid` with one shortest S-to-G path marked as PATH (walked back from G, preferring up, down,
    left, right); raises ValueError when G is unreachable."""
    return shortest_path_solutions(np.asarray(grid)[None])[0]


_BACK_STEPS = np.array([(-1, 0), (1, 0), (0, -1), (0, 1)])    # the walk's preference: up, down, left, right


def shortest_path_solutions(grids: np.ndarray) -> np.ndarray:
    """shortest_path_solution of every grid of a [B, H, W] batch, all walked back at once."""
    grids = np.asarray(grids)
    count, _, width = grids.shape
    dist = np.pad(_bfs(grids >= OPEN, grids == START), ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    rows, cols = np.divmod(np.argmax((grids == GOAL).reshape(count, -1), axis=1), width)
    rows, cols, items = rows + 1, cols + 1, np.arange(count)          # in the padded frame
    here = dist[items, rows, cols]
    if (here < 0).any() or not (grids == GOAL).any(axis=(1, 2)).all():
        raise ValueError("G cannot be reached from S")
    solution = np.pad(grids.copy(), ((0, 0), (1, 1), (1, 1)))
    while (walking := here > 1).any():
        choice = np.full(count, -1)
        for k, (dr, dc) in enumerate(_BACK_STEPS):
            choice[(choice < 0) & (dist[items, rows + dr, cols + dc] == here - 1)] = k
        rows = np.where(walking, rows + _BACK_STEPS[choice, 0], rows)
        cols = np.where(walking, cols + _BACK_STEPS[choice, 1], cols)
        here = np.where(walking, here - 1, here)
        solution[items[walking], rows[walking], cols[walking]] = PATH
    return solution[:, 1:-1, 1:-1]


def nearest_shortest_paths(grids: np.ndarray, path_scores: np.ndarray) -> np.ndarray:
    """Of every [B, H, W] grid's shortest S-to-G paths, the one whose cells (S and G aside) have the largest
    summed `path_scores` ([B, H, W]: how much a model prefers PATH on each cell), marked as PATH on the grid.

    Most mazes have several shortest paths and the verifier accepts any. A label fixes one by a direction
    rule, so a model unsure which one the rule picks is pushed to hedge (cells of two paths half marked,
    which breaks both). Training toward the shortest path nearest the model's own answer removes that
    push: a model that draws a valid shortest path is already exact. Equal scores fall back to the label
    rule's preference (up, down, left, right from G). Grids without a reachable G come back unchanged.
    """
    grids = np.asarray(grids)
    count, height, width = grids.shape
    passable, start, goal = grids >= OPEN, grids == START, grids == GOAL
    from_start, from_goal = _bfs(passable, start), _bfs(passable, goal)
    length = np.where(goal & (from_start >= 0), from_start, -1).max(axis=(1, 2))
    on_a_path = (from_start >= 0) & (from_goal >= 0) & (from_start + from_goal == length[:, None, None])
    scores = np.where(start | goal, 0.0, np.asarray(path_scores, dtype=np.float64))

    # best[c]: the largest summed score of a shortest-path prefix from S that ends at c (padded frame)
    best = np.full((count, height + 2, width + 2), -np.inf)
    best[:, 1:-1, 1:-1] = np.where(on_a_path & start, 0.0, -np.inf)
    for moves in range(1, max(int(length.max()), 0) + 1):
        neighbours = np.maximum.reduce([best[:, 1 + dr:height + 1 + dr, 1 + dc:width + 1 + dc]
                                        for dr, dc in _BACK_STEPS])
        layer = on_a_path & (from_start == moves)
        best[:, 1:-1, 1:-1] = np.where(layer, neighbours + scores, best[:, 1:-1, 1:-1])

    solution = grids.copy()
    items = np.flatnonzero(length > 0)
    if len(items) == 0:
        return solution
    moves_from_start = np.pad(from_start, ((0, 0), (1, 1), (1, 1)), constant_values=-1)
    rows, cols = np.divmod(np.argmax(goal[items].reshape(len(items), -1), axis=1), width)
    rows, cols, here = rows + 1, cols + 1, length[items]
    while (walking := here > 1).any():
        options = np.stack([np.where(moves_from_start[items, rows + dr, cols + dc] == here - 1,
                                     best[items, rows + dr, cols + dc], -np.inf) for dr, dc in _BACK_STEPS], axis=1)
        choice = np.argmax(options, axis=1)                      # the first of equal maxima
        rows = np.where(walking, rows + _BACK_STEPS[choice, 0], rows)
        cols = np.where(walking, cols + _BACK_STEPS[choice, 1], cols)
        here = np.where(walking, here - 1, here)
        solution[items[walking], rows[walking] - 1, cols[walking] - 1] = PATH
    return solution


# ----------------------------------------------------------------------------------------------------
# What makes a maze hard for a model: how many shortest paths it has and how much room around them


def _detour_moves(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per cell, the moves of the shortest S-to-G walk through it minus the shortest distance (-1: no such
    walk), the moves from S, and the shortest distance; raises ValueError when G is unreachable."""
    if not ((grid == START).any() and (grid == GOAL).any()):
        raise ValueError("every maze needs an S and a G")
    from_start = bfs_distances(grid, grid == START)
    from_goal = bfs_distances(grid, grid == GOAL)
    length = int(from_start[grid == GOAL].max())
    if length < 0:
        raise ValueError("G cannot be reached from S")
    reached = (from_start >= 0) & (from_goal >= 0)
    return np.where(reached, from_start + from_goal - length, -1), from_start, length


def count_shortest_paths(grid: np.ndarray) -> int:
    """How many distinct shortest S-to-G paths one maze has (exact: Python integers)."""
    detour, from_start, length = _detour_moves(np.asarray(grid))
    ways: dict[tuple[int, int], int] = {tuple(np.argwhere(from_start == 0)[0]): 1}
    for moves in range(1, length + 1):
        for r, c in np.argwhere((detour == 0) & (from_start == moves)):
            ways[r, c] = sum(ways.get((r + dr, c + dc), 0) for dr, dc in _BACK_STEPS)
    return ways[tuple(np.argwhere(np.asarray(grid) == GOAL)[0])]


def keep_near_shortest(grid: np.ndarray, slack: int) -> np.ndarray:
    """`grid` with every open cell walled that no S-to-G walk of at most shortest + `slack` moves passes.

    Every shortest path survives, so the answers a verifier accepts do not change: what goes is the room a
    model must search. slack 0 leaves only the cells of shortest paths.
    """
    grid = np.asarray(grid)
    detour, _, _ = _detour_moves(grid)
    far = (grid == OPEN) & ((detour < 0) | (detour > slack))
    return np.where(far, WALL, grid)


# ----------------------------------------------------------------------------------------------------
# Canvas and rules


def pad_to_canvas(grid: np.ndarray) -> np.ndarray:
    """Place an HxW maze (H, W <= 30) at the top-left of a 30x30 wall canvas."""
    grid = np.asarray(grid)
    canvas = np.full((CANVAS, CANVAS), WALL, dtype=np.int64)
    canvas[:grid.shape[0], :grid.shape[1]] = grid
    return canvas


def make_puzzle(grid: np.ndarray, name: str = "", solution: np.ndarray | None = None,
                extra: dict | None = None) -> Puzzle:
    """A maze Puzzle from an HxW code grid (and solution): pads to the canvas and records the window."""
    shape = tuple(int(n) for n in np.shape(grid))
    info = {"shape": shape, "origin": (0, 0), **(extra or {})}
    padded_solution = None if solution is None else pad_to_canvas(solution)
    return Puzzle("maze", pad_to_canvas(grid), padded_solution, name, info)


def _window(puzzle: Puzzle | None) -> tuple[tuple[int, int], tuple[int, int]]:
    if puzzle is None or "shape" not in puzzle.extra:
        return (0, 0), (CANVAS, CANVAS)
    return tuple(puzzle.extra.get("origin", (0, 0))), tuple(puzzle.extra["shape"])


def _cell(rc: tuple[int, int] | np.ndarray, origin: tuple[int, int]) -> str:
    return cell_name(int(rc[0]) - origin[0], int(rc[1]) - origin[1])


def _cells(cells: np.ndarray, origin: tuple[int, int]) -> str:
    return cell_list([(int(r) - origin[0], int(c) - origin[1]) for r, c in cells])


def givens_problems(grid: np.ndarray, origin: tuple[int, int] = (0, 0)) -> list[str]:
    """Why a question cannot be solved: S or G missing or repeated, or G unreachable from S."""
    problems = []
    for code, label in ((START, "S (start)"), (GOAL, "G (goal)")):
        where = np.argwhere(grid == code)
        if len(where) == 0:
            problems.append(f"the maze has no {label}")
        elif len(where) > 1:
            problems.append(f"the maze has {len(where)} {label[0]}s ({_cells(where, origin)})")
    if not problems and shortest_distance(grid) < 0:
        problems.append("G cannot be reached from S: walls cut every route")
    return problems


def _structure_checks(question: np.ndarray, answer: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(cells, message template) for each way an answer can change what the question fixes: walls, S
    and G; the one maze rule check behind the verifier's messages and every red cell."""
    known = (answer >= WALL) & (answer <= PATH)
    checks = [
        ((question == WALL) & (answer == PATH), "the path runs through the wall at {}"),
        ((question == WALL) & (answer != WALL) & (answer != PATH), "the wall at {} was removed"),
        ((question != WALL) & (answer == WALL), "{} became a wall"),
        ((question == START) & (answer != START), "S at {} was overwritten"),
        ((question != START) & (answer == START), "an extra S at {}"),
        ((question == GOAL) & (answer != GOAL), "G at {} was overwritten"),
        ((question != GOAL) & (answer == GOAL), "an extra G at {}"),
    ]
    return [(mask & known, template) for mask, template in checks]


def structure_breaks(question: np.ndarray, answer: np.ndarray) -> np.ndarray:
    """bool: cells holding no maze code, or changing a wall, S or G of the question."""
    question, answer = np.asarray(question), np.asarray(answer)
    broken = (answer < WALL) | (answer > PATH)
    for mask, _ in _structure_checks(question, answer):
        broken |= mask
    return broken


def _structure_problems(question: np.ndarray, answer: np.ndarray, origin: tuple[int, int]) -> list[str]:
    """Cells the answer must not change: walls, S and G; and no unknown codes."""
    problems = []
    for rc in np.argwhere((answer < WALL) | (answer > PATH)):
        problems.append(f"{_cell(rc, origin)} holds {answer[tuple(rc)]}, not a maze cell")
    for mask, template in _structure_checks(question, answer):
        problems += [template.format(_cell(rc, origin)) for rc in np.argwhere(mask)]
    return problems


def _neighbours(rc: tuple[int, int], shape: tuple[int, int]) -> list[tuple[int, int]]:
    r, c = rc
    candidates = ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
    return [(i, j) for i, j in candidates if 0 <= i < shape[0] and 0 <= j < shape[1]]


def _walk_path(on_path: np.ndarray, start: tuple[int, int], goal: tuple[int, int],
               origin: tuple[int, int]) -> tuple[int | None, set[tuple[int, int]], str | None]:
    """Follow the marked cells from S; returns (moves to G or None, visited cells, problem)."""
    previous, current, moves = None, start, 0
    visited = {start}
    while current != goal:
        steps = [n for n in _neighbours(current, on_path.shape) if on_path[n] and n != previous]
        if not steps:
            where = "S" if current == start else _cell(current, origin)
            return None, visited, ("no path leaves S" if current == start else f"the path breaks at {where}")
        if len(steps) > 1:
            return None, visited, f"the path branches at {_cell(current, origin)}"
        if steps[0] in visited:
            return None, visited, f"the path loops at {_cell(steps[0], origin)}"
        previous, current, moves = current, steps[0], moves + 1
        visited.add(current)
    return moves, visited, None


def path_violations(question: np.ndarray, answer: np.ndarray, origin: tuple[int, int] = (0, 0)) -> list[str]:
    """Every reason `answer` is not a shortest S-to-G path of `question` (empty list = valid)."""
    question, answer = np.asarray(question), np.asarray(answer)
    if answer.shape != question.shape:
        return [f"answer has shape {'x'.join(map(str, answer.shape))}, expected "
                f"{'x'.join(map(str, question.shape))}"]
    problems = givens_problems(question, origin) or _structure_problems(question, answer, origin)
    if problems:
        return problems
    start, goal = (tuple(int(v) for v in np.argwhere(question == code)[0]) for code in (START, GOAL))
    on_path = (answer == PATH) | (question == START) | (question == GOAL)
    moves, visited, problem = _walk_path(on_path, start, goal, origin)
    if problem:
        problems.append(problem)
    stray = [rc for rc in np.argwhere(on_path) if tuple(int(v) for v in rc) not in visited]
    if stray and moves is not None:
        problems.append(f"{len(stray)} path cell{'s are' if len(stray) > 1 else ' is'} off the route "
                        f"from S to G ({_cells(np.array(stray), origin)})")
    shortest = shortest_distance(question)
    if moves is not None and moves != shortest:
        problems.append(f"the path is {moves} moves but the shortest is {shortest}")
    return problems


# ----------------------------------------------------------------------------------------------------
# Text


def format_grid(grid: np.ndarray) -> str:
    """One line per row; codes outside 1..5 show as '?'."""
    codes = np.asarray(grid)
    chars = _CODE_CHARS[np.where((codes >= WALL) & (codes <= PATH), codes, 0)]
    return "\n".join("".join(row) for row in chars)


class _Reader:
    """Parses one text maze or CSV rows; raises PuzzleParseError at the first problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, line: int | None = None, column: int | None = None,
              hint: str | None = None) -> PuzzleParseError:
        return PuzzleParseError(message, self.source, line, column, hint)

    def codes(self, text: str, line: int, first_column: int) -> list[int]:
        codes = []
        for offset, ch in enumerate(text):
            code = CHAR_CODES.get(ch)
            if code is None:
                raise self.error(f"unexpected character {ch!r}", line, first_column + offset, _HINT_ALPHABET)
            codes.append(code)
        return codes

    def read(self, text: str) -> list[Puzzle]:
        lines = [raw.rstrip("\r") for raw in text.split("\n")]
        numbered = [(i + 1, line) for i, line in enumerate(lines)]
        while numbered and not numbered[-1][1]:
            numbered.pop()
        while numbered and not numbered[0][1]:
            numbered.pop(0)
        if not numbered:
            raise self.error("no maze found", hint=_HINT_ALPHABET)
        if any("," in line for _, line in numbered):
            return self.read_csv(numbered)
        return [self.read_drawing(numbered)]

    def read_drawing(self, numbered: list[tuple[int, str]]) -> Puzzle:
        if len(numbered) > CANVAS:
            raise self.error(f"the maze has {len(numbered)} rows, at most {CANVAS} fit",
                             numbered[CANVAS][0], 1, "a file holds one maze; put several in CSV rows")
        width = max(len(line) for _, line in numbered)
        rows = []
        for number, line in numbered:
            if len(line) > CANVAS:
                raise self.error(f"the row has {len(line)} cells, at most {CANVAS} fit", number, CANVAS + 1)
            rows.append(self.codes(line, number, 1) + [OPEN] * (width - len(line)))
        grid = np.array(rows, dtype=np.int64)
        self.check_markers(grid, lambda r, c: (numbered[r][0], c + 1))
        name = f"{self.source}:{numbered[0][0]}"
        if (grid == PATH).any():
            return make_puzzle(np.where(grid == PATH, OPEN, grid), name, grid, {"line": numbered[0][0]})
        return make_puzzle(grid, name, extra={"line": numbered[0][0]})

    def check_markers(self, grid: np.ndarray, where: Callable[[int, int], tuple[int, int]]) -> None:
        """Exactly one S and one G; `where(r, c)` gives the (line, column) of a cell for messages."""
        for code, letter, word in ((START, "S", "start"), (GOAL, "G", "goal")):
            cells = np.argwhere(grid == code)
            if len(cells) == 0:
                raise self.error(f"the maze has no {letter} ({word})", hint=_HINT_ALPHABET)
            if len(cells) > 1:
                first, second = where(*cells[0]), where(*cells[1])
                raise self.error(f"a second {letter} (the first is at line {first[0]}, column {first[1]})",
                                 *second, hint=f"a maze has exactly one {word}")

    def read_csv(self, numbered: list[tuple[int, str]]) -> list[Puzzle]:
        puzzles = []
        for index, (number, line) in enumerate(numbered):
            if not line.strip():
                continue
            fields = line.split(",")
            if index == 0 and fields[min(1, len(fields) - 1)].strip().lower() == "question":
                continue
            if len(fields) != 4:
                raise self.error(f"expected 4 comma-separated fields (source,question,answer,rating), "
                                 f"found {len(fields)}", number, 1,
                                 "a file holds one drawn maze or CSV rows, not both")
            puzzles.append(self.read_csv_row(fields, number))
        if not puzzles:
            raise self.error("no maze found in the CSV rows")
        return puzzles

    def csv_field_grid(self, fields: list[str], index: int, number: int) -> np.ndarray:
        field = fields[index]
        column = sum(len(f) + 1 for f in fields[:index]) + 1
        side = math.isqrt(len(field))
        if side * side != len(field) or not 1 <= side <= CANVAS:
            raise self.error(f"CSV field {index + 1} has {len(field)} characters, expected a square grid "
                             f"such as 900 = 30x30", number, column,
                             "never strip spaces: they are open cells")
        return np.array(self.codes(field, number, column), dtype=np.int64).reshape(side, side)

    def read_csv_row(self, fields: list[str], number: int) -> Puzzle:
        question = self.csv_field_grid(fields, 1, number)
        column = len(fields[0]) + 2
        side = question.shape[1]
        if (question == PATH).any():
            r, c = np.argwhere(question == PATH)[0]
            raise self.error("the question holds a path cell 'o'", number, column + r * side + c)
        self.check_markers(question, lambda r, c: (number, column + r * side + c))
        answer = None
        if fields[2]:
            answer = self.csv_field_grid(fields, 2, number)
            if answer.shape != question.shape:
                raise self.error("the answer and the question differ in size", number,
                                 column + len(fields[1]) + 1)
            differs = np.argwhere(np.where(answer == PATH, OPEN, answer) != question)
            if len(differs):
                r, c = differs[0]
                raise self.error(f"the answer changes {cell_name(r, c)} of the question", number,
                                 column + len(fields[1]) + 1 + r * side + c)
        extra = {"line": number, "source": fields[0], "rating": fields[3].strip()}
        return make_puzzle(question, f"{self.source}:{number}", answer, extra)


def _sniff_lines(text: str) -> list[str]:
    head = text[:4000]
    lines = head.split("\n")
    if len(text) > len(head):
        lines = lines[:-1]
    return [ln.rstrip("\r") for ln in lines if ln.strip()][:40]


# ----------------------------------------------------------------------------------------------------
# The task


class MazeTask(TaskDefaults):
    """Puzzles live on the 30x30 canvas; a model trained on a smaller canvas (`MazeTask(side)`, from
    `for_model`) reads the maze's window placed at the top-left of its side x side canvas."""

    name = "maze"
    vocab_size = 6
    # all eight dihedral views: on 500 held-out 10x10 mazes the maze-small model solves 33.2% with one,
    # 68.6% with four and 82.0% with eight (bench/bench_accuracy.py --attempts 1,4,8)
    default_attempts = 8
    look = CodeLook({WALL: "wall", OPEN: "open", START: "start", GOAL: "goal", PATH: "path"})
    detect_priority = 20        # after ARC JSON, before Sudoku
    image_priority = 2          # after Sudoku and ARC: a maze reading settles nothing the others could
    train_recipes = {"paper": {"data": "maze-hard"}, "cpu": {"data": "maze-easy"}}
    # What a CPU run of this task reaches (README "Shipped weights"): said before such a run starts and
    # when no weights ship.
    cpu_training_note = ("on a CPU a tiny model learns small canvases (targets=nearest: 84% of held-out "
                         "10x10 and 61% of 16x16 mazes in one pass after hours of one thread, "
                         "docs/maze-training.md) but not yet 30x30; a model that solves 30x30 mazes needs a GPU: "
                         "hrm train --task maze --preset paper (docs/gpu.md)")

    def __init__(self, side: int = CANVAS) -> None:
        self.side = side
        self.seq_len = side * side

    def for_model(self, config: ModelConfig) -> MazeTask:
        side = math.isqrt(config.seq_len)
        if side * side != config.seq_len or not 1 <= side <= CANVAS:
            raise HRMError(f"the model reads {config.seq_len} tokens, which is no square maze canvas of "
                           f"at most {CANVAS}x{CANVAS}")
        return self if side == self.side else MazeTask(side)

    def canvas_side(self, puzzles: Sequence[Puzzle]) -> int | None:
        return max((max(_window(p)[1]) for p in puzzles), default=None)

    def parse(self, text: str, source: str = "<input>") -> list[Puzzle]:
        return _Reader(source).read(text)

    def sniff(self, text: str) -> bool:
        lines = _sniff_lines(text)
        alphabet = set(CHAR_CODES)
        if any("," in line for line in lines):
            fields = [f for line in lines for f in line.split(",") if len(f) >= 16]
            return any(set(f) <= alphabet and "S" in f and "G" in f for f in fields)
        joined = "".join(lines)
        return bool(lines) and set(joined) <= alphabet and all(ch in joined for ch in "#SG")

    def format(self, grid: np.ndarray, puzzle: Puzzle | None = None) -> str:
        grid = np.asarray(grid)
        (r0, c0), (h, w) = _window(puzzle) if grid.shape == (CANVAS, CANVAS) else ((0, 0), grid.shape)
        return format_grid(grid[r0:r0 + h, c0:c0 + w])

    def encode(self, puzzle: Puzzle) -> np.ndarray:
        return self._to_model_canvas(puzzle, puzzle.grid)

    def encode_label(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        return self._to_model_canvas(puzzle, answer)

    def decode(self, puzzle: Puzzle, tokens: np.ndarray) -> np.ndarray:
        """Tokens -> 30x30 codes; PAD or out-of-range tokens read as walls."""
        tokens = np.asarray(tokens, dtype=np.int64).reshape(self.side, self.side)
        codes = np.where((tokens >= WALL) & (tokens <= PATH), tokens, WALL)
        if self.side == CANVAS:
            return codes
        (r0, c0), (h, w) = _window(puzzle)
        canvas = np.full((CANVAS, CANVAS), WALL, dtype=np.int64)
        canvas[r0:r0 + h, c0:c0 + w] = codes[:h, :w]
        return canvas

    def _to_model_canvas(self, puzzle: Puzzle, grid: np.ndarray) -> np.ndarray:
        grid = np.asarray(grid)
        if self.side == CANVAS:
            return grid.reshape(self.seq_len).astype(np.uint8)
        (r0, c0), (h, w) = _window(puzzle)
        if h > self.side or w > self.side:
            raise HRMError(f"{puzzle.name or 'the maze'} is {h}x{w}, larger than this model's "
                           f"{self.side}x{self.side} canvas", hint="use a model trained on 30x30 mazes")
        canvas = np.full((self.side, self.side), WALL, dtype=np.uint8)
        canvas[:h, :w] = grid[r0:r0 + h, c0:c0 + w]
        return canvas.reshape(self.seq_len)

    def check_givens(self, puzzle: Puzzle) -> list[str]:
        return givens_problems(np.asarray(puzzle.grid), _window(puzzle)[0])

    def window(self, puzzle: Puzzle | None) -> Window:
        if puzzle is None or "shape" not in puzzle.extra:
            return FULL_WINDOW
        (r0, c0), (h, w) = _window(puzzle)
        return slice(r0, r0 + h), slice(c0, c0 + w)

    def given_mask(self, puzzle: Puzzle) -> np.ndarray:
        return np.isin(np.asarray(puzzle.grid), (WALL, START, GOAL))

    def rule_breaks(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        question, answer = np.asarray(puzzle.grid), np.asarray(answer)
        if answer.shape != question.shape:
            return np.zeros(answer.shape, dtype=bool)
        return structure_breaks(question, answer)

    def read_image(self, image: Image.Image, name: str, weights: str | Path | None) -> Puzzle:
        from hrm.imaging.grids import read_maze

        return read_maze(image, name)

    def verify(self, puzzle: Puzzle, answer: np.ndarray) -> Verdict:
        return listed_verdict(path_violations(np.asarray(puzzle.grid), answer, _window(puzzle)[0]))

    def random_transform(self, rng: np.random.Generator) -> int:
        return int(rng.integers(8))

    def view_transform(self, attempt: int, rng: np.random.Generator) -> int:
        """A maze has eight dihedral views: views 1-7 are the seven that are not the maze itself, and
        later views repeat them (different only with latent noise)."""
        return 1 + (attempt - 1) % 7

    def transform(self, t: int, puzzle: Puzzle) -> Puzzle:
        """Dihedral transform of the whole canvas; the maze window moves with it."""
        (r0, c0), (h, w) = _window(puzzle)
        mask = np.zeros((CANVAS, CANVAS), dtype=bool)
        mask[r0:r0 + h, c0:c0 + w] = True
        rows, cols = np.nonzero(dihedral(mask, t))
        extra = dict(puzzle.extra)
        extra["origin"] = (int(rows.min()), int(cols.min()))
        extra["shape"] = (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))
        solution = None if puzzle.solution is None else dihedral(np.asarray(puzzle.solution), t)
        return Puzzle(puzzle.task, dihedral(np.asarray(puzzle.grid), t), solution, puzzle.name, extra)

    def inverse_answer(self, t: int, answer: np.ndarray) -> np.ndarray:
        return inverse_dihedral(np.asarray(answer), t)
