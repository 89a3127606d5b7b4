"""The human-technique grader, published-like puzzles, fingerprints and the disjoint grade test sets."""

from __future__ import annotations

import collections
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.data import build
from hrm.data import sudoku_gen as gen
from hrm.data import sudoku_grade as grading
from hrm.data.build import BuildOptions, build_dataset
from hrm.data.format import PuzzleDataset


@functools.lru_cache(maxsize=1)
def sample() -> list[gen.Generated]:
    return gen.published_many(120, seed=11)


def test_published_puzzles_are_unique_with_published_givens() -> None:
    givens = []
    for made in sample():
        result = gen.analyse(made.question)
        assert result.unique
        np.testing.assert_array_equal(result.solutions[0], made.solution)
        givens.append(np.count_nonzero(made.question))
    assert min(givens) >= 17 and max(givens) <= gen.PUBLISHED_MAX_GIVENS
    assert np.mean(np.array(givens) > 30) > 0.2          # not only minimal puzzles


def test_add_givens_keeps_the_solution_and_reaches_the_target(rng) -> None:
    made = sample()[0]
    more = gen.add_givens(made.question, made.solution, rng, 40)
    assert np.count_nonzero(more) == 40
    kept = made.question != 0
    np.testing.assert_array_equal(more[kept], made.question[kept])
    np.testing.assert_array_equal(more[more != 0], made.solution[more != 0])


def test_every_technique_keeps_the_true_digit_and_every_grade_occurs() -> None:
    """Soundness: after every step of the ladder each open cell still has its true digit, and every
    placed digit is the solution's."""
    levels = collections.Counter()
    for made in sample():
        board = grading._Board(gen._values(made.question))
        truth = made.solution.reshape(81) - 1
        while not board.solved:
            step = next((level for _, level, technique in grading.LADDER if technique(board)), None)
            if step is None:
                break
            for cell in range(81):
                if board.values[cell]:
                    assert board.values[cell] - 1 == truth[cell]
                else:
                    assert board.cands[cell] >> truth[cell] & 1
        levels[grading.grade(made.question).level] += 1
    assert set(levels) == {1, 2, 3, 4}, levels


def test_a_grade_means_the_lower_ladders_get_stuck() -> None:
    for made in sample()[:60]:
        level = grading.grade(made.question).level
        if level < grading.UNSOLVABLE:
            assert grading.grade(made.question, max_level=level).level == level
            solved = np.array(grading.grade(made.question).values).reshape(9, 9)
            np.testing.assert_array_equal(solved, made.solution)
        if level > 1:
            assert grading.grade(made.question, max_level=level - 1).level == grading.UNSOLVABLE


def test_a_full_grid_and_a_singles_puzzle() -> None:
    made = sample()[0]
    assert grading.grade(made.solution).level == 1
    nearly = made.solution.copy()
    nearly[0, :3] = 0
    assert grading.grade(nearly).level == 1 and grading.grade(nearly).uses


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 119), st.integers(0, 2**32 - 1))
def test_fingerprints_are_shared_by_every_symmetry_variant(index: int, seed: int) -> None:
    made = sample()[index]
    cells, digits = gen.random_shuffle_maps(np.random.default_rng(seed), 1)
    variant = gen.apply_shuffles(made.question.reshape(1, 81), cells, digits)[0]
    assert gen.fingerprint(variant) == gen.fingerprint(made.question)


def test_fingerprints_tell_different_puzzles_apart() -> None:
    prints = {gen.fingerprint(m.question) for m in sample()}
    assert len(prints) == len(sample())


def test_grade_sets_have_their_grades_and_blanks() -> None:
    sets = build.sudoku_grade_sets(6)
    for level, records in sets.items():
        assert len(records) == 6
        for question in records.questions:
            assert grading.grade(question).level == level
            if level == 1:
                assert build.G1_GIVENS[0] <= np.count_nonzero(question) <= build.G1_GIVENS[1]


def test_training_builds_drop_variants_of_test_puzzles(monkeypatch, tmp_path) -> None:
    """A planted symmetry variant of a grade-set puzzle never reaches the training split."""
    test_puzzle = build.sudoku_grade_sets(4)[3]
    cells, digits = gen.random_shuffle_maps(np.random.default_rng(3), 1)
    planted_q = gen.apply_shuffles(test_puzzle.questions[:1].reshape(1, 81).astype(np.int64), cells, digits)
    planted_a = gen.apply_shuffles(test_puzzle.answers[:1].reshape(1, 81).astype(np.int64), cells, digits)
    planted = gen.Generated(planted_q.reshape(9, 9), planted_a.reshape(9, 9), 0)
    real = gen.published_many

    def with_plant(count: int, seed: int, **kwargs: object) -> list[gen.Generated]:
        return [planted, *real(count - 1, seed)]

    monkeypatch.setattr(gen, "published_many", with_plant)
    build_dataset("sudoku-published", tmp_path / "pub", BuildOptions(limit=4, num_aug=0))
    train = PuzzleDataset.load(tmp_path / "pub", "train")
    assert train.num_examples == 3
    planted_tokens = planted_q.astype(np.uint8) + 1
    assert not any(np.array_equal(row, planted_tokens[0]) for row in np.asarray(train.inputs))


def test_built_training_and_grade_sets_share_no_variant(tmp_path) -> None:
    build_dataset("sudoku-published", tmp_path / "pub", BuildOptions(limit=40, num_aug=1))
    train = PuzzleDataset.load(tmp_path / "pub", "train")
    train_prints = {gen.fingerprint(row.astype(np.int64) - 1) for row in np.asarray(train.inputs)}
    for name in ("sudoku-g1", "sudoku-g2", "sudoku-g3"):
        build_dataset(name, tmp_path / name, BuildOptions(limit=8))
        test = PuzzleDataset.load(tmp_path / name, "test")
        assert not train_prints & {gen.fingerprint(row.astype(np.int64) - 1) for row in np.asarray(test.inputs)}


@pytest.mark.parametrize("collection", ["17clue", "magictour", "forum1106"])
def test_hardest_collections_share_no_variant_with_generated_training(shared_data, collection) -> None:
    evals = build.sudoku_eval_sets()
    records = {"17clue": evals.clue17, "magictour": evals.magictour, "forum1106": evals.forum1106}[collection]
    test_prints = {gen.fingerprint(q) for q in records.questions}
    assert not test_prints & {gen.fingerprint(m.question) for m in sample()}
