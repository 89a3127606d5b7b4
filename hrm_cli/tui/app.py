"""The `hrm watch` app: a thin shell that opens the watch screen, or the file picker first.

`make_app` is shared by the CLI and the tests; tests pass a Session whose source replays prepared
frames, so they need neither torch nor weights.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from hrm_cli.tui.screens import DEFAULT_SPEED, OpenFile, PickerScreen, WatchOptions, WatchScreen
from hrm_cli.tui.session import Session


class WatchApp(App[None]):
    CSS_PATH = "hrm.tcss"
    TITLE = "hrm watch"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),
    ]

    def __init__(self, session: Session | None, options: WatchOptions, *,
                 open_file: OpenFile | None = None, start_dir: Path = Path(".")) -> None:
        super().__init__()
        if session is None and open_file is None:
            raise ValueError("WatchApp needs a session or an open_file callback for the file picker")
        self.session, self.options = session, options
        self.open_file, self.start_dir = open_file, start_dir

    def on_mount(self) -> None:
        if self.session is not None:
            self.push_screen(WatchScreen(self.session, self.options))
        else:
            assert self.open_file is not None
            self.push_screen(PickerScreen(self.start_dir, self.open_file, self.options))


def make_app(session: Session | None = None, *, open_file: OpenFile | None = None,
             start_dir: Path | str = ".", out_dir: Path | str = ".", paused: bool = False,
             speed: float = DEFAULT_SPEED) -> WatchApp:
    """Build the watch app for one session, or for a file picker that turns a path into a session."""
    options = WatchOptions(out_dir=Path(out_dir), paused=paused, speed=speed)
    return WatchApp(session, options, open_file=open_file, start_dir=Path(start_dir))
