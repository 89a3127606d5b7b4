"""Sudoku solver, rating, generator, shuffles and mutator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.data import sudoku_gen as gen
from hrm.data.sources import read_sudoku_source
from hrm.tasks.sudoku import SudokuTransform, solution_violations


def is_valid_solution(question: np.ndarray, answer: np.ndarray) -> bool:
    return not solution_violations(np.asarray(question).reshape(9, 9), np.asarray(answer).reshape(9, 9))


@pytest.fixture(scope="module")
def puzzles5(shared_data):
    return read_sudoku_source("puzzles5")


@pytest.mark.parametrize("collection", ["puzzles5", "magictour", "17clue", "forum1106"])
def test_solver_finds_the_stored_unique_solution(shared_data, collection) -> None:
    records = read_sudoku_source(collection)
    for i in range(0, len(records), max(1, len(records) // 10)):
        result = gen.analyse(records.questions[i])
        assert result.unique
        np.testing.assert_array_equal(result.solutions[0], records.answers[i])


def test_rating_matches_the_rating_column_on_most_puzzles(puzzles5) -> None:
    ratings = [gen.rate(puzzles5.questions[i]) for i in range(60)]
    agree = np.mean(np.array(ratings) == puzzles5.ratings[:60])
    assert agree >= 0.9
    assert np.corrcoef(ratings, puzzles5.ratings[:60])[0, 1] > 0.95


def test_a_removed_clue_that_admits_two_solutions_is_detected(puzzles5) -> None:
    question, answer = puzzles5.questions[0].reshape(81).copy(), puzzles5.answers[0]
    for cell in np.flatnonzero(question):
        candidate = question.copy()
        candidate[cell] = 0
        result = gen.analyse(candidate, limit=2)
        if result.count == 2:
            break
    else:
        pytest.fail("every single-clue removal kept the puzzle unique")
    first, second = result.solutions
    assert not np.array_equal(first, second)
    assert is_valid_solution(candidate, first) and is_valid_solution(candidate, second)
    assert any(np.array_equal(s, answer) for s in result.solutions)
    assert gen.count_solutions(candidate, limit=5) >= 2


def test_contradictory_givens_have_no_solution() -> None:
    grid = np.zeros((9, 9), dtype=np.int64)
    grid[0, 0] = grid[0, 8] = 5
    assert gen.count_solutions(grid) == 0 and gen.solve(grid) is None
    assert gen.count_solutions(np.zeros((9, 9), dtype=np.int64)) == 2


def test_generated_puzzles_are_valid_minimal_and_unique(rng) -> None:
    for _ in range(3):
        made = gen.generate(rng)
        assert is_valid_solution(np.zeros((9, 9)), made.solution)
        result = gen.analyse(made.question)
        assert result.unique and np.array_equal(result.solutions[0], made.solution)
        assert result.dead_ends == made.rating
        for cell in np.flatnonzero(made.question.reshape(81))[:8]:      # minimal: no clue can go
            fewer = made.question.reshape(81).copy()
            fewer[cell] = 0
            assert gen.count_solutions(fewer) == 2


def test_shuffle_maps_act_like_the_task_transform(rng) -> None:
    transform = SudokuTransform(digits=(0, 3, 1, 2, 9, 8, 7, 6, 5, 4), transpose=True,
                                rows=(3, 5, 4, 0, 2, 1, 8, 6, 7), cols=(2, 1, 0, 6, 8, 7, 3, 4, 5))
    grid = rng.integers(0, 10, size=(9, 9))
    rows, cols = np.array(transform.rows)[:, None], np.array(transform.cols)[None, :]
    cells = (cols * 9 + rows).reshape(1, 81)           # transpose first, then rows/cols
    digits = np.array(transform.digits)[None]
    np.testing.assert_array_equal(gen.apply_shuffles(grid[None], cells, digits)[0].reshape(9, 9),
                                  transform.apply(grid))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_random_shuffles_keep_puzzles_valid_and_unique(seed) -> None:
    rng = np.random.default_rng(seed)
    solution = gen.random_solution(rng)
    question = np.where(rng.random((9, 9)) < 0.5, solution, 0)
    cells, digits = gen.random_shuffle_maps(rng, 2)
    new_q = gen.apply_shuffles(np.stack([question, question]), cells, digits)
    new_s = gen.apply_shuffles(np.stack([solution, solution]), cells, digits)
    for q, s in zip(new_q, new_s, strict=True):
        assert is_valid_solution(q.reshape(9, 9), s.reshape(9, 9))
        assert np.count_nonzero(q) == np.count_nonzero(question)
    assert gen.count_solutions(new_q[0]) == gen.count_solutions(question)


def test_mutated_puzzles_stay_unique_and_hard(puzzles5) -> None:
    hard = np.flatnonzero(puzzles5.ratings >= 60)[:40]
    made = gen.mutate_many(puzzles5.questions[hard], puzzles5.answers[hard], 3, seed=7, min_rating=20)
    assert len(made) == 3
    originals = set(map(bytes, puzzles5.questions.reshape(-1, 81).astype(np.uint8)))
    for m in made:
        result = gen.analyse(m.question)
        assert result.unique and np.array_equal(result.solutions[0], m.solution)
        assert m.rating == result.dead_ends >= 20
        assert bytes(m.question.reshape(81).astype(np.uint8)) not in originals
    again = gen.mutate_many(puzzles5.questions[hard], puzzles5.answers[hard], 3, seed=7, min_rating=20)
    assert all(np.array_equal(a.question, b.question) for a, b in zip(made, again, strict=True))
