"""Small text charts for the side panel: per-segment sparklines and the H/L residual view."""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from hrm.solver import Frame

BLOCKS = " ▁▂▃▄▅▆▇█"


def bar_heights(values: Sequence[float | None], lo: float, hi: float, levels: int) -> list[int | None]:
    """Scale values into 1..levels (None stays None) so even the smallest value stays visible."""
    span = hi - lo
    out: list[int | None] = []
    for value in values:
        if value is None or math.isnan(value):
            out.append(None)
        elif span <= 0:
            out.append(max(1, levels // 2))
        else:
            out.append(1 + round((min(max(value, lo), hi) - lo) / span * (levels - 1)))
    return out


def sparkline(values: Sequence[float | None], lo: float, hi: float) -> str:
    """One row of block characters; missing values are drawn as '·'."""
    return "".join("·" if h is None else BLOCKS[h] for h in bar_heights(values, lo, hi, 8))


def bar_rows(heights: Sequence[int | None], rows: int) -> list[str]:
    """Vertical bars `rows` lines tall from heights in eighths (1..8*rows), top line first."""
    lines = []
    for row in range(rows - 1, -1, -1):
        line = ""
        for h in heights:
            line += " " if h is None else BLOCKS[min(8, max(0, h - 8 * row))]
        lines.append(line)
    return lines


class _FrameChart(Widget):
    """A chart over the frames seen so far, with the playhead's segment highlighted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frames: list[Frame] = []
        self.playhead = -1

    def show(self, frames: list[Frame], playhead: int) -> None:
        self.frames, self.playhead = frames, playhead
        self.refresh()


class Trends(_FrameChart):
    """q_halt, accuracy, broken rules and time per segment as labelled sparklines."""

    COMPONENT_CLASSES = {"chart--label", "chart--bar", "chart--current"}

    def render(self) -> Text:
        width = max(1, self.size.width - 10)
        start = max(0, len(self.frames) - width) if self.playhead < 0 else self._window_start(width)
        shown = self.frames[start:start + width]
        series = [
            ("q_halt", [f.q_halt for f in shown], 0.0, 1.0),
            ("accuracy", [f.accuracy for f in shown], 0.0, 1.0),
            ("broken", [_broken(f) for f in shown], 0.0, max([_broken(f) or 0 for f in shown] + [1])),
            ("s/seg", [f.seconds for f in shown], 0.0, max([f.seconds for f in shown] + [1e-9])),
        ]
        text = Text()
        for i, (label, values, lo, hi) in enumerate(series):
            if i:
                text.append("\n")
            text.append(f"{label:<9} ", self.get_component_rich_style("chart--label"))
            self._append_line(text, sparkline(values, lo, hi), self.playhead - start)
        return text

    def _window_start(self, width: int) -> int:
        """Keep the playhead inside the visible window, preferring to show the latest segments."""
        latest = max(0, len(self.frames) - width)
        return min(latest, self.playhead)

    def _append_line(self, text: Text, line: str, current: int) -> None:
        bar = self.get_component_rich_style("chart--bar")
        for i, char in enumerate(line):
            text.append(char, self.get_component_rich_style("chart--current") if i == current else bar)


def _broken(frame: Frame) -> float | None:
    return float(frame.verdict.count) if frame.verdict.checkable else None


class InnerChart(_FrameChart):
    """The H/L view: relative change of the low-level state per inner L call, on a log scale.

    Within a segment the L module converges (residuals fall) until the H module updates and gives it
    a new context (residuals jump): the paper's hierarchical convergence. Calls of the current segment
    are highlighted; when `l_cycles` is known, the first L call after each H update is marked.
    """

    COMPONENT_CLASSES = {"chart--label", "chart--bar", "chart--current", "chart--reset"}
    ROWS = 4

    def __init__(self, l_cycles: int | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.l_cycles = l_cycles

    def render(self) -> Text:
        label = self.get_component_rich_style("chart--label")
        text = Text("H/L  Δz_L/z_L per L call, log", label, no_wrap=True, overflow="crop")
        columns = self._columns()
        if not columns:
            text.append("\nno inner-cycle data for this segment", label)
            return text
        logs = [math.log10(max(value, 1e-12)) for _, _, value in columns]
        heights = bar_heights(logs, min(logs), max(logs), 8 * self.ROWS)
        for line in bar_rows(heights, self.ROWS):
            text.append("\n")
            for (segment, call, _), char in zip(columns, line, strict=True):
                text.append(char, self._bar_style(segment, call))
        lo, hi = min(columns, key=lambda c: c[2])[2], max(columns, key=lambda c: c[2])[2]
        text.append(f"\nmin {lo:.1e}  max {hi:.1e}", label)
        return text

    def _columns(self) -> list[tuple[int, int, float]]:
        """(segment index, call index, residual) for the calls up to the playhead that fit the width."""
        columns: list[tuple[int, int, float]] = []
        for index, frame in enumerate(self.frames[: self.playhead + 1]):
            for call, value in enumerate(frame.l_residuals or []):
                columns.append((index, call, float(value)))
        return columns[-max(1, self.size.width):]

    def _bar_style(self, segment: int, call: int) -> Style:
        if self.l_cycles and call % self.l_cycles == 0 and segment == self.playhead:
            return self.get_component_rich_style("chart--reset")
        if segment == self.playhead:
            return self.get_component_rich_style("chart--current")
        return self.get_component_rich_style("chart--bar")
