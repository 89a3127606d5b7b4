"""`hrm watch`: the model's reasoning, segment by segment, live in the terminal.

Problems found before the app starts (unreadable file, missing weights, no terminal) are one line on
stderr and exit 2; problems found inside the app (a file picked there, a failing model) get an
error screen. Torch, the engine and Textual are imported inside the command body only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hrm_cli import exit_codes
from hrm_cli.output import WEIGHTS_HELP, get_printer

if TYPE_CHECKING:
    from hrm.tasks.base import Puzzle, Task
    from hrm.weights import LoadedModel
    from hrm_cli.tui.session import Session


def watch(
    file: str = typer.Argument(None, help="Puzzle file (text, JSON or image); omit it to pick one."),
    task: str = typer.Option(None, "--task", "-t", help="sudoku, maze or arc (default: detected)."),
    weights: Path = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    max_segments: int = typer.Option(None, "--max-segments", "-m", min=1,
                                     help="Segments to run (default: the model's training Mmax)."),
    attempts: int = typer.Option(1, "--attempts", "-k", min=1,
                                 help="Trajectories to browse with `a`; attempts after the first add noise."),
    index: int = typer.Option(1, "--index", "-i", min=1, help="Which puzzle of the file (1-based)."),
    out_dir: Path = typer.Option(Path("."), "--out-dir", "-o", help="Where `s` saves PNG and GIF files."),
    paused: bool = typer.Option(False, "--paused", help="Start paused; step with n or the right arrow."),
    speed: float = typer.Option(2.0, "--speed", min=0.1, help="Playback speed in segments per second."),
) -> None:
    """Watch the model think: the board after every segment, q_halt, accuracy and the H/L cycles."""
    from hrm.errors import HRMError

    if file == "-":
        raise HRMError("hrm watch needs the keyboard on stdin, so it cannot read the puzzle from there",
                       hint="save the puzzle to a file and pass its path")
    if weights is not None:   # a hub model is downloaded here, before the app owns the terminal
        from hrm.weights import resolve_weights

        weights = resolve_weights(weights, get_printer().show_progress)
    opener = SessionOpener(task=task, weights=weights, device=device, max_segments=max_segments,
                           attempts=attempts, index=index)
    chosen = opener.read(Path(file)) if file is not None else None
    if not _interactive():
        raise HRMError("hrm watch draws in an interactive terminal, and this is not one",
                       hint="run it in a terminal; for pictures use `hrm solve --png` or `hrm export`")
    session = None
    if chosen is not None:
        get_printer().info(f"loading the {chosen[0].name} model…")
        session = opener.session(*chosen)

    from hrm_cli.tui import make_app

    app = make_app(session, open_file=opener, start_dir=Path.cwd(), out_dir=out_dir, paused=paused,
                   speed=speed)
    app.run()
    raise typer.Exit(exit_codes.OK)


def _interactive() -> bool:
    """Textual reads keys from stdin and draws on stderr, so both must be a terminal."""
    streams = (sys.__stdin__, sys.__stderr__)
    return all(stream is not None and stream.isatty() for stream in streams)


class SessionOpener:
    """Turns a puzzle path into a watch Session; loaded models are kept per task for the file picker."""

    def __init__(self, *, task: str | None, weights: Path | None, device: str, max_segments: int | None,
                 attempts: int, index: int) -> None:
        self.task, self.weights, self.device = task, weights, device
        self.max_segments, self.attempts, self.index = max_segments, attempts, index
        self._models: dict[str, LoadedModel] = {}

    def __call__(self, path: Path) -> Session:
        return self.session(*self.read(path))

    def read(self, path: Path) -> tuple[Task, Puzzle]:
        """(task, puzzle) for the chosen puzzle of the file; HRMError when it cannot be watched."""
        from hrm.errors import HRMError
        from hrm_cli.inputs import read_puzzles

        puzzle_task, puzzles = read_puzzles(str(path), self.task)
        if self.index > len(puzzles):
            raise HRMError(f"{path} holds {len(puzzles)} puzzle{'s' if len(puzzles) != 1 else ''}, "
                           f"so there is no puzzle {self.index}", hint=f"pass --index 1..{len(puzzles)}")
        puzzle = puzzles[self.index - 1]
        problems = puzzle_task.check_givens(puzzle)
        if problems:
            raise HRMError(f"{puzzle.name or path}: the givens already break a rule: {problems[0]}",
                           hint="fix the puzzle; no model can solve it")
        return puzzle_task, puzzle

    def session(self, puzzle_task: Task, puzzle: Puzzle) -> Session:
        from hrm_cli.tui.session import Session, model_source

        loaded = self._model(puzzle_task.name)
        config = loaded.config
        return Session(
            puzzle=puzzle,
            source=model_source(loaded, puzzle_task, puzzle, self.max_segments),
            attempts=self.attempts,
            max_segments=self.max_segments or getattr(config, "halt_max_steps", None),
            l_cycles=getattr(config, "L_cycles", None),
            label=f"{puzzle.name} · {Path(str(loaded.path)).name}",
        )

    def _model(self, task_name: str) -> LoadedModel:
        if task_name not in self._models:
            from hrm.weights import load_model

            self._models[task_name] = load_model(self.weights, task_name, self.device)
        return self._models[task_name]


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=False)(watch)
