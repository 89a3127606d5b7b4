"""ARC-AGI: task JSON parsing, 30x30 canvas encoding with EOS borders, cropping, augmentation names.

Input: a task `{"train": [{"input": G, "output": G}, ...], "test": [{"input": G, "output"?: G}, ...]}`,
a Kaggle-style file mapping task ids to such tasks, or a bare grid (one test input, no demonstrations).
One Puzzle per test input: grid = test input, solution = test output when known, extra = demos, task_id,
test_index. Tokens on a 30x30 canvas: PAD 0, EOS 1, colour c -> c + 2 (vocab 12, 900 tokens); the row
below the grid and the column right of it are EOS where they fit, so the model predicts the size.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hrm.errors import DataError, HRMError, PuzzleParseError
from hrm.tasks.base import Puzzle, TaskDefaults, Verdict
from hrm.tasks.grid import (
    apply_mapping,
    cell_list,
    dihedral,
    inverse_dihedral,
    invert_permutation,
    is_value_permutation,
    random_value_permutation,
)
from hrm.tasks.look import PaletteLook

if TYPE_CHECKING:
    from PIL import Image

    from hrm.config import ModelConfig
    from hrm.weights import LoadedModel

CANVAS = 30
PAD, EOS, COLOUR_OFFSET = 0, 1, 2
COLOURS = 10
PALETTE = ("#000000", "#0074D9", "#FF4136", "#2ECC40", "#FFDC00", "#AAAAAA", "#F012BE", "#FF851B", "#7FDBFF",
           "#870C25")
LIGHT_COLOURS = frozenset({3, 4, 5, 7, 8})   # take dark ink when a value is printed on its colour
_VARIANT = re.compile(r"(?P<task>.+)_t(?P<tid>[0-7])_(?P<colours>[0-9]{10})")


# ----------------------------------------------------------------------------------------------------
# Canvas encoding


def encode_grid(grid: np.ndarray, offset: tuple[int, int] = (0, 0), side: int = CANVAS) -> np.ndarray:
    """Colour grid -> [side * side] uint8 tokens, the grid's top-left at `offset` (translation
    augmentation). The reference canvas is 30x30; smaller ones serve small tasks (`ArcTask(side)`)."""
    grid = np.asarray(grid)
    h, w = grid.shape
    r0, c0 = offset
    if r0 < 0 or c0 < 0 or r0 + h > side or c0 + w > side:
        raise ValueError(f"a {h}x{w} grid at offset {offset} does not fit the {side}x{side} canvas")
    canvas = np.full((side, side), PAD, dtype=np.uint8)
    canvas[r0:r0 + h, c0:c0 + w] = grid + COLOUR_OFFSET
    if r0 + h < side:
        canvas[r0 + h, c0:c0 + w] = EOS
    if c0 + w < side:
        canvas[r0:r0 + h, c0 + w] = EOS
    return canvas.reshape(side * side)


def canvas_side(seq_len: int) -> int:
    """The square canvas a sequence length stands for (900 -> 30)."""
    side = math.isqrt(seq_len)
    if side * side != seq_len:
        raise ValueError(f"an ARC sequence of {seq_len} tokens is not a square canvas")
    return side


def crop_tokens(tokens: np.ndarray) -> np.ndarray:
    """Predicted canvas -> colour grid: the largest top-left rectangle of colour tokens.

    Rows are scanned from the top; the admissible width shrinks to the first non-colour token of each
    row, and the scan stops at a row that starts with one. May return a 0x0 grid.
    """
    tokens = np.asarray(tokens, dtype=np.int64).reshape(-1)
    side = canvas_side(len(tokens))
    canvas = tokens.reshape(side, side)
    is_colour = (canvas >= COLOUR_OFFSET) & (canvas < COLOUR_OFFSET + COLOURS)
    width, best_area, best = side, 0, (0, 0)
    for r in range(side):
        outside = np.flatnonzero(~is_colour[r, :width])
        if len(outside):
            width = int(outside[0])
        if width == 0:
            break
        if (r + 1) * width > best_area:
            best_area, best = (r + 1) * width, (r + 1, width)
    h, w = best
    return canvas[:h, :w] - COLOUR_OFFSET


# ----------------------------------------------------------------------------------------------------
# Augmentation


@dataclass(frozen=True)
class ArcTransform:
    """Dihedral transform `dihedral` plus colour relabelling `colours` (10 entries, colour 0 fixed)."""

    dihedral: int
    colours: tuple[int, ...]

    def apply(self, grid: np.ndarray) -> np.ndarray:
        return dihedral(apply_mapping(grid, self.colours), self.dihedral)

    def invert(self, grid: np.ndarray) -> np.ndarray:
        unrotated = inverse_dihedral(np.asarray(grid), self.dihedral)
        return apply_mapping(unrotated, invert_permutation(self.colours))


def variant_name(task_id: str, t: ArcTransform) -> str:
    """'<task>_t<dihedral>_<10-digit colour map>', the identifier of one augmented task."""
    return f"{task_id}_t{t.dihedral}_{''.join(str(c) for c in t.colours)}"


def variant_task(name: str) -> str | None:
    """The task id of an augmented variant's name, None for a plain task id."""
    match = _VARIANT.fullmatch(name)
    return None if match is None else match["task"]


def parse_variant_name(name: str) -> tuple[str, ArcTransform]:
    """Inverse of `variant_name`; a plain task id (no suffix) is the identity variant."""
    match = _VARIANT.fullmatch(name)
    if match is None:
        return name, ArcTransform(0, tuple(range(COLOURS)))
    colours = tuple(int(ch) for ch in match["colours"])
    if not is_value_permutation(colours):
        raise DataError(f"bad ARC variant name '{name}': the colour map must permute 0-9 and keep 0 first")
    return match["task"], ArcTransform(int(match["tid"]), colours)


# ----------------------------------------------------------------------------------------------------
# Parsing


class _TaskReader:
    """Validates task JSON, naming the JSON path of the first problem."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, line: int | None = None, column: int | None = None,
              hint: str | None = None) -> PuzzleParseError:
        return PuzzleParseError(message, self.source, line, column, hint)

    def load(self, text: str) -> Any:
        if not text.strip():
            raise self.error("no ARC task found: the input is empty")
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.error(f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
        except RecursionError:
            raise self.error("invalid JSON: nested too deeply") from None
        except ValueError:   # json raises it for integers of thousands of digits
            raise self.error("invalid JSON: a number is far too long to be an ARC colour") from None

    def grid(self, value: Any, path: str) -> np.ndarray:
        if not isinstance(value, list) or not value:
            raise self.error(f"{path} must be a non-empty list of rows")
        if len(value) > CANVAS:
            raise self.error(f"{path} has {len(value)} rows, at most {CANVAS}")
        width = None
        for r, row in enumerate(value, start=1):
            if not isinstance(row, list) or not row:
                raise self.error(f"{path} row {r} must be a non-empty list of colours 0-9")
            if width is not None and len(row) != width:
                raise self.error(f"{path} row {r} has {len(row)} values but row 1 has {width}",
                                 hint="a grid must be rectangular")
            width = len(row)
            if width > CANVAS:
                raise self.error(f"{path} row {r} has {width} values, at most {CANVAS}")
            if not all(type(v) is int and 0 <= v < COLOURS for v in row):
                c, v = next((c, v) for c, v in enumerate(row, start=1)
                            if type(v) is not int or not 0 <= v < COLOURS)
                raise self.error(f"{path} row {r} column {c} is {json.dumps(v)[:20]}, not a colour 0-9")
        return np.array(value, dtype=np.int64)

    def pairs(self, task: dict, key: str, path: str, need_output: bool) -> list[dict]:
        value = task.get(key)
        if not isinstance(value, list) or (key == "test" and not value):
            raise self.error(f"{path}{key} must be a{' non-empty' if key == 'test' else ''} list of "
                             f"{{\"input\": ..., \"output\": ...}} pairs")
        for i, pair in enumerate(value):
            if not isinstance(pair, dict) or "input" not in pair or (need_output and "output" not in pair):
                wanted = '"input" and "output"' if need_output else '"input"'
                raise self.error(f"{path}{key}[{i}] must be an object with {wanted}")
        return value

    def task(self, task: Any, task_id: str, path: str = "") -> list[Puzzle]:
        if not isinstance(task, dict):
            raise self.error(f"{path or 'the task'} must be an object with \"train\" and \"test\"")
        demos = [(self.grid(p["input"], f"{path}train[{i}].input"),
                  self.grid(p["output"], f"{path}train[{i}].output"))
                 for i, p in enumerate(self.pairs(task, "train", path, need_output=True))]
        tests = self.pairs(task, "test", path, need_output=False)
        puzzles = []
        for i, pair in enumerate(tests):
            grid = self.grid(pair["input"], f"{path}test[{i}].input")
            solution = None
            if pair.get("output") is not None:
                solution = self.grid(pair["output"], f"{path}test[{i}].output")
            name = task_id if len(tests) == 1 else f"{task_id}[{i}]"
            extra = {"demos": demos, "task_id": task_id, "test_index": i}
            puzzles.append(Puzzle("arc", grid, solution, name, extra))
        return puzzles

    def read(self, text: str) -> list[Puzzle]:
        data = self.load(text)
        task_id = _task_id(self.source)
        if isinstance(data, list):
            grid = self.grid(data, "the grid")
            return [Puzzle("arc", grid, None, task_id, {"demos": [], "task_id": task_id, "test_index": 0})]
        if isinstance(data, dict) and ("train" in data or "test" in data):
            return self.task(data, task_id)
        if isinstance(data, dict) and data:
            return [p for key, task in data.items() for p in self.task(task, str(key), f"{key}.")]
        raise self.error("expected an ARC task: {\"train\": [...], \"test\": [...]}")


def _task_id(source: str) -> str:
    if source.startswith("<") or source == "-":
        return "task"
    return Path(source).stem or "task"


def format_grid(grid: np.ndarray) -> str:
    """A grid as JSON, one row per line (what ARC submissions and `parse` read)."""
    rows = [json.dumps([int(v) for v in row], separators=(",", ":")) for row in np.asarray(grid)]
    return "[" + ",\n ".join(rows) + "]"


# ----------------------------------------------------------------------------------------------------
# The task


class ArcTask(TaskDefaults):
    name = "arc"
    vocab_size = 12
    default_attempts = 16   # no verifier: every view runs and votes (the examples: 0.1-0.3 s for all 16)
    look = PaletteLook(PALETTE, LIGHT_COLOURS)
    detect_priority = 10    # a JSON object with "test" is nothing else
    image_priority = 1
    uses_verifier = False   # the only check is the answer key, which must not pick the answer
    submissions = 2         # the ARC Prize rule: two answers per test input, solved when either is right
    puzzle_noun = "ARC task"
    untrained_hint = ("Train on the task's demonstrations first: hrm data build arc-tasks --from-json TASK.json "
                      "--canvas 8, then hrm train --task arc --data data/arc-tasks")
    # Each task has its own puzzle-embedding rows: longer runs, a stronger embedding learning rate.
    train_recipes = {
        "paper": {"data": "arc1", "epochs": 100000, "eval_interval": 10000, "weight_decay": 0.1,
                  "puzzle_emb_lr": 1e-2, "puzzle_emb_weight_decay": 0.1},
        "trm": {"epochs": 100000, "eval_interval": 10000},
        "cpu": {"data": "arc1", "puzzle_emb_lr": 1e-2},
    }

    def __init__(self, side: int = CANVAS) -> None:
        self.side = side
        self.seq_len = side * side

    def for_model(self, config: ModelConfig) -> ArcTask:
        """This task on the canvas the model was trained on (30x30, or smaller for small-task models)."""
        try:
            side = canvas_side(config.seq_len)
        except ValueError as exc:
            raise HRMError(f"the model's sequence length does not fit ARC ({exc})") from None
        return self if side == self.side else ArcTask(side)

    def parse(self, text: str, source: str = "<input>") -> list[Puzzle]:
        return _TaskReader(source).read(text)

    def sniff(self, text: str) -> bool:
        return text.lstrip()[:1] == "{" and '"test"' in text

    def format(self, grid: np.ndarray, puzzle: Puzzle | None = None) -> str:
        return format_grid(grid)

    def encode(self, puzzle: Puzzle) -> np.ndarray:
        return self._encode(puzzle, puzzle.grid)

    def encode_label(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        return self._encode(puzzle, answer)

    def _encode(self, puzzle: Puzzle, grid: np.ndarray) -> np.ndarray:
        h, w = np.shape(grid)
        if h > self.side or w > self.side:
            raise HRMError(f"{puzzle.name or 'the task'}: its {h}x{w} grid does not fit this model's "
                           f"{self.side}x{self.side} canvas", hint="use a model trained on the 30x30 canvas")
        return encode_grid(grid, side=self.side)

    def decode(self, puzzle: Puzzle, tokens: np.ndarray) -> np.ndarray:
        return crop_tokens(tokens)

    def check_givens(self, puzzle: Puzzle) -> list[str]:
        return []

    def text_form(self, grid: np.ndarray, puzzle: Puzzle) -> list[list[int]]:
        return np.asarray(grid).astype(int).tolist()

    def rule_breaks(self, puzzle: Puzzle, answer: np.ndarray) -> np.ndarray:
        """ARC's one rule is the known output: the cells that differ from it (none when it is unknown
        or of another size)."""
        answer = np.asarray(answer)
        if puzzle.solution is None or np.shape(puzzle.solution) != answer.shape:
            return np.zeros(answer.shape, dtype=bool)
        return answer != np.asarray(puzzle.solution)

    def view_name(self, puzzle: Puzzle, transform: ArcTransform | None) -> str:
        task_id = puzzle.extra.get("task_id", "")
        return task_id if transform is None else variant_name(task_id, transform)

    def trained_views(self, puzzle: Puzzle, loaded: LoadedModel) -> list[tuple[str, ArcTransform]]:
        """The augmented variants the model was trained on, in table order, as the reference evaluates them."""
        names = loaded.trained_variants(puzzle.extra.get("task_id", ""))
        return [(name, parse_variant_name(name)[1]) for name in names]

    def read_image(self, image: Image.Image, name: str, weights: str | Path | None) -> Puzzle:
        from hrm.imaging.grids import read_arc

        return read_arc(image, name)

    def convincing(self, puzzle: Puzzle) -> bool:
        """One colour without demonstrations is what a photo of plain paper also gives."""
        return bool(puzzle.extra.get("demos")) or len(np.unique(puzzle.grid)) > 1

    def verify(self, puzzle: Puzzle, answer: np.ndarray) -> Verdict:
        if puzzle.solution is None:
            return Verdict(ok=False, violations=["no known output to check against"], checkable=False)
        expected, answer = np.asarray(puzzle.solution), np.asarray(answer)
        if answer.shape != expected.shape:
            size = "x".join(map(str, answer.shape))
            return Verdict(False, [f"the answer is {size} but the expected output is "
                                   f"{expected.shape[0]}x{expected.shape[1]}"])
        wrong = [(int(r), int(c)) for r, c in np.argwhere(self.rule_breaks(puzzle, answer))]
        if wrong:
            return Verdict(False, [f"{len(wrong)} of {expected.size} cells differ from the expected output "
                                   f"({cell_list(wrong)})"])
        return Verdict(True)

    def random_transform(self, rng: np.random.Generator) -> ArcTransform:
        colours = tuple(int(c) for c in random_value_permutation(rng, COLOURS - 1))
        return ArcTransform(int(rng.integers(8)), colours)

    def transform(self, t: ArcTransform, puzzle: Puzzle) -> Puzzle:
        """Apply to the test input, its known output and every demonstration pair."""
        extra = dict(puzzle.extra)
        extra["demos"] = [(t.apply(i), t.apply(o)) for i, o in puzzle.extra.get("demos", [])]
        solution = None if puzzle.solution is None else t.apply(puzzle.solution)
        return Puzzle(puzzle.task, t.apply(puzzle.grid), solution, puzzle.name, extra)

    def inverse_answer(self, t: ArcTransform, answer: np.ndarray) -> np.ndarray:
        return t.invert(answer)
