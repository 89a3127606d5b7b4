"""On-disk dataset format: round trip, CSR structure, content hash, atomic writes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.data.format import (
    BLANK_IDENTIFIER,
    DatasetMetadata,
    DatasetWriter,
    PuzzleDataset,
    array_path,
    built_splits,
)
from hrm.errors import DataError

SEQ = 6


def _meta() -> DatasetMetadata:
    return DatasetMetadata(vocab_size=12, seq_len=SEQ, num_puzzle_identifiers=4, total_groups=0,
                           mean_puzzle_examples=0.0, task="arc", name="unit", seed=3, build_args={"x": 1})


def _rows(count: int, value: int) -> np.ndarray:
    return np.full((count, SEQ), value, dtype=np.uint8)


def write_groups(root: Path, groups: list[list[int]]) -> None:
    """groups[g] = example counts of its puzzles; puzzle p's rows all hold the value p + 1."""
    with DatasetWriter(root) as writer:
        split = writer.split("train", SEQ)
        puzzle = 0
        for sizes in groups:
            entries = []
            for size in sizes:
                entries.append((puzzle % 4, _rows(size, puzzle + 1), _rows(size, puzzle + 2)))
                puzzle += 1
            split.add_group(entries)
        split.finish(_meta())
        writer.write_identifiers([BLANK_IDENTIFIER, "a", "b", "c"])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=4), min_size=1, max_size=6))
def test_round_trip_keeps_the_group_puzzle_example_structure(tmp_path_factory, groups) -> None:
    root = tmp_path_factory.mktemp("ds") / "d"
    write_groups(root, groups)
    ds = PuzzleDataset.load(root, "train")
    assert ds.num_groups == len(groups)
    assert ds.num_puzzles == sum(len(g) for g in groups)
    assert ds.num_examples == sum(sum(g) for g in groups)
    puzzle = 0
    for g, sizes in enumerate(groups):
        assert len(ds.puzzles_of_group(g)) == len(sizes)
        for size in sizes:
            rows = ds.inputs[list(ds.examples_of_puzzle(puzzle))]
            assert rows.shape == (size, SEQ) and (rows == puzzle + 1).all()
            assert ds.puzzle_identifiers[puzzle] == puzzle % 4
            puzzle += 1
    meta = ds.metadata
    assert meta.total_groups == len(groups) and meta.num_examples == ds.num_examples
    assert meta.mean_puzzle_examples == pytest.approx(ds.num_examples / ds.num_puzzles)
    assert ds.content_hash == ds.compute_hash()


def test_reference_fields_and_file_layout(tmp_path: Path) -> None:
    write_groups(tmp_path / "d", [[2, 1], [3]])
    data = json.loads((tmp_path / "d" / "train" / "dataset.json").read_text())
    for key in ("pad_id", "ignore_label_id", "blank_identifier_id", "vocab_size", "seq_len",
                "num_puzzle_identifiers", "total_groups", "mean_puzzle_examples", "sets"):
        assert key in data
    assert data["sets"] == ["all"] and data["pad_id"] == 0 and data["seed"] == 3
    inputs = np.load(array_path(tmp_path / "d" / "train", "inputs"))
    assert inputs.dtype == np.uint8 and inputs.shape == (6, SEQ)
    for name in ("puzzle_identifiers", "puzzle_indices", "group_indices"):
        assert np.load(array_path(tmp_path / "d" / "train", name)).dtype == np.int32
    assert json.loads((tmp_path / "d" / "identifiers.json").read_text())[0] == "<blank>"


def test_inputs_are_memory_mapped_read_only(tmp_path: Path) -> None:
    write_groups(tmp_path / "d", [[2]])
    ds = PuzzleDataset.load(tmp_path / "d", "train")
    assert isinstance(ds.inputs, np.memmap)
    with pytest.raises(ValueError):
        ds.inputs[0, 0] = 9


def test_hash_depends_on_content_and_structure(tmp_path: Path) -> None:
    write_groups(tmp_path / "a", [[2, 1], [3]])
    write_groups(tmp_path / "b", [[2, 1], [3]])
    write_groups(tmp_path / "c", [[2], [1, 3]])       # same rows, other grouping
    hashes = [PuzzleDataset.load(tmp_path / n, "train").content_hash for n in "abc"]
    assert hashes[0] == hashes[1] != hashes[2]
    path = array_path(tmp_path / "b" / "train", "labels")
    labels = np.load(path)
    labels[0, 0] ^= 1
    np.save(path, labels)
    changed = PuzzleDataset.load(tmp_path / "b", "train")
    assert changed.compute_hash() != changed.content_hash


def test_failed_build_leaves_the_previous_dataset_untouched(tmp_path: Path) -> None:
    write_groups(tmp_path / "d", [[1]])
    before = PuzzleDataset.load(tmp_path / "d", "train").content_hash
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path / "d") as writer:
        writer.split("train", SEQ).add_group([(0, _rows(5, 7), _rows(5, 7))])
        raise KeyboardInterrupt
    assert PuzzleDataset.load(tmp_path / "d", "train").content_hash == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_missing_or_broken_datasets_raise_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no 'train' split"):
        PuzzleDataset.load(tmp_path / "nothing", "train")
    write_groups(tmp_path / "d", [[1, 1]])
    assert built_splits(tmp_path / "d") == ["train"]
    with pytest.raises(DataError, match="no 'test' split.*present: train"):
        PuzzleDataset.load(tmp_path / "d", "test")
    meta_path = tmp_path / "d" / "train" / "dataset.json"
    meta = json.loads(meta_path.read_text())
    meta["total_groups"] = 5
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match="inconsistent"):
        PuzzleDataset.load(tmp_path / "d", "train")
    array_path(tmp_path / "d" / "train", "labels").unlink()
    with pytest.raises(DataError, match="missing"):
        PuzzleDataset.load(tmp_path / "d", "train")


def test_writer_rejects_rows_of_the_wrong_width(tmp_path: Path) -> None:
    with pytest.raises(ValueError), DatasetWriter(tmp_path / "d") as writer:
        writer.split("train", SEQ).add_group([(0, np.zeros((1, SEQ + 1), np.uint8), np.zeros((1, SEQ + 1)))])
    assert not (tmp_path / "d").exists()


def test_a_folder_that_is_not_a_dataset_is_never_replaced(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a dataset"), DatasetWriter(tmp_path) as writer:
        writer.split("train", SEQ)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
