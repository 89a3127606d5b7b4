"""Batches for training and evaluation, with the reference sampling semantics.

Training (`TrainSampler`): an epoch is a random permutation of the groups; each group contributes one
random puzzle (one random augmentation), whose examples are appended in random order until the global
batch is full. The rest of a puzzle that does not fit is dropped, and filling continues into the next
epoch, so a batch may span two epochs. Every rank draws the same global batch and keeps its contiguous
slice. All randomness of epoch e comes from a numpy Generator seeded with (seed, e), so the sampler's
state is just (epoch, cursor) and resuming reproduces the uninterrupted sequence exactly.

Batches are dicts of numpy arrays: inputs int32 [B, seq_len], labels int64 with ignored positions set to
-100, puzzle_identifiers int32 [B].
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from hrm.data.format import PuzzleDataset
from hrm.errors import DataError

IGNORE_INDEX = -100
EVAL_SAMPLE_SEED = 0

Batch = dict[str, np.ndarray]


@dataclass
class _EpochPlan:
    """One epoch's examples in sampling order; puzzle k = examples[starts[k]:starts[k+1]]."""

    examples: np.ndarray
    starts: np.ndarray


def _local_slice(global_batch_size: int, rank: int, world_size: int) -> slice:
    if world_size < 1 or not 0 <= rank < world_size:
        raise DataError(f"rank {rank} is outside world size {world_size}")
    if global_batch_size < 1 or global_batch_size % world_size:
        raise DataError(f"global batch size {global_batch_size} must be a positive multiple of "
                        f"the number of processes ({world_size})")
    local = global_batch_size // world_size
    return slice(rank * local, (rank + 1) * local)


def collate(dataset: PuzzleDataset, example_indices: np.ndarray) -> Batch:
    """Rows of `dataset` as a batch (labels equal to ignore_label_id become -100)."""
    order = np.argsort(example_indices, kind="stable")  # sorted reads are kinder to the memory map
    rows = example_indices[order]
    inputs = np.empty((len(rows), dataset.metadata.seq_len), dtype=np.int32)
    labels = np.empty((len(rows), dataset.metadata.seq_len), dtype=np.int64)
    inputs[order] = dataset.inputs[rows]
    labels[order] = dataset.labels[rows]
    if dataset.metadata.ignore_label_id is not None:
        labels[labels == dataset.metadata.ignore_label_id] = IGNORE_INDEX
    puzzle_of_example = np.searchsorted(dataset.puzzle_indices, example_indices, side="right") - 1
    identifiers = dataset.puzzle_identifiers[puzzle_of_example].astype(np.int32)
    return {"inputs": inputs, "labels": labels, "puzzle_identifiers": identifiers}


class TrainSampler:
    """Endless iterator of training batches; see the module docstring for the semantics."""

    def __init__(self, dataset: PuzzleDataset, global_batch_size: int, seed: int, rank: int = 0,
                 world_size: int = 1) -> None:
        if dataset.num_groups < 1:
            raise DataError(f"dataset {dataset.root}/{dataset.split} has no groups")
        self.dataset = dataset
        self.global_batch_size = global_batch_size
        self.seed = seed
        self.rank, self.world_size = rank, world_size
        self.local = _local_slice(global_batch_size, rank, world_size)
        self._epoch = 0
        self._cursor = 0          # next puzzle of the current epoch's plan
        self._plan: _EpochPlan | None = None
        self.batches_drawn = 0

    # --- progress ------------------------------------------------------------------------------------

    @property
    def epoch(self) -> float:
        """Epochs completed so far, with the current one as a fraction of its groups."""
        return self._epoch + self._cursor / self.dataset.num_groups

    @property
    def steps_per_epoch(self) -> float:
        meta = self.dataset.metadata
        return meta.total_groups * meta.mean_puzzle_examples / self.global_batch_size

    # --- resume --------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self._epoch, "cursor": self._cursor, "seed": self.seed,
                "global_batch_size": self.global_batch_size, "batches_drawn": self.batches_drawn,
                "content_hash": self.dataset.content_hash}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("seed", "global_batch_size"):
            if state[key] != getattr(self, key):
                now = getattr(self, key)
                raise DataError(f"cannot resume the sampler: {key} was {state[key]}, now {now}")
        saved_hash = state.get("content_hash")
        if saved_hash and self.dataset.content_hash and saved_hash != self.dataset.content_hash:
            raise DataError("cannot resume the sampler: the dataset changed since the checkpoint",
                            hint="rebuild the original dataset or start a new run")
        self._epoch, self._cursor = int(state["epoch"]), int(state["cursor"])
        self.batches_drawn = int(state.get("batches_drawn", 0))
        self._plan = None

    # --- sampling ------------------------------------------------------------------------------------

    def _epoch_plan(self, epoch: int) -> _EpochPlan:
        ds = self.dataset
        rng = np.random.default_rng([self.seed, epoch])
        groups = rng.permutation(ds.num_groups)
        first = ds.group_indices[groups].astype(np.int64)
        count = ds.group_indices[groups + 1].astype(np.int64) - first
        puzzles = first + np.floor(rng.random(len(groups)) * count).astype(np.int64)
        starts = ds.puzzle_indices[puzzles].astype(np.int64)
        sizes = ds.puzzle_indices[puzzles + 1].astype(np.int64) - starts
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        owner = np.repeat(np.arange(len(puzzles)), sizes)
        examples = starts[owner] + (np.arange(offsets[-1]) - offsets[owner])
        # Shuffle examples within each puzzle: sort by (puzzle position, random key).
        order = np.lexsort((rng.random(len(examples)), owner))
        return _EpochPlan(examples=examples[order], starts=offsets)

    def _current_plan(self) -> _EpochPlan:
        if self._plan is None:
            self._plan = self._epoch_plan(self._epoch)
        return self._plan

    def _next_global_indices(self) -> np.ndarray:
        chosen: list[np.ndarray] = []
        filled = 0
        while filled < self.global_batch_size:
            plan = self._current_plan()
            if self._cursor >= len(plan.starts) - 1:
                self._epoch, self._cursor, self._plan = self._epoch + 1, 0, None
                continue
            lo, hi = plan.starts[self._cursor], plan.starts[self._cursor + 1]
            take = min(hi - lo, self.global_batch_size - filled)
            chosen.append(plan.examples[lo:lo + take])
            filled += take
            self._cursor += 1
        return np.concatenate(chosen)

    def __iter__(self) -> Iterator[Batch]:
        return self

    def __next__(self) -> Batch:
        indices = self._next_global_indices()
        self.batches_drawn += 1
        return collate(self.dataset, indices[self.local])


def eval_indices(dataset: PuzzleDataset, limit: int | None = None) -> np.ndarray:
    """Example indices an evaluation visits: all of them, or with `limit` a fixed-seed (0) uniform sample
    of `limit` examples kept in dataset order (the same limit always picks the same examples)."""
    n = dataset.num_examples
    if limit is None or limit >= n:
        return np.arange(n, dtype=np.int64)
    if limit < 1:
        raise DataError(f"evaluation limit must be at least 1, got {limit}")
    rng = np.random.default_rng(EVAL_SAMPLE_SEED)
    return np.sort(rng.choice(n, size=limit, replace=False)).astype(np.int64)


def _pad(batch: Batch, size: int, dataset: PuzzleDataset) -> Batch:
    missing = size - len(batch["inputs"])
    if missing == 0:
        return batch
    meta = dataset.metadata
    pad_rows = np.full((missing, meta.seq_len), meta.pad_id, dtype=np.int32)
    return {
        "inputs": np.concatenate([batch["inputs"], pad_rows]),
        "labels": np.concatenate([batch["labels"], np.full((missing, meta.seq_len), IGNORE_INDEX, np.int64)]),
        "puzzle_identifiers": np.concatenate([batch["puzzle_identifiers"],
                                              np.full(missing, meta.blank_identifier_id, np.int32)]),
    }


def eval_batches(dataset: PuzzleDataset, batch_size: int, limit: int | None = None, rank: int = 0,
                 world_size: int = 1) -> Iterator[tuple[Batch, int]]:
    """Sequential evaluation batches as (batch, n_valid): `batch_size` is the global batch; each rank gets
    its contiguous slice, padded to batch_size // world_size rows (inputs pad_id, labels -100,
    identifiers blank); the first n_valid rows are real. See `eval_indices` for `limit`."""
    local = _local_slice(batch_size, rank, world_size)
    local_size = local.stop - local.start
    indices = eval_indices(dataset, limit)
    for start in range(0, len(indices), batch_size):
        mine = indices[start:start + batch_size][local]
        yield _pad(collate(dataset, mine), local_size, dataset), len(mine)
