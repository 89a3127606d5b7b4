"""Where the raw puzzle collections come from and how to read them.

Each collection has a public origin (hrm.data.origins: GitHub repositories and hub datasets, pinned).
By default a build downloads what it needs into the cache ($HRM_CACHE or ~/.cache/hrm, one folder per
origin) on first use. A local copy is read instead when one is given: `--source DIR` (a build's
`BuildOptions.source`), else $HRM_SOURCE_DATA. Its layout is the development mirror's (../shared/data):
Sudoku: `sudoku/<tag>.csv.xz` in the Sudoku-Extreme layout (source,question,answer,rating).
ARC: one JSON file per task under `arc/agi1/{training,evaluation}/`, `arc/agi2/...`, `arc/conceptarc/corpus/`.
Hub datasets: `sudoku-extreme/{train,test}.csv`, `maze-30x30-hard/{train,test}.csv` (or DIR is that folder).
Maze CSV: the maze-30x30-hard-1k layout (the same four columns, 900-character grids).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import lzma
import os
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hrm.data.download import ProgressFn, cache_root
from hrm.data.origins import ORIGINS, FetchContext, HubDataset, Origin
from hrm.errors import DataError

SUDOKU_FILES = {
    "17clue": "puzzles2_17_clue.csv.xz",
    "magictour": "puzzles3_magictour_top1465.csv.xz",
    "puzzles5": "puzzles5_forum_hardest_1905_11plus.csv.xz",
    "forum1106": "puzzles6_forum_hardest_1106.csv.xz",
}
CSV_HEADER = ("source", "question", "answer", "rating")
SOURCE_ENV = "HRM_SOURCE_DATA"


def _silent(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True)
class SourceSettings:
    root: Path | None        # a local copy; None = the origins, through the download cache
    progress: ProgressFn
    workers: int


_ACTIVE: ContextVar[SourceSettings | None] = ContextVar("hrm_sources", default=None)


@contextlib.contextmanager
def using_sources(root: str | Path | None = None, progress: ProgressFn | None = None,
                  workers: int = 1) -> Iterator[None]:
    """Within the block, sources come from `root` (else $HRM_SOURCE_DATA, else the origins) and downloads
    report to `progress`."""
    token = _ACTIVE.set(SourceSettings(Path(root) if root else None, progress or _silent, workers))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _settings() -> SourceSettings:
    active = _ACTIVE.get() or SourceSettings(None, _silent, 1)
    env = os.environ.get(SOURCE_ENV)
    root = active.root or (Path(env) if env else None)
    return SourceSettings(root, active.progress, active.workers)


def local_root() -> Path | None:
    """The local copy in use (--source DIR, else $HRM_SOURCE_DATA), checked to exist; None = download."""
    root = _settings().root
    if root is not None and not root.is_dir():
        raise DataError(f"source data folder not found: {root}",
                        hint="--source DIR (or $HRM_SOURCE_DATA) is a folder holding sudoku/ and arc/; "
                             "without either, sources are downloaded")
    return root


def source_key() -> str:
    """Names where sources come from now (local copy or cache), for caches of what was read."""
    root = local_root()
    return f"local:{root.resolve()}" if root is not None else f"cache:{cache_root().resolve()}"


def source_path(origin_name: str, member: str) -> Path:
    """A file or folder of one origin: from the local copy, or downloaded into the cache if missing."""
    origin = ORIGINS[origin_name]
    root = local_root()
    if root is not None:
        return _local_path(root, origin, member)
    settings = _settings()
    return origin.materialise(cache_root() / origin.name, member, FetchContext(settings.progress, settings.workers))


def _local_path(root: Path, origin: Origin, member: str) -> Path:
    folder = root / origin.local
    if isinstance(origin, HubDataset) and not folder.is_dir() and (root / member).is_file():
        folder = root            # DIR is the downloaded dataset folder itself
    path = folder / member
    if not path.exists():
        raise DataError(f"source data missing: {path}",
                        hint=f"a local copy holds {origin.local}/{member}; without --source and "
                             f"${SOURCE_ENV} it is downloaded")
    return path


# ----------------------------------------------------------------------------------------------------
# Sudoku


@dataclass
class SudokuRecords:
    """Puzzles of one CSV file, in file order."""

    questions: np.ndarray   # [N, 9, 9] uint8, 0 = blank
    answers: np.ndarray     # [N, 9, 9] uint8
    ratings: np.ndarray     # [N] int32
    source: str

    def __len__(self) -> int:
        return len(self.questions)

    def question_strings(self) -> list[str]:
        return grids_to_strings(self.questions)

    def take(self, indices: np.ndarray | Sequence[int]) -> SudokuRecords:
        """The records at `indices` (positions, or a boolean mask over the records)."""
        idx = np.asarray(indices)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.int64)
        return SudokuRecords(self.questions[idx], self.answers[idx], self.ratings[idx], self.source)


def grids_to_strings(grids: np.ndarray) -> list[str]:
    """[N, 9, 9] digit grids -> 81-character strings with '.' for blanks."""
    flat = np.asarray(grids, dtype=np.uint8).reshape(len(grids), -1)
    chars = np.where(flat == 0, ord("."), flat + ord("0")).astype(np.uint8)
    return [row.tobytes().decode("ascii") for row in chars]


def _digits(strings: list[str], path: Path, column: str) -> np.ndarray:
    data = "".join(strings).replace(".", "0").encode("ascii")
    if len(data) != 81 * len(strings):
        raise DataError(f"{path}: every {column} must have 81 cells")
    values = np.frombuffer(data, dtype=np.uint8) - ord("0")
    if (values > 9).any():
        raise DataError(f"{path}: {column} holds characters other than digits and '.'")
    return values.reshape(len(strings), 9, 9)


@contextlib.contextmanager
def _csv_rows(path: Path) -> Iterator[Iterator[list[str]]]:
    """The rows of a CSV (.csv or .csv.xz) after its header, which must name question and answer; each row
    is [question, answer, rating, source] (rating and source may be empty)."""
    if not path.exists():
        raise DataError(f"sudoku source file not found: {path}")
    opener: Callable = lzma.open if path.suffix == ".xz" else open
    try:
        with opener(path, "rt", newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if not {"question", "answer"} <= set(header):
                raise DataError(f"{path}: expected a header with question and answer columns")
            columns = [header.index(c) if c in header else None for c in ("question", "answer", "rating", "source")]
            yield ([row[c] if c is not None and c < len(row) else "" for c in columns] for row in reader)
    except (lzma.LZMAError, UnicodeDecodeError, csv.Error, EOFError) as exc:
        raise DataError(f"cannot read {path}: {str(exc)[:200]}") from None


def count_csv_rows(path: str | Path) -> int:
    with _csv_rows(Path(path)) as rows:
        return sum(1 for _ in rows)


def read_sudoku_csv(path: str | Path, wanted: set[int] | None = None, limit: int | None = None) -> SudokuRecords:
    """Read a source,question,answer,rating file (.csv or .csv.xz): every row, the rows at the positions in
    `wanted` (0 = first after the header), or the first `limit` rows; streamed, so a large file is fine."""
    path = Path(path)
    kept: list[list[str]] = []
    with _csv_rows(path) as rows:
        for index, row in enumerate(rows):
            if limit is not None and len(kept) >= limit:
                break
            if wanted is None or index in wanted:
                kept.append(row)
    if not kept:
        raise DataError(f"{path}: no puzzles")
    questions = _digits([r[0] for r in kept], path, "question")
    answers = _digits([r[1] for r in kept], path, "answer")
    try:
        ratings = np.array([int(float(r[2] or 0)) for r in kept], dtype=np.int32)
    except (ValueError, OverflowError):
        raise DataError(f"{path}: a rating is not a number") from None
    return SudokuRecords(questions, answers, ratings, kept[0][3] or path.stem)


def read_sudoku_source(key: str) -> SudokuRecords:
    """One of the shared collections by short name: 17clue, magictour, puzzles5, forum1106."""
    if key not in SUDOKU_FILES:
        raise DataError(f"unknown sudoku collection '{key}'", hint=f"one of: {', '.join(SUDOKU_FILES)}")
    return _read_sudoku_cached(str(source_path("sudoku", SUDOKU_FILES[key])))


def sudoku_extreme_csv(split: str) -> Path:
    """train.csv or test.csv of the hub dataset sapientinc/sudoku-extreme."""
    return source_path("sudoku-extreme", f"{split}.csv")


def maze_hard_csv_folder() -> Path:
    """The folder holding train.csv and test.csv of sapientinc/maze-30x30-hard-1k."""
    source_path("maze-30x30-hard", "train.csv")
    return source_path("maze-30x30-hard", "test.csv").parent


@functools.lru_cache(maxsize=8)
def _read_sudoku_cached(path: str) -> SudokuRecords:
    records = read_sudoku_csv(path)
    for array in (records.questions, records.answers, records.ratings):
        array.flags.writeable = False     # shared by every caller
    return records


# ----------------------------------------------------------------------------------------------------
# Maze CSV (the reference layout; free cells are spaces, so fields are never stripped)


@dataclass
class MazeRecord:
    question: str   # 900 characters of '# SG'
    answer: str     # same with the path cells as 'o'
    rating: int     # shortest path length in moves
    source: str = ""


def write_maze_csv(path: Path, records: Sequence[MazeRecord]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for rec in records:
            writer.writerow([rec.source, rec.question, rec.answer, rec.rating])


def read_maze_csv(path: str | Path) -> list[MazeRecord]:
    path = Path(path)
    if not path.exists():
        raise DataError(f"maze CSV not found: {path}")
    with open(path, newline="") as handle:
        text = handle.read()
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows or not {"question", "answer"} <= set(rows[0]):
        raise DataError(f"{path}: expected a header with question and answer columns")
    records = []
    for number, row in enumerate(rows, start=2):
        if len(row["question"]) != len(row["answer"]):
            raise DataError(f"{path}:{number}: question and answer lengths differ")
        records.append(MazeRecord(row["question"], row["answer"], int(float(row.get("rating") or 0)),
                                  row.get("source", "")))
    return records


# ----------------------------------------------------------------------------------------------------
# ARC


@dataclass
class ArcTaskFile:
    name: str       # file stem, e.g. "007bbfb7" or "AboveBelow1"
    subset: str     # the folder it sits in, e.g. "training", "evaluation", "AboveBelow"
    path: Path


ARC_COLLECTIONS = {      # (origin, folder) in build order
    "arc1": (("arc-agi-1", "training"), ("arc-agi-1", "evaluation"), ("conceptarc", "corpus")),
    "arc2": (("arc-agi-2", "training"), ("arc-agi-2", "evaluation")),
}


def arc_task_files(collection: str) -> list[ArcTaskFile]:
    """Every task file of a collection, sorted by folder then name (a stable build order)."""
    if collection not in ARC_COLLECTIONS:
        raise DataError(f"unknown ARC collection '{collection}'", hint=f"one of: {', '.join(ARC_COLLECTIONS)}")
    files = []
    for origin, subset in ARC_COLLECTIONS[collection]:
        folder = source_path(origin, subset)
        files += [ArcTaskFile(p.stem, p.parent.name, p) for p in sorted(folder.rglob("*.json"))]
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise DataError(f"ARC collection '{collection}' has duplicate task names")
    return files


ArcPair = tuple[np.ndarray, np.ndarray]


@dataclass
class ArcTask:
    name: str
    subset: str
    train: list[ArcPair]   # demonstration pairs
    test: list[ArcPair]


def _grid(value: object, where: str) -> np.ndarray:
    """A grid exactly as `hrm solve` reads one: rows of integer colours 0..9, never rounded or converted
    (3.5, true and "7" are errors, not 3, 1 and 7)."""
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise DataError(f"{where}: a grid must be a list of rows, each a list of colours")
    for r, row in enumerate(value):
        for c, colour in enumerate(row):
            if type(colour) is not int or not 0 <= colour <= 9:
                raise DataError(f"{where}: the colour at row {r + 1}, column {c + 1} is {str(colour)[:20]!r}, "
                                "not an integer 0..9")
    shape = (len(value), len(value[0]) if value else 0)
    if not (1 <= shape[0] <= 30 and 1 <= shape[1] <= 30) or any(len(row) != shape[1] for row in value):
        raise DataError(f"{where}: a grid needs 1..30 rows of the same length, 1..30 colours each")
    return np.array(value, dtype=np.uint8)


def load_arc_task(file: ArcTaskFile) -> ArcTask:
    try:
        data = json.loads(file.path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:     # ValueError: bad JSON, not UTF-8, huge numbers
        raise DataError(f"cannot read ARC task {file.path}: {str(exc)[:200]}") from None
    pairs: dict[str, list[ArcPair]] = {}
    for part in ("train", "test"):
        items = data.get(part) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise DataError(f"{file.path}: missing '{part}' list")
        if not items:
            raise DataError(f"{file.path}: the '{part}' list is empty")
        if not all(isinstance(item, dict) and "input" in item and "output" in item for item in items):
            raise DataError(f"{file.path}: every '{part}' pair needs an input and an output")
        pairs[part] = [(_grid(item["input"], f"{file.path} {part}[{i}]"),
                        _grid(item["output"], f"{file.path} {part}[{i}]")) for i, item in enumerate(items)]
    return ArcTask(file.name, file.subset, pairs["train"], pairs["test"])


def load_arc_tasks_from(path: str | Path) -> list[ArcTask]:
    """Every task JSON in a folder (recursively, sorted), or one task file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"no ARC tasks at {path}: the path does not exist")
    files = [path] if path.is_file() else sorted(path.rglob("*.json"))
    if not files:
        raise DataError(f"no ARC task files (*.json) under {path}")
    stems = [f.stem for f in files]
    # Task names become puzzle-embedding identifiers: two files of one name in different folders keep
    # their folder in the name, so they never share a row.
    names = [f.stem if stems.count(f.stem) == 1 else f.relative_to(path).with_suffix("").as_posix() for f in files]
    return [load_arc_task(ArcTaskFile(name, f.parent.name, f)) for name, f in zip(names, files, strict=True)]


def iter_arc_tasks(collection: str) -> Iterator[ArcTask]:
    for file in arc_task_files(collection):
        yield load_arc_task(file)
