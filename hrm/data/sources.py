"""Where the raw puzzle collections live and how to read them.

Root: $HRM_SOURCE_DATA, else `<repo>/../shared/data` (repo = the folder holding the hrm package).
Sudoku: `sudoku/<tag>.csv.xz` in the Sudoku-Extreme layout (source,question,answer,rating).
ARC: one JSON file per task under `arc/<collection>/<subset>/` ({"train": [...], "test": [...]}).
Maze: CSV files in the maze-30x30-hard-1k layout (the same four columns, 900-character grids).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import lzma
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hrm.errors import DataError

SUDOKU_FILES = {
    "17clue": "puzzles2_17_clue.csv.xz",
    "magictour": "puzzles3_magictour_top1465.csv.xz",
    "puzzles5": "puzzles5_forum_hardest_1905_11plus.csv.xz",
    "forum1106": "puzzles6_forum_hardest_1106.csv.xz",
}
CSV_HEADER = ("source", "question", "answer", "rating")


def repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def source_root() -> Path:
    """The folder holding sudoku/, arc/ and maze/ (checked to exist)."""
    env = os.environ.get("HRM_SOURCE_DATA")
    root = Path(env) if env else repo_root().parent / "shared" / "data"
    if not root.is_dir():
        hint = "set HRM_SOURCE_DATA to the folder holding sudoku/ and arc/"
        raise DataError(f"source data folder not found: {root}", hint=hint)
    return root


def source_path(*parts: str) -> Path:
    path = source_root().joinpath(*parts)
    if not path.exists():
        raise DataError(f"source data missing: {path}", hint="set HRM_SOURCE_DATA or restore the shared data")
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


def read_sudoku_csv(path: str | Path) -> SudokuRecords:
    """Read a source,question,answer,rating file (.csv or .csv.xz)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"sudoku source file not found: {path}")
    try:
        opener = lzma.open if path.suffix == ".xz" else open
        with opener(path, "rt", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (lzma.LZMAError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    if not rows or not {"question", "answer"} <= set(rows[0]):
        raise DataError(f"{path}: expected a header with question and answer columns")
    questions = _digits([r["question"] for r in rows], path, "question")
    answers = _digits([r["answer"] for r in rows], path, "answer")
    ratings = np.array([int(r.get("rating") or 0) for r in rows], dtype=np.int32)
    return SudokuRecords(questions, answers, ratings, rows[0].get("source", path.stem))


def read_sudoku_source(key: str) -> SudokuRecords:
    """One of the shared collections by short name: 17clue, magictour, puzzles5, forum1106."""
    if key not in SUDOKU_FILES:
        raise DataError(f"unknown sudoku collection '{key}'", hint=f"one of: {', '.join(SUDOKU_FILES)}")
    return _read_sudoku_cached(str(source_path("sudoku", SUDOKU_FILES[key])))


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


ARC_COLLECTIONS = {
    "arc1": (("arc", "agi1", "training"), ("arc", "agi1", "evaluation"), ("arc", "conceptarc", "corpus")),
    "arc2": (("arc", "agi2", "training"), ("arc", "agi2", "evaluation")),
}


def arc_task_files(collection: str) -> list[ArcTaskFile]:
    """Every task file of a collection, sorted by folder then name (a stable build order)."""
    if collection not in ARC_COLLECTIONS:
        raise DataError(f"unknown ARC collection '{collection}'", hint=f"one of: {', '.join(ARC_COLLECTIONS)}")
    files = []
    for parts in ARC_COLLECTIONS[collection]:
        folder = source_path(*parts)
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
