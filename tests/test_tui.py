"""`hrm watch`: pure board logic, playback through the Pilot, snapshots, and the command's exit paths.

Every app here runs on a fake frame source (prepared Frames), so no torch and no weights are needed.
"""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from textual.widgets import DirectoryTree

from hrm.errors import HRMError, WeightsError
from hrm.solver import Frame
from hrm.tasks.base import Puzzle, Verdict
from hrm.tasks.maze import GOAL, OPEN, PATH, START, WALL
from hrm.tasks.sudoku import conflict_mask
from hrm_cli.tui import Session, make_app, model_source
from hrm_cli.tui.messages import SolverDone, SolverFrame, SolverStarted
from hrm_cli.tui.runner import Timeline, pump_frames
from hrm_cli.tui.screens import ErrorScreen, PickerScreen, WatchScreen, file_stem, unused_path
from hrm_cli.tui.widgets import cells
from hrm_cli.tui.widgets.board import Board
from hrm_cli.tui.widgets.charts import bar_heights, sparkline
from hrm_cli.tui.widgets.panel import Stats

REPO = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------ fake frames

SOLUTION = np.array([[(3 * r + r // 3 + c) % 9 + 1 for c in range(9)] for r in range(9)])


def sudoku_puzzle() -> Puzzle:
    grid = SOLUTION.copy()
    grid[(np.arange(81).reshape(9, 9) * 7) % 3 != 0] = 0     # two thirds of the cells blank
    return Puzzle("sudoku", grid, SOLUTION.copy(), name="tests/demo.txt:1")


def sudoku_frames(puzzle: Puzzle, count: int = 5) -> list[Frame]:
    """Segment k has (count - k) blank cells answered with a wrong, repeated digit."""
    blanks = list(zip(*np.nonzero(puzzle.grid == 0), strict=True))
    frames, previous = [], None
    for k in range(1, count + 1):
        answer = SOLUTION.copy()
        for r, c in blanks[: count - k]:
            answer[r, c] = answer[r, (c + 1) % 9]
        broken = conflict_mask(answer)
        verdict = Verdict(ok=not broken.any(), violations=[f"r{r + 1}c{c + 1} repeats" for r, c in
                                                           zip(*np.nonzero(broken), strict=True)])
        frames.append(_frame(k, answer, previous, verdict, (answer == SOLUTION).mean(), [0.5 / k, 0.1 / k]))
        previous = answer
    return frames


def maze_puzzle() -> Puzzle:
    grid = np.full((30, 30), WALL)
    grid[1, 1:29] = OPEN
    grid[1:29, 28] = OPEN
    grid[1, 1], grid[28, 28] = START, GOAL
    solution = grid.copy()
    solution[1, 2:28] = PATH
    solution[1:28, 28] = PATH
    solution[1, 28] = PATH
    return Puzzle("maze", grid, solution, name="tests/maze.txt:1")


def maze_frames(puzzle: Puzzle, count: int = 4) -> list[Frame]:
    """The path grows along the corridor; segment 2 also runs one step through a wall."""
    path = np.argwhere(puzzle.solution == PATH)
    frames, previous = [], None
    for k in range(1, count + 1):
        answer = puzzle.grid.copy()
        for r, c in path[: len(path) * k // count]:
            answer[r, c] = PATH
        if k == 2:
            answer[5, 5] = PATH
        ok = bool((answer == puzzle.solution).all())
        frames.append(_frame(k, answer, previous, Verdict(ok=ok, violations=[] if ok else ["no path"]),
                             (answer == puzzle.solution).mean(), None))
        previous = answer
    return frames


def arc_puzzle() -> Puzzle:
    grid = np.arange(36).reshape(6, 6) % 10
    return Puzzle("arc", grid, np.pad(grid, 1, constant_values=5), name="demo-task", extra={"demos": []})


def arc_frames(puzzle: Puzzle, count: int = 3) -> list[Frame]:
    frames, previous = [], None
    for k in range(1, count + 1):
        answer = puzzle.solution.copy()
        answer[: count - k, :] = 0
        ok = bool((answer == puzzle.solution).all())
        frames.append(_frame(k, answer, previous, Verdict(ok=ok), (answer == puzzle.solution).mean(),
                             [0.3, 0.05, 0.2, 0.01]))
        previous = answer
    return frames


def _frame(k: int, answer: np.ndarray, previous: np.ndarray | None, verdict: Verdict, accuracy: float,
           residuals: list[float] | None) -> Frame:
    changed = np.zeros(answer.shape, bool) if previous is None else answer != previous
    return Frame(segment=k, max_segments=16, answer=answer, confidence=np.full(answer.shape, 0.2 * k),
                 changed=changed, q_halt=0.2 * k, halted=False, verdict=verdict, accuracy=float(accuracy),
                 seconds=0.25, l_residuals=residuals)


class Replay:
    """A frame source that records which attempts were asked for."""

    def __init__(self, frames: list[Frame], fail_after: int | None = None, error: Exception | None = None):
        self.frames, self.fail_after, self.error = frames, fail_after, error
        self.attempts: list[int] = []

    def __call__(self, attempt: int):
        self.attempts.append(attempt)
        for i, frame in enumerate(self.frames):
            if self.fail_after is not None and i == self.fail_after:
                raise self.error
            yield frame


def sudoku_session(attempts: int = 1, **replay) -> tuple[Session, Replay]:
    puzzle = sudoku_puzzle()
    source = Replay(sudoku_frames(puzzle), **replay)
    return Session(puzzle, source, attempts=attempts, max_segments=16, l_cycles=2, label="fake"), source


def run_async(test):
    """Run an async test on a fresh event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def wrapper(*args, **kwargs):
        return asyncio.run(test(*args, **kwargs))

    return wrapper


async def settle(app, pilot) -> None:
    """Let our workers finish and their messages arrive (DirectoryTree's own loader never finishes)."""
    for _ in range(10):
        await pilot.pause()
        pending = [w for w in app.workers if w.group in ("solver", "loader", "save") and not w.is_finished]
        if not pending:
            return
        await app.workers.wait_for_complete(pending)


def stats_text(app) -> str:
    return str(app.screen.query_one(Stats).render())


def board_text(app) -> str:
    return "\n".join(app.screen.query_one(Board).rows_text())


# ------------------------------------------------------------------------------------------ pure logic


def test_sudoku_conflicts_mark_repeated_digits_only():
    grid = SOLUTION.copy()
    assert not conflict_mask(grid).any()
    grid[0, 0] = grid[0, 1]                      # the same digit twice in row 0 (and box 0)
    grid[4, 4] = 0                               # blanks never conflict
    marked = set(zip(*np.nonzero(conflict_mask(grid)), strict=True))
    assert (0, 0) in marked and (0, 1) in marked
    assert (4, 4) not in marked
    assert all(r < 9 for r, _ in marked) and len(marked) >= 2


def test_board_view_marks_maze_path_through_wall_and_overwritten_givens():
    puzzle = maze_puzzle()
    frame = maze_frames(puzzle)[1]
    view = cells.board_view(puzzle, frame)
    assert view.wrong[5, 5]                      # path drawn on a wall
    assert not view.wrong[1, 5]                  # path in the corridor is fine
    sudoku = sudoku_puzzle()
    r, c = np.argwhere(sudoku.grid != 0)[0]
    answer = SOLUTION.copy()
    answer[r, c] = answer[r, c] % 9 + 1
    view = cells.board_view(sudoku, _frame(1, answer, None, Verdict(ok=False), 0.9, None))
    assert view.wrong[r, c]


def test_maze_padding_is_cropped_to_the_original_shape():
    grid = np.full((30, 30), WALL)
    puzzle = Puzzle("maze", grid, None, extra={"shape": (11, 13), "origin": (0, 0)})
    assert cells.board_view(puzzle, None).question.shape == (11, 13)


def test_pixel_sizes_let_a_30x30_maze_fit_80x24():
    width, height = cells.pixel_size(30, 30, cells.HALF)
    assert (width, height) == (30, 15)
    assert cells.pixel_size(30, 30, 1) == (60, 30)


def test_sparkline_scales_and_shows_missing_values():
    assert sparkline([0.0, 0.5, 1.0, None], 0.0, 1.0) == "▁▅█·"
    assert bar_heights([2.0, 2.0], 2.0, 2.0, 8) == [4, 4]     # a flat series sits mid-height


def test_timeline_moves_within_the_frames_it_has():
    line = Timeline(attempts=2)
    assert line.frame is None and not line.forward()
    frames = sudoku_frames(sudoku_puzzle(), 3)
    for f in frames:
        line.add(0, f)
    assert line.forward() and line.forward() and line.frame.segment == 2
    line.jump_to_end()
    assert line.frame.segment == 3 and not line.forward()
    assert line.back() and line.frame.segment == 2
    assert line.next_attempt() == 1 and line.frame is None
    assert line.next_attempt() == 0 and line.frame.segment == 1
    line.clear(0)
    assert line.current == [] and line.playhead == -1


def test_pump_frames_posts_in_order_and_stops_when_cancelled():
    frames = sudoku_frames(sudoku_puzzle(), 4)
    posted = []
    assert pump_frames(lambda k: iter(frames), 7, 0, posted.append, lambda: False) == 4
    assert [type(m) for m in posted] == [SolverStarted] + [SolverFrame] * 4 + [SolverDone]
    assert all(m.run == 7 for m in posted)

    posted.clear()
    closed = []

    def source(attempt):
        try:
            yield from frames
        finally:
            closed.append(True)

    assert pump_frames(source, 8, 0, posted.append, lambda: len(posted) >= 3) == 2
    assert not any(isinstance(m, SolverDone) for m in posted)
    assert closed == [True]                       # the generator was closed, releasing the model


def test_model_source_adds_noise_and_seed_to_later_attempts(monkeypatch):
    import hrm.solver

    calls = []
    monkeypatch.setattr(hrm.solver, "frames", lambda *a, **kw: calls.append(kw) or iter(()))
    source = model_source("loaded", "task", sudoku_puzzle(), max_segments=8)
    list(source(0))
    list(source(2))
    assert calls[0]["noise"] == 0.0 and calls[0]["seed"] == 0 and calls[0]["max_segments"] == 8
    assert calls[1]["noise"] == 0.05 and calls[1]["seed"] == 2 and calls[1]["record_inner"]


def test_saved_files_get_safe_names_and_never_overwrite(tmp_path):
    assert file_stem("examples/sudoku/easy 17.txt:3", "sudoku") == "easy-17-3"
    assert file_stem("", "maze") == "maze"
    first = tmp_path / "a.png"
    first.write_bytes(b"x")
    assert unused_path(first) == tmp_path / "a-2.png"


# ------------------------------------------------------------------------------------------ the app


@run_async
async def test_keys_step_back_and_pause_the_playhead():
    session, _ = sudoku_session()
    app = make_app(session, paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, WatchScreen)
        assert "– / 16" in stats_text(app)               # paused on the bare question
        await pilot.press("n", "n", "right")
        assert screen.timeline.frame.segment == 3
        assert "3 / 16" in stats_text(app)
        expected = screen.timeline.frame.answer
        rows = [line for line in board_text(app).splitlines() if "│" in line and any(ch.isdigit() for ch in line)]
        assert [int(ch) for ch in rows[0] if ch.isdigit()] == list(expected[0])
        await pilot.press("left")
        assert screen.timeline.frame.segment == 2 and screen.paused
        await pilot.press("space")
        assert not screen.paused and "playing" in stats_text(app)
        await pilot.press("space", "home")
        assert screen.timeline.frame.segment == 1 and screen.paused


@run_async
@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_q_and_ctrl_c_quit_cleanly(key):
    session, _ = sudoku_session()
    app = make_app(session, paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press(key)
        await pilot.pause()
        assert not app.is_running


@run_async
async def test_timer_plays_through_all_segments_and_speed_keys_change_it():
    session, _ = sudoku_session()
    app = make_app(session, speed=16)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        for _ in range(100):
            if screen.timeline.playhead == 4:
                break
            await pilot.pause(0.05)
        assert screen.timeline.frame.segment == 5
        assert "done, 5 segments" in stats_text(app)
        await pilot.press("minus", "minus")
        assert "4 seg/s" in stats_text(app)
        await pilot.press("plus")
        assert "8 seg/s" in stats_text(app)


@run_async
async def test_worker_posts_started_frames_done():
    session, _ = sudoku_session()
    seen = []
    app = make_app(session, paused=True)
    async with app.run_test(size=(80, 24), message_hook=seen.append) as pilot:
        await settle(app, pilot)
    kinds = [type(m) for m in seen if isinstance(m, (SolverStarted, SolverFrame, SolverDone))]
    assert kinds == [SolverStarted] + [SolverFrame] * 5 + [SolverDone]


@run_async
async def test_next_attempt_runs_the_source_with_the_next_index():
    session, source = sudoku_session(attempts=3)
    app = make_app(session, paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await settle(app, pilot)
        assert source.attempts == [0, 1]
        assert "2 / 3" in stats_text(app)
        await pilot.press("a", "a")                       # back to attempt 1: already computed
        await settle(app, pilot)
        assert source.attempts == [0, 1, 2]
        assert app.screen.timeline.attempt == 0


@run_async
async def test_r_replays_from_the_first_segment():
    session, source = sudoku_session()
    app = make_app(session, paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("end")
        assert app.screen.timeline.frame.segment == 5
        await pilot.press("r")
        assert app.screen.timeline.playhead <= 0 and not app.screen.paused   # the timer may tick once
        assert source.attempts == [0]                      # complete runs are replayed, not recomputed


@run_async
async def test_a_failing_model_shows_an_error_screen_not_a_traceback():
    session, _ = sudoku_session(fail_after=2, error=WeightsError("weights do not fit", hint="pass --weights"))
    app = make_app(session, paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        shown = [str(w.render()) for w in app.screen.query("Static")]
        assert "weights do not fit" in shown and "pass --weights" in shown
        await pilot.press("escape")
        assert isinstance(app.screen, WatchScreen)
        assert "failed after 2" in stats_text(app)


@run_async
async def test_an_unexpected_error_shows_its_traceback_in_the_error_screen():
    session, _ = sudoku_session(fail_after=0, error=ZeroDivisionError("boom"))
    app = make_app(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "ZeroDivisionError: boom" in app.screen.message
        assert "Traceback" in app.screen.details


@run_async
async def test_the_file_picker_opens_the_chosen_file(tmp_path):
    (tmp_path / "puzzle.txt").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    opened = []

    def open_file(path: Path) -> Session:
        opened.append(path)
        if len(opened) == 1:
            raise HRMError(f"{path.name}: line 1: not a sudoku", hint="pass --task")
        return sudoku_session()[0]

    app = make_app(open_file=open_file, start_dir=tmp_path, paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, PickerScreen)
        tree = app.screen.query_one(DirectoryTree)
        for _ in range(20):
            if tree.root.children:
                break
            await pilot.pause(0.05)
        assert [str(n.label) for n in tree.root.children] == ["puzzle.txt"]
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen) and "not a sudoku" in app.screen.message
        await pilot.press("escape", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, WatchScreen)
        assert opened == [tmp_path / "puzzle.txt"] * 2
        await pilot.press("escape")
        assert isinstance(app.screen, PickerScreen)


@run_async
async def test_s_saves_screenshot_png_and_gif(tmp_path):
    pytest.importorskip("hrm.imaging.render")
    session, _ = sudoku_session()
    app = make_app(session, paused=True, out_dir=tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("s")                             # nothing shown yet: nothing to save
        assert not list(tmp_path.iterdir())
        await pilot.press("n", "n", "s")
        await settle(app, pilot)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["demo-1-a1-seg02-history.gif", "demo-1-a1-seg02-screen.svg", "demo-1-a1-seg02.png"]


@run_async
async def test_maze_fits_80x24_as_half_blocks():
    puzzle = maze_puzzle()
    app = make_app(Session(puzzle, Replay(maze_frames(puzzle))), paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        rows = [line for line in board_text(app).splitlines() if "▀" in line]
        assert len(rows) == 15 and all(line.count("▀") == 30 for line in rows)


# ------------------------------------------------------------------------------------------ snapshots


def _paused_at(segment: int):
    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        for _ in range(segment):     # one step at a time, each settled: a loaded machine must not race it
            await pilot.press("n")
            await settle(pilot.app, pilot)

    return run_before


def test_snapshot_sudoku(snap_compare):
    session, _ = sudoku_session()
    assert snap_compare(make_app(session, paused=True), terminal_size=(80, 24), run_before=_paused_at(3))


def test_snapshot_maze(snap_compare):
    puzzle = maze_puzzle()
    app = make_app(Session(puzzle, Replay(maze_frames(puzzle)), max_segments=16), paused=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_paused_at(2))


def test_snapshot_arc(snap_compare):
    puzzle = arc_puzzle()
    app = make_app(Session(puzzle, Replay(arc_frames(puzzle)), max_segments=16, l_cycles=2), paused=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=_paused_at(2))


# ------------------------------------------------------------------------------------------ the command


def _hrm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "hrm_cli", *args], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


def test_watch_reports_a_missing_file_in_one_line_and_exits_2():
    result = _hrm("watch", "no-such-puzzle.txt")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: no-such-puzzle.txt: no such file"]
    assert result.stdout == ""


def test_watch_refuses_stdin_and_non_terminals_with_exit_2():
    piped = _hrm("watch", "-")
    assert piped.returncode == 2 and "cannot read the puzzle from there" in piped.stderr
    example = next((REPO / "examples" / "sudoku").glob("*.txt"))
    no_tty = _hrm("watch", str(example))
    assert no_tty.returncode == 2 and "interactive terminal" in no_tty.stderr
    assert "Traceback" not in no_tty.stderr


def test_the_panel_shows_the_models_own_halt_rule_and_where_solve_stops() -> None:
    """HRM halts when q_halt > q_continue (even below 0.5), TRM when q_halt > 0.5; watch shows every segment,
    and the panel says where `hrm solve` would have stopped and why."""
    from dataclasses import replace

    from hrm_cli.tui.widgets.panel import Status
    from hrm_cli.tui.widgets.panel import stats_text as panel_text

    status = Status(attempt=0, attempts=1, playing=False, speed=4, model="done", ready=4, max_segments=4)
    answer = np.zeros((9, 9), dtype=np.int64)
    base = _frame(2, answer, None, Verdict(ok=False), 0.5, None)
    hrm_halts = replace(base, q_halt=0.30, q_continue=0.10, wants_halt=True, halted=True, halted_at=2)
    text = panel_text(hrm_halts, status, lambda name: "", 80).plain
    assert "0.30 > continue 0.10 → halt" in text and "2 / 16  solve stops here" in text
    later = replace(hrm_halts, segment=4, q_halt=0.2, q_continue=0.7, wants_halt=False)
    text = panel_text(later, status, lambda name: "", 80).plain
    assert "≤ continue 0.70 → go on" in text and "(solve stopped at 2)" in text
    trm_at_mmax = replace(base, segment=16, q_halt=0.4, wants_halt=False, halted=True, halted_at=16)
    text = panel_text(trm_at_mmax, status, lambda name: "", 80).plain
    assert "→ go on" in text and "solve stops here: Mmax" in text and "continue" not in text
