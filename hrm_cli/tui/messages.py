"""Messages the worker threads post to the UI (post_message is thread-safe).

None bubbles: each is meant for the screen that owns the worker that sent it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from pathlib import Path

    from hrm.solver import Frame
    from hrm_cli.tui.session import Session


class SolverStarted(Message, bubble=False):
    """A run of the model began for `attempt`. `run` tells runs apart so late messages are ignored."""

    def __init__(self, run: int, attempt: int) -> None:
        super().__init__()
        self.run, self.attempt = run, attempt


class SolverFrame(Message, bubble=False):
    """The model finished one more segment."""

    def __init__(self, run: int, attempt: int, frame: Frame) -> None:
        super().__init__()
        self.run, self.attempt, self.frame = run, attempt, frame


class SolverDone(Message, bubble=False):
    """The frame stream ended (the model halted or reached its segment limit)."""

    def __init__(self, run: int, attempt: int, segments: int) -> None:
        super().__init__()
        self.run, self.attempt, self.segments = run, attempt, segments


class SessionReady(Message, bubble=False):
    """A picked file was read and its model loaded."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session


class SaveDone(Message, bubble=False):
    """Images of the current view were written."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self.paths = paths
