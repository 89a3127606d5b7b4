"""One place that decides what goes where: results on stdout, everything else on stderr."""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

WEIGHTS_HELP = ("Weights file, run folder, shipped model name, or hub model hf:OWNER/NAME (hf:OWNER/NAME@REVISION "
                "for one revision) (default: the shipped model).")


_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)] if chr(c) not in "\n\t"}


def visible(text: object) -> str:
    """Text from a file (a card, a name, a task id) made harmless for a terminal: control characters
    such as ESC (title changes, screen clears) shown as \\xNN."""
    return str(text).translate(_CONTROL)


def safe(text: object) -> str:
    """`visible` text that is also escaped for Rich markup, for interpolating into a markup string."""
    from rich.markup import escape

    return escape(visible(text))


class SurvivingStream(io.TextIOBase):
    """A text stream that outlives its reader. `hrm train ... | tee log` gets one Ctrl-C for the whole
    pipeline: tee dies, and the next progress line would raise BrokenPipeError in the middle of the
    step that is about to save. After the first failed write the stream is dead: writes are dropped
    and its file descriptor points at /dev/null, so neither the run nor Python's exit-time flush fails."""

    def __init__(self, stream: io.TextIOBase) -> None:
        super().__init__()
        self._stream = stream
        self.dead = False

    def _guard(self, action: str, *args: object) -> object:
        if self.dead:
            return None
        try:
            return getattr(self._stream, action)(*args)
        except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
            self._die()
            return None

    def _die(self) -> None:
        self.dead = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass

    def write(self, text: str) -> int:
        self._guard("write", text)
        return len(text)

    def flush(self) -> None:
        self._guard("flush")

    def isatty(self) -> bool:
        return not self.dead and bool(self._guard("isatty"))

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", "utf-8")


def survive_closed_outputs() -> None:
    """Wrap stdout and stderr so a closed pipe or terminal never interrupts the work (see SurvivingStream)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, SurvivingStream):
            setattr(sys, name, SurvivingStream(stream))


def outputs_alive() -> list[str]:
    """Names of the standard streams that can still be written to."""
    return [name for name in ("stdout", "stderr") if not getattr(getattr(sys, name), "dead", False)]


@dataclass
class Printer:
    quiet: int = 0          # -q hides all but the result, -qq prints nothing
    verbose: int = 0
    progress_bars: bool = True   # --no-progress / HRM_NO_PROGRESS
    color: str = "auto"     # auto | always | never
    reported_stop: bool = False   # a command said why it stopped early (main adds no "interrupted")

    def __post_init__(self) -> None:
        force = {"always": True, "never": False}.get(self.color)
        no_color = self.color == "never" or (self.color == "auto" and "NO_COLOR" in os.environ)
        self.out = Console(force_terminal=force, no_color=no_color, highlight=False, soft_wrap=True)
        self.err = Console(stderr=True, force_terminal=force, no_color=no_color, highlight=False)
        if os.environ.get("HRM_NO_PROGRESS"):
            self.progress_bars = False

    @property
    def show_progress(self) -> bool:
        return self.progress_bars and self.quiet == 0 and self.verbose == 0 and self.err.is_terminal

    def progress(self, title: str = "{task.description}", *fields: str, count: ProgressColumn | None = None,
                 elapsed: bool = False, transient: bool = True, refresh_per_second: float = 10) -> Progress | None:
        """The one way commands draw progress: a Rich display on stderr of `title`, a bar, `count` (done/total
        by default), text `fields` and the time remaining (or `elapsed`); None when bars are not shown
        (quiet, verbose, --no-progress, stderr not a terminal), and the caller says nothing or prints lines."""
        if not self.show_progress:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = [TextColumn(title), BarColumn(), count or MofNCompleteColumn(), *map(TextColumn, fields),
                   TimeElapsedColumn() if elapsed else TimeRemainingColumn()]
        return Progress(*columns, console=self.err, transient=transient, refresh_per_second=refresh_per_second)

    def result(self, renderable: object = "", **kwargs: object) -> None:
        if self.quiet < 2:
            self.out.print(renderable, **kwargs)

    def json_line(self, text: str) -> None:
        """Machine output: written raw so no styling or wrapping can corrupt it."""
        if self.quiet < 2:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def info(self, renderable: object, **kwargs: object) -> None:
        if self.quiet == 0:
            self.err.print(renderable, **kwargs)

    def warn(self, message: str) -> None:
        """A caveat the user should see (stderr, unless --quiet)."""
        if self.quiet == 0:
            self.err.print(f"[yellow]warning:[/] {safe(message)}", markup=True, highlight=False, soft_wrap=True)

    def debug(self, renderable: object) -> None:
        if self.verbose > 0:
            self.err.print(renderable, style="dim")

    def error(self, message: str, hint: str | None = None) -> None:
        text = f"[bold red]error:[/] {safe(message)}" + (f" [dim]({safe(hint)})[/]" if hint else "")
        self.err.print(text,
                       markup=True, highlight=False, soft_wrap=True)


_printer: Printer | None = None


def get_printer() -> Printer:
    global _printer
    if _printer is None:
        _printer = Printer()
    return _printer


def set_printer(printer: Printer) -> None:
    global _printer
    _printer = printer
