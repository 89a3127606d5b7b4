"""On-disk dataset format (the reference layout) plus our provenance fields and a content hash.

    <root>/identifiers.json                 list: identifier id -> name, index 0 = "<blank>"
    <root>/{train,test}/dataset.json        DatasetMetadata
    <root>/{train,test}/all__inputs.npy     [N, seq_len] uint8   one row per example
    <root>/{train,test}/all__labels.npy     [N, seq_len] uint8   0 = ignored position
    <root>/{train,test}/all__puzzle_identifiers.npy  [P] int32
    <root>/{train,test}/all__puzzle_indices.npy      [P+1] int32  examples of puzzle p: [pi[p], pi[p+1])
    <root>/{train,test}/all__group_indices.npy       [G+1] int32  puzzles of group g: [gi[g], gi[g+1])

A group is one original puzzle with all its augmented copies; a puzzle is one version with its own
identifier; an example is one input/label pair. Writers stream rows to disk so a dataset larger than
memory can be built, and the whole folder appears atomically (temp folder, then rename).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from hrm.errors import DataError

FORMAT_VERSION = 1
SET_NAME = "all"
SPLITS = ("train", "test")
ARRAY_NAMES = ("inputs", "labels", "puzzle_identifiers", "puzzle_indices", "group_indices")
BLANK_IDENTIFIER = "<blank>"
_NPY_HEADER_BYTES = 128          # fixed header room so rows can be streamed before the shape is known
_WRITE_CHUNK_BYTES = 32 << 20


@dataclass
class DatasetMetadata:
    """Contents of dataset.json: the reference fields first, then our provenance fields."""

    vocab_size: int
    seq_len: int
    num_puzzle_identifiers: int
    total_groups: int
    mean_puzzle_examples: float
    pad_id: int = 0
    ignore_label_id: int | None = 0
    blank_identifier_id: int = 0
    sets: list[str] = field(default_factory=lambda: [SET_NAME])
    task: str = ""
    name: str = ""
    seed: int | None = None
    build_args: dict[str, Any] = field(default_factory=dict)
    num_examples: int = 0
    num_puzzles: int = 0
    content_hash: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DatasetMetadata:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _read_metadata(path: Path) -> DatasetMetadata:
    try:
        return DatasetMetadata.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise DataError(f"dataset metadata not found: {path}",
                        hint="build it with `hrm data build NAME`") from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise DataError(f"malformed dataset metadata {path}: {exc}") from None


def array_path(split_dir: Path, name: str) -> Path:
    return split_dir / f"{SET_NAME}__{name}.npy"


def combine_hash(parts: Sequence[tuple[str, str, tuple[int, ...], str]]) -> str:
    """Content hash of a split: sha256 over (name, dtype, shape, sha256 of the bytes) of each array,
    in ARRAY_NAMES order. Two-level so the bytes can be hashed while they are streamed."""
    outer = hashlib.sha256()
    for name, dtype, shape, digest in parts:
        outer.update(f"{name}|{dtype}|{','.join(map(str, shape))}|{digest}\n".encode())
    return outer.hexdigest()


def _array_digest(array: np.ndarray) -> str:
    digest = hashlib.sha256()
    rows_per_chunk = max(1, _WRITE_CHUNK_BYTES // max(1, array[:1].nbytes))
    for start in range(0, len(array), rows_per_chunk):
        digest.update(np.ascontiguousarray(array[start:start + rows_per_chunk]).tobytes())
    return digest.hexdigest()


class PuzzleDataset:
    """One split of a built dataset. Inputs/labels are memory-mapped read-only; indices live in RAM."""

    def __init__(self, root: Path, split: str, metadata: DatasetMetadata, arrays: dict[str, np.ndarray],
                 identifiers: list[str] | None) -> None:
        self.root, self.split, self.metadata = root, split, metadata
        self.inputs = arrays["inputs"]
        self.labels = arrays["labels"]
        self.puzzle_identifiers = arrays["puzzle_identifiers"]
        self.puzzle_indices = arrays["puzzle_indices"]
        self.group_indices = arrays["group_indices"]
        self.identifiers = identifiers

    @classmethod
    def load(cls, root: str | Path, split: str) -> PuzzleDataset:
        root = Path(root)
        split_dir = root / split
        if not split_dir.is_dir():
            present = [s for s in SPLITS if (root / s).is_dir()]
            hint = f"present: {', '.join(present)}" if present else "build it with `hrm data build`"
            raise DataError(f"no '{split}' split in {root}", hint=hint)
        metadata = _read_metadata(split_dir / "dataset.json")
        arrays = {name: _load_array(split_dir, name) for name in ARRAY_NAMES}
        dataset = cls(root, split, metadata, arrays, read_identifiers(root))
        dataset.check_consistency()
        return dataset

    @property
    def num_examples(self) -> int:
        return len(self.inputs)

    @property
    def num_puzzles(self) -> int:
        return len(self.puzzle_identifiers)

    @property
    def num_groups(self) -> int:
        return len(self.group_indices) - 1

    @property
    def content_hash(self) -> str:
        return self.metadata.content_hash

    def compute_hash(self) -> str:
        """Recompute the content hash from the arrays (reads every byte)."""
        return combine_hash([(name, arr.dtype.str, tuple(arr.shape), _array_digest(arr))
                             for name, arr in self.arrays().items()])

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in ARRAY_NAMES}

    def examples_of_puzzle(self, puzzle: int) -> range:
        return range(int(self.puzzle_indices[puzzle]), int(self.puzzle_indices[puzzle + 1]))

    def puzzles_of_group(self, group: int) -> range:
        return range(int(self.group_indices[group]), int(self.group_indices[group + 1]))

    def identifier_name(self, identifier: int) -> str:
        if self.identifiers is None or not 0 <= identifier < len(self.identifiers):
            return str(identifier)
        return self.identifiers[identifier]

    def check_consistency(self) -> None:
        """Shapes and CSR offsets agree with each other and with dataset.json."""
        meta, where = self.metadata, self.root / self.split
        problems = []
        if self.inputs.shape != self.labels.shape or self.inputs.ndim != 2:
            problems.append(f"inputs {self.inputs.shape} and labels {self.labels.shape} differ")
        elif self.inputs.shape[1] != meta.seq_len:
            problems.append(f"rows have {self.inputs.shape[1]} tokens, dataset.json says {meta.seq_len}")
        pi = self.puzzle_indices
        if len(pi) != self.num_puzzles + 1 or int(pi[-1]) != self.num_examples:
            problems.append("puzzle_indices do not cover the examples")
        if len(self.group_indices) < 1 or int(self.group_indices[-1]) != self.num_puzzles:
            problems.append("group_indices do not cover the puzzles")
        if self.num_groups != meta.total_groups:
            problems.append(f"{self.num_groups} groups, dataset.json says {meta.total_groups}")
        if problems:
            raise DataError(f"dataset {where} is inconsistent: {'; '.join(problems)}",
                            hint="rebuild it with `hrm data build`")


def _load_array(split_dir: Path, name: str) -> np.ndarray:
    path = array_path(split_dir, name)
    try:
        if name in ("inputs", "labels"):
            return np.load(path, mmap_mode="r")
        return np.load(path)
    except FileNotFoundError:
        raise DataError(f"dataset file missing: {path}", hint="rebuild it with `hrm data build`") from None
    except ValueError as exc:
        raise DataError(f"cannot read {path}: {exc}", hint="rebuild it with `hrm data build`") from None


def read_identifiers(root: Path) -> list[str] | None:
    path = Path(root) / "identifiers.json"
    if not path.exists():
        return None
    try:
        names = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"malformed {path}: {exc}") from None
    if not isinstance(names, list):
        raise DataError(f"malformed {path}: expected a list of names")
    return names


def read_metadata(root: str | Path, split: str) -> DatasetMetadata:
    return _read_metadata(Path(root) / split / "dataset.json")


def built_splits(root: str | Path) -> list[str]:
    """Splits of `root` whose dataset.json exists (written last, so its presence means complete)."""
    return [s for s in SPLITS if (Path(root) / s / "dataset.json").is_file()]


# ----------------------------------------------------------------------------------------------------
# Writing


class _StreamingNpy:
    """An .npy file of uint8 rows appended in chunks; the header is written last into reserved room."""

    def __init__(self, path: Path, row_len: int) -> None:
        self.path, self.row_len, self.rows = path, row_len, 0
        self.digest = hashlib.sha256()
        self.file = open(path, "wb")  # noqa: SIM115 - closed in finish()/abort()
        self.file.write(b"\0" * _NPY_HEADER_BYTES)
        self.pending: list[bytes] = []
        self.pending_bytes = 0

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.uint8)
        if rows.ndim != 2 or rows.shape[1] != self.row_len:
            raise ValueError(f"rows must be [k, {self.row_len}], got {rows.shape}")
        data = rows.tobytes()
        self.digest.update(data)
        self.pending.append(data)
        self.pending_bytes += len(data)
        self.rows += len(rows)
        if self.pending_bytes >= _WRITE_CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        self.file.write(b"".join(self.pending))
        self.pending, self.pending_bytes = [], 0

    def finish(self) -> tuple[str, tuple[int, ...], str]:
        self.flush()
        shape = (self.rows, self.row_len)
        header = f"{{'descr': '|u1', 'fortran_order': False, 'shape': ({shape[0]}, {shape[1]}), }}"
        room = _NPY_HEADER_BYTES - 10
        self.file.seek(0)
        self.file.write(b"\x93NUMPY\x01\x00" + room.to_bytes(2, "little")
                        + (header.ljust(room - 1) + "\n").encode("latin1"))
        self.file.close()
        return np.dtype(np.uint8).str, shape, self.digest.hexdigest()

    def abort(self) -> None:
        self.file.close()


class SplitWriter:
    """Builds one split group by group: `add_group([(identifier, inputs[k, L], labels[k, L]), ...])`."""

    def __init__(self, split_dir: Path, seq_len: int) -> None:
        split_dir.mkdir(parents=True, exist_ok=True)
        self.split_dir, self.seq_len = split_dir, seq_len
        self.inputs = _StreamingNpy(array_path(split_dir, "inputs"), seq_len)
        self.labels = _StreamingNpy(array_path(split_dir, "labels"), seq_len)
        self.puzzle_identifiers: list[int] = []
        self.puzzle_indices: list[int] = [0]
        self.group_indices: list[int] = [0]

    def add_group(self, puzzles: Sequence[tuple[int, np.ndarray, np.ndarray]]) -> None:
        if not puzzles:
            raise ValueError("a group needs at least one puzzle")
        for identifier, inputs, labels in puzzles:
            if len(inputs) == 0 or inputs.shape != labels.shape:
                raise ValueError("a puzzle needs at least one example and matching labels")
            self.add_puzzle_rows(int(identifier), inputs, labels)
        self.group_indices.append(len(self.puzzle_identifiers))

    def add_puzzle_rows(self, identifier: int, inputs: np.ndarray, labels: np.ndarray) -> None:
        self.inputs.append(inputs)
        self.labels.append(labels)
        self.puzzle_identifiers.append(identifier)
        self.puzzle_indices.append(self.puzzle_indices[-1] + len(inputs))

    def add_single_example_groups(self, inputs: np.ndarray, labels: np.ndarray, group_sizes: np.ndarray,
                                  identifier: int = 0) -> None:
        """Fast path for tasks whose puzzles have one example each (sudoku, maze): consecutive rows form
        puzzles, and `group_sizes[g]` consecutive puzzles form group g."""
        self.inputs.append(inputs)
        self.labels.append(labels)
        start = len(self.puzzle_identifiers)
        self.puzzle_identifiers.extend([identifier] * len(inputs))
        first = self.puzzle_indices[-1]
        self.puzzle_indices.extend(range(first + 1, first + len(inputs) + 1))
        self.group_indices.extend((start + np.cumsum(group_sizes)).tolist())
        if self.group_indices[-1] != len(self.puzzle_identifiers):
            raise ValueError("group sizes do not add up to the number of rows")

    def finish(self, metadata: DatasetMetadata) -> DatasetMetadata:
        if len(self.group_indices) < 2:
            raise ValueError(f"split {self.split_dir.name} is empty")
        parts = [("inputs", *self.inputs.finish()), ("labels", *self.labels.finish())]
        for name in ("puzzle_identifiers", "puzzle_indices", "group_indices"):
            array = np.asarray(getattr(self, name), dtype=np.int32)
            np.save(array_path(self.split_dir, name), array)
            parts.append((name, array.dtype.str, tuple(array.shape), _array_digest(array)))
        num_puzzles, num_groups = len(self.puzzle_identifiers), len(self.group_indices) - 1
        metadata.total_groups = num_groups
        metadata.num_puzzles = num_puzzles
        metadata.num_examples = self.inputs.rows
        metadata.mean_puzzle_examples = self.inputs.rows / num_puzzles
        metadata.seq_len = self.seq_len
        metadata.content_hash = combine_hash(parts)
        (self.split_dir / "dataset.json").write_text(metadata.to_json())
        return metadata

    def abort(self) -> None:
        self.inputs.abort()
        self.labels.abort()


def _replaceable(path: Path) -> bool:
    """An existing folder a build may replace: empty, or holding only what a build writes."""
    if not path.is_dir():
        return False
    known = {*SPLITS, "identifiers.json", "train.csv", "test.csv"}
    return all(child.name in known for child in path.iterdir())


class DatasetWriter:
    """Writes a whole dataset into `<root>.partial-<pid>` and renames it to `root` on success.

    Use as a context manager; an exception (including KeyboardInterrupt) removes the partial folder and
    leaves any previous dataset at `root` untouched.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()      # "." or "dir/.." have no name to put the partial beside
        self.tmp = self.root.with_name(f"{self.root.name}.partial-{os.getpid()}")
        self.splits: dict[str, SplitWriter] = {}

    def __enter__(self) -> DatasetWriter:
        if self.root.exists() and not _replaceable(self.root):
            raise DataError(f"{self.root} exists and is not a dataset; refusing to replace it",
                            hint="choose an empty or new folder with --out")
        self.root.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.tmp.mkdir()
        return self

    def split(self, name: str, seq_len: int) -> SplitWriter:
        self.splits[name] = SplitWriter(self.tmp / name, seq_len)
        return self.splits[name]

    @property
    def folder(self) -> Path:
        """Where extra files (CSV copies, identifiers) go before the rename."""
        return self.tmp

    def write_identifiers(self, names: list[str]) -> None:
        (self.tmp / "identifiers.json").write_text(json.dumps(names))

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None:
            for writer in self.splits.values():
                writer.abort()
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        self._commit()

    def _commit(self) -> None:
        old = self.root.with_name(f"{self.root.name}.old-{os.getpid()}")
        if self.root.exists():
            os.replace(self.root, old)
        os.replace(self.tmp, self.root)
        shutil.rmtree(old, ignore_errors=True)
