"""Training sampler (reference semantics, exact resume, rank slices) and evaluation batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.data.format import DatasetMetadata, DatasetWriter, PuzzleDataset
from hrm.data.sampler import IGNORE_INDEX, TrainSampler, eval_batches, eval_indices
from hrm.errors import DataError

SEQ = 4


def make_dataset(root: Path, groups: list[list[int]]) -> PuzzleDataset:
    """Token 0 and 1 of every row spell the example index (base 250); labels are 0 (ignored) at token 3.
    Puzzle p of group g has identifier g + 1."""
    with DatasetWriter(root) as writer:
        split = writer.split("train", SEQ)
        example = 0
        for g, sizes in enumerate(groups):
            entries = []
            for size in sizes:
                idx = np.arange(example, example + size)
                rows = np.stack([idx // 250 + 1, idx % 250 + 1, np.full(size, 7), np.full(size, 7)], 1)
                labels = rows.copy()
                labels[:, 3] = 0
                entries.append((g + 1, rows.astype(np.uint8), labels.astype(np.uint8)))
                example += size
            split.add_group(entries)
        split.finish(DatasetMetadata(vocab_size=256, seq_len=SEQ, num_puzzle_identifiers=len(groups) + 1,
                                     total_groups=0, mean_puzzle_examples=0.0))
    return PuzzleDataset.load(root, "train")


def example_ids(batch: dict[str, np.ndarray]) -> np.ndarray:
    return (batch["inputs"][:, 0] - 1) * 250 + batch["inputs"][:, 1] - 1


GROUPS = [[3, 2], [1], [4, 1, 2], [2, 2], [1, 1, 1, 1], [5], [2, 3]]


@pytest.fixture
def dataset(tmp_path: Path) -> PuzzleDataset:
    return make_dataset(tmp_path / "d", GROUPS)


def test_batches_have_the_documented_types_and_label_mapping(dataset: PuzzleDataset) -> None:
    batch = next(TrainSampler(dataset, 6, seed=0))
    assert batch["inputs"].dtype == np.int32 and batch["inputs"].shape == (6, SEQ)
    assert batch["labels"].dtype == np.int64 and (batch["labels"][:, 3] == IGNORE_INDEX).all()
    assert batch["puzzle_identifiers"].dtype == np.int32
    puzzle = np.searchsorted(dataset.puzzle_indices, example_ids(batch), side="right") - 1
    assert (batch["puzzle_identifiers"] == dataset.puzzle_identifiers[puzzle]).all()


def test_an_epoch_takes_one_whole_puzzle_per_group(dataset: PuzzleDataset) -> None:
    total = dataset.num_examples
    sampler = TrainSampler(dataset, total, seed=5)   # larger than any epoch: the first batch holds epoch 0
    ids = example_ids(next(sampler))
    plan = sampler._epoch_plan(0)
    first_epoch = ids[:len(plan.examples)]
    puzzles = np.searchsorted(dataset.puzzle_indices, first_epoch, side="right") - 1
    groups = np.searchsorted(dataset.group_indices, puzzles, side="right") - 1
    runs = [puzzles[0]] + [p for prev, p in zip(puzzles, puzzles[1:], strict=False) if p != prev]
    assert sorted(groups[np.r_[0, np.flatnonzero(np.diff(puzzles)) + 1]]) == list(range(len(GROUPS)))
    assert len(runs) == len(GROUPS)                       # each chosen puzzle's examples are contiguous
    for p in runs:
        assert sorted(first_epoch[puzzles == p]) == list(dataset.examples_of_puzzle(p))


@pytest.mark.parametrize("batch", [1, 4, 7, 40])
def test_puzzles_that_do_not_fit_are_cut_and_filling_goes_on_into_the_next_epoch(dataset, batch) -> None:
    sampler = TrainSampler(dataset, batch, seed=3)
    plans = [sampler._epoch_plan(e) for e in range(30)]
    queue = [p.examples[p.starts[k]:p.starts[k + 1]] for p in plans for k in range(len(p.starts) - 1)]
    for _ in range(6):
        expected: list[int] = []
        while len(expected) < batch:
            expected += queue.pop(0)[:batch - len(expected)].tolist()   # the rest of a cut puzzle is dropped
        assert example_ids(next(sampler)).tolist() == expected


@settings(max_examples=20, deadline=None)
@given(batch=st.integers(1, 9), drawn=st.integers(0, 12), seed=st.integers(0, 3))
def test_resume_gives_exactly_the_uninterrupted_batches(tmp_path_factory, batch, drawn, seed) -> None:
    ds = make_dataset(tmp_path_factory.mktemp("s") / "d", GROUPS)
    straight = TrainSampler(ds, batch, seed)
    for _ in range(drawn):
        next(straight)
    state = straight.state_dict()
    expected = [next(straight) for _ in range(4)]
    resumed = TrainSampler(ds, batch, seed)
    resumed.load_state_dict(state)
    for want in expected:
        got = next(resumed)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
    assert resumed.epoch == pytest.approx(straight.epoch)


def test_ranks_take_contiguous_slices_of_the_same_global_batch(dataset: PuzzleDataset) -> None:
    whole = TrainSampler(dataset, 8, seed=2)
    parts = [TrainSampler(dataset, 8, seed=2, rank=r, world_size=4) for r in range(4)]
    for _ in range(5):
        full = next(whole)
        pieces = [next(p) for p in parts]
        for key in full:
            np.testing.assert_array_equal(np.concatenate([p[key] for p in pieces]), full[key])


def test_progress_and_steps_per_epoch(dataset: PuzzleDataset) -> None:
    sampler = TrainSampler(dataset, 3, seed=0)
    meta = dataset.metadata
    assert sampler.steps_per_epoch == pytest.approx(meta.total_groups * meta.mean_puzzle_examples / 3)
    epochs = [sampler.epoch]
    for _ in range(20):
        next(sampler)
        epochs.append(sampler.epoch)
    assert all(b > a for a, b in zip(epochs, epochs[1:], strict=False)) and epochs[-1] > 2


def test_bad_configurations_and_foreign_states_are_refused(dataset: PuzzleDataset) -> None:
    with pytest.raises(DataError, match="multiple"):
        TrainSampler(dataset, 6, seed=0, rank=0, world_size=4)
    with pytest.raises(DataError, match="rank"):
        TrainSampler(dataset, 8, seed=0, rank=4, world_size=4)
    state = TrainSampler(dataset, 6, seed=0).state_dict()
    with pytest.raises(DataError, match="seed"):
        TrainSampler(dataset, 6, seed=1).load_state_dict(state)
    with pytest.raises(DataError, match="dataset changed"):
        TrainSampler(dataset, 6, seed=0).load_state_dict({**state, "content_hash": "0" * 64})


def test_eval_batches_visit_every_example_once_in_order_with_padding(dataset: PuzzleDataset) -> None:
    batches = list(eval_batches(dataset, 5))
    n = dataset.num_examples
    assert [valid for _, valid in batches] == [5] * (n // 5) + ([n % 5] if n % 5 else [])
    ids = np.concatenate([example_ids(b)[:valid] for b, valid in batches])
    np.testing.assert_array_equal(ids, np.arange(n))
    last, valid = batches[-1]
    assert last["inputs"].shape == (5, SEQ)
    assert (last["inputs"][valid:] == 0).all() and (last["labels"][valid:] == IGNORE_INDEX).all()
    assert (last["puzzle_identifiers"][valid:] == 0).all()


def test_eval_ranks_and_limit(dataset: PuzzleDataset) -> None:
    n = dataset.num_examples
    per_rank = [list(eval_batches(dataset, 6, rank=r, world_size=2)) for r in range(2)]
    ids = np.concatenate([example_ids(b)[:v] for pair in zip(*per_rank, strict=True) for b, v in pair])
    np.testing.assert_array_equal(ids, np.arange(n))
    subset = eval_indices(dataset, 7)
    np.testing.assert_array_equal(subset, eval_indices(dataset, 7))
    assert len(set(subset.tolist())) == 7 and (np.diff(subset) > 0).all()
    limited = np.concatenate([example_ids(b)[:v] for b, v in eval_batches(dataset, 4, limit=7)])
    np.testing.assert_array_equal(limited, subset)
    assert len(eval_indices(dataset, 10 * n)) == n
