"""The streaming solve core: fixed vs adaptive halting, frames, attempts and rejection of bad givens."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hrm.config import get_preset
from hrm.model import HRM
from hrm.solver import _choose, frames, iter_steps, solve
from hrm.tasks import get_task
from hrm.tasks.base import Verdict
from hrm.weights import LoadedModel


def _model(preset: str = "hrm-sudoku-tiny", **overrides) -> HRM:
    torch.manual_seed(0)
    return HRM(get_preset(preset).with_overrides(**overrides)).eval()


def _loaded(model: HRM) -> LoadedModel:
    return LoadedModel(model=model, config=model.config, task_name=model.config.task, path=None, device=model.device)


def _set_halt_bias(model: HRM, halt: float, cont: float = 0.0) -> None:
    with torch.no_grad():
        model.q_head.bias[0] = halt
        if model.config.act_continue:
            model.q_head.bias[1] = cont


def _inputs(batch: int = 3) -> np.ndarray:
    return np.random.default_rng(0).integers(1, 11, size=(batch, 81))


def test_fixed_mode_runs_exactly_max_segments():
    model = _model(halt_max_steps=5)
    _set_halt_bias(model, 5.0, -5.0)  # would halt at once in adaptive mode
    steps = list(iter_steps(model, _inputs(), adaptive=False))
    assert [s.segment for s in steps] == [1, 2, 3, 4, 5]
    assert steps[-1].halted.all()


def test_adaptive_mode_stops_when_the_model_halts():
    model = _model(halt_max_steps=6)
    _set_halt_bias(model, 5.0, -5.0)
    steps = list(iter_steps(model, _inputs(), adaptive=True))
    assert len(steps) == 1 and steps[0].halted.all()
    _set_halt_bias(model, -5.0, 5.0)
    assert len(list(iter_steps(model, _inputs(), adaptive=True))) == 6


def test_adaptive_mode_freezes_halted_samples(monkeypatch):
    """A sample that halted is no longer computed: its prediction stays as it was."""
    model = _model(halt_max_steps=4)
    inputs = _inputs(4)
    inputs[:, 0] = [2, 3, 2, 3]
    monkeypatch.setattr(model, "wants_to_halt",
                        lambda q: torch.zeros(q.shape[0], dtype=torch.bool) | (q.shape[0] == 4)
                        & torch.tensor([True, False, True, False])[: q.shape[0]])
    steps = list(iter_steps(model, inputs, adaptive=True))
    assert steps[0].halted.tolist() == [True, False, True, False]
    assert len(steps) == 4
    np.testing.assert_array_equal(steps[-1].tokens[[0, 2]], steps[0].tokens[[0, 2]])
    np.testing.assert_array_equal(steps[-1].halted, [True, True, True, True])


def test_noise_is_seeded():
    model = _model(halt_max_steps=3)
    a = [s.confidence for s in iter_steps(model, _inputs(), adaptive=False, noise=0.5, seed=1)]
    b = [s.confidence for s in iter_steps(model, _inputs(), adaptive=False, noise=0.5, seed=1)]
    c = [s.confidence for s in iter_steps(model, _inputs(), adaptive=False, noise=0.5, seed=2)]
    np.testing.assert_array_equal(a[-1], b[-1])
    assert not np.array_equal(a[-1], c[-1])


def test_inner_trace_counts_low_level_calls():
    model = _model(halt_max_steps=2, H_cycles=2, L_cycles=3)
    step = next(iter(iter_steps(model, _inputs(2), record_inner=True)))
    assert step.l_residuals.shape == (2, 6)  # N*T low-level calls per segment
    assert np.isfinite(step.l_residuals).all()


def test_frames_are_task_native(sudoku_task, examples_dir):
    puzzle = sudoku_task.parse((examples_dir / "sudoku" / "easy_17_clue.txt").read_text())[0]
    trace = list(frames(_loaded(_model(halt_max_steps=3)), sudoku_task, puzzle))
    assert [f.segment for f in trace] == [1, 2, 3]
    assert trace[0].answer.shape == (9, 9) and trace[0].confidence.shape == (9, 9)
    assert trace[0].changed.all()
    assert np.array_equal(trace[1].changed, trace[1].answer != trace[0].answer)
    assert all(0.0 <= f.q_halt <= 1.0 for f in trace)


def test_conflicting_givens_are_rejected_before_the_model_runs(sudoku_task, monkeypatch):
    grid = np.zeros((9, 9), dtype=np.int64)
    grid[0, 0] = grid[0, 5] = 7
    puzzle = sudoku_task.parse(sudoku_task.format(grid))[0]
    model = _model()
    monkeypatch.setattr(model, "segment", lambda *a, **k: pytest.fail("the model must not run"))
    [solution] = solve(_loaded(model), sudoku_task, [puzzle])
    assert not solution.verified and solution.segments == 0
    assert any("two 7s" in v for v in solution.verdict.violations)


def test_attempts_map_views_back_to_the_original_frame(sudoku_task, examples_dir, monkeypatch):
    """An oracle that solves whatever view it is shown, except the original puzzle: the views of the
    second wave (attempts 1-3, shuffled) must be mapped back to the original frame, verified and the
    first of them chosen, and no third wave (attempt 4) runs once one is verified."""
    import hrm.solver as solver_module
    from hrm.data.sudoku_gen import solve as exact_solve
    from hrm.solver import Step

    puzzle = sudoku_task.parse((examples_dir / "sudoku" / "easy_17_clue.txt").read_text())[0]
    original = sudoku_task.encode(puzzle)

    def oracle(model, inputs, ids, **kwargs):
        tokens = []
        for row in np.asarray(inputs):
            grid = exact_solve(np.where(row >= 2, row - 1, 0).reshape(9, 9))
            answer = grid.reshape(-1) + 1
            if np.array_equal(row, original):
                answer = np.roll(answer, 1)  # attempt 0 gets a wrong answer
            tokens.append(answer)
        n = len(tokens)
        yield Step(1, np.array(tokens), np.ones((n, 81)), np.full(n, 0.9), None, np.ones(n, bool), 0.0)

    monkeypatch.setattr(solver_module, "iter_steps", oracle)
    waves: list[tuple[int, int]] = []
    [solution] = solve(_loaded(_model()), sudoku_task, [puzzle], attempts=5,
                       on_wave=lambda views, puzzles: waves.append((views, puzzles)))
    assert waves == [(3, 1)]          # told before the second wave; the third never starts
    assert [a.description for a in solution.attempts] == ["identity", "view 1", "view 2", "view 3"]
    assert all(a.verdict.ok for a in solution.attempts[1:])
    assert not solution.attempts[0].verdict.ok and solution.winner == 1 and solution.verified
    np.testing.assert_array_equal(solution.answer, exact_solve(puzzle.grid))


def test_maze_views_are_its_eight_dihedral_frames(examples_dir, monkeypatch):
    """A maze has only eight symmetry views: attempts 0-7 show the model each of them once (random
    views would repeat some and miss others), and each answer is judged in the maze's own frame."""
    import hrm.solver as solver_module
    from hrm.solver import Step
    from hrm.tasks.grid import dihedral

    maze_task = get_task("maze")
    puzzle = maze_task.parse((examples_dir / "maze" / "hard1.txt").read_text())[0]
    seen: list[bytes] = []

    def blind(model, inputs, ids, **kwargs):   # answers with the question: never a path, so every view runs
        rows = np.asarray(inputs)
        seen.extend(row.tobytes() for row in rows)
        n = len(rows)
        yield Step(1, rows, np.ones(rows.shape), np.full(n, 0.9), None, np.ones(n, bool), 0.0)

    monkeypatch.setattr(solver_module, "iter_steps", blind)
    [solution] = solve(_loaded(_model("trm-maze-tiny")), maze_task, [puzzle], attempts=8)
    frames_of_the_maze = {dihedral(maze_task.encode(puzzle).reshape(30, 30), t).reshape(-1).tobytes()
                          for t in range(8)}
    assert len(seen) == 8 and set(seen) == frames_of_the_maze
    assert len(solution.attempts) == 8 and not solution.verified


@given(st.integers(1, 300), st.booleans())
def test_attempt_waves_cover_every_attempt_once_in_order(attempts, everyone):
    from hrm.solver import attempt_waves

    waves = attempt_waves(attempts, everyone=everyone)
    assert [a for wave in waves for a in wave] == list(range(attempts))
    assert waves[0][0] == 0 and all(wave for wave in waves)
    if not everyone:  # the identity alone first, so an easy puzzle costs one pass
        assert waves[0] == [0] and len(waves) <= 2 + math.ceil(math.log(attempts, 4))


def test_choose_prefers_verified_then_votes_then_q_halt():
    from hrm.solver import Attempt

    sudoku = get_task("sudoku")
    a = np.zeros((9, 9), dtype=int)
    b = np.ones((9, 9), dtype=int)
    attempts = [Attempt(a, Verdict(False), 1, 0.9, ""), Attempt(b, Verdict(True), 1, 0.1, ""),
                Attempt(a, Verdict(False), 1, 0.8, "")]
    assert _choose(sudoku, attempts) == 1
    attempts[1] = Attempt(b, Verdict(False), 1, 0.99, "")
    assert _choose(sudoku, attempts) == 0  # two votes for `a` beat one confident `b`
    # ARC's verifier is the answer key: it must never decide
    arc = get_task("arc")
    attempts = [Attempt(a, Verdict(False), 1, 0.9, ""), Attempt(b, Verdict(True), 1, 0.1, "")]
    assert _choose(arc, attempts) == 0


def test_arc_attempts_use_the_trained_variants_and_their_rows(arc_task, examples_dir):
    """View k of an ARC task is the k-th augmented variant the model has a puzzle-table row for (as the
    reference evaluates), shown with that row; a task without rows falls back to random views on row 0."""
    from hrm.solver import _attempt_view
    from hrm.tasks.arc import ArcTransform, parse_variant_name, variant_name

    puzzle = arc_task.parse((examples_dir / "arc" / "66e6c45b.json").read_text(), "66e6c45b.json")[0]
    turns = [ArcTransform(3, (0, 2, 1, 3, 4, 5, 6, 7, 8, 9)), ArcTransform(5, tuple(range(10)))]
    names = ["<blank>", "other", "66e6c45b", variant_name("66e6c45b", turns[0]), variant_name("other", turns[1]),
             variant_name("66e6c45b", turns[1]), "66e6c45b_tall"]   # a task id with "_t" is no variant
    model = _model("hrm-arc-tiny", seq_len=64, num_puzzle_identifiers=len(names))
    loaded = LoadedModel(model=model, config=model.config, task_name="arc", path=None, device=model.device,
                         identifiers={n: i for i, n in enumerate(names)})
    views = [_attempt_view(loaded, arc_task, puzzle, 0, k) for k in range(4)]
    assert [v.puzzle_id for v in views] == [2, 3, 5, 3]
    assert views[1].transform == turns[0] and views[2].transform == turns[1]
    np.testing.assert_array_equal(views[1].puzzle.grid, turns[0].apply(puzzle.grid))
    assert parse_variant_name(names[views[2].puzzle_id])[1] == views[2].transform
    unknown = arc_task.parse((examples_dir / "arc" / "00576224.json").read_text(), "00576224.json")[0]
    assert _attempt_view(loaded, arc_task, unknown, 0, 1).puzzle_id == 0


def test_solve_runs_a_small_canvas_arc_model(arc_task, examples_dir):
    model = _model("hrm-arc-tiny", seq_len=64, halt_max_steps=2)
    puzzle = arc_task.parse((examples_dir / "arc" / "66e6c45b.json").read_text(), "66e6c45b.json")[0]
    [solution] = solve(_loaded(model), arc_task, [puzzle], attempts=2)
    assert len(solution.attempts) == 2 and solution.answer.shape[0] <= 8 and solution.answer.shape[1] <= 8


def test_arc_submits_the_two_top_voted_answers_and_scores_either(arc_task, examples_dir, monkeypatch):
    """ARC's rule: two answers go in, chosen by votes without the answer key; solved when either matches."""
    import hrm.solver as solver_module

    puzzle = arc_task.parse((examples_dir / "arc" / "66e6c45b.json").read_text(), "66e6c45b.json")[0]
    right, wrong = np.asarray(puzzle.solution), np.zeros_like(puzzle.solution)
    plan = [wrong, wrong, right]    # the answer each attempt gives

    def fake_views(loaded, task, views, **kwargs):
        return [(plan[v.attempt], 0.5, 1) for v in views]

    monkeypatch.setattr(solver_module, "_run_views", fake_views)
    model = _model("hrm-arc-tiny", seq_len=64)
    [hit] = solve(_loaded(model), arc_task, [puzzle], attempts=3, batch_size=8)
    assert hit.verified and hit.submission == 1
    np.testing.assert_array_equal(hit.answer, right)
    np.testing.assert_array_equal(hit.candidates[0], wrong)
    [miss] = solve(_loaded(model), arc_task, [puzzle], attempts=2, batch_size=8)   # the right one never comes
    assert not miss.verified and miss.submission == 0 and len(miss.candidates) == 1


@pytest.mark.parametrize("preset", ["hrm-sudoku-tiny", "trm-sudoku-tiny"])
def test_frames_carry_the_halt_rule_and_where_adaptive_halting_stops(preset):
    model = _model(preset, halt_max_steps=4)
    _set_halt_bias(model, 5.0, -5.0)
    task = get_task("sudoku")
    [puzzle] = task.parse("." * 81)
    shown = list(frames(_loaded(model), task, puzzle))
    assert len(shown) == 4                                 # watch shows every segment...
    assert all(f.wants_halt and f.halted_at == 1 for f in shown)   # ...and knows solve stops at the first
    assert (shown[0].q_continue is None) == (preset.startswith("trm"))
    _set_halt_bias(model, -5.0, 5.0)
    shown = list(frames(_loaded(model), task, puzzle))
    assert [f.halted_at for f in shown] == [None, None, None, 4] and not any(f.wants_halt for f in shown)


@pytest.mark.parametrize("preset", ["hrm-sudoku-tiny", "trm-sudoku-tiny"])
def test_adaptive_solving_never_stops_before_the_configs_minimum_segments(preset: str) -> None:
    """A model that wants to halt at once runs halt_min_steps segments, then stops; --fixed runs all."""
    inputs = np.ones((2, 81), dtype=np.int64)
    for minimum, expected in ((1, 1), (3, 3), (9, 6)):             # capped by max_segments
        model = _model(preset, halt_min_steps=minimum, halt_max_steps=6)
        _set_halt_bias(model, 10.0, -10.0)
        steps = list(iter_steps(model, inputs, max_segments=6))
        assert len(steps) == expected and steps[-1].halted.all() and steps[0].wants_halt.all()
        assert len(list(iter_steps(model, inputs, max_segments=6, adaptive=False))) == 6


MAZE_WEIGHTS = Path(__file__).resolve().parent / "assets" / "maze-small-trm-bf16.safetensors"  # 10x10, rope2d


@pytest.mark.parametrize("engine", ["torch", "numpy"])
def test_a_small_maze_is_solved_on_the_canvas_it_fills(engine: str, tmp_path: Path) -> None:
    """A model with 2D positions reads any canvas; a 10x10 maze is solved on a 10x10 one even when the
    model was re-sized for 16x16, so the walls around it cannot change what its cells see."""
    from hrm.data.build import BuildOptions, build_dataset
    from hrm.data.format import PuzzleDataset
    from hrm.export import with_canvas
    from hrm.tasks.maze import make_puzzle
    from hrm.weights import load_model

    task = get_task("maze")
    root = build_dataset("maze-small", tmp_path / "maze", BuildOptions(limit=6, workers=1))
    stored = PuzzleDataset.load(root, "test")
    puzzles = [make_puzzle(np.asarray(stored.inputs[i], dtype=np.int64).reshape(10, 10), f"maze {i}")
               for i in range(stored.num_examples)]
    small = load_model(MAZE_WEIGHTS, "maze", "cpu", engine=engine)
    wide_torch = with_canvas(load_model(MAZE_WEIGHTS, "maze", "cpu").model, 16).eval()
    wide = replace(small, model=wide_torch if engine == "torch" else small.model.with_canvas(16),
                   config=wide_torch.config)
    assert wide.config.seq_len == 256 and wide.on_canvas(10).config.seq_len == 100
    assert wide.on_canvas(16) is wide and wide.on_canvas(None) is wide
    expected = solve(small, task, puzzles, max_segments=3)
    got = solve(wide, task, puzzles, max_segments=3)
    assert [s.q_halt for s in got] == [s.q_halt for s in expected]
    assert all(np.array_equal(g.answer, e.answer) for g, e in zip(got, expected, strict=True))
    shown = [f.q_halt for f in frames(wide, task, puzzles[0], max_segments=3)]
    assert shown == [f.q_halt for f in frames(small, task, puzzles[0], max_segments=3)]
