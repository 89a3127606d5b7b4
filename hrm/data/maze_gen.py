"""Random 30x30 mazes with long shortest paths (the Maze-Hard recipe), found fast.

Recipe (shared/data/maze/SOURCE.md): a layout has a uniform random number of walls in [270, 450]
(30-50 % of the 900 cells) at random positions, no border walls; a task is a (start, goal) pair of free
cells whose shortest path is longer than 110 moves. At most one task per layout; layouts are deduplicated
by a hash of the wall pattern. About one random layout in two thousand qualifies, so the search is
vectorised:

* bit-sliced BFS: 64 layouts share one uint64 per cell (bit b = layout b), so one numpy operation on a
  [W, 30, 30] array advances the BFS frontier of 64*W layouts at once;
* double sweep: BFS from a random free cell r; a layout still expanding at level `min_len` qualifies at
  once, one whose eccentricity from r is below min_len / 2 cannot qualify (its component's diameter is at
  most twice that), and the rest get a second BFS from the farthest cell found;
* a qualifying layout gets an all-sources BFS (again bit-sliced, now over its free cells) and the task is
  drawn uniformly from all (start, goal) pairs whose distance lies in [min_len, max_len], as the recipe's
  rejection sampling of random pairs would.

Label: hrm.tasks.maze.shortest_path_solution, the task's canonical shortest path. Work is cut into fixed
chunks with their own seeds and gathered in order, so results do not depend on the number of workers.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hrm.data.sudoku_gen import process_pool
from hrm.tasks.maze import GOAL, OPEN, START, WALL, shortest_path_solution

SIDE = 30
CELLS = SIDE * SIDE
HARD_MIN_MOVES = 111        # "shortest path > 110"
DEFAULT_WALLS = (0.3, 0.5)
WORDS_PER_CHUNK = 32        # 2048 layouts per chunk
MAX_TASKS_PER_CHUNK = 64


@dataclass
class MazeSample:
    question: np.ndarray    # [30, 30] codes: 1 wall, 2 open, 3 S, 4 G
    answer: np.ndarray      # question with the path cells (S, G excluded) set to 5
    moves: int              # shortest S-to-G distance
    layout_hash: str        # sha256 of the wall pattern


@dataclass(frozen=True)
class MazeSpec:
    min_moves: int = HARD_MIN_MOVES
    max_moves: int | None = None
    wall_fraction: tuple[float, float] = DEFAULT_WALLS
    side: int = SIDE           # mazes are side x side (30 in the recipe; smaller for small-canvas models)

    @property
    def cells(self) -> int:
        return self.side * self.side

    def wall_counts(self) -> tuple[int, int]:
        lo, hi = (round(f * self.cells) for f in self.wall_fraction)
        if not 0 <= lo <= hi < self.cells - 1:
            raise ValueError(f"wall fraction {self.wall_fraction} must satisfy 0 <= low <= high < 1")
        return lo, hi


def layout_hash(walls: np.ndarray) -> str:
    return hashlib.sha256(np.packbits(np.asarray(walls, dtype=bool).reshape(-1)).tobytes()).hexdigest()


# ----------------------------------------------------------------------------------------------------
# Bit-sliced helpers: arrays [W, 30, 30] uint64, bit b of word w belongs to item 64*w + b


def pack(masks: np.ndarray) -> np.ndarray:
    """[64*W, H, W'] bool -> [W, H, W'] uint64."""
    words, shape = len(masks) // 64, masks.shape[1:]
    cells = shape[0] * shape[1]
    packed = np.packbits(masks.reshape(words, 64, cells), axis=1, bitorder="little")   # [W, 8, cells]
    return np.ascontiguousarray(packed.transpose(0, 2, 1)).view(np.uint64).reshape(words, *shape)


def unpack(words: np.ndarray) -> np.ndarray:
    """[W, H, W'] uint64 -> [64*W, H, W'] bool."""
    count, shape = len(words), words.shape[1:]
    cells = shape[0] * shape[1]
    as_bytes = np.ascontiguousarray(words).reshape(count, cells, 1).view(np.uint8)          # [W, cells, 8]
    bits = np.unpackbits(as_bytes, axis=2, bitorder="little")                              # [W, cells, 64]
    return bits.transpose(0, 2, 1).reshape(count * 64, *shape).astype(bool)


def _grow(frontier: np.ndarray) -> np.ndarray:
    grown = frontier.copy()
    grown[:, 1:, :] |= frontier[:, :-1, :]
    grown[:, :-1, :] |= frontier[:, 1:, :]
    grown[:, :, 1:] |= frontier[:, :, :-1]
    grown[:, :, :-1] |= frontier[:, :, 1:]
    return grown


def _any_bits(frontier: np.ndarray) -> np.ndarray:
    """Per word, the items whose frontier is not empty ([W] uint64)."""
    return np.bitwise_or.reduce(frontier.reshape(len(frontier), -1), axis=1)


def _bits_to_bool(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(np.ascontiguousarray(words).view(np.uint8), bitorder="little").astype(bool)


@dataclass
class _Sweep:
    alive: np.ndarray       # [items] bool: still expanding at the level cap
    eccentricity: np.ndarray  # [items] levels reached (capped)
    last: np.ndarray        # [W, 30, 30] uint64: the last non-empty frontier of each item


def _sweep(free: np.ndarray, start: np.ndarray, cap: int) -> _Sweep:
    """BFS of every item from its start bits for at most `cap` levels."""
    frontier = start & free
    visited, last = frontier.copy(), frontier.copy()
    eccentricity = np.zeros(len(free) * 64, dtype=np.int32)
    alive_words = _any_bits(frontier)
    for _ in range(cap):
        frontier = _grow(frontier) & free & ~visited
        alive_words = _any_bits(frontier)
        if not alive_words.any():
            break
        visited |= frontier
        keep = alive_words[:, None, None]
        last = (last & ~keep) | (frontier & keep)
        eccentricity += _bits_to_bool(alive_words)
    return _Sweep(_bits_to_bool(alive_words), eccentricity, last)


def _first_cell(masks: np.ndarray) -> np.ndarray:
    """Index of the first set cell of each [30, 30] mask (row-major)."""
    return masks.reshape(len(masks), -1).argmax(axis=1)


def _single_cell_bits(cells: np.ndarray, side: int) -> np.ndarray:
    """Item i gets its bit set at cells[i] (one cell per item)."""
    masks = np.zeros((len(cells), side * side), dtype=bool)
    masks[np.arange(len(cells)), cells] = True
    return pack(masks.reshape(-1, side, side))


# ----------------------------------------------------------------------------------------------------
# Search


def random_layouts(rng: np.random.Generator, count: int, spec: MazeSpec) -> tuple[np.ndarray, np.ndarray]:
    """`count` wall layouts ([count, side, side] bool) and one uniformly random free cell of each."""
    lo, hi = spec.wall_counts()
    walls_per_layout = rng.integers(lo, hi + 1, size=count)
    order = rng.permuted(np.tile(np.arange(spec.cells), (count, 1)), axis=1)
    is_wall = np.arange(spec.cells)[None, :] < walls_per_layout[:, None]
    walls = np.zeros((count, spec.cells), dtype=bool)
    np.put_along_axis(walls, order, is_wall, axis=1)
    first_free = order[np.arange(count), walls_per_layout]
    return walls.reshape(count, spec.side, spec.side), first_free


def qualifying_layouts(walls: np.ndarray, starts: np.ndarray, min_moves: int) -> np.ndarray:
    """Indices of the layouts (count a multiple of 64) that have two cells at least `min_moves` apart
    (found by double sweep; a layout whose long pairs avoid the start's component is missed)."""
    side = walls.shape[1]
    free = pack(~walls)
    first = _sweep(free, _single_cell_bits(starts, side), min_moves)
    hopeful = ~first.alive & (2 * first.eccentricity >= min_moves)
    found = set(np.flatnonzero(first.alive).tolist())
    candidates = np.flatnonzero(hopeful)
    if len(candidates):
        far = _first_cell(unpack(first.last)[candidates])
        padded = np.concatenate([candidates, np.full((-len(candidates)) % 64, candidates[0])])
        far = np.concatenate([far, np.full(len(padded) - len(candidates), far[0])])
        second = _sweep(pack(~walls[padded]), _single_cell_bits(far, side), min_moves)
        found |= set(padded[second.alive].tolist())
    return np.array(sorted(found), dtype=np.int64)


def pair_mask(walls: np.ndarray, min_moves: int, max_moves: int | None) -> tuple[np.ndarray, np.ndarray]:
    """All-sources BFS on one layout: (free cells [F], bool [F, cells] with True where the distance from
    free cell i lies in [min_moves, max_moves])."""
    side = walls.shape[0]
    cells = side * side
    sources = np.flatnonzero(~walls.reshape(cells))
    padded = np.concatenate([sources, np.full((-len(sources)) % 64, sources[0])])
    all_bits = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
    free = np.broadcast_to(np.where(walls, np.uint64(0), all_bits), (len(padded) // 64, side, side))
    frontier = _single_cell_bits(padded, side) & free
    visited = frontier.copy()
    in_range = np.zeros_like(frontier)
    level, cap = 0, max_moves if max_moves is not None else cells
    while level < cap:
        frontier = _grow(frontier) & free & ~visited
        if not frontier.any():
            break
        visited |= frontier
        level += 1
        if level >= min_moves:
            in_range |= frontier
    return sources, unpack(in_range)[:len(sources)].reshape(len(sources), cells)


def make_task(walls: np.ndarray, rng: np.random.Generator, spec: MazeSpec) -> MazeSample | None:
    """Draw a (start, goal) pair uniformly among the layout's pairs in range; None if there is none."""
    sources, in_range = pair_mask(walls, spec.min_moves, spec.max_moves)
    counts = in_range.sum(axis=1)
    if counts.sum() == 0:
        return None
    pick = int(rng.integers(counts.sum()))
    i = int(np.searchsorted(np.cumsum(counts), pick, side="right"))
    goal = int(np.flatnonzero(in_range[i])[pick - (int(counts[:i].sum()))])
    return _solved_sample(walls, int(sources[i]), goal, layout_hash(walls))


def _solved_sample(walls: np.ndarray, start: int, goal: int, digest: str) -> MazeSample:
    """The maze with S at flat cell `start` and G at `goal`, and its shortest-path answer."""
    question = np.where(walls, WALL, OPEN).astype(np.uint8).reshape(-1)
    question[start], question[goal] = START, GOAL
    question = question.reshape(walls.shape)
    answer = shortest_path_solution(question).astype(np.uint8)
    moves = int(np.count_nonzero(answer == 5)) + 1
    return MazeSample(question, answer, moves, digest)


def _chunk_job(args: tuple[int, int, MazeSpec, int]) -> list[MazeSample]:
    seed, chunk, spec, stream = args
    rng = np.random.default_rng([seed, chunk] if stream == 0 else [seed, chunk, stream])
    walls, starts = random_layouts(rng, 64 * WORDS_PER_CHUNK, spec)
    samples = []
    for index in qualifying_layouts(walls, starts, spec.min_moves):
        sample = make_task(walls[index], rng, spec)
        if sample is not None:
            samples.append(sample)
        if len(samples) == MAX_TASKS_PER_CHUNK:   # easy specs qualify nearly every layout
            break
    return samples


def generate_mazes(count: int, seed: int, spec: MazeSpec | None = None, workers: int = 1,
                   exclude: set[str] | None = None,
                   progress: Callable[[int, int], None] | None = None, stream: int = 0) -> list[MazeSample]:
    """`count` mazes from distinct layouts (none whose hash is in `exclude`), deterministic per seed.

    Every spec draws its candidate layouts from the same random stream and keeps those that qualify, so
    two specs whose path lengths overlap share layouts; `stream` > 0 draws from another stream (an
    evaluation set must not share layouts with a training set)."""
    spec = spec or MazeSpec()
    spec.wall_counts()
    seen = set(exclude or ())
    found: list[MazeSample] = []

    def take(batch: list[MazeSample]) -> bool:
        for sample in batch:
            if sample.layout_hash not in seen and len(found) < count:
                seen.add(sample.layout_hash)
                found.append(sample)
        if progress:
            progress(len(found), count)
        return len(found) >= count

    if workers <= 1:
        for chunk in itertools.count():
            if take(_chunk_job((seed, chunk, spec, stream))):
                break
        return found
    window = 4 * workers   # Pool.imap reads its whole input at once, so feed it bounded windows
    with process_pool(workers) as pool:
        for first in itertools.count(0, window):
            jobs = [(seed, chunk, spec, stream) for chunk in range(first, first + window)]
            if any(take(batch) for batch in pool.imap(_chunk_job, jobs)):
                break
    return found


# ----------------------------------------------------------------------------------------------------
# Perfect mazes (CPU demo): corridors carved by a randomised depth-first search, so exactly one path
# joins any two cells and dead-end filling finds it


def perfect_maze(rng: np.random.Generator, side: int) -> np.ndarray:
    """[side, side] bool walls (side odd): rooms at odd coordinates, walls carved by a random DFS."""
    rooms = (side - 1) // 2
    walls = np.ones((side, side), dtype=bool)
    walls[1::2, 1::2] = False
    seen = np.zeros((rooms, rooms), dtype=bool)
    stack = [(int(rng.integers(rooms)), int(rng.integers(rooms)))]
    seen[stack[0]] = True
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc) for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1))
                   if 0 <= r + dr < rooms and 0 <= c + dc < rooms and not seen[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        nr, nc = options[int(rng.integers(len(options)))]
        walls[r + nr + 1, c + nc + 1] = False          # the wall between room (r, c) and room (nr, nc)
        seen[nr, nc] = True
        stack.append((nr, nc))
    return walls


def generate_perfect_mazes(count: int, seed: int, side: int = 11, min_moves: int = 10) -> list[MazeSample]:
    """`count` distinct perfect mazes with S and G in rooms at least `min_moves` apart, deterministic per seed."""
    if side < 5 or side % 2 == 0:
        raise ValueError("a perfect maze needs an odd side of at least 5")
    rng = np.random.default_rng([seed, side])
    found: list[MazeSample] = []
    seen: set[str] = set()
    while len(found) < count:
        walls = perfect_maze(rng, side)
        digest = layout_hash(walls)
        rooms = np.flatnonzero(~walls.reshape(-1))
        start, goal = (int(x) for x in rng.choice(rooms, size=2, replace=False))
        sample = _solved_sample(walls, start, goal, digest)
        if sample.moves >= min_moves and digest not in seen:   # every layout once, so splits never share one
            seen.add(digest)
            found.append(sample)
    return found
