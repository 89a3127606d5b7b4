"""A fourth task joins through the registry alone: a 4x4 Sudoku defined here, registered by this test,
runs through parsing, the solver (with a stub model that knows the answers), `hrm solve --json`, the
text board, the TUI board and the PNG renderer, with no edit anywhere else."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rich.console import Console
from textual.app import App, ComposeResult

from hrm.config import ModelConfig
from hrm.errors import PuzzleParseError
from hrm.imaging.render import DIGIT_CELL, DIGIT_PAD, render_puzzle, save_png
from hrm.numpy_engine import NumpyHRM
from hrm.solver import Frame, solve
from hrm.tasks import detect_task, get_task, register_task, unregister_task
from hrm.tasks.base import Puzzle, TaskDefaults, Verdict, listed_verdict, same_size_for_model
from hrm.tasks.grid import apply_mapping, invert_permutation, random_value_permutation
from hrm.tasks.look import DigitLook
from hrm.weights import LoadedModel
from hrm_cli.boards import board
from tests.cli_helpers import run_cli

SIDE = 4
PUZZLE_TEXT = "1.3.\n..1.\n.1..\n4...\n"   # one solution: 1234 / 3412 / 2143 / 4321
SOLUTION = np.array([[1, 2, 3, 4], [3, 4, 1, 2], [2, 1, 4, 3], [4, 3, 2, 1]])


def _units() -> list[list[tuple[int, int]]]:
    rows = [[(r, c) for c in range(SIDE)] for r in range(SIDE)]
    cols = [[(r, c) for r in range(SIDE)] for c in range(SIDE)]
    boxes = [[(top + i, left + j) for i in range(2) for j in range(2)] for top in (0, 2) for left in (0, 2)]
    return rows + cols + boxes


def _repeats(grid: np.ndarray) -> np.ndarray:
    mask = np.zeros(grid.shape, dtype=bool)
    for unit in _units():
        values = [int(grid[cell]) for cell in unit]
        for cell, value in zip(unit, values, strict=True):
            mask[cell] |= value != 0 and values.count(value) > 1
    return mask


def solve_by_search(grid: np.ndarray) -> np.ndarray:
    """Every completion of the givens, tried in order (4x4 has only 24^4 rows to try at most)."""
    for rows in itertools.product(itertools.permutations(range(1, SIDE + 1)), repeat=SIDE):
        candidate = np.array(rows)
        if ((grid == 0) | (candidate == grid)).all() and not _repeats(candidate).any():
            return candidate
    raise AssertionError("no solution")


class MiniSudoku(TaskDefaults):
    """4x4 Sudoku: four lines of four cells, digits 1-4, '.' blank. Tokens: PAD 0, blank 1, digit d -> d + 1."""

    name = "mini"
    vocab_size = SIDE + 2
    seq_len = SIDE * SIDE
    default_attempts = 2
    look = DigitLook(SIDE, (2, 2))

    def parse(self, text: str, source: str = "<input>") -> list[Puzzle]:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if len(lines) != SIDE or any(len(line) != SIDE or set(line) - set(".1234") for line in lines):
            raise PuzzleParseError("expected four lines of four cells 1-4 or '.'", source)
        grid = np.array([[0 if ch == "." else int(ch) for ch in line] for line in lines])
        return [Puzzle(self.name, grid, None, f"{source}:1")]

    def sniff(self, text: str) -> bool:
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return len(lines) == SIDE and all(len(line) == SIDE and set(line) <= set(".1234") for line in lines)

    def format(self, grid: np.ndarray, puzzle: Puzzle | None = None) -> str:
        return "\n".join("".join(str(v) if v else "." for v in row) for row in np.asarray(grid))

    def text_form(self, grid: np.ndarray, puzzle: Puzzle) -> str:
        return self.format(grid).replace("\n", "")

    def encode(self, puzzle: Puzzle) -> np.ndarray:
        return (np.asarray(puzzle.grid).reshape(-1) + 1).astype(np.uint8)

    def encode_label(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        return (np.asarray(answer).reshape(-1) + 1).astype(np.uint8)

    def decode(self, puzzle: Puzzle, tokens: np.ndarray) -> np.ndarray:
        tokens = np.asarray(tokens, dtype=np.int64).reshape(SIDE, SIDE)
        return np.where(tokens >= 2, tokens - 1, 0)

    def check_givens(self, puzzle: Puzzle) -> list[str]:
        return ["the givens repeat a digit"] if _repeats(np.asarray(puzzle.grid)).any() else []

    def given_mask(self, puzzle: Puzzle) -> np.ndarray:
        return np.asarray(puzzle.grid) != 0

    def rule_breaks(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        question, answer = np.asarray(puzzle.grid), np.asarray(answer)
        return _repeats(answer) | ((question != 0) & (answer != question))

    def verify(self, puzzle: Puzzle, answer: np.ndarray) -> Verdict:
        broken = [f"r{r + 1}c{c + 1}" for r, c in np.argwhere(self.rule_breaks(puzzle, answer))]
        blanks = ["a cell is blank"] if (np.asarray(answer) == 0).any() else []
        return listed_verdict(broken + blanks)

    def random_transform(self, rng: np.random.Generator) -> np.ndarray:
        return random_value_permutation(rng, SIDE)

    def transform(self, t: np.ndarray, puzzle: Puzzle) -> Puzzle:
        return Puzzle(puzzle.task, apply_mapping(puzzle.grid, t), None, puzzle.name, dict(puzzle.extra))

    def inverse_answer(self, t: np.ndarray, answer: np.ndarray) -> np.ndarray:
        return apply_mapping(answer, invert_permutation(t))

    def for_model(self, config: ModelConfig) -> MiniSudoku:
        return same_size_for_model(self, config)


class OracleModel(NumpyHRM):
    """A stub engine that answers every puzzle correctly in one segment and halts."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    def num_parameters(self) -> int:
        return 0

    def initial_state(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        zeros = np.zeros((batch_size, self.config.full_seq_len, 1), dtype=np.float32)
        return zeros, zeros.copy()

    def segment(self, z_H: np.ndarray, z_L: np.ndarray, inputs: np.ndarray, puzzle_ids: np.ndarray,
                trace: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        grids = (np.asarray(inputs, dtype=np.int64) - 1).reshape(-1, SIDE, SIDE)
        tokens = np.stack([solve_by_search(grid).reshape(-1) + 1 for grid in grids])
        logits = 10.0 * np.eye(self.config.vocab_size, dtype=np.float32)[tokens]
        return z_H, z_L, logits, np.full((len(grids), 1), 5.0, dtype=np.float32)


def _loaded() -> LoadedModel:
    config = ModelConfig(arch="trm", task="mini", vocab_size=SIDE + 2, seq_len=SIDE * SIDE, hidden_size=8,
                         num_heads=1, puzzle_emb_ndim=0, halt_max_steps=2, act_continue=False)
    return LoadedModel(model=OracleModel(config), config=config, task_name="mini", path=Path("oracle.safetensors"),
                       device="cpu")


@pytest.fixture
def mini() -> Iterator[MiniSudoku]:
    register_task("mini", MiniSudoku)
    yield get_task("mini")
    unregister_task("mini")


def _frame(puzzle: Puzzle, answer: np.ndarray) -> Frame:
    return Frame(segment=1, max_segments=2, answer=answer, confidence=np.ones(answer.shape), changed=answer != 0,
                 q_halt=0.9, halted=True, verdict=get_task("mini").verify(puzzle, answer), accuracy=None, seconds=0.1)


def test_the_toy_task_is_detected_and_parsed(mini: MiniSudoku) -> None:
    assert detect_task(PUZZLE_TEXT) is mini
    [puzzle] = mini.parse(PUZZLE_TEXT, "mini.txt")
    assert puzzle.grid[0].tolist() == [1, 0, 3, 0] and puzzle.task == "mini"
    with pytest.raises(PuzzleParseError):
        mini.parse("12\n34\n")


def test_the_solver_answers_the_toy_task_with_a_stub_model(mini: MiniSudoku) -> None:
    [solution] = solve(_loaded(), mini, mini.parse(PUZZLE_TEXT), attempts=2)
    assert solution.status == "solved" and np.array_equal(solution.answer, SOLUTION)
    assert len(solution.attempts) == 1            # verified at once: no second view runs


def test_hrm_solve_prints_the_toy_task_as_json_and_as_a_board(mini: MiniSudoku, tmp_path: Path, capsys: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "mini.txt"
    path.write_text(PUZZLE_TEXT)
    monkeypatch.setattr("hrm.weights.default_weights", lambda task: Path("oracle.safetensors"))
    monkeypatch.setattr("hrm.weights.pick_engine", lambda *args: "numpy")
    monkeypatch.setattr("hrm.weights.load_model", lambda *args, **kwargs: _loaded())
    result = run_cli(capsys, monkeypatch, "solve", str(path), "--json")
    record = json.loads(result.out)
    assert result.code == 0, result.err
    assert (record["task"], record["input"], record["status"]) == ("mini", "1.3...1..1..4...", "solved")
    assert record["answer"] == "1234341221434321"
    shown = run_cli(capsys, monkeypatch, "solve", str(path))
    assert shown.code == 0 and "1 2 | 3 4" in shown.out and "----+----" in shown.out


def test_the_text_board_marks_the_toy_task_givens_and_rule_breaks(mini: MiniSudoku) -> None:
    [puzzle] = mini.parse(PUZZLE_TEXT)
    answer = SOLUTION.copy()
    answer[0, 1] = 1                              # repeats the given 1 of row 1
    text = board(mini, answer, puzzle, answer_of_puzzle=True)
    console = Console(width=40, color_system=None, record=True)
    console.print(text)
    assert [line.rstrip() for line in console.export_text().splitlines()[:3]] == ["1 1 | 3 4", "3 4 | 1 2",
                                                                                  "----+----"]
    wrong = [(span.start, span.end) for span in text.spans if str(span.style) == "bold white on red"]
    assert wrong == [(0, 1), (2, 3), (34, 35)]    # the ones of row 1, and of column 2 (the given in row 3)
    model_digits = [span for span in text.spans if str(span.style) == "cyan"]
    assert len(model_digits) == 16 - 5 - 1        # the model's digits, less the wrong one; the 5 givens are bold


class BoardApp(App):
    def __init__(self, puzzle: Puzzle) -> None:
        super().__init__()
        self.puzzle = puzzle

    def compose(self) -> ComposeResult:
        from hrm_cli.tui.widgets.board import Board

        yield Board(self.puzzle)


def test_the_tui_board_draws_the_toy_task_in_two_by_two_boxes(mini: MiniSudoku) -> None:
    from hrm_cli.tui.widgets.board import Board

    [puzzle] = mini.parse(PUZZLE_TEXT)

    async def rows() -> list[str]:
        app = BoardApp(puzzle)
        async with app.run_test(size=(40, 20)) as pilot:
            widget = app.query_one(Board)
            widget.show(_frame(puzzle, SOLUTION))
            await pilot.pause()
            return [row.strip() for row in widget.rows_text() if row.strip()]

    drawn = asyncio.run(rows())
    assert drawn[0].startswith("┌") and drawn[0].count("┬") == 1          # two boxes across
    assert sum(row.startswith("├") for row in drawn) == 1                   # two boxes down
    digits = ["".join(ch for ch in row if ch.isdigit()) for row in drawn]
    assert [d for d in digits if d] == ["1234", "3412", "2143", "4321"]


def test_the_png_renderer_draws_the_toy_task(mini: MiniSudoku, tmp_path: Path) -> None:
    [puzzle] = mini.parse(PUZZLE_TEXT)
    image = render_puzzle("mini", puzzle, SOLUTION)
    assert image.size == (SIDE * DIGIT_CELL + 2 * DIGIT_PAD,) * 2
    wrong = SOLUTION.copy()
    wrong[0, 1] = 1
    broken = np.asarray(render_puzzle(mini, puzzle, wrong))
    x0, y0 = DIGIT_PAD + DIGIT_CELL + 6, DIGIT_PAD + 6                     # inside cell r1c2
    assert tuple(broken[y0, x0]) != tuple(np.asarray(image)[y0, x0])       # the rule break is filled red
    save_png("mini", puzzle, SOLUTION, tmp_path / "mini.png")
    with Image.open(tmp_path / "mini.png") as saved:
        assert np.array_equal(np.asarray(saved.convert("RGB")), np.asarray(image))
