"""ArcTask: task JSON parsing, canvas encoding and cropping, verification, augmentation; grid helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.errors import DataError, HRMError, PuzzleParseError
from hrm.tasks import Puzzle, detect_task
from hrm.tasks.arc import (
    EOS,
    PAD,
    ArcTask,
    ArcTransform,
    crop_tokens,
    encode_grid,
    parse_variant_name,
    variant_name,
)
from hrm.tasks.grid import DIHEDRAL_INVERSE, apply_mapping, dihedral, invert_permutation

TASK = ArcTask()
FAST = settings(deadline=None, max_examples=60)


@st.composite
def arc_grids(draw, max_side: int = 30) -> np.ndarray:
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    seed = draw(st.integers(0, 2**32 - 1))
    colours = draw(st.integers(1, 10))
    return np.random.default_rng(seed).integers(0, colours, size=(h, w))


def task_json(test_input, test_output=None, demos=()) -> str:
    test = {"input": np.asarray(test_input).tolist()}
    if test_output is not None:
        test["output"] = np.asarray(test_output).tolist()
    train = [{"input": np.asarray(i).tolist(), "output": np.asarray(o).tolist()} for i, o in demos]
    return json.dumps({"train": train, "test": [test]})


def parse_error(text: str) -> PuzzleParseError:
    with pytest.raises(PuzzleParseError) as info:
        TASK.parse(text, "task.json")
    return info.value


# ----------------------------------------------------------------------------------------------------
# Encoding


@FAST
@given(grid=arc_grids())
def test_format_parse_encode_decode_format_round_trip(grid):
    text = TASK.format(grid)
    (puzzle,) = TASK.parse(text)
    assert np.array_equal(puzzle.grid, grid)
    tokens = TASK.encode(puzzle)
    assert tokens.shape == (900,)
    assert TASK.format(TASK.decode(puzzle, tokens)) == text


@FAST
@given(grid=arc_grids(), data=st.data())
def test_canvas_layout_with_offset(grid, data):
    h, w = grid.shape
    r0, c0 = data.draw(st.integers(0, 30 - h)), data.draw(st.integers(0, 30 - w))
    canvas = encode_grid(grid, (r0, c0)).reshape(30, 30).astype(np.int64)
    assert np.array_equal(canvas[r0:r0 + h, c0:c0 + w] - 2, grid)
    expected = np.full((30, 30), PAD)
    expected[r0:r0 + h, c0:c0 + w] = grid + 2
    if r0 + h < 30:
        expected[r0 + h, c0:c0 + w] = EOS        # row below, over the grid's columns only
    if c0 + w < 30:
        expected[r0:r0 + h, c0 + w] = EOS        # column to the right, over the grid's rows only
    assert np.array_equal(canvas, expected)


def test_encode_rejects_an_offset_that_does_not_fit():
    with pytest.raises(ValueError):
        encode_grid(np.zeros((5, 5), dtype=int), (26, 0))


@FAST
@given(seed=st.integers(0, 2**32 - 1), low=st.integers(0, 11))
def test_crop_of_any_prediction_is_a_valid_grid(seed, low):
    tokens = np.random.default_rng(seed).integers(low, 12, size=900)
    grid = crop_tokens(tokens)
    assert grid.ndim == 2 and grid.shape[0] <= 30 and grid.shape[1] <= 30
    assert grid.size == 0 or (grid.min() >= 0 and grid.max() <= 9)


def test_crop_keeps_the_largest_rectangle():
    canvas = np.full((30, 30), PAD)
    canvas[0, :6] = 5                     # a wide first row ...
    canvas[1:4, :3] = 7                   # ... then three narrower rows: 4x3 = 12 beats 1x6 = 6
    assert crop_tokens(canvas).shape == (4, 3)
    canvas[0, 0] = EOS
    assert crop_tokens(canvas).shape == (0, 0)


def test_crop_inverts_encode_for_every_shared_grid(shared_data):
    counts = {}
    for folder in ("agi1", "agi2", "conceptarc"):
        paths = sorted((shared_data / "arc" / folder).rglob("*.json"))
        grids = 0
        for path in paths:
            task = json.loads(path.read_text())
            for pair in task["train"] + task["test"]:
                for key in ("input", "output"):
                    grid = np.array(pair[key])
                    assert np.array_equal(crop_tokens(encode_grid(grid)), grid), f"{path} {key}"
                    grids += 1
        counts[folder] = (len(paths), grids)
    assert counts["agi1"][0] == 800 and counts["agi2"][0] == 1120 and counts["conceptarc"][0] == 176
    assert min(grids for _, grids in counts.values()) > 1000


# ----------------------------------------------------------------------------------------------------
# Parsing


def test_task_file_gives_one_puzzle_per_test_input():
    demo = (np.eye(3, dtype=int), np.eye(3, dtype=int) * 2)
    text = json.dumps({"train": [{"input": demo[0].tolist(), "output": demo[1].tolist()}],
                       "test": [{"input": [[1]], "output": [[2]]}, {"input": [[3, 3]]}]})
    first, second = TASK.parse(text, "data/abcd1234.json")
    assert first.extra["task_id"] == "abcd1234" and first.name == "abcd1234[0]"
    assert [second.extra["test_index"], second.solution] == [1, None]
    assert np.array_equal(first.extra["demos"][0][1], demo[1]) and first.solution.tolist() == [[2]]


def test_kaggle_style_file_with_many_tasks():
    tasks = {"aaa": json.loads(task_json([[1]])), "bbb": json.loads(task_json([[2, 2]], [[3]]))}
    puzzles = TASK.parse(json.dumps(tasks), "challenges.json")
    assert [p.extra["task_id"] for p in puzzles] == ["aaa", "bbb"]
    assert puzzles[1].solution.tolist() == [[3]]


@pytest.mark.parametrize(("text", "words"), [
    ('{"train": [], "test": [{"input": [[1, 2], [3]]}]}', "test[0].input row 2 has 1 values"),
    ('{"train": [], "test": [{"input": [[1, 2], [3, 10]]}]}', "test[0].input row 2 column 2 is 10"),
    ('{"train": [], "test": [{"input": [[1, true]]}]}', "row 1 column 2 is true"),
    ('{"train": [], "test": [{"input": [[1.5]]}]}', "is 1.5"),
    ('{"train": [{"input": [[1]]}], "test": [{"input": [[1]]}]}', 'train[0] must be an object with "input"'),
    ('{"train": [], "test": []}', "test must be a non-empty list"),
    ('{"train": [], "test": [{"input": []}]}', "test[0].input must be a non-empty list"),
    ('{"train": [], "test": [{"input": [' + ",".join(["[1]"] * 31) + "]}]}", "31 rows"),
    ('{"train": [], "test": [{"input": [[' + ",".join(["1"] * 31) + "]]}]}", "31 values"),
    ("[]", "the grid must be a non-empty list"),
    ("3", "expected an ARC task"),
    ("", "empty"),
])
def test_malformed_tasks_name_the_json_path(text, words):
    assert words in parse_error(text).message


def test_json_syntax_error_has_line_and_column():
    error = parse_error('{"train": [],\n "test": [}')
    assert (error.line, error.column) == (2, 11)


def test_binary_junk_is_a_parse_error():
    error = parse_error(bytes(range(256)).decode("latin-1"))
    assert error.line == 1


@settings(deadline=None, max_examples=40)
@given(value=st.recursive(st.none() | st.booleans() | st.integers(-3, 12) | st.text(max_size=3),
                          lambda children: st.lists(children, max_size=4)
                          | st.dictionaries(st.sampled_from(["train", "test", "input", "output"]), children,
                                            max_size=4), max_leaves=30))
def test_arbitrary_json_parses_or_fails_cleanly(value):
    try:
        puzzles = TASK.parse(json.dumps(value))
    except PuzzleParseError:
        return
    assert all(p.grid.ndim == 2 and p.grid.min() >= 0 and p.grid.max() <= 9 for p in puzzles)


def test_examples_parse_verify_and_are_detected(examples_dir):
    paths = sorted((examples_dir / "arc").glob("*.json"))
    assert len(paths) == 3
    for path in paths:
        text = path.read_text()
        puzzles = TASK.parse(text, str(path))
        assert puzzles and all(TASK.verify(p, p.solution).ok for p in puzzles)
        assert detect_task(text).name == "arc"
        assert puzzles[0].extra["task_id"] == path.stem and len(puzzles[0].extra["demos"]) >= 2


def test_sniff_rejects_other_tasks(examples_dir):
    for path in [*(examples_dir / "sudoku").glob("*.txt"), *(examples_dir / "maze").glob("*.txt")]:
        assert not TASK.sniff(path.read_text())


# ----------------------------------------------------------------------------------------------------
# Verification


def test_verify_compares_with_the_known_output():
    (puzzle,) = TASK.parse(task_json([[1, 2]], [[3, 4], [5, 6]]))
    assert TASK.verify(puzzle, np.array([[3, 4], [5, 6]])).ok
    wrong = TASK.verify(puzzle, np.array([[3, 4], [5, 0]]))
    assert wrong.violations == ["1 of 4 cells differ from the expected output (r2c2)"]
    assert TASK.verify(puzzle, np.array([[3, 4]])).violations == [
        "the answer is 1x2 but the expected output is 2x2"]


def test_verify_without_known_output_is_uncheckable():
    (puzzle,) = TASK.parse(task_json([[1, 2]]))
    verdict = TASK.verify(puzzle, np.array([[1]]))
    assert (verdict.ok, verdict.checkable, verdict.violations) == (
        False, False, ["no known output to check against"])
    assert TASK.check_givens(puzzle) == []


# ----------------------------------------------------------------------------------------------------
# Augmentation and grid helpers


def test_dihedral_ids_match_their_definitions():
    grid = np.arange(6).reshape(2, 3)
    expected = [grid, np.rot90(grid), np.rot90(grid, 2), np.rot90(grid, 3), np.fliplr(grid),
                np.flipud(grid), grid.T, np.fliplr(np.rot90(grid))]
    for tid, want in enumerate(expected):
        assert np.array_equal(dihedral(grid, tid), want)
        assert np.array_equal(dihedral(dihedral(grid, tid), DIHEDRAL_INVERSE[tid]), grid)


def test_dihedral_works_on_batches():
    batch = np.arange(24).reshape(2, 3, 4)
    assert np.array_equal(dihedral(batch, 1)[1], np.rot90(batch[1]))


@FAST
@given(grid=arc_grids(max_side=12), seed=st.integers(0, 2**32 - 1))
def test_inverse_of_transform_is_exact_for_input_solution_and_demos(grid, seed):
    t = TASK.random_transform(np.random.default_rng(seed))
    assert t.colours[0] == 0 and sorted(t.colours) == list(range(10))
    puzzle = TASK.parse(task_json(grid, grid.T, demos=[(grid, grid[::-1])]))[0]
    moved = TASK.transform(t, puzzle)
    assert np.array_equal(TASK.inverse_answer(t, moved.grid), grid)
    assert np.array_equal(TASK.inverse_answer(t, moved.solution), grid.T)
    assert np.array_equal(moved.extra["demos"][0][1], t.apply(grid[::-1]))
    assert TASK.verify(moved, moved.solution).ok
    assert np.array_equal(apply_mapping(apply_mapping(grid, t.colours), invert_permutation(t.colours)), grid)


def test_variant_names_round_trip(rng):
    for _ in range(20):
        t = TASK.random_transform(rng)
        name = variant_name("concept_Copy1", t)
        assert name.startswith("concept_Copy1_t") and len(name.rsplit("_", 1)[1]) == 10
        assert parse_variant_name(name) == ("concept_Copy1", t)
    assert parse_variant_name("00576224") == ("00576224", ArcTransform(0, tuple(range(10))))


def test_bad_variant_colour_map_is_a_data_error():
    with pytest.raises(DataError):
        parse_variant_name("abc_t3_1023456789")


def test_random_transforms_cover_all_dihedral_ids(rng):
    assert {TASK.random_transform(rng).dihedral for _ in range(200)} == set(range(8))


def test_puzzle_is_left_unchanged_by_transform():
    puzzle = TASK.parse(task_json([[1, 2]], [[3]], demos=[([[4]], [[5]])]))[0]
    TASK.transform(ArcTransform(1, (0, 2, 1, 3, 4, 5, 6, 7, 8, 9)), puzzle)
    assert puzzle.grid.tolist() == [[1, 2]] and puzzle.extra["demos"][0][0].tolist() == [[4]]
    assert isinstance(puzzle, Puzzle)


# ----------------------------------------------------------------------------------------------------
# Smaller canvases (models trained on small tasks)


@FAST
@given(grid=arc_grids(max_side=8), side=st.integers(8, 12))
def test_small_canvas_round_trip(grid, side):
    task = ArcTask(side)
    (puzzle,) = task.parse(task.format(grid))
    tokens = task.encode(puzzle)
    assert tokens.shape == (side * side,)
    assert np.array_equal(task.decode(puzzle, tokens), grid)
    assert np.array_equal(crop_tokens(encode_grid(grid, side=side)), grid)


class _Config:
    def __init__(self, seq_len: int) -> None:
        self.seq_len = seq_len


def test_for_model_takes_the_models_canvas_and_refuses_grids_that_do_not_fit():
    small = TASK.for_model(_Config(64))
    assert small.side == 8 and small.seq_len == 64 and TASK.for_model(_Config(900)) is TASK
    (puzzle,) = small.parse(task_json(np.ones((9, 3), dtype=int)), "big.json")
    with pytest.raises(HRMError, match="9x3 grid does not fit this model's 8x8 canvas"):
        small.encode(puzzle)
    with pytest.raises(HRMError, match="not a square canvas"):
        TASK.for_model(_Config(50))


def test_fixed_size_tasks_refuse_a_model_of_another_size():
    from hrm.tasks import get_task

    sudoku = get_task("sudoku")
    assert sudoku.for_model(_Config(81)) is sudoku
    with pytest.raises(HRMError, match="reads 900 tokens but a sudoku puzzle has 81"):
        sudoku.for_model(_Config(900))
