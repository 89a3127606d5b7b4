"""Evaluation shared by training and `hrm eval` (the reference's pretrain.py evaluate and ARC voting notebook).

Every example runs the ACT loop in eval mode, which is exactly `halt_max_steps` segments (as the
reference). Reported:
    exact_accuracy            all labelled tokens right after the last segment (the headline number)
    token_accuracy            per-sequence fraction of right tokens, averaged over sequences
    segment_exact_accuracy    exact accuracy after each segment (the per-segment curve)
    adaptive_exact_accuracy   exact accuracy when each example stops at the first segment where the
                              model's halt rule fires (HRM: q_halt > q_continue; TRM: q_halt > 0)
    mean_segments             segments used under that adaptive rule
    q_halt_accuracy           (q_halt >= 0) agrees with exactness at the last segment
ARC adds pass@K with augmentation voting: predictions of all variants of a task are mapped back to
the original frame (variant names in identifiers.json), identical grids pooled, and candidates ranked by
vote count, then mean sigmoid(q_halt); a task passes at K when each of its test inputs has the right
answer among the top K (all-or-nothing per task, as the reference notebook).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from hrm.data.format import PuzzleDataset
from hrm.data.sampler import IGNORE_INDEX, eval_batches, eval_indices
from hrm.errors import DataError
from hrm.model import HRM
from hrm.tasks.arc import crop_tokens, parse_variant_name
from hrm.tasks.maze import OPEN, PATH, nearest_shortest_paths
from hrm.train import distributed as D

PASS_KS = (1, 2, 10, 100, 1000)


@dataclass
class EvalResult:
    count: int
    exact_accuracy: float
    token_accuracy: float
    segment_exact_accuracy: list[float]
    adaptive_exact_accuracy: float
    adaptive_token_accuracy: float
    mean_segments: float
    q_halt_accuracy: float
    halt_max_steps: int
    seconds: float
    complete: bool = True                    # False when evaluation was stopped early
    arc: dict[str, Any] | None = None        # pass@K figures for ARC
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def metrics(self, prefix: str = "eval/") -> dict[str, float]:
        """Flat numbers for metrics.jsonl."""
        names = ("exact_accuracy", "token_accuracy", "adaptive_exact_accuracy", "mean_segments",
                 "q_halt_accuracy")
        out = {f"{prefix}{k}": getattr(self, k) for k in names}
        out[f"{prefix}count"] = self.count
        out[f"{prefix}segment_exact_accuracy"] = self.segment_exact_accuracy
        for key, value in (self.arc or {}).items():
            if key.startswith("pass@"):
                out[f"{prefix}arc_{key}"] = value
        return out


def halt_fires(model: HRM, outputs: dict) -> torch.Tensor:
    """The model's own halt rule on this segment's Q logits."""
    q = outputs["q_halt_logits"]
    if outputs.get("q_continue_logits") is not None:
        q = torch.stack([q, outputs["q_continue_logits"]], dim=-1)
    else:
        q = q[:, None]
    return model.wants_to_halt(q)


Targets = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def nearest_path_labels(inputs: torch.Tensor, labels: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Maze targets (TrainConfig.targets="nearest"): for each sequence, the shortest S-to-G path with the
    largest summed PATH-over-OPEN logit, instead of the label's. A model that draws any shortest path is
    then exact. Unlabelled tokens (evaluation padding) stay unlabelled."""
    side = math.isqrt(inputs.shape[-1])
    grids = inputs.detach().cpu().numpy().reshape(-1, side, side).astype(np.int64)
    scores = (logits[..., PATH] - logits[..., OPEN]).detach().float().cpu().numpy().reshape(grids.shape)
    nearest = torch.from_numpy(nearest_shortest_paths(grids, scores).reshape(inputs.shape)).to(labels)
    return torch.where(labels == IGNORE_INDEX, labels, nearest)


def to_device(batch: dict[str, np.ndarray], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(v).to(device, non_blocking=True) for k, v in batch.items()}


def evaluate(model: HRM, dataset: PuzzleDataset, batch_size: int, limit: int | None = None,
             env: D.DistEnv | None = None, progress: Callable[[int, int], None] | None = None,
             should_stop: Callable[[], bool] | None = None, arc_voting: bool = False,
             segments: int | None = None, targets: Targets | None = None) -> EvalResult:
    """Evaluate `model` on `dataset` (every rank calls this; each takes its slice of every batch).

    progress(done, total) is called on every rank after each batch with global example counts.
    should_stop() is polled between batches (it must give the same answer on every rank).
    segments: segments per example (default the model's halt_max_steps, as in training).
    targets: what each segment's answer is judged against, from (inputs, labels, logits); default the labels.
    """
    rank, world = (env.rank, env.world_size) if env else (0, 1)
    device = model.device
    segments = segments or model.config.halt_max_steps
    batch_size = max(world, batch_size - batch_size % world)
    indices = eval_indices(dataset, limit)
    local = batch_size // world
    votes = ArcVotes(dataset) if arc_voting else None
    # count, token acc, exact, adaptive exact, adaptive token acc, segments used, q_halt acc, per segment
    sums = torch.zeros(7 + segments, dtype=torch.float64, device=device)
    started, complete, done = time.perf_counter(), True, 0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start, (batch_np, n_valid) in zip(range(0, len(indices), batch_size),
                                                  eval_batches(dataset, batch_size, limit, rank, world),
                                                  strict=True):
                if should_stop is not None and should_stop():
                    complete = False
                    break
                batch = to_device(batch_np, device)
                mine = indices[start:start + batch_size][rank * local:rank * local + n_valid]
                sums += _evaluate_batch(model, batch, segments, votes, mine, targets)
                done = min(len(indices), start + batch_size)
                if progress is not None:
                    progress(done, len(indices))
    finally:
        model.train(was_training)
    D.all_reduce_sum(sums)
    s = sums.tolist()
    count = max(s[0], 1.0)
    arc = None
    if votes is not None:
        merged = ArcVotes.merge_all(D.gather_objects(votes.state()), dataset)
        arc = merged.result() if rank == 0 else None
    return EvalResult(count=int(s[0]), token_accuracy=s[1] / count, exact_accuracy=s[2] / count,
                      adaptive_exact_accuracy=s[3] / count, adaptive_token_accuracy=s[4] / count,
                      mean_segments=s[5] / count, q_halt_accuracy=s[6] / count,
                      segment_exact_accuracy=[v / count for v in s[7:]], halt_max_steps=segments,
                      seconds=time.perf_counter() - started, complete=complete, arc=arc)


def _evaluate_batch(model: HRM, batch: dict[str, torch.Tensor], segments: int, votes: ArcVotes | None,
                    example_ids: np.ndarray, targets: Targets | None = None) -> torch.Tensor:
    labels = batch["labels"]
    mask = labels != IGNORE_INDEX
    counts = mask.sum(-1)
    valid = counts > 0                                     # padding rows have no labels
    n = labels.shape[0]
    decided = torch.zeros(n, dtype=torch.bool, device=labels.device)
    adaptive_exact = torch.zeros(n, dtype=torch.bool, device=labels.device)
    adaptive_token = torch.zeros(n, dtype=torch.float64, device=labels.device)
    used = torch.full((n,), segments, dtype=torch.float64, device=labels.device)
    per_segment = torch.zeros(segments, dtype=torch.float64, device=labels.device)

    carry = model.initial_carry(batch)
    for seg in range(segments):
        carry, outputs = model(carry, batch, max_steps=segments)
        preds = outputs["logits"].argmax(-1)
        wanted = targets(batch["inputs"], labels, outputs["logits"]) if targets is not None else labels
        correct = mask & (preds == wanted)
        token_acc = correct.sum(-1).double() / counts.clamp_min(1)
        exact = correct.sum(-1) == counts
        per_segment[seg] = (exact & valid).sum()
        fires = halt_fires(model, outputs) if seg < segments - 1 else torch.ones_like(decided)
        newly = fires & ~decided
        adaptive_exact |= newly & exact
        adaptive_token = torch.where(newly, token_acc, adaptive_token)
        used = torch.where(newly, float(seg + 1), used)
        decided |= fires

    q_right = (outputs["q_halt_logits"] >= 0) == exact
    v = valid.double()
    sums = torch.stack([v.sum(), (token_acc * v).sum(), (exact & valid).sum().double(),
                        (adaptive_exact & valid).sum().double(), (adaptive_token * v).sum(), (used * v).sum(),
                        (q_right & valid).sum().double()])
    if votes is not None:
        k = len(example_ids)
        votes.add(example_ids, preds[:k].to(torch.uint8).cpu().numpy(),
                  torch.sigmoid(outputs["q_halt_logits"][:k].float()).cpu().numpy())
    return torch.cat([sums, per_segment])


# ----------------------------------------------------------------------------------------------------
# ARC voting


class ArcVotes:
    """Votes per (task, test input), built incrementally so predictions need not be kept in memory.

    A test input is identified by its grid after undoing the variant's augmentation, so the variants of
    one test input pool their votes. Keys of candidates are (shape, bytes) of the un-augmented grid.
    """

    def __init__(self, dataset: PuzzleDataset) -> None:
        if dataset.identifiers is None:
            raise DataError(f"{dataset.root} has no identifiers.json, so ARC variants cannot be grouped",
                            hint="rebuild the ARC dataset with `hrm data build`")
        self.dataset = dataset
        self.votes: dict[tuple[str, bytes], dict[bytes, list[float]]] = defaultdict(dict)
        self.truth: dict[tuple[str, bytes], bytes] = {}
        self._variants: dict[int, tuple[str, Any]] = {}

    @staticmethod
    def _key(grid: np.ndarray) -> bytes:
        grid = np.ascontiguousarray(grid, dtype=np.uint8)
        return bytes([grid.shape[0], grid.shape[1] if grid.ndim == 2 else 0]) + grid.tobytes()

    def _variant(self, identifier: int) -> tuple[str, Any]:
        if identifier not in self._variants:
            self._variants[identifier] = parse_variant_name(self.dataset.identifier_name(identifier))
        return self._variants[identifier]

    def add(self, example_ids: np.ndarray, preds: np.ndarray, q_halt: np.ndarray) -> None:
        ds = self.dataset
        puzzles = np.searchsorted(ds.puzzle_indices, example_ids, side="right") - 1
        for row, (example, puzzle) in enumerate(zip(example_ids, puzzles, strict=True)):
            identifier = int(ds.puzzle_identifiers[puzzle])
            if identifier == ds.metadata.blank_identifier_id:
                continue
            task_id, transform = self._variant(identifier)
            question = self._key(transform.invert(crop_tokens(ds.inputs[example])))
            slot = (task_id, question)
            if slot not in self.truth:
                self.truth[slot] = self._key(transform.invert(crop_tokens(ds.labels[example])))
            answer = self._key(transform.invert(crop_tokens(preds[row])))
            entry = self.votes[slot].setdefault(answer, [0.0, 0.0])
            entry[0] += 1
            entry[1] += float(q_halt[row])

    def state(self) -> dict[str, Any]:
        return {"votes": dict(self.votes), "truth": self.truth}

    @classmethod
    def merge_all(cls, states: list[Any], dataset: PuzzleDataset) -> ArcVotes:
        merged = cls(dataset)
        for state in states:
            merged.truth.update(state["truth"])
            for slot, candidates in state["votes"].items():
                mine = merged.votes[slot]
                for answer, (count, q_sum) in candidates.items():
                    entry = mine.setdefault(answer, [0.0, 0.0])
                    entry[0] += count
                    entry[1] += q_sum
        return merged

    def ranks(self) -> dict[tuple[str, bytes], int | None]:
        """0-based rank of the true answer among each test input's candidates (None: never predicted)."""
        out: dict[tuple[str, bytes], int | None] = {}
        for slot, candidates in self.votes.items():
            ordered = sorted(candidates.items(), key=lambda kv: (kv[1][0], kv[1][1] / kv[1][0]), reverse=True)
            keys = [answer for answer, _ in ordered]
            truth = self.truth.get(slot)
            out[slot] = keys.index(truth) if truth in keys else None
        return out

    def result(self, ks: tuple[int, ...] = PASS_KS) -> dict[str, Any]:
        per_task: dict[str, list[int | None]] = defaultdict(list)
        for (task_id, _), rank in self.ranks().items():
            per_task[task_id].append(rank)
        n = max(len(per_task), 1)
        out: dict[str, Any] = {"tasks": len(per_task), "test_inputs": sum(len(r) for r in per_task.values())}
        for k in ks:
            passed = sum(all(r is not None and r < k for r in ranks) for ranks in per_task.values())
            out[f"pass@{k}"] = passed / n
        return out
