"""Screens: watching a solve, picking a file, and showing an error instead of a traceback."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DirectoryTree, Footer, Header, Static
from textual.worker import Worker, WorkerState, get_current_worker

from hrm.errors import HRMError
from hrm.solver import Frame
from hrm_cli.tui.messages import SaveDone, SessionReady, SolverDone, SolverFrame, SolverStarted
from hrm_cli.tui.runner import Timeline, pump_frames
from hrm_cli.tui.session import Session
from hrm_cli.tui.widgets.board import Board
from hrm_cli.tui.widgets.panel import SidePanel, Status

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)   # playback speeds in segments per second
DEFAULT_SPEED = 2.0

OpenFile = Callable[[Path], Session]       # read a puzzle file and load its model (may raise HRMError)


@dataclass(frozen=True)
class WatchOptions:
    out_dir: Path = Path(".")      # where `s` writes PNG and GIF files
    paused: bool = False           # start paused (step with n / right arrow)
    speed: float = DEFAULT_SPEED   # segments per second


class WatchScreen(Screen):
    """The board and side panel for one puzzle; owns the solver worker and the playhead timer."""

    BINDINGS = [
        Binding("space", "toggle_pause", "pause"),
        Binding("right,n", "step", "step", key_display="n/→"),
        Binding("left", "back", "back", key_display="←"),
        Binding("plus,equals_sign", "faster", "faster", key_display="+"),
        Binding("minus", "slower", "slower", key_display="-"),
        Binding("r", "restart", "restart"),
        Binding("a", "next_attempt", "attempt"),
        Binding("s", "save", "save"),
        Binding("home", "first", "first segment", show=False),
        Binding("end", "last", "latest segment", show=False),
        Binding("escape", "files", "files", key_display="esc"),
    ]

    def __init__(self, session: Session, options: WatchOptions, *, from_picker: bool = False) -> None:
        super().__init__()
        self.session = session
        self.options = options
        self.from_picker = from_picker
        self.timeline = Timeline(session.attempts)
        self.paused = options.paused
        self.speed_index = _nearest_speed(options.speed)
        self.model_state = "running"
        self._run = 0
        self._worker: Worker | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Horizontal(id="body"):
            yield Board(self.session.puzzle, id="board")
            yield SidePanel(self.session.l_cycles, id="side")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.title = "hrm watch"
        self.sub_title = self.session.label or self.session.puzzle.name
        self._restart_timer()
        self._start(self.timeline.attempt)
        self.redraw()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_attempt":
            return self.session.attempts > 1
        if action == "files":
            return self.from_picker
        return True

    # ------------------------------------------------------------------ model runs

    def _start(self, attempt: int) -> None:
        self._run += 1
        self.timeline.clear(attempt)
        self.model_state = "running"
        self._worker = self.run_solver(self._run, attempt)

    @work(thread=True, exclusive=True, exit_on_error=False, group="solver", description="running the model")
    def run_solver(self, run: int, attempt: int) -> int:
        worker = get_current_worker()
        return pump_frames(self.session.source, run, attempt, self.post_message, lambda: worker.is_cancelled)

    def on_solver_started(self, message: SolverStarted) -> None:
        if message.run == self._run:
            self.model_state = "running"
            self.redraw()

    def on_solver_frame(self, message: SolverFrame) -> None:
        if message.run == self._run:
            self.timeline.add(message.attempt, message.frame)
            self.redraw_panel()

    def on_solver_done(self, message: SolverDone) -> None:
        if message.run == self._run:
            self.timeline.finish(message.attempt)
            self.model_state = "done"
            self.redraw_panel()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker, state = event.worker, event.state
        if worker.group == "save" and state == WorkerState.ERROR:
            title, message, hint, _ = describe_error(worker.error)
            self.notify(f"{message} ({hint})" if hint else message, title="could not save", severity="error")
        if worker is not self._worker:
            return
        if state == WorkerState.ERROR:
            self.model_state = "failed"
            self.redraw_panel()
            self.app.push_screen(ErrorScreen(*describe_error(worker.error)))
        elif state == WorkerState.CANCELLED:
            self.model_state = "stopped"
            self.redraw_panel()

    # ------------------------------------------------------------------ playback

    def _restart_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_interval(1.0 / SPEEDS[self.speed_index], self._tick)

    def _tick(self) -> None:
        if not self.paused and self.timeline.forward():
            self.redraw()

    def action_toggle_pause(self) -> None:
        replay = self.paused and self.timeline.at_end and self.timeline.attempt in self.timeline.complete
        if replay:
            self.timeline.playhead = -1
        self.paused = not self.paused
        self.redraw()

    def action_step(self) -> None:
        self.paused = True
        if not self.timeline.forward() and self.model_state == "running":
            self.notify("the model is still computing the next segment", timeout=2)
        self.redraw()

    def action_back(self) -> None:
        self.paused = True
        self.timeline.back()
        self.redraw()

    def action_first(self) -> None:
        self.paused = True
        self.timeline.rewind()
        self.redraw()

    def action_last(self) -> None:
        self.paused = True
        self.timeline.jump_to_end()
        self.redraw()

    def action_faster(self) -> None:
        self.speed_index = min(len(SPEEDS) - 1, self.speed_index + 1)
        self._restart_timer()
        self.redraw_panel()

    def action_slower(self) -> None:
        self.speed_index = max(0, self.speed_index - 1)
        self._restart_timer()
        self.redraw_panel()

    def action_restart(self) -> None:
        """Replay the current attempt from its first segment (re-running the model if it never finished)."""
        attempt = self.timeline.attempt
        if attempt not in self.timeline.complete and self.model_state != "running":
            self._start(attempt)
        self.timeline.playhead = -1
        self.paused = False
        self.redraw()

    def action_next_attempt(self) -> None:
        attempt = self.timeline.next_attempt()
        if attempt not in self.timeline.complete:
            self._start(attempt)
        self.paused = False
        self.notify(f"attempt {attempt + 1} of {self.timeline.attempts}", timeout=2)
        self.redraw()

    def action_files(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self.dismiss()

    # ------------------------------------------------------------------ saving

    def action_save(self) -> None:
        """Write the terminal view as SVG now, then the board as PNG and the segments so far as GIF."""
        frames = self.timeline.current[: self.timeline.playhead + 1]
        if not frames:
            self.notify("nothing to save yet: no segment is shown", severity="warning")
            return
        puzzle = self.session.puzzle
        stem = f"{file_stem(puzzle.name, puzzle.task)}-a{self.timeline.attempt + 1}-seg{frames[-1].segment:02d}"
        out_dir = self.options.out_dir
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            svg = unused_path(out_dir / f"{stem}-screen.svg")
            self.app.save_screenshot(filename=svg.name, path=str(svg.parent))
        except OSError as exc:
            self.notify(f"{out_dir}: {exc.strerror or exc}", title="could not save", severity="error")
            return
        self.save_images(frames, out_dir / stem, svg)

    @work(thread=True, exit_on_error=False, group="save", description="saving images")
    def save_images(self, frames: list[Frame], base: Path, svg: Path) -> None:
        try:
            from hrm.imaging.render import save_gif, save_png
        except ImportError as exc:
            raise HRMError(f"saved {svg}, but PNG and GIF need hrm.imaging.render, which this install lacks",
                           hint=str(exc)) from exc
        puzzle, frame = self.session.puzzle, frames[-1]
        png = unused_path(base.with_name(base.name + ".png"))
        save_png(puzzle.task, puzzle, frame.answer, png, confidence=frame.confidence, changed=frame.changed)
        paths = [svg, png]
        if len(frames) > 1:
            gif = unused_path(base.with_name(base.name + "-history.gif"))
            save_gif(puzzle.task, puzzle, frames, gif)
            paths.append(gif)
        self.post_message(SaveDone(paths))

    def on_save_done(self, message: SaveDone) -> None:
        self.notify("\n".join(str(p) for p in message.paths), title="saved")

    # ------------------------------------------------------------------ drawing

    def status(self) -> Status:
        return Status(
            attempt=self.timeline.attempt, attempts=self.timeline.attempts,
            playing=not self.paused, speed=SPEEDS[self.speed_index], model=self.model_state,
            ready=len(self.timeline.current), max_segments=self.session.max_segments,
        )

    def redraw(self) -> None:
        self.query_one(Board).show(self.timeline.frame)
        self.redraw_panel()

    def redraw_panel(self) -> None:
        self.query_one(SidePanel).show(self.timeline.current, self.timeline.playhead, self.status())


def _nearest_speed(speed: float) -> int:
    return min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - speed))


def file_stem(name: str, fallback: str) -> str:
    """A safe file-name stem from a puzzle name such as 'examples/sudoku/easy.txt:3'."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"\.(txt|json|png|jpe?g|csv)\b", "", base)
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", base).strip("-")
    return base or fallback


def unused_path(path: Path) -> Path:
    """`path`, or `path` with -2, -3, ... added so an earlier save is never overwritten."""
    candidate, n = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


ERROR_TITLES = {
    "PuzzleParseError": "cannot read the puzzle",
    "ImageReadError": "cannot read the image",
    "WeightsError": "cannot load the model",
    "DeviceError": "device problem",
    "DataError": "data problem",
}


def describe_error(exc: BaseException | None) -> tuple[str, str, str | None, str | None]:
    """(title, message, hint, details) for the error screen; details only for unexpected errors."""
    if isinstance(exc, HRMError):
        return ERROR_TITLES.get(type(exc).__name__, "error"), exc.message, exc.hint, None
    if exc is None:
        return "error", "the model stopped without saying why", None, None
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return "file problem", f"{where}{exc.strerror or exc}", None, None
    details = "".join(traceback.format_exception(exc)[-12:])
    hint = "this looks like a bug; the details follow"
    return "unexpected error", f"{type(exc).__name__}: {exc}", hint, details


class ErrorScreen(ModalScreen[None]):
    """A readable error in place of a traceback. esc goes back, q quits."""

    BINDINGS = [
        Binding("escape,enter", "dismiss", "back", key_display="esc"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, title: str, message: str, hint: str | None = None, details: str | None = None) -> None:
        super().__init__()
        self.error_title, self.message, self.hint, self.details = title, message, hint, details

    def compose(self) -> ComposeResult:
        with Vertical(id="error-box"):
            yield Static(self.error_title, id="error-title", markup=False)
            yield Static(self.message, id="error-message", markup=False)
            if self.hint:
                yield Static(self.hint, id="error-hint", markup=False)
            if self.details:
                yield Static(self.details, id="error-details", markup=False)
            yield Static("esc back · q quit", id="error-keys")


HIDDEN_NAMES = {"__pycache__", "node_modules"}


class PuzzleTree(DirectoryTree):
    """A directory tree without hidden files and caches."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and p.name not in HIDDEN_NAMES]


class PickerScreen(Screen):
    """Choose a puzzle file when `hrm watch` got none; loading runs in a worker."""

    BINDINGS = [Binding("q", "app.quit", "quit")]

    def __init__(self, start_dir: Path, open_file: OpenFile, options: WatchOptions) -> None:
        super().__init__()
        self.start_dir, self.open_file, self.options = start_dir, open_file, options

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static("Pick a puzzle file (text, JSON or image) and press enter.", id="picker-help")
        yield PuzzleTree(self.start_dir, id="tree")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.title = "hrm watch"
        self.sub_title = str(self.start_dir)
        self.query_one(PuzzleTree).focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.query_one(PuzzleTree).loading = True
        self.load(event.path)

    @work(thread=True, exclusive=True, exit_on_error=False, group="loader", description="loading the puzzle")
    def load(self, path: Path) -> None:
        self.post_message(SessionReady(self.open_file(path)))

    def on_session_ready(self, message: SessionReady) -> None:
        self.query_one(PuzzleTree).loading = False
        self.app.push_screen(WatchScreen(message.session, self.options, from_picker=True))

    @on(Worker.StateChanged)
    def _load_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "loader" and event.state == WorkerState.ERROR:
            self.query_one(PuzzleTree).loading = False
            self.app.push_screen(ErrorScreen(*describe_error(event.worker.error)))
