"""SudokuTask: parsing (many layouts, clear errors), tokens, verification, augmentation."""

from __future__ import annotations

import csv
import lzma

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hrm.errors import PuzzleParseError
from hrm.tasks import Puzzle, detect_task
from hrm.tasks.sudoku import BLANK_CHARS, RULE_CHARS, SEPARATOR_CHARS, SudokuTask, format_line

TASK = SudokuTask()
FAST = settings(deadline=None, max_examples=60)

grids = st.lists(st.integers(0, 9), min_size=81, max_size=81).map(lambda v: np.array(v).reshape(9, 9))
blank_chars = st.sampled_from(BLANK_CHARS)


def base_solution() -> np.ndarray:
    """A valid completed grid: the classic shifted-rows pattern."""
    r, c = np.indices((9, 9))
    return (r * 3 + r // 3 + c) % 9 + 1


def random_solution(seed: int) -> np.ndarray:
    return TASK.random_transform(np.random.default_rng(seed)).apply(base_solution())


def as_line(grid: np.ndarray, blank: str = ".") -> str:
    return format_line(grid).replace(".", blank)


def boxed(grid: np.ndarray, blank: str) -> str:
    """The common pretty layout: '| 5 3 . | ...' rows with '+-------+' rules."""
    rule = "+-------+-------+-------+"
    lines = [rule]
    for r in range(9):
        cells = [str(v) if v else blank for v in grid[r]]
        lines.append("| " + " | ".join(" ".join(cells[i:i + 3]) for i in (0, 3, 6)) + " |")
        if r % 3 == 2:
            lines.append(rule)
    return "\n".join(lines)


def render(grid: np.ndarray, style: str, blank: str) -> str:
    if style == "lines":
        return TASK.format(grid).replace(".", blank)
    if style == "one-line":
        return as_line(grid, blank)
    if style == "boxed":
        return boxed(grid, blank)
    if style == "csv":
        return f"source,question,answer,rating\ntest,{as_line(grid, blank)},,0\n"
    return f"# a comment\n\n{as_line(grid, blank)}\n"


def parse_error(text: str) -> PuzzleParseError:
    with pytest.raises(PuzzleParseError) as info:
        TASK.parse(text, "t.txt")
    return info.value


# ----------------------------------------------------------------------------------------------------
# Round trips


@FAST
@given(grid=grids, style=st.sampled_from(["lines", "one-line", "boxed", "csv", "commented"]),
       blank=blank_chars)
def test_render_parse_encode_decode_format_round_trip(grid, style, blank):
    (puzzle,) = TASK.parse(render(grid, style, blank), "t.txt")
    assert np.array_equal(puzzle.grid, grid)
    tokens = TASK.encode(puzzle)
    assert tokens.shape == (81,) and tokens.min() >= 1 and tokens.max() <= 10
    assert TASK.format(TASK.decode(puzzle, tokens)) == TASK.format(grid)


def test_encoding_matches_reference_tokens():
    grid = np.zeros((9, 9), dtype=int)
    grid[0, :3] = [5, 0, 9]
    tokens = TASK.encode(Puzzle("sudoku", grid))
    assert tokens[:4].tolist() == [6, 1, 10, 1]          # digit d -> d + 1, blank -> 1
    labels = TASK.encode_label(Puzzle("sudoku", grid), base_solution())
    assert labels.tolist() == (base_solution().reshape(81) + 1).tolist()


def test_decode_reads_pad_and_blank_tokens_as_blanks():
    tokens = np.full(81, 5)
    tokens[:3] = [0, 1, 10]
    answer = TASK.decode(Puzzle("sudoku", np.zeros((9, 9), int)), tokens)
    assert answer[0, :4].tolist() == [0, 0, 9, 4]


# ----------------------------------------------------------------------------------------------------
# Layouts


def test_csv_rows_fill_solutions_with_and_without_header():
    solution = base_solution()
    question = solution.copy()
    question[0, :5] = 0
    row = f"mine,{as_line(question)},{as_line(solution)},7"
    for text in (row, "source,question,answer,rating\n" + row):
        (puzzle,) = TASK.parse(text)
        assert np.array_equal(puzzle.solution, solution)
        assert puzzle.extra["source"] == "mine" and puzzle.extra["rating"] == "7"


def test_csv_answer_that_contradicts_a_given_is_rejected():
    solution = base_solution()
    question = solution.copy()
    question[0, 0] = solution[0, 1]
    error = parse_error(f"x,{as_line(question)},{as_line(solution)},0")
    assert error.line == 1 and "r1c1" in error.message


def test_question_line_followed_by_its_solution_pairs_up():
    solution = random_solution(3)
    question = solution.copy()
    question[::2, ::3] = 0
    (puzzle,) = TASK.parse(f"{as_line(question)}\n{as_line(solution)}\n")
    assert np.array_equal(puzzle.solution, solution)


def test_complete_grid_that_does_not_solve_the_previous_puzzle_stays_a_puzzle():
    question = random_solution(3)
    question[0, 0] = 0
    other = random_solution(4)
    assert other[0, 1] != question[0, 1] or other[0, 2] != question[0, 2]
    puzzles = TASK.parse(f"{as_line(question)}\n{as_line(other)}\n")
    assert len(puzzles) == 2 and puzzles[0].solution is None


def test_question_and_answer_on_one_line():
    solution = base_solution()
    question = np.where(np.arange(81).reshape(9, 9) % 4 == 0, 0, solution)
    (puzzle,) = TASK.parse(f"{as_line(question)} {as_line(solution)}")
    assert np.array_equal(puzzle.solution, solution)


def test_many_puzzles_one_per_line_with_names():
    lines = [as_line(np.where(np.arange(81).reshape(9, 9) % (k + 2) == 0, 0, random_solution(k)))
             for k in range(5)]
    puzzles = TASK.parse("#header\n" + "\n".join(lines), "many.txt")
    assert [p.name for p in puzzles] == [f"many.txt:{n}" for n in range(2, 7)]


def test_blank_row_drawn_with_dashes_is_a_row_not_a_rule():
    grid = random_solution(5)
    grid[4] = 0
    text = "\n".join("- - - | - - - | - - -" if r == 4 else " ".join(map(str, grid[r])) for r in range(9))
    (puzzle,) = TASK.parse(text)
    assert np.array_equal(puzzle.grid, grid)


# ----------------------------------------------------------------------------------------------------
# Malformed input


ALLOWED = set("0123456789" + BLANK_CHARS + SEPARATOR_CHARS + ",#\n\r") | RULE_CHARS


@FAST
@given(grid=grids, position=st.integers(0, 81),
       bad=st.characters(blacklist_categories=("Cs",)).filter(lambda ch: ch not in ALLOWED))
def test_unknown_character_reports_line_and_column(grid, position, bad):
    line = as_line(grid)
    error = parse_error("# comment\n" + line[:position] + bad + line[position:])
    assert (error.line, error.column) == (2, position + 1)
    assert repr(bad) in error.message


@FAST
@given(count=st.integers(1, 200).filter(lambda n: n not in (9, 81, 162)))
def test_wrong_number_of_cells_on_a_line(count):
    error = parse_error("\n" + "1" * count)
    assert error.line == 2 and error.column is not None
    assert f"found {count} cells" in error.message


def test_short_row_inside_a_nine_line_grid_names_its_line():
    rows = TASK.format(base_solution()).split("\n")
    rows[5] = rows[5][:7]
    error = parse_error("\n".join(rows))
    assert error.line == 6 and "7 cells" in error.message


def test_incomplete_grid():
    rows = TASK.format(base_solution()).split("\n")[:8]
    error = parse_error("\n".join(rows))
    assert "8 of 9 rows" in error.message and error.line == 1


@pytest.mark.parametrize("text", ["", "   \n\n", "# only a comment\n", "+---+---+\n"])
def test_no_puzzle_at_all(text):
    assert "no sudoku found" in parse_error(text).message


def test_binary_junk_is_a_parse_error():
    error = parse_error(bytes(range(256)).decode("latin-1"))
    assert error.line is not None


def test_csv_row_with_wrong_field_count():
    error = parse_error(f"a,{'1' * 81},b")
    assert error.line == 1 and "expected 4" in error.message


@FAST
@given(text=st.text(alphabet=st.sampled_from("123456789.0-_|+ ,#\nx"), max_size=300))
def test_arbitrary_text_parses_or_fails_cleanly(text):
    try:
        puzzles = TASK.parse(text)
    except PuzzleParseError:
        return
    assert all(p.grid.shape == (9, 9) and p.grid.min() >= 0 and p.grid.max() <= 9 for p in puzzles)


# ----------------------------------------------------------------------------------------------------
# Rules and verification


def test_duplicate_givens_are_named_with_their_cells():
    grid = np.zeros((9, 9), dtype=int)
    grid[2, 1] = grid[2, 6] = 5
    assert TASK.check_givens(Puzzle("sudoku", grid)) == ["row 3 has two 5s (r3c2, r3c7)"]
    grid[0, 0] = grid[1, 1] = 4
    messages = TASK.check_givens(Puzzle("sudoku", grid))
    assert "box 1 has two 4s (r1c1, r2c2)" in messages


def test_verify_explains_every_kind_of_violation():
    solution = base_solution()
    question = np.where(np.arange(81).reshape(9, 9) % 3 == 0, solution, 0)
    puzzle = Puzzle("sudoku", question)
    assert TASK.verify(puzzle, solution).ok
    answer = solution.copy()
    answer[0, 0] = solution[0, 1]            # breaks a given (r1c1 is given) and duplicates in row 1
    answer[8, 8] = 0
    violations = TASK.verify(puzzle, answer).violations
    assert any("r1c1 was given as" in v for v in violations)
    assert any(v.startswith("row 1 has two") for v in violations)
    assert any("1 cell is still blank (r9c9)" in v for v in violations)
    assert not TASK.verify(puzzle, solution[:8]).ok


@FAST
@given(seed=st.integers(0, 2**32 - 1), grid=grids)
def test_inverse_of_transform_is_exact(seed, grid):
    t = TASK.random_transform(np.random.default_rng(seed))
    assert np.array_equal(TASK.inverse_answer(t, t.apply(grid)), grid)


@FAST
@given(seed=st.integers(0, 2**32 - 1), solution_seed=st.integers(0, 1000))
def test_transformed_puzzle_and_solution_stay_valid(seed, solution_seed):
    solution = random_solution(solution_seed)
    question = np.where(np.random.default_rng(seed).random((9, 9)) < 0.6, 0, solution)
    t = TASK.random_transform(np.random.default_rng(seed))
    moved = TASK.transform(t, Puzzle("sudoku", question, solution))
    assert TASK.verify(moved, moved.solution).ok
    assert np.array_equal(TASK.inverse_answer(t, moved.solution), solution)


def test_transforms_are_varied():
    results = {format_line(TASK.random_transform(np.random.default_rng(s)).apply(base_solution()))
               for s in range(30)}
    assert len(results) == 30


# ----------------------------------------------------------------------------------------------------
# Shared data and examples


def read_rows(path, limit=None):
    with lzma.open(path, "rt", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        for index, row in enumerate(reader):
            if limit is not None and index >= limit:
                return
            yield row


def to_grid(text: str) -> np.ndarray:
    digits = np.frombuffer(text.replace(".", "0").encode(), dtype=np.uint8) - 48
    return digits.astype(np.int64).reshape(9, 9)


FILES = {"puzzles2_17_clue.csv.xz": 3000, "puzzles5_forum_hardest_1905_11plus.csv.xz": 3000,
         "puzzles3_magictour_top1465.csv.xz": None, "puzzles6_forum_hardest_1106.csv.xz": None}


@pytest.mark.parametrize("name", list(FILES))
def test_verifier_accepts_stored_solutions_and_rejects_corruptions(shared_data, name):
    rng = np.random.default_rng(0)
    rows = list(read_rows(shared_data / "sudoku" / name, FILES[name]))
    assert len(rows) >= 375
    for index, (_, question_text, answer_text, _) in enumerate(rows):
        puzzle, answer = Puzzle("sudoku", to_grid(question_text)), to_grid(answer_text)
        assert TASK.verify(puzzle, answer).ok, f"{name} row {index + 2}"
        if index % 5:
            continue
        r, c = rng.integers(9, size=2)
        corrupted = answer.copy()
        corrupted[r, c] = answer[r, c] % 9 + 1
        assert not TASK.verify(puzzle, corrupted).ok
        corrupted[r, c] = 0
        assert not TASK.verify(puzzle, corrupted).ok


def test_parser_reads_a_whole_shared_csv_file(shared_data):
    with lzma.open(shared_data / "sudoku" / "puzzles6_forum_hardest_1106.csv.xz", "rt") as f:
        text = f.read()
    puzzles = TASK.parse(text, "puzzles6.csv")
    assert len(puzzles) == 375
    assert all(p.solution is not None and TASK.verify(p, p.solution).ok for p in puzzles)


def test_examples_parse_and_are_detected(examples_dir):
    paths = sorted((examples_dir / "sudoku").glob("*.txt"))
    assert len(paths) >= 3
    for path in paths:
        text = path.read_text()
        puzzles = TASK.parse(text, str(path))
        assert len(puzzles) == (20 if path.name == "easy_batch.txt" else 1)
        assert detect_task(text).name == "sudoku"
        for puzzle in puzzles:
            assert TASK.check_givens(puzzle) == [] and (puzzle.grid > 0).sum() >= 17
            assert TASK.parse(TASK.format(puzzle.grid))[0].grid.tolist() == puzzle.grid.tolist()


def test_sniff_rejects_other_tasks(examples_dir):
    for path in [*(examples_dir / "maze").glob("*.txt"), *(examples_dir / "arc").glob("*.json")]:
        assert not TASK.sniff(path.read_text())


PUZZLE_81 = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_lf_crlf_and_cr_line_endings_read_alike(newline: str) -> None:
    rows = [PUZZLE_81[i:i + 9] for i in range(0, 81, 9)]
    [puzzle] = TASK.parse(newline.join(["# a comment", *rows]) + newline)
    assert "".join(str(v) if v else "." for v in puzzle.grid.reshape(-1)) == PUZZLE_81


def test_quoted_csv_fields_are_read() -> None:
    [puzzle] = TASK.parse(f'source,question,answer,rating\n"book, page 3","{PUZZLE_81}",,"12"\n')
    assert puzzle.extra["source"] == "book, page 3" and puzzle.extra["rating"] == "12"
    assert int(np.count_nonzero(puzzle.grid)) == 17


def test_a_header_is_only_allowed_on_the_first_line() -> None:
    text = f"source,question,answer,rating\nx,{PUZZLE_81},,0\nsource,question,answer,rating\nx,{PUZZLE_81},,0\n"
    with pytest.raises(PuzzleParseError) as caught:
        TASK.parse(text, "f.csv")
    assert caught.value.line == 3 and "header is allowed only on the first line" in str(caught.value)


def test_givens_that_break_no_rule_but_admit_no_solution_are_rejected_before_the_model_runs(examples_dir):
    """Row 1 needs a 9 at r1c9, which column 9 already has: no duplicate anywhere, yet no solution
    (a misread photo looks like this). Solvable puzzles, even with many solutions, pass."""
    task = SudokuTask()
    [stuck] = task.parse("12345678.\n........9\n" + ".........\n" * 7)
    assert task.check_givens(stuck) == ["these givens have no solution: some digit is wrong (misread or mistyped?)"]
    [open_grid] = task.parse(".........\n" * 9)
    [published] = task.parse((examples_dir / "sudoku" / "newspaper_diabolical.txt").read_text())
    assert task.check_givens(open_grid) == [] and task.check_givens(published) == []
