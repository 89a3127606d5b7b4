"""Evaluation: per-segment curve, adaptive halting, padding, deterministic subsets, ARC voting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hrm.config import get_preset
from hrm.data.format import DatasetMetadata, DatasetWriter, PuzzleDataset
from hrm.model import HRM, Carry
from hrm.tasks.arc import ArcTransform, encode_grid, variant_name
from hrm.train.evaluate import ArcVotes, evaluate, nearest_path_labels

torch.set_num_threads(1)
SEQ, VOCAB = 6, 5


class ScriptedModel(nn.Module):
    """Stands in for HRM: example k (its first input token - 2) becomes right at segment correct_at[k]
    and its halt rule fires from segment halt_at[k] on (0 = never)."""

    def __init__(self, correct_at: list[int], halt_at: list[int], segments: int) -> None:
        super().__init__()
        self.correct_at, self.halt_at = correct_at, halt_at
        self.config = get_preset("hrm-sudoku-tiny").with_overrides(halt_max_steps=segments)
        self.anchor = nn.Parameter(torch.zeros(1))

    @property
    def device(self) -> torch.device:
        return self.anchor.device

    def initial_carry(self, batch: dict) -> Carry:
        n = batch["inputs"].shape[0]
        return Carry(torch.zeros(n, 1, 1), torch.zeros(n, 1, 1), torch.zeros(n, dtype=torch.int32),
                     torch.ones(n, dtype=torch.bool), batch)

    def forward(self, carry: Carry, batch: dict, max_steps: int | None = None) -> tuple[Carry, dict]:
        steps = carry.steps + 1
        k = (batch["inputs"][:, 0] - 2).long()
        segment = int(steps[0])
        right = torch.tensor([0 < self.correct_at[i] <= segment if i >= 0 else False for i in k.tolist()])
        fires = torch.tensor([0 < self.halt_at[i] <= segment if i >= 0 else False for i in k.tolist()])
        labels = batch["labels"].clamp_min(0)
        preds = torch.where(right[:, None], labels, (labels + 1) % VOCAB)
        logits = torch.nn.functional.one_hot(preds, VOCAB).float()
        q_halt = torch.where(fires, 3.0, -3.0)
        outputs = {"logits": logits, "q_halt_logits": q_halt, "q_continue_logits": torch.zeros_like(q_halt)}
        return Carry(carry.z_H, carry.z_L, steps, steps >= (max_steps or self.config.halt_max_steps), batch), outputs

    def wants_to_halt(self, q_logits: torch.Tensor) -> torch.Tensor:
        return q_logits[:, 0] > q_logits[:, 1]


def _scripted_dataset(root: Path, n: int) -> PuzzleDataset:
    inputs = np.full((n, SEQ), 3, dtype=np.uint8)
    inputs[:, 0] = np.arange(n) + 2                     # the example's index, readable by the stub
    labels = (inputs % (VOCAB - 1)) + 1
    with DatasetWriter(root) as writer:
        w = writer.split("test", SEQ)
        w.add_single_example_groups(inputs, labels, np.ones(n, dtype=np.int64), identifier=1)
        w.finish(DatasetMetadata(vocab_size=VOCAB, seq_len=SEQ, num_puzzle_identifiers=2, total_groups=0,
                                 mean_puzzle_examples=1.0, task="sudoku", name="scripted"))
    return PuzzleDataset.load(root, "test")


def test_per_segment_curve_and_adaptive_halting(tmp_path: Path) -> None:
    dataset = _scripted_dataset(tmp_path / "d", 4)
    model = ScriptedModel(correct_at=[1, 2, 3, 0], halt_at=[1, 3, 2, 0], segments=3)
    result = evaluate(model, dataset, batch_size=3)       # 2 batches, the second padded with 2 blank rows
    assert result.count == 4
    assert result.segment_exact_accuracy == pytest.approx([0.25, 0.5, 0.75])
    assert result.exact_accuracy == pytest.approx(0.75)
    # example 0 halts at 1 (right), 1 at 3 (right), 2 at 2 (not yet right), 3 never halts (never right)
    assert result.adaptive_exact_accuracy == pytest.approx(0.5)
    assert result.mean_segments == pytest.approx((1 + 3 + 2 + 3) / 4)
    assert result.token_accuracy == pytest.approx(0.75)
    assert result.q_halt_accuracy == pytest.approx(1.0)  # q_halt >= 0 exactly for the right ones (0, 1, 2)
    assert result.complete and result.arc is None


def test_more_segments_than_training_and_early_stop(tmp_path: Path) -> None:
    dataset = _scripted_dataset(tmp_path / "d", 4)
    model = ScriptedModel(correct_at=[1, 2, 3, 5], halt_at=[0, 0, 0, 0], segments=3)
    result = evaluate(model, dataset, batch_size=4, segments=5)
    assert result.segment_exact_accuracy == pytest.approx([0.25, 0.5, 0.75, 0.75, 1.0])
    assert result.mean_segments == 5
    stopped = evaluate(model, dataset, batch_size=2, should_stop=lambda: True)
    assert not stopped.complete and stopped.count == 0


def test_limit_is_a_deterministic_subset_and_mode_is_restored(tmp_path: Path) -> None:
    from tests.test_train_support import make_copy_dataset

    dataset = PuzzleDataset.load(make_copy_dataset(tmp_path / "d", n_test=40), "test")
    torch.manual_seed(0)
    model = HRM(get_preset("hrm-sudoku-tiny").with_overrides(hidden_size=32, num_heads=2, puzzle_emb_ndim=32,
                                                             halt_max_steps=2, num_puzzle_identifiers=2)).train()
    first = evaluate(model, dataset, batch_size=8, limit=13)
    second = evaluate(model, dataset, batch_size=5, limit=13)
    assert model.training
    assert first.count == second.count == 13
    assert first.token_accuracy == pytest.approx(second.token_accuracy, abs=1e-6)
    assert first.exact_accuracy == first.segment_exact_accuracy[-1]


# --------------------------------------------------------------------------------------------------
# ARC voting


def _arc_dataset(root: Path, tasks: dict[str, list[tuple[np.ndarray, np.ndarray]]],
                 transforms: list[ArcTransform]) -> PuzzleDataset:
    names = ["<blank>"]
    with DatasetWriter(root) as writer:
        w = writer.split("test", 900)
        for task_id, pairs in tasks.items():
            puzzles = []
            for t in transforms:
                names.append(variant_name(task_id, t) if t.dihedral or t.colours != tuple(range(10)) else task_id)
                inputs = np.stack([encode_grid(t.apply(i)) for i, _ in pairs])
                labels = np.stack([encode_grid(t.apply(o)) for _, o in pairs])
                puzzles.append((len(names) - 1, inputs, labels))
            w.add_group(puzzles)
        w.finish(DatasetMetadata(vocab_size=12, seq_len=900, num_puzzle_identifiers=len(names), total_groups=0,
                                 mean_puzzle_examples=1.0, task="arc", name="arc-test"))
        writer.write_identifiers(names)
    return PuzzleDataset.load(root, "test")


IDENTITY = ArcTransform(0, tuple(range(10)))
TRANSFORMS = [IDENTITY, ArcTransform(1, (0, 2, 1, 3, 4, 5, 6, 7, 8, 9)), ArcTransform(4, tuple(range(10))),
              ArcTransform(6, (0, 9, 8, 7, 6, 5, 4, 3, 2, 1))]


def test_arc_votes_rank_by_count_then_confidence_all_or_nothing(tmp_path: Path) -> None:
    g = np.array([[1, 2], [3, 4], [0, 5]])
    right, wrong, other = np.array([[7, 7, 1]]), np.array([[8]]), np.array([[2, 2], [2, 2]])
    tasks = {"aaa": [(g, right)], "bbb": [(g, right), (g.T.copy(), right.T.copy())]}
    dataset = _arc_dataset(tmp_path / "arc", tasks, TRANSFORMS)
    votes = ArcVotes(dataset)
    # aaa: the right answer gets 2 votes, a wrong one 2 votes with higher confidence -> rank 2
    # bbb input 0: right 3 votes (rank 1); bbb input 1: never right -> bbb fails at every K
    answers = {"aaa": [(right, 0.1), (right, 0.2), (wrong, 0.9), (wrong, 0.8)],
               "bbb": [(right, 0.5), (right, 0.5), (right, 0.5), (other, 0.9)]}
    rows, preds, qs = [], [], []
    for puzzle in range(dataset.num_puzzles):
        name = dataset.identifier_name(int(dataset.puzzle_identifiers[puzzle]))
        task_id = name.split("_")[0]
        t = TRANSFORMS[[n for n in dataset.identifiers if n.split("_")[0] == task_id].index(name)]
        for j, example in enumerate(dataset.examples_of_puzzle(puzzle)):
            answer, q = answers[task_id][TRANSFORMS.index(t)]
            if task_id == "bbb" and j == 1:
                answer = other
            rows.append(example)
            preds.append(encode_grid(t.apply(answer)))
            qs.append(q)
    votes.add(np.array(rows), np.stack(preds), np.array(qs))
    result = votes.result(ks=(1, 2, 10))
    assert (result["tasks"], result["test_inputs"]) == (2, 3)
    assert result["pass@1"] == 0.0 and result["pass@2"] == 0.5 and result["pass@10"] == 0.5
    merged = ArcVotes.merge_all([votes.state(), votes.state()], dataset)   # two ranks' halves pool their votes
    assert merged.result(ks=(2,))["pass@2"] == 0.5


def test_evaluate_with_arc_voting_runs_on_a_real_model(tmp_path: Path) -> None:
    g = np.array([[1, 2], [3, 4]])
    dataset = _arc_dataset(tmp_path / "arc", {"ccc": [(g, g.T.copy())]}, TRANSFORMS[:2])
    torch.manual_seed(0)
    model = HRM(get_preset("hrm-arc-tiny").with_overrides(hidden_size=32, num_heads=2, puzzle_emb_ndim=32,
                                                          halt_max_steps=2, num_puzzle_identifiers=3))
    result = evaluate(model, dataset, batch_size=4, arc_voting=True)
    assert result.count == 2 and result.arc is not None
    assert result.arc["tasks"] == 1 and set(result.arc) >= {"pass@1", "pass@2", "pass@1000"}


def test_nearest_path_labels_follow_the_models_shortest_path_and_keep_padding_unlabelled() -> None:
    from hrm.data.sampler import IGNORE_INDEX
    from hrm.tasks.maze import GOAL, OPEN, PATH, START, WALL

    # S (0, 0) and G (1, 1): two shortest paths, through (0, 1) or through (1, 0)
    grid = np.array([[START, OPEN, WALL], [OPEN, GOAL, WALL], [WALL, WALL, WALL]])
    inputs = torch.from_numpy(np.stack([grid.ravel(), np.zeros(9, dtype=np.int64)]))
    labels = inputs.clone()
    labels[0, 1] = PATH                                   # the label takes (0, 1)
    labels[1] = IGNORE_INDEX                              # an evaluation padding row
    logits = torch.zeros(2, 9, 6)
    logits[0, 3, PATH] = 5.0                              # the model draws (1, 0) instead
    targets = nearest_path_labels(inputs, labels, logits)
    want = inputs[0].clone()
    want[3] = PATH
    assert torch.equal(targets[0], want)
    assert (targets[1] == IGNORE_INDEX).all()
    assert torch.equal(nearest_path_labels(inputs, labels, torch.zeros(2, 9, 6))[0], labels[0])
