"""Named datasets and their builders (`hrm data build NAME`, `ensure_dataset` for `hrm train`).

Every build is seeded and deterministic: building twice gives the same content hash, whatever the number
of workers. Evaluation sets are drawn with a fixed seed (EVAL_SEED), independent of --seed, and no
question of any evaluation set ever appears in a training split. Progress is reported through an
optional callback `progress(stage, done, total)`; the library never draws anything itself.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from hrm.data import maze_gen, sudoku_gen, sudoku_grade
from hrm.data.format import (
    BLANK_IDENTIFIER,
    DatasetMetadata,
    DatasetWriter,
    SplitWriter,
    built_splits,
)
from hrm.data.sources import (
    ArcTask,
    MazeRecord,
    SudokuRecords,
    count_csv_rows,
    iter_arc_tasks,
    load_arc_tasks_from,
    maze_hard_csv_folder,
    read_maze_csv,
    read_sudoku_csv,
    read_sudoku_source,
    source_key,
    sudoku_extreme_csv,
    using_sources,
    write_maze_csv,
)
from hrm.errors import DataError

ProgressFn = Callable[[str, int, int | None], None]
EVAL_SEED = 20250709          # fixes every evaluation subset, whatever --seed says
SUDOKU_HARD_TEST_SIZE = 5000
SUDOKU_17CLUE_EVAL_SIZE = 2000
_SUDOKU_CHUNK = 128           # base puzzles augmented per step (bounds memory)


@dataclass
class BuildOptions:
    seed: int = 0
    num_aug: int | None = None        # None = the dataset's default
    workers: int = 1                  # never changes the content
    limit: int | None = None          # fewer base puzzles/tasks per split, for quick builds
    dihedral: bool = False            # maze-hard: 8 dihedral variants per training maze
    room: int | None = None           # maze: wall training cells more than ROOM moves off every shortest path
    room_mix: bool = False            # with room: each training maze also as built, both in its group
    generated: int = 0                # sudoku-hard-full: extra mutated hard puzzles
    from_csv: str | None = None       # maze-*: build from existing train.csv/test.csv instead of generating
    from_json: str | None = None      # arc-tasks: a folder (or one file) of ARC task JSON
    canvas: int | None = None         # ARC: canvas side (default 30); tasks with larger grids are left out
    source: str | None = None         # a local copy of the sources (--source); None = $HRM_SOURCE_DATA or download

    def content_args(self, num_aug: int) -> dict[str, Any]:
        args = asdict(self)
        args.pop("workers")
        args.pop("source")                # where the same files were read from changes nothing
        if args["room"] is None:          # datasets built before --room keep their content hash
            args.pop("room")
        if not args["room_mix"]:
            args.pop("room_mix")
        args["num_aug"] = num_aug
        return args


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    task: str
    description: str
    splits: tuple[str, ...]
    default_num_aug: int
    build: Callable[[BuildContext], None]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class BuildContext:
    spec: DatasetSpec
    options: BuildOptions
    writer: DatasetWriter
    progress: ProgressFn

    @property
    def num_aug(self) -> int:
        return self.spec.default_num_aug if self.options.num_aug is None else self.options.num_aug

    def rng(self, *purpose: int) -> np.random.Generator:
        return np.random.default_rng([self.options.seed, *purpose])

    def metadata(self, vocab_size: int, num_identifiers: int = 1) -> DatasetMetadata:
        return DatasetMetadata(vocab_size=vocab_size, seq_len=0, num_puzzle_identifiers=num_identifiers,
                               total_groups=0, mean_puzzle_examples=0.0, task=self.spec.task,
                               name=self.spec.name, seed=self.options.seed,
                               build_args=self.options.content_args(self.num_aug))

    def limited(self, count: int) -> int:
        return count if self.options.limit is None else min(count, self.options.limit)


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


# ----------------------------------------------------------------------------------------------------
# Sudoku


@dataclass
class SudokuEvalSets:
    hard_test: SudokuRecords        # 5,000 from puzzles5
    magictour: SudokuRecords
    forum1106: SudokuRecords        # minus its duplicates in puzzles5
    clue17: SudokuRecords           # 2,000 from the 17-clue list
    questions: set[str]             # every question above


def _draw(records: SudokuRecords, count: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(len(records), size=count, replace=False))


@functools.lru_cache(maxsize=2)
def _sudoku_eval_sets(source: str) -> SudokuEvalSets:
    puzzles5 = read_sudoku_source("puzzles5")
    hard = puzzles5.take(_draw(puzzles5, SUDOKU_HARD_TEST_SIZE, EVAL_SEED))
    in_puzzles5 = set(puzzles5.question_strings())
    forum = read_sudoku_source("forum1106")
    forum = forum.take([i for i, q in enumerate(forum.question_strings()) if q not in in_puzzles5])
    clue17_all = read_sudoku_source("17clue")
    clue17 = clue17_all.take(_draw(clue17_all, SUDOKU_17CLUE_EVAL_SIZE, EVAL_SEED))
    magictour = read_sudoku_source("magictour")
    questions = set()
    for records in (hard, magictour, forum, clue17):
        questions.update(records.question_strings())
    return SudokuEvalSets(hard, magictour, forum, clue17, questions)


def sudoku_eval_sets() -> SudokuEvalSets:
    """The four sudoku evaluation sets (fixed seed), read once per source folder."""
    return _sudoku_eval_sets(source_key())


def _unused(records: SudokuRecords, excluded: set[str]) -> SudokuRecords:
    return records.take([i for i, q in enumerate(records.question_strings()) if q not in excluded])


def _concat(*parts: SudokuRecords) -> SudokuRecords:
    return SudokuRecords(np.concatenate([p.questions for p in parts]), np.concatenate([p.answers for p in parts]),
                         np.concatenate([p.ratings for p in parts]), "+".join(p.source for p in parts))


def sudoku_tokens(grids: np.ndarray) -> np.ndarray:
    """Digit grids [N, 81] (0 = blank) -> tokens: v + 1 (as hrm.tasks.sudoku encodes)."""
    return (np.asarray(grids).reshape(len(grids), 81) + 1).astype(np.uint8)


def write_sudoku_split(ctx: BuildContext, split: SplitWriter, records: SudokuRecords, num_aug: int,
                       rng: np.random.Generator, stage: str) -> None:
    """Each base puzzle becomes a group: the original plus `num_aug` shuffled copies, one puzzle each."""
    n = len(records)
    for start in range(0, n, _SUDOKU_CHUNK):
        q = records.questions[start:start + _SUDOKU_CHUNK].reshape(-1, 81).astype(np.int64)
        a = records.answers[start:start + _SUDOKU_CHUNK].reshape(-1, 81).astype(np.int64)
        k = len(q)
        cells, digits = sudoku_gen.random_shuffle_maps(rng, k * num_aug)
        aug_q = sudoku_gen.apply_shuffles(np.repeat(q, num_aug, axis=0), cells, digits).reshape(k, num_aug, 81)
        aug_a = sudoku_gen.apply_shuffles(np.repeat(a, num_aug, axis=0), cells, digits).reshape(k, num_aug, 81)
        inputs = np.concatenate([q[:, None], aug_q], axis=1).reshape(-1, 81)
        labels = np.concatenate([a[:, None], aug_a], axis=1).reshape(-1, 81)
        split.add_single_example_groups(sudoku_tokens(inputs), sudoku_tokens(labels),
                                        np.full(k, num_aug + 1))
        ctx.progress(stage, min(start + k, n), n)


def _finish_sudoku(ctx: BuildContext, split: SplitWriter) -> None:
    split.finish(ctx.metadata(vocab_size=11))


def _sudoku_test_split(ctx: BuildContext, records: SudokuRecords) -> None:
    records = records.take(np.arange(ctx.limited(len(records))))
    split = ctx.writer.split("test", 81)
    write_sudoku_split(ctx, split, records, 0, ctx.rng(1), "test puzzles")
    _finish_sudoku(ctx, split)


def build_sudoku_hard_1k(ctx: BuildContext) -> None:
    evals = sudoku_eval_sets()
    pool = _unused(read_sudoku_source("puzzles5"), evals.questions)
    train = pool.take(np.sort(ctx.rng(0).choice(len(pool), size=ctx.limited(1000), replace=False)))
    split = ctx.writer.split("train", 81)
    write_sudoku_split(ctx, split, train, ctx.num_aug, ctx.rng(2), "train puzzles")
    _finish_sudoku(ctx, split)
    _sudoku_test_split(ctx, evals.hard_test)


def build_sudoku_hard_full(ctx: BuildContext) -> None:
    evals = sudoku_eval_sets()
    hard = _unused(read_sudoku_source("puzzles5"), evals.questions)
    train = _concat(hard, _unused(read_sudoku_source("17clue"), evals.questions))
    if ctx.options.generated:
        train = _concat(train, _mutated(ctx, hard, evals.questions))
    train = train.take(ctx.rng(0).permutation(len(train))[:ctx.limited(len(train))])
    split = ctx.writer.split("train", 81)
    write_sudoku_split(ctx, split, train, ctx.num_aug, ctx.rng(2), "train puzzles")
    _finish_sudoku(ctx, split)
    _sudoku_test_split(ctx, evals.hard_test)


def _mutated(ctx: BuildContext, seeds: SudokuRecords, excluded: set[str]) -> SudokuRecords:
    hard = seeds.take(np.flatnonzero(seeds.ratings >= sudoku_gen.HARD_RATING))
    made = sudoku_gen.mutate_many(hard.questions, hard.answers, ctx.options.generated, ctx.options.seed,
                                  workers=ctx.options.workers,
                                  progress=lambda done, total: ctx.progress("generated puzzles", done, total))
    questions = np.stack([m.question for m in made]).astype(np.uint8)
    answers = np.stack([m.solution for m in made]).astype(np.uint8)
    ratings = np.array([m.rating for m in made], dtype=np.int32)
    records = SudokuRecords(questions, answers, ratings, "generated")
    return _unused(records, excluded)


def blank_cells(answers: np.ndarray, rng: np.random.Generator, low: int = 10,
                high: int = 30) -> np.ndarray:
    """Questions made from full grids by blanking low..high random cells, re-drawn until unique."""
    questions = np.array(answers, dtype=np.uint8).reshape(len(answers), 81)
    for i in range(len(questions)):
        while True:
            candidate = questions[i].copy()
            candidate[rng.choice(81, size=int(rng.integers(low, high + 1)), replace=False)] = 0
            if sudoku_gen.count_solutions(candidate) == 1:
                questions[i] = candidate
                break
    return questions.reshape(-1, 9, 9)


def build_sudoku_easy(ctx: BuildContext) -> None:
    evals = sudoku_eval_sets()
    pool = _concat(_unused(read_sudoku_source("puzzles5"), evals.questions),
                   _unused(read_sudoku_source("17clue"), evals.questions))
    n_train, n_test = ctx.limited(ctx.spec.extra["train"]), ctx.limited(ctx.spec.extra["test"])
    order = ctx.rng(0).permutation(len(pool))
    for name, picked, stream in (("train", order[:n_train], 1), ("test", order[n_train:n_train + n_test], 2)):
        answers = pool.answers[picked]
        rng = ctx.rng(stream)
        ctx.progress(f"{name} puzzles", 0, len(picked))
        records = SudokuRecords(blank_cells(answers, rng), answers, np.zeros(len(picked), np.int32), "easy")
        split = ctx.writer.split(name, 81)
        write_sudoku_split(ctx, split, records, ctx.num_aug if name == "train" else 0, rng, f"{name} puzzles")
        _finish_sudoku(ctx, split)


def _generated_records(made: list[sudoku_gen.Generated], source: str) -> SudokuRecords:
    questions = np.stack([m.question for m in made]).astype(np.uint8)
    answers = np.stack([m.solution for m in made]).astype(np.uint8)
    return SudokuRecords(questions, answers, np.array([m.rating for m in made], dtype=np.int32), source)


def build_sudoku_published(ctx: BuildContext) -> None:
    """Generated puzzles with the givens of published ones (17-36), every grade; train and test come from
    disjoint seed streams (a harder mix draws its own)."""
    hard_share = ctx.spec.extra.get("hard_share", 0.0)
    first_stream = 3 if hard_share else 1
    for name, stream in (("train", first_stream), ("test", first_stream + 1)):
        count = ctx.limited(ctx.spec.extra[name])
        made = sudoku_gen.published_many(
            count, int(np.random.SeedSequence([ctx.options.seed, stream]).generate_state(1)[0]),
            workers=ctx.options.workers, progress=lambda done, total, n=name: ctx.progress(f"{n} puzzles", done, total),
            hard_share=hard_share)
        records = _generated_records(made, "published")
        if name == "train":
            records = excluding_variants(records, grade_fingerprints(ctx.limited(GRADE_TEST_SIZE), ctx.options.workers))
        split = ctx.writer.split(name, 81)
        write_sudoku_split(ctx, split, records,
                           ctx.num_aug if name == "train" else 0, ctx.rng(stream + 10), f"{name} puzzles")
        _finish_sudoku(ctx, split)


GRADE_TEST_SIZE = 1000
G1_GIVENS = (26, 41)          # newspapers' easy and medium puzzles: 40-55 blanks


def _graded_job(args: tuple[int, int]) -> list[tuple[sudoku_gen.Generated, int]]:
    seed, count = args
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        made = sudoku_gen.published_puzzle(rng)
        level = sudoku_grade.grade(made.question).level
        if level == 1:
            target = int(rng.integers(G1_GIVENS[0], G1_GIVENS[1] + 1))
            made = replace(made, question=sudoku_gen.add_givens(made.question, made.solution, rng, target))
            if np.count_nonzero(made.question) < G1_GIVENS[0]:
                continue
        out.append((made, level))
    return out


@functools.lru_cache(maxsize=2)
def sudoku_grade_sets(size: int = GRADE_TEST_SIZE, workers: int = 1) -> dict[int, SudokuRecords]:
    """`size` puzzles of each human grade 1-3 (hrm.data.sudoku_grade), generated from EVAL_SEED, so no
    training build (seeded from --seed streams) draws them; grade 1 with 40-55 blanks."""
    found: dict[int, list[sudoku_gen.Generated]] = {1: [], 2: [], 3: []}
    chunk, index = 64, 0
    with contextlib.ExitStack() as stack:
        mapper = map if workers <= 1 else stack.enter_context(sudoku_gen.process_pool(workers)).imap
        while any(len(v) < size for v in found.values()):
            jobs = [(int(np.random.SeedSequence([EVAL_SEED, 7, index + i]).generate_state(1)[0]), chunk)
                    for i in range(max(1, workers) * 4)]
            index += len(jobs)
            for batch in mapper(_graded_job, jobs):
                for made, level in batch:
                    if level in found and len(found[level]) < size:
                        found[level].append(made)
    return {level: _generated_records(made, f"grade{level}") for level, made in found.items()}


def grade_fingerprints(size: int = GRADE_TEST_SIZE, workers: int = 1) -> set[str]:
    """Fingerprints of every puzzle of the three grade test sets."""
    return {sudoku_gen.fingerprint(q) for records in sudoku_grade_sets(size, workers).values()
            for q in records.questions}


def excluding_variants(records: SudokuRecords, fingerprints: set[str]) -> SudokuRecords:
    """The records minus any puzzle that may be a symmetry variant of one with these fingerprints."""
    keep = np.array([sudoku_gen.fingerprint(q) not in fingerprints for q in records.questions], dtype=bool)
    return records.take(keep)


def _sudoku_grade_set(level: int) -> Callable[[BuildContext], None]:
    def build(ctx: BuildContext) -> None:
        size = ctx.limited(GRADE_TEST_SIZE)
        _sudoku_test_split(ctx, sudoku_grade_sets(size, ctx.options.workers)[level])
    return build


def build_sudoku_extreme(ctx: BuildContext) -> None:
    """The reference build of sapientinc/sudoku-extreme: a seeded sample of train.csv (1,000 rows, as in the
    papers' Sudoku-Extreme-1k), each with its shuffled copies; test: test.csv whole, in file order."""
    train_csv = sudoku_extreme_csv("train")
    rows = count_csv_rows(train_csv)
    picked = ctx.rng(0).choice(rows, size=min(ctx.limited(ctx.spec.extra["train"]), rows), replace=False)
    train = read_sudoku_csv(train_csv, wanted={int(i) for i in picked})
    split = ctx.writer.split("train", 81)
    write_sudoku_split(ctx, split, train, ctx.num_aug, ctx.rng(2), "train puzzles")
    _finish_sudoku(ctx, split)
    test = read_sudoku_csv(sudoku_extreme_csv("test"), limit=ctx.options.limit)
    split = ctx.writer.split("test", 81)
    write_sudoku_split(ctx, split, test, 0, ctx.rng(1), "test puzzles")
    _finish_sudoku(ctx, split)


def _sudoku_eval_only(attribute: str) -> Callable[[BuildContext], None]:
    def build(ctx: BuildContext) -> None:
        _sudoku_test_split(ctx, getattr(sudoku_eval_sets(), attribute))
    return build


# ----------------------------------------------------------------------------------------------------
# Maze

_MAZE_CHARS = {"#": 1, " ": 2, "S": 3, "G": 4, "o": 5}   # hrm.tasks.maze codes = tokens
_MAZE_LOOKUP = np.zeros(256, dtype=np.uint8)
for _ch, _code in _MAZE_CHARS.items():
    _MAZE_LOOKUP[ord(_ch)] = _code
_MAZE_TEXT = np.array([" ", "#", " ", "S", "G", "o"])


def maze_to_text(grid: np.ndarray) -> str:
    return "".join(_MAZE_TEXT[np.asarray(grid).reshape(-1)])


def maze_tokens(texts: list[str], where: str) -> np.ndarray:
    """Maze strings of side x side characters (900 for 30x30) -> [N, side * side] tokens; DataError on a
    bad size or character."""
    cells = len(texts[0]) if texts else maze_gen.CELLS
    if math.isqrt(cells) ** 2 != cells:
        cells = maze_gen.CELLS
    for number, text in enumerate(texts, start=1):
        if len(text) != cells or not set(text) <= set(_MAZE_CHARS):
            raise DataError(f"{where} row {number}: a maze needs {cells} characters of '# SGo' "
                            f"(a square grid, the same size in every row)")
    joined = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8)
    return _MAZE_LOOKUP[joined].reshape(len(texts), cells)


def _maze_records(samples: list[maze_gen.MazeSample]) -> list[MazeRecord]:
    return [MazeRecord(maze_to_text(s.question), maze_to_text(s.answer), s.moves, "hrm-maze-gen") for s in samples]


def _dihedral_rows(tokens: np.ndarray) -> np.ndarray:
    """[N, 900] -> [N * 8, 900]: the 8 dihedral variants of each maze, in hrm.tasks.grid order."""
    from hrm.tasks.grid import DIHEDRAL_COUNT, dihedral

    side = math.isqrt(tokens.shape[1])
    grids = tokens.reshape(-1, side, side)
    variants = np.stack([dihedral(grids, t) for t in range(DIHEDRAL_COUNT)], axis=1)
    return variants.reshape(-1, side * side)


def _dihedral_labels(inputs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The labels of the 8 dihedral variants of each maze. Most mazes have several shortest paths and a
    label is one of them, picked by a rule that looks in fixed directions (walk back from G preferring
    up, down, left, right). A rotated label would follow the rule rotated, which the model cannot see:
    the same kind of maze would ask for different paths. So a maze labelled by our rule gets each
    variant labelled by the same rule in the variant's own frame; a label from elsewhere (the reference
    CSVs, picked by A*'s tie-breaking) is rotated with its maze, as the reference does."""
    from hrm.tasks.maze import shortest_path_solutions

    side = math.isqrt(inputs.shape[1])
    ours = (shortest_path_solutions(inputs.reshape(-1, side, side)).reshape(labels.shape) == labels).all(axis=1)
    rotated = _dihedral_rows(labels).reshape(len(labels), -1, side * side)
    variants = _dihedral_rows(inputs).reshape(rotated.shape)
    if ours.any():
        mine = variants[ours].reshape(-1, side, side)
        rotated[ours] = shortest_path_solutions(mine).reshape(-1, rotated.shape[1], side * side)
    return rotated.reshape(-1, side * side)


def _write_maze_split(ctx: BuildContext, name: str, records: list[MazeRecord]) -> None:
    where = f"{ctx.spec.name} {name}"
    inputs = maze_tokens([r.question for r in records], where)
    labels = maze_tokens([r.answer for r in records], where)
    kinds = 1
    if ctx.options.room is not None and name == "train":
        walled, walled_labels = _walled_rows(inputs, labels, ctx.options.room, where)
        if ctx.options.room_mix:          # per maze: as built, then walled (one group, so one per epoch)
            kinds = 2
            inputs = np.stack([inputs, walled], axis=1).reshape(-1, inputs.shape[1])
            labels = np.stack([labels, walled_labels], axis=1).reshape(-1, labels.shape[1])
        else:
            inputs, labels = walled, walled_labels
    copies = kinds * (8 if (ctx.options.dihedral and name == "train") else 1)
    if copies > kinds:
        inputs, labels = _dihedral_rows(inputs), _dihedral_labels(inputs, labels)
    split = ctx.writer.split(name, inputs.shape[1])
    split.add_single_example_groups(inputs, labels, np.full(len(records), copies))
    split.finish(ctx.metadata(vocab_size=6))


def _walled_rows(inputs: np.ndarray, labels: np.ndarray, room: int, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Questions and answers with every open cell walled that lies more than `room` moves of detour off
    all shortest paths (hrm.tasks.maze.keep_near_shortest): the same answers, less room to search."""
    from hrm.tasks.maze import GOAL, START, WALL, keep_near_shortest, shortest_distance

    side = math.isqrt(inputs.shape[1])
    grids = inputs.reshape(-1, side, side).astype(np.int64)
    for number, grid in enumerate(grids, start=1):
        if (grid == START).sum() != 1 or (grid == GOAL).sum() != 1 or shortest_distance(grid) < 0:
            raise DataError(f"{where} row {number}: --room needs one S and one G that it can reach")
    walled = np.stack([keep_near_shortest(grid, room) for grid in grids]).astype(inputs.dtype)
    added = (walled != grids).reshape(inputs.shape)
    return walled.reshape(inputs.shape), np.where(added, WALL, labels).astype(labels.dtype)


def _maze_source_records(ctx: BuildContext) -> dict[str, list[MazeRecord]]:
    counts = {split: ctx.limited(ctx.spec.extra[split]) for split in ctx.spec.splits}
    if ctx.options.from_csv or ctx.spec.extra.get("hub"):
        folder = Path(ctx.options.from_csv) if ctx.options.from_csv else maze_hard_csv_folder()
        return {split: read_maze_csv(folder / f"{split}.csv")[:count] for split, count in counts.items()}
    if "bands" in ctx.spec.extra:
        return _banded_maze_records(ctx, counts)
    spec = ctx.spec.extra["maze"]
    total = sum(counts.values())
    if ctx.spec.extra.get("perfect"):
        samples = maze_gen.generate_perfect_mazes(total, ctx.options.seed, spec.side, spec.min_moves)
    else:
        samples = maze_gen.generate_mazes(total, ctx.options.seed, spec, workers=ctx.options.workers,
                                          progress=lambda done, n: ctx.progress("mazes", done, n),
                                          stream=ctx.spec.extra.get("stream", 0))
    return _split_records(_maze_records(samples), counts)


def _split_records(records: list[MazeRecord], counts: dict[str, int]) -> dict[str, list[MazeRecord]]:
    out, start = {}, 0
    for split, count in counts.items():
        out[split], start = records[start:start + count], start + count
    return out


def _banded_maze_records(ctx: BuildContext, counts: dict[str, int]) -> dict[str, list[MazeRecord]]:
    """Equal shares of every band of path lengths in each split (a pair drawn uniformly from a random
    layout is mostly short: paths of 20-110 moves have a median of 29), no layout twice, the bands taken
    in turn so that the first N mazes of a split hold them all."""
    bands: list[maze_gen.MazeSpec] = ctx.spec.extra["bands"]
    per_band: dict[str, list[list[MazeRecord]]] = {split: [] for split in counts}
    used: set[str] = set()
    for band in bands:
        share = {split: max(1, count // len(bands)) for split, count in counts.items()}
        samples = maze_gen.generate_mazes(sum(share.values()), ctx.options.seed, band, workers=ctx.options.workers,
                                          exclude=used, progress=lambda done, n: ctx.progress("mazes", done, n),
                                          stream=ctx.spec.extra.get("stream", 0))
        used.update(sample.layout_hash for sample in samples)
        for split, records in _split_records(_maze_records(samples), share).items():
            per_band[split].append(records)
    return {split: [r for turn in itertools.zip_longest(*lists) for r in turn if r is not None]
            for split, lists in per_band.items()}


def build_maze(ctx: BuildContext) -> None:
    for split, records in _maze_source_records(ctx).items():
        write_maze_csv(ctx.writer.folder / f"{split}.csv", records)
        _write_maze_split(ctx, split, records)


# ----------------------------------------------------------------------------------------------------
# ARC

ARC_MAX_TRIALS_FACTOR = 5     # up to 5 draws per wanted variant before giving up on more
Pairs = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class ArcGroup:
    """One task's rows: per variant name, its train examples and (evaluation tasks) its test examples."""

    names: list[str]
    train: list[tuple[np.ndarray, np.ndarray]]
    test: list[tuple[np.ndarray, np.ndarray]]


def _variant_hash(pairs: Pairs) -> bytes:
    digest = hashlib.sha256()
    for grid_in, grid_out in pairs:
        for grid in (grid_in, grid_out):
            digest.update(np.asarray(grid.shape, dtype=np.int64).tobytes())
            digest.update(np.ascontiguousarray(grid, dtype=np.uint8).tobytes())
    return digest.digest()


def arc_variants(task: ArcTask, num_aug: int, rng: np.random.Generator) -> list[tuple[str, Pairs]]:
    """The identity plus up to `num_aug` distinct dihedral + colour variants of a task, as (name, all of
    its pairs transformed: demonstrations first, then tests)."""
    from hrm.tasks import get_task
    from hrm.tasks.arc import variant_name

    arc = get_task("arc")
    pairs = task.train + task.test
    seen = {_variant_hash(pairs)}
    variants: list[tuple[str, Pairs]] = [(task.name, pairs)]
    for _ in range(ARC_MAX_TRIALS_FACTOR * num_aug):
        if len(variants) > num_aug:
            break
        t = arc.random_transform(rng)
        moved = [(t.apply(i), t.apply(o)) for i, o in pairs]
        digest = _variant_hash(moved)
        if digest not in seen:
            seen.add(digest)
            variants.append((variant_name(task.name, t), moved))
    return variants


def _translated_rows(pairs: Pairs, rng: np.random.Generator, translate: bool,
                     side: int) -> tuple[np.ndarray, np.ndarray]:
    from hrm.tasks.arc import encode_grid

    keep = int(rng.integers(len(pairs))) if translate else -1
    inputs, labels = [], []
    for index, (grid_in, grid_out) in enumerate(pairs):
        offset = (0, 0)
        if translate and index != keep:
            h = max(grid_in.shape[0], grid_out.shape[0])
            w = max(grid_in.shape[1], grid_out.shape[1])
            offset = (int(rng.integers(side - h + 1)), int(rng.integers(side - w + 1)))
        inputs.append(encode_grid(grid_in, offset, side))
        labels.append(encode_grid(grid_out, offset, side))
    return np.stack(inputs), np.stack(labels)


def arc_group(job: tuple[ArcTask, int, int, int, int]) -> ArcGroup:
    """Rows of one task (a worker job): (task, seed, task index, num_aug, canvas side)."""
    task, seed, index, num_aug, side = job
    rng = np.random.default_rng([seed, index])
    is_eval = task.subset == "evaluation"
    demos = len(task.train)
    group = ArcGroup([], [], [])
    for name, pairs in arc_variants(task, num_aug, rng):
        group.names.append(name)
        group.train.append(_translated_rows(pairs[:demos] if is_eval else pairs, rng, True, side))
        if is_eval:
            group.test.append(_translated_rows(pairs[demos:], rng, False, side))
    return group


def _arc_groups(ctx: BuildContext, tasks: list[ArcTask], side: int) -> Iterator[ArcGroup]:
    jobs = [(task, ctx.options.seed, index, ctx.num_aug, side) for index, task in enumerate(tasks)]
    if ctx.options.workers <= 1:
        yield from map(arc_group, jobs)
        return
    with sudoku_gen.process_pool(ctx.options.workers) as pool:
        yield from pool.imap(arc_group, jobs, chunksize=1)


def _arc_source_tasks(ctx: BuildContext) -> list[ArcTask]:
    """The collection's tasks, or (arc-tasks) the given files, each treated as an evaluation task."""
    if ctx.options.from_json is None:
        return list(iter_arc_tasks(ctx.spec.extra["collection"]))
    return [replace(task, subset="evaluation") for task in load_arc_tasks_from(ctx.options.from_json)]


def _fits(task: ArcTask, side: int) -> bool:
    return all(max(grid.shape) <= side for pair in task.train + task.test for grid in pair)


def build_arc(ctx: BuildContext) -> None:
    from hrm.tasks.arc import CANVAS

    side = ctx.options.canvas or CANVAS
    tasks = [t for t in _arc_source_tasks(ctx) if _fits(t, side)]
    if not tasks:
        raise DataError(f"no ARC task fits a {side}x{side} canvas", hint="use a larger --canvas")
    if ctx.options.limit is not None:
        keep = np.sort(ctx.rng(0).choice(len(tasks), size=ctx.limited(len(tasks)), replace=False))
        tasks = [tasks[i] for i in keep]
    train, test = ctx.writer.split("train", side * side), ctx.writer.split("test", side * side)
    identifiers = [BLANK_IDENTIFIER]
    for done, group in enumerate(_arc_groups(ctx, tasks, side), start=1):
        ids = list(range(len(identifiers), len(identifiers) + len(group.names)))
        identifiers += group.names
        train.add_group([(i, rows[0], rows[1]) for i, rows in zip(ids, group.train, strict=True)])
        if group.test:
            test.add_group([(i, rows[0], rows[1]) for i, rows in zip(ids, group.test, strict=True)])
        ctx.progress("tasks", done, len(tasks))
    ctx.writer.write_identifiers(identifiers)
    for split in (train, test):
        split.finish(ctx.metadata(vocab_size=12, num_identifiers=len(identifiers)))


# ----------------------------------------------------------------------------------------------------
# Registry and entry points


def _spec(name: str, task: str, description: str, splits: tuple[str, ...], num_aug: int,
          build: Callable[[BuildContext], None], **extra: Any) -> DatasetSpec:
    return DatasetSpec(name, task, description, splits, num_aug, build, extra)


BOTH = ("train", "test")
TEST = ("test",)
DATASETS: dict[str, DatasetSpec] = {s.name: s for s in [
    _spec("sudoku-hard-1k", "sudoku", "1,000 forum-hardest puzzles x (1 + 1000 shuffles); test: 5,000 hard",
          BOTH, 1000, build_sudoku_hard_1k),
    _spec("sudoku-hard-full", "sudoku", "all forum-hardest + 17-clue puzzles not in any eval set; test: 5,000",
          BOTH, 0, build_sudoku_hard_full),
    _spec("sudoku-easy", "sudoku", "solved grids with 10-30 blanks: 10,000 train (x4 shuffles), 1,000 test",
          BOTH, 3, build_sudoku_easy, train=10_000, test=1_000),
    _spec("sudoku-published", "sudoku", "generated puzzles like published ones (17-36 givens, every grade): "
          "20,000 train (x4 shuffles), 1,000 test", BOTH, 3, build_sudoku_published, train=20_000, test=1_000),
    _spec("sudoku-published-hard", "sudoku", "a harder mix for a second curriculum stage: half of the puzzles need "
          "more than singles; 20,000 train (x4 shuffles), 1,000 test", BOTH, 3, build_sudoku_published,
          train=20_000, test=1_000, hard_share=0.5),
    _spec("sudoku-g1", "sudoku", "eval only: 1,000 generated puzzles solved by singles alone, 40-55 blanks",
          TEST, 0, _sudoku_grade_set(1)),
    _spec("sudoku-g2", "sudoku", "eval only: 1,000 generated puzzles that need pairs, pointing or box-line",
          TEST, 0, _sudoku_grade_set(2)),
    _spec("sudoku-g3", "sudoku", "eval only: 1,000 generated puzzles that need fish, wings or chains",
          TEST, 0, _sudoku_grade_set(3)),
    _spec("sudoku-magictour", "sudoku", "eval only: magictour top1465", TEST, 0, _sudoku_eval_only("magictour")),
    _spec("sudoku-forum1106", "sudoku", "eval only: forum hardest 1106 minus puzzles also in puzzles5",
          TEST, 0, _sudoku_eval_only("forum1106")),
    _spec("sudoku-17clue", "sudoku", "eval only: 2,000 of the 49,158 17-clue puzzles", TEST, 0,
          _sudoku_eval_only("clue17")),
    _spec("maze-hard", "maze", "30x30, 30-50% walls, shortest path > 110 moves: 1,000 train, 1,000 test",
          BOTH, 0, build_maze, train=1000, test=1000, maze=maze_gen.MazeSpec()),
    _spec("sudoku-extreme", "sudoku", "the reference Sudoku-Extreme-1k (hub sapientinc/sudoku-extreme): 1,000 train "
          "puzzles x (1 + 1000 shuffles); test: all 422,786", BOTH, 1000, build_sudoku_extreme, train=1000),
    _spec("maze-30x30-hard", "maze", "the reference Maze-Hard (hub sapientinc/maze-30x30-hard-1k): 1,000 train, "
          "1,000 test", BOTH, 0, build_maze, train=1000, test=1000, hub=True),
    # its own stream: from the shared one, 900 of its 1,000 layouts were maze-easy training layouts
    _spec("maze-short", "maze", "eval only: 1,000 mazes with paths of 30-110 moves", TEST, 0, build_maze,
          test=1000, maze=maze_gen.MazeSpec(30, 110), stream=1),
    _spec("maze-sparse", "maze", "eval only: 1,000 mazes with 20-30% walls and paths of 30+ moves", TEST, 0,
          build_maze, test=1000, maze=maze_gen.MazeSpec(30, None, (0.2, 0.3))),
    _spec("maze-easy", "maze", "CPU demo: paths of 20-60 moves, 1,000 train, 200 test", BOTH, 0, build_maze,
          train=1000, test=200, maze=maze_gen.MazeSpec(20, 60)),
    _spec("maze-perfect", "maze", "CPU demo: 11x11 perfect mazes (corridors, one path), paths of 10+ moves: "
          "10,000 train, 500 test", BOTH, 0, build_maze, train=10_000, test=500, perfect=True,
          maze=maze_gen.MazeSpec(10, None, side=11)),
    _spec("maze-small", "maze", "CPU demo: 10x10 mazes (a 10x10 canvas), paths of 10+ moves: 10,000 train, "
          "500 test", BOTH, 0, build_maze, train=10_000, test=500, maze=maze_gen.MazeSpec(10, None, side=10)),
    _spec("maze-medium", "maze", "CPU curriculum after maze-small: 16x16 mazes (a 16x16 canvas), paths of 20+ "
          "moves: 10,000 train, 500 test", BOTH, 0, build_maze, train=10_000, test=500,
          maze=maze_gen.MazeSpec(20, None, side=16)),
    _spec("maze-mixed", "maze", "CPU curriculum after maze-medium: 30x30 mazes, paths of 20-110 moves in four "
          "equal bands, 10,000 train, 500 test", BOTH, 0, build_maze, train=10_000, test=500, stream=2,
          bands=[maze_gen.MazeSpec(lo, hi) for lo, hi in ((20, 44), (45, 69), (70, 89), (90, 110))]),
    _spec("arc1", "arc", "ARC-AGI-1 training + evaluation + ConceptARC (960 tasks), dihedral/colour variants",
          BOTH, 1000, build_arc, collection="arc1"),
    _spec("arc2", "arc", "ARC-AGI-2 training + evaluation (1,120 tasks), dihedral/colour variants",
          BOTH, 1000, build_arc, collection="arc2"),
    _spec("arc-tasks", "arc", "your ARC task files (--from-json): demonstrations train, tests evaluate",
          BOTH, 1000, build_arc),
]}


def get_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DataError(f"unknown dataset '{name}'", hint=f"one of: {', '.join(DATASETS)}")
    return DATASETS[name]


def data_root() -> Path:
    """Where datasets live by default: $HRM_DATA, else ./data."""
    return Path(os.environ.get("HRM_DATA") or "data")


def dataset_path(name: str, root: str | Path | None = None) -> Path:
    return Path(root) / name if root is not None else data_root() / name


def is_built(name: str, path: str | Path) -> bool:
    return set(get_spec(name).splits) <= set(built_splits(path))


def build_dataset(name: str, out: str | Path | None = None, options: BuildOptions | None = None,
                  progress: ProgressFn | None = None) -> Path:
    """Build dataset `name` into `out` (default: the data root / name), replacing it atomically."""
    spec = get_spec(name)
    options = options or BuildOptions()
    _check_options(spec, options)
    path = Path(out) if out is not None else dataset_path(name)
    with using_sources(options.source, progress, options.workers), DatasetWriter(path) as writer:
        spec.build(BuildContext(spec, options, writer, progress or _no_progress))
    return path


def _check_options(spec: DatasetSpec, options: BuildOptions) -> None:
    if options.num_aug is not None and options.num_aug < 0:
        raise DataError("--num-aug must be 0 or more")
    if options.limit is not None and options.limit < 1:
        raise DataError("--limit must be at least 1")
    if options.workers < 1:
        raise DataError("--workers must be at least 1")
    if options.dihedral and spec.task != "maze":
        raise DataError("--dihedral only applies to maze datasets")
    if options.room is not None and (spec.task != "maze" or options.room < 0):
        raise DataError("--room applies to maze datasets and takes 0 or more moves")
    if options.room_mix and options.room is None:
        raise DataError("--room-mix needs --room N")
    if options.generated and spec.name != "sudoku-hard-full":
        raise DataError("--generated only applies to sudoku-hard-full")
    if options.from_csv and spec.task != "maze":
        raise DataError("--from-csv only applies to maze datasets")
    if (options.from_json is None) != (spec.name != "arc-tasks"):
        raise DataError("arc-tasks needs --from-json DIR" if options.from_json is None
                        else "--from-json only applies to arc-tasks")
    if options.canvas is not None and (spec.task != "arc" or not 1 <= options.canvas <= 30):
        raise DataError("--canvas applies to ARC datasets only, from 1 to 30")


def ensure_dataset(name: str, root: str | Path | None = None, progress: ProgressFn | None = None) -> Path:
    """The folder of dataset `name` under `root` (default data root), built with defaults if missing."""
    path = dataset_path(name, root)
    if not is_built(name, path):
        build_dataset(name, path, BuildOptions(workers=os.cpu_count() or 1), progress)
    return path
