"""Sudoku 9x9: parse/format text, token encoding, verification and validity-preserving augmentation.

Accepted text (any mix, one puzzle after another):
- 9 lines of 9 cells, or one line of 81 cells; digits 1-9, blanks '.', '0', '_' or '-';
  '|', '+', spaces and box-drawing characters are ignored inside a line; rule lines, blank lines and
  '#' comment lines are skipped;
- a line of 162 cells: question then solution;
- a solved grid right after an unsolved puzzle that it solves becomes that puzzle's solution;
- CSV rows in the Sudoku-Extreme layout `source,question,answer,rating` (header optional).
Tokens: PAD 0, blank 1, digit d -> d + 1 (vocab 11, 81 tokens, labels on every cell).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hrm.errors import PuzzleParseError
from hrm.tasks.base import Puzzle, TaskDefaults, Verdict, listed_verdict, same_size_for_model
from hrm.tasks.grid import apply_mapping, cell_list, cell_name, invert_permutation, random_value_permutation
from hrm.tasks.look import DigitLook

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

    from hrm.config import ModelConfig

SIZE = 9
CELLS = SIZE * SIZE
BLANK_CHARS = "._-0"
SEPARATOR_CHARS = "|+ \t│┃║┆┊"
RULE_CHARS = set("-+=| \t─━═│┃║┼╋╬╪╫┌┐└┘├┤┬┴╔╗╚╝╠╣╦╩┆┊")
CSV_COLUMNS = ("source", "question", "answer", "rating")

_ONE_LINE = re.compile(r"[0-9._-]{81}")
_TO_DIGITS = str.maketrans({".": "0", "_": "0", "-": "0"})
_COUNT_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


@dataclass(frozen=True)
class SudokuTransform:
    """Digit relabelling + optional transpose + row and column permutations that keep bands/stacks.

    Applied as: transpose (if set), then new[i, j] = old[rows[i], cols[j]], then digits[new].
    """

    digits: tuple[int, ...]   # 10 entries, digits[0] == 0
    transpose: bool
    rows: tuple[int, ...]     # 9 entries
    cols: tuple[int, ...]     # 9 entries

    def apply(self, grid: np.ndarray) -> np.ndarray:
        g = np.asarray(grid)
        if self.transpose:
            g = g.T
        return apply_mapping(g[np.ix_(self.rows, self.cols)], self.digits)

    def invert(self, grid: np.ndarray) -> np.ndarray:
        g = apply_mapping(grid, invert_permutation(self.digits))
        out = np.empty_like(g)
        out[np.ix_(self.rows, self.cols)] = g
        return out.T.copy() if self.transpose else out


def _band_preserving_permutation(rng: np.random.Generator) -> tuple[int, ...]:
    bands = rng.permutation(3)
    return tuple(int(band * 3 + offset) for band in bands for offset in rng.permutation(3))


def random_sudoku_transform(rng: np.random.Generator) -> SudokuTransform:
    return SudokuTransform(
        digits=tuple(int(d) for d in random_value_permutation(rng, SIZE)),
        transpose=bool(rng.random() < 0.5),
        rows=_band_preserving_permutation(rng),
        cols=_band_preserving_permutation(rng),
    )


# ----------------------------------------------------------------------------------------------------
# Rules


def _units() -> list[tuple[str, list[tuple[int, int]]]]:
    units = [(f"row {r + 1}", [(r, c) for c in range(SIZE)]) for r in range(SIZE)]
    units += [(f"column {c + 1}", [(r, c) for r in range(SIZE)]) for c in range(SIZE)]
    for b in range(SIZE):
        top, left = 3 * (b // 3), 3 * (b % 3)
        units.append((f"box {b + 1}", [(top + i, left + j) for i in range(3) for j in range(3)]))
    return units


UNITS = _units()


_UNIT_CELLS = np.array([[r * SIZE + c for r, c in cells] for _, cells in UNITS])   # [27, 9] flat indices
_DIGITS = np.arange(1, SIZE + 1)


def _unit_digits(grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's cell values ([27, 9], 0 for blanks and non-digits) and how often each digit 1..9
    occurs in it ([27, 9])."""
    flat = np.asarray(grid).reshape(-1)
    values = np.where((flat >= 1) & (flat <= SIZE), flat, 0)[_UNIT_CELLS]
    return values, (values[:, :, None] == _DIGITS).sum(axis=1)


def duplicate_groups(grid: np.ndarray) -> list[tuple[str, int, list[tuple[int, int]]]]:
    """(unit name, digit, its cells) for every digit repeated in a row, column or box (0 ignored): the
    one Sudoku rule check, behind the verifier's messages and every red cell (`conflict_mask`)."""
    values, counts = _unit_digits(grid)
    groups = []
    for unit, digit_index in zip(*np.nonzero(counts > 1), strict=True):
        where = [divmod(int(i), SIZE) for i in _UNIT_CELLS[unit][values[unit] == digit_index + 1]]
        groups.append((UNITS[unit][0], int(digit_index) + 1, where))
    return groups


def duplicate_messages(grid: np.ndarray) -> list[str]:
    """'row 3 has two 5s (r3c2, r3c7)' for every digit repeated in a row, column or box (0 ignored)."""
    return [f"{unit_name} has {_COUNT_WORDS[len(where)]} {digit}s ({cell_list(where)})"
            for unit_name, digit, where in duplicate_groups(grid)]


def conflict_mask(grid: np.ndarray) -> np.ndarray:
    """bool 9x9: filled cells whose digit repeats in their row, column or box (the counts of
    `duplicate_groups`, vectorised: the photo reader asks this hundreds of times per picture)."""
    values, counts = _unit_digits(grid)
    repeated = (values > 0) & (np.take_along_axis(counts, np.maximum(values - 1, 0), axis=1) > 1)
    mask = np.zeros(CELLS, dtype=bool)
    np.logical_or.at(mask, _UNIT_CELLS.reshape(-1), repeated.reshape(-1))
    return mask.reshape(SIZE, SIZE)


def solution_violations(question: np.ndarray, answer: np.ndarray) -> list[str]:
    """Every broken rule of `answer` as a solution of `question` (empty list = valid)."""
    answer = np.asarray(answer)
    if answer.shape != (SIZE, SIZE):
        return [f"answer has shape {'x'.join(map(str, answer.shape))}, a sudoku is 9x9"]
    problems = []
    bad = [(r, c) for r, c in zip(*np.nonzero((answer < 0) | (answer > SIZE)), strict=True)]
    problems += [f"{cell_name(r, c)} holds {answer[r, c]}, not a digit 1-9" for r, c in bad]
    blanks = list(zip(*np.nonzero(answer == 0), strict=True))
    if blanks:
        problems.append(f"{len(blanks)} cell{'s are' if len(blanks) > 1 else ' is'} still blank "
                        f"({cell_list(blanks)})")
    changed = zip(*np.nonzero((question > 0) & (answer != question)), strict=True)
    problems += [f"{cell_name(r, c)} was given as {question[r, c]} but the answer has {answer[r, c]}"
                 for r, c in changed]
    problems += duplicate_messages(answer)
    return problems


# ----------------------------------------------------------------------------------------------------
# Text


def format_grid(grid: np.ndarray) -> str:
    """9 lines of 9 characters, '.' for blanks."""
    return "\n".join(format_line(grid)[r * SIZE:(r + 1) * SIZE] for r in range(SIZE))


def format_line(grid: np.ndarray) -> str:
    """The compact 81-character form (row-major, '.' for blanks) used in CSV and --json output."""
    values = np.asarray(grid).reshape(CELLS)
    return "".join(str(int(v)) if 1 <= v <= SIZE else "." for v in values)


def _is_rule_line(stripped: str) -> bool:
    if not set(stripped) <= RULE_CHARS:
        return False
    # '---------' or '- - - | - - - | - - -' is a row of nine blanks, not a rule.
    dashes = stripped.count("-")
    return any(ch in stripped for ch in "+=─━═┼╋╬") or dashes not in (SIZE, CELLS)


class _Parser:
    """Line-by-line reader; collects puzzles and raises PuzzleParseError at the first problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.puzzles: list[Puzzle] = []
        self.rows: list[np.ndarray] = []          # pending rows of a 9-line grid
        self.first_row_line = 0
        self.columns: dict[str, int] | None = None  # from a CSV header
        self.content_seen = False                 # a header may only be the first content line
        self.unsolved: Puzzle | None = None       # last plain puzzle, may receive a following solution

    def error(self, message: str, line: int | None = None, column: int | None = None,
              hint: str | None = None) -> PuzzleParseError:
        return PuzzleParseError(message, self.source, line, column, hint)

    def run(self, text: str) -> list[Puzzle]:
        for number, raw in enumerate(_LINE_BREAK.split(text), start=1):   # LF, CRLF or CR alike
            self.read_line(raw, number)
        if self.rows:
            raise self.error(f"incomplete grid: {len(self.rows)} of 9 rows", self.first_row_line,
                             hint="a grid needs 9 rows of 9 cells")
        if not self.puzzles:
            raise self.error("no sudoku found", hint="expected 9 lines of 9 cells or one line of 81")
        return self.puzzles

    def read_line(self, line: str, number: int) -> None:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            return
        first, self.content_seen = not self.content_seen, True
        if "," in line:
            if first and not any(ch.isdigit() for ch in line):
                self.columns = _header_columns([f.strip().lower() for f in _csv_fields(line)])
                return
            self.read_csv_line(line, number)
        elif not _is_rule_line(stripped):
            self.read_cells_line(line, number)

    def cells(self, text: str, number: int, first_column: int) -> tuple[np.ndarray, list[int]]:
        """Cell values and their 1-based columns in `text` (which starts at `first_column`)."""
        if _ONE_LINE.fullmatch(text):
            values = np.frombuffer(text.translate(_TO_DIGITS).encode("ascii"), dtype=np.uint8) - 48
            return values.astype(np.int64), list(range(first_column, first_column + CELLS))
        values, columns = [], []
        for offset, ch in enumerate(text):
            if "1" <= ch <= "9":
                values.append(ord(ch) - 48)
            elif ch in BLANK_CHARS:
                values.append(0)
            elif ch in SEPARATOR_CHARS:
                continue
            else:
                raise self.error(f"unexpected character {ch!r}", number, first_column + offset,
                                 hint="cells are digits 1-9 or '.', '0', '_', '-' for blanks")
            columns.append(first_column + offset)
        return np.array(values, dtype=np.int64), columns

    def read_cells_line(self, line: str, number: int) -> None:
        values, columns = self.cells(line, number, 1)
        count = len(values)
        if count == SIZE:
            self.add_row(values, number)
            return
        if self.rows:
            raise self.error(f"grid row has {count} cells, expected 9", number, _wrong_count_column(
                columns, SIZE, len(line)))
        if count == CELLS:
            self.add_plain(values.reshape(SIZE, SIZE), number)
        elif count == 2 * CELLS:
            self.add_with_answer(values, columns, number)
        else:
            expected = SIZE if count < 45 else CELLS
            raise self.error(f"found {count} cells, expected 9 (a row) or 81 (a whole puzzle)", number,
                             _wrong_count_column(columns, expected, len(line)))

    def add_row(self, values: np.ndarray, number: int) -> None:
        if not self.rows:
            self.first_row_line = number
        self.rows.append(values)
        if len(self.rows) == SIZE:
            grid = np.stack(self.rows)
            self.rows = []
            self.add_plain(grid, self.first_row_line)

    def add_plain(self, grid: np.ndarray, number: int) -> None:
        previous = self.unsolved
        if previous is not None and (grid > 0).all() and not solution_violations(previous.grid, grid):
            previous.solution = grid
            self.unsolved = None
            return
        puzzle = Puzzle("sudoku", grid, None, f"{self.source}:{number}", {"line": number})
        self.puzzles.append(puzzle)
        self.unsolved = puzzle if (grid == 0).any() else None

    def add_with_answer(self, values: np.ndarray, columns: list[int], number: int) -> None:
        question, answer = values[:CELLS].reshape(SIZE, SIZE), values[CELLS:].reshape(SIZE, SIZE)
        self.check_answer(question, answer, number, columns[CELLS])
        self.puzzles.append(Puzzle("sudoku", question, answer, f"{self.source}:{number}", {"line": number}))
        self.unsolved = None

    def check_answer(self, question: np.ndarray, answer: np.ndarray, number: int, column: int) -> None:
        if (answer == 0).any():
            raise self.error("the solution has blank cells", number, column,
                             hint="a solution is 81 digits 1-9")
        clash = np.argwhere((question > 0) & (question != answer))
        if len(clash):
            r, c = clash[0]
            raise self.error(f"the solution disagrees with the given {question[r, c]} at {cell_name(r, c)}",
                             number, column)

    def read_csv_line(self, line: str, number: int) -> None:
        if self.rows:
            raise self.error("a CSV row inside an unfinished 9-line grid", number, 1)
        fields = _csv_fields(line)
        if not any(ch.isdigit() for ch in line):
            raise self.error("a CSV row with no digits (a header is allowed only on the first line)", number, 1)
        columns = self.columns or _default_csv_columns(len(fields))
        if columns is None or len(fields) <= max(columns.values()):
            wanted = "4 comma-separated fields (source,question,answer,rating)" if columns is None else (
                f"{max(columns.values()) + 1} comma-separated fields as in the header")
            raise self.error(f"expected {wanted}, found {len(fields)}", number, 1)
        starts = _field_starts(line, fields)
        question = self.csv_grid(fields, starts, columns["question"], number)
        answer = None
        if "answer" in columns and fields[columns["answer"]].strip():
            answer = self.csv_grid(fields, starts, columns["answer"], number)
            self.check_answer(question, answer, number, starts[columns["answer"]])
        extra: dict[str, object] = {"line": number}
        for key in ("source", "rating"):
            if key in columns:
                extra[key] = fields[columns[key]].strip()
        self.puzzles.append(Puzzle("sudoku", question, answer, f"{self.source}:{number}", extra))
        self.unsolved = None

    def csv_grid(self, fields: list[str], starts: list[int], index: int, number: int) -> np.ndarray:
        field = fields[index]
        values, columns = self.cells(field, number, starts[index])
        if len(values) != CELLS:
            raise self.error(f"CSV field {index + 1} has {len(values)} cells, expected 81", number,
                             _wrong_count_column(columns, CELLS, starts[index] + len(field) - 1))
        return values.reshape(SIZE, SIZE)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _csv_fields(line: str) -> list[str]:
    """One CSV line's fields, quotes understood as the csv module reads them."""
    return next(csv.reader([line]), [])


def _field_starts(line: str, fields: list[str]) -> list[int]:
    """1-based column where each field's text begins in the raw line (after an opening quote)."""
    starts, position = [], 0
    for field in fields:
        found = line.find(field, position) if field else position
        found = position if found < 0 else found
        starts.append(found + 1)
        position = found + len(field)
    return starts


def _header_columns(names: list[str]) -> dict[str, int] | None:
    """Column positions named by a header; a header without 'question' keeps the default layout."""
    if "question" in names:
        return {name: i for i, name in enumerate(names)}
    return _default_csv_columns(len(names))


def _default_csv_columns(count: int) -> dict[str, int] | None:
    if count == 4:
        return {name: i for i, name in enumerate(CSV_COLUMNS)}
    if count == 2:
        return {"question": 0, "answer": 1}
    return None


def _wrong_count_column(columns: list[int], expected: int, line_length: int) -> int:
    """Where the problem is: the first cell too many, or just past the end when cells are missing."""
    if len(columns) > expected:
        return columns[expected]
    return (columns[-1] + 1) if columns else line_length + 1


# ----------------------------------------------------------------------------------------------------
# The task


def _sniff_lines(text: str) -> list[str]:
    head = text[:4000]
    lines = head.split("\n")
    if len(text) > len(head):
        lines = lines[:-1]  # the last one may be cut
    content = [ln for ln in lines if ln.strip() and not ln.strip().startswith("#")]
    return content[:12]


def _no_solution_message(grid: np.ndarray) -> list[str]:
    """Givens that break no rule can still admit no solution (a misread or mistyped digit): an exact
    search says so in milliseconds, where the model would try every view in vain. Only the answer's
    existence is used; the model alone fills the cells."""
    from hrm.data.sudoku_gen import count_solutions

    if count_solutions(grid, limit=1):
        return []
    return ["these givens have no solution: some digit is wrong (misread or mistyped?)"]


class SudokuTask(TaskDefaults):
    name = "sudoku"
    vocab_size = 11
    seq_len = CELLS
    # Views only run while the verifier rejects every answer so far; 32 views took the shipped
    # weights from about 59% to 99% of G2/G3 puzzles (bench/bench_accuracy.py --attempts 1,4,16,32).
    default_attempts = 32
    look = DigitLook(SIZE, (3, 3))
    detect_priority = 30        # after ARC JSON and mazes: a maze of digits is no Sudoku
    # Images: Sudoku is read first; a 9x9 lattice holding the givens of a real puzzle settles it (and
    # photos, the slow case for the other readers, are mostly Sudoku).
    image_priority = 0
    train_recipes = {
        "paper": {"data": "sudoku-hard-1k"},
        # TRM's MLP token mixer: on 2 cores about 70% exact on sudoku-easy in 600 steps where the
        # attention version is still at 0% (hrm.train.config._cpu)
        "cpu": {"data": "sudoku-easy", "model_overrides": {"mixer": "mlp", "pos_encodings": "none"}},
    }

    def given_mask(self, puzzle: Puzzle) -> np.ndarray:
        return np.asarray(puzzle.grid) != 0

    def rule_breaks(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        """Repeated digits, and givens the answer changed."""
        question, answer = np.asarray(puzzle.grid), np.asarray(answer)
        if answer.shape != (SIZE, SIZE) or question.shape != answer.shape:
            return np.zeros(answer.shape, dtype=bool)
        return conflict_mask(answer) | ((question != 0) & (answer != question))

    def text_form(self, grid: np.ndarray, puzzle: Puzzle) -> str:
        return format_line(grid)

    def read_image(self, image: Image.Image, name: str, weights: str | Path | None) -> Puzzle:
        from hrm.imaging.read import read_sudoku

        return read_sudoku(image, name, weights)

    def convincing(self, puzzle: Puzzle) -> bool:
        """A maze or an ARC render can pass as a 9x9 lattice of lines, but not as the givens of a real
        puzzle, most read with confidence."""
        from hrm.imaging.read import LOW_CONFIDENCE, MIN_GIVENS

        confidence = puzzle.extra["read_confidence"][np.asarray(puzzle.grid) > 0]
        return len(confidence) >= MIN_GIVENS and float(np.median(confidence)) >= LOW_CONFIDENCE

    def for_model(self, config: ModelConfig) -> SudokuTask:
        return same_size_for_model(self, config)

    def parse(self, text: str, source: str = "<input>") -> list[Puzzle]:
        return _Parser(source).run(text)

    def sniff(self, text: str) -> bool:
        cells = 0
        for line in _sniff_lines(text):
            if "," in line:
                fields = [f.strip() for f in line.split(",")]
                if any(_ONE_LINE.fullmatch(f) for f in fields):
                    cells += CELLS
                elif any(ch.isdigit() for ch in line):
                    return False
                continue
            stripped = line.strip()
            if not (set(stripped) <= RULE_CHARS | set(BLANK_CHARS) | set("123456789") | set(SEPARATOR_CHARS)):
                return False
            cells += sum(ch.isdigit() or ch in BLANK_CHARS for ch in stripped)
        return cells >= CELLS

    def resembles(self, text: str) -> bool:
        """Close to a Sudoku but not one (a typo: a letter among the digits, a line of 80 or 82 cells):
        mostly digits and blanks, 60-110 of them. Detection then reports Sudoku's own parse error."""
        lines = [line.strip() for line in _sniff_lines(text)]
        body = "".join(lines)
        cells = sum(ch.isdigit() or ch in BLANK_CHARS for ch in body)
        return 60 <= cells <= 110 and cells >= 0.8 * len(body.replace(" ", ""))

    def format(self, grid: np.ndarray, puzzle: Puzzle | None = None) -> str:
        return format_grid(grid)

    def format_line(self, grid: np.ndarray) -> str:
        return format_line(grid)

    def encode(self, puzzle: Puzzle) -> np.ndarray:
        return (np.asarray(puzzle.grid).reshape(CELLS) + 1).astype(np.uint8)

    def encode_label(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        values = np.asarray(answer).reshape(CELLS)
        return np.where(values > 0, values + 1, 0).astype(np.uint8)

    def decode(self, puzzle: Puzzle, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.int64).reshape(SIZE, SIZE)
        return np.where((tokens >= 2) & (tokens <= SIZE + 1), tokens - 1, 0)

    def check_givens(self, puzzle: Puzzle) -> list[str]:
        grid = np.asarray(puzzle.grid)
        if grid.shape != (SIZE, SIZE):
            return [f"the grid has shape {'x'.join(map(str, grid.shape))}, a sudoku is 9x9"]
        return duplicate_messages(grid) or _no_solution_message(grid)

    def verify(self, puzzle: Puzzle, answer: np.ndarray) -> Verdict:
        return listed_verdict(solution_violations(np.asarray(puzzle.grid), answer))

    def keep_givens(self, puzzle: Puzzle, answer: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """The answer with the puzzle's givens in place (the model is asked for the blanks), and a note
        for every given it wrote differently."""
        question, answer = np.asarray(puzzle.grid), np.array(answer)
        if answer.shape != question.shape:
            return answer, []
        given = question > 0
        notes = [f"the model wrote {answer[r, c]} over the given {question[r, c]} at {cell_name(r, c)}; "
                 "the given is kept" for r, c in zip(*np.nonzero(given & (answer != question)), strict=True)]
        answer[given] = question[given]
        return answer, notes

    def random_transform(self, rng: np.random.Generator) -> SudokuTransform:
        return random_sudoku_transform(rng)

    def transform(self, t: SudokuTransform, puzzle: Puzzle) -> Puzzle:
        solution = None if puzzle.solution is None else t.apply(puzzle.solution)
        return Puzzle(puzzle.task, t.apply(puzzle.grid), solution, puzzle.name, dict(puzzle.extra))

    def inverse_answer(self, t: SudokuTransform, answer: np.ndarray) -> np.ndarray:
        return t.invert(answer)
