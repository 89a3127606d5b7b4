"""How frames flow: the worker body that posts a source's frames (hrm_cli.tui.session), and the
timeline that stores them so playback (speed, pause, scrubbing) is independent of model speed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from hrm.solver import Frame
from hrm_cli.tui.messages import SolverDone, SolverFrame, SolverStarted
from hrm_cli.tui.session import FrameSource


def pump_frames(source: FrameSource, run: int, attempt: int, post: Callable[[Message], Any],
                cancelled: Callable[[], bool]) -> int:
    """Worker body: post every frame of one attempt; stop between segments once cancelled.

    Returns the number of frames posted. Exceptions propagate so the worker's ERROR state reports them.
    """
    post(SolverStarted(run, attempt))
    stream = source(attempt)
    count = 0
    try:
        for frame in stream:
            if cancelled():
                return count
            post(SolverFrame(run, attempt, frame))
            count += 1
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()  # let a generator release the model's tensors now, not at garbage collection
    if not cancelled():
        post(SolverDone(run, attempt, count))
    return count


class Timeline:
    """Frames per attempt and a playhead into the current attempt's frames (-1: the bare question)."""

    def __init__(self, attempts: int) -> None:
        self.attempts = max(1, attempts)
        self.frames: dict[int, list[Frame]] = {k: [] for k in range(self.attempts)}
        self.complete: set[int] = set()
        self.attempt = 0
        self.playhead = -1

    @property
    def current(self) -> list[Frame]:
        return self.frames[self.attempt]

    @property
    def frame(self) -> Frame | None:
        return self.current[self.playhead] if self.playhead >= 0 else None

    @property
    def at_end(self) -> bool:
        return self.playhead >= len(self.current) - 1

    def add(self, attempt: int, frame: Frame) -> None:
        self.frames[attempt].append(frame)

    def finish(self, attempt: int) -> None:
        self.complete.add(attempt)

    def clear(self, attempt: int) -> None:
        """Forget an attempt's frames before running it again."""
        self.frames[attempt] = []
        self.complete.discard(attempt)
        if attempt == self.attempt:
            self.playhead = -1

    def forward(self) -> bool:
        if self.at_end:
            return False
        self.playhead += 1
        return True

    def back(self) -> bool:
        if self.playhead < 0:
            return False
        self.playhead -= 1
        return True

    def rewind(self) -> None:
        self.playhead = 0 if self.current else -1

    def jump_to_end(self) -> None:
        self.playhead = len(self.current) - 1

    def next_attempt(self) -> int:
        self.attempt = (self.attempt + 1) % self.attempts
        self.rewind()
        return self.attempt
