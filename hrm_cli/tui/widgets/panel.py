"""The side panel: numbers for the segment under the playhead, then the trend and H/L charts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget

from hrm.solver import Frame
from hrm_cli.tui.widgets.charts import InnerChart, Trends

HALT_THRESHOLD = 0.5

StyleFor = Callable[[str], Style]   # maps "good", "bad", "dim", "label" to a Rich style


@dataclass(frozen=True)
class Status:
    """Playback and model state shown under the numbers."""

    attempt: int            # 0-based
    attempts: int
    playing: bool
    speed: float            # segments per second
    model: str              # "running", "done", "stopped" or "failed"
    ready: int              # frames computed for this attempt
    max_segments: int | None


class Stats(Widget):
    COMPONENT_CLASSES = {"stats--label", "stats--good", "stats--bad", "stats--dim"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.frame: Frame | None = None
        self.status: Status | None = None

    def show(self, frame: Frame | None, status: Status) -> None:
        self.frame, self.status = frame, status
        self.refresh(layout=True)  # the number of lines varies

    def render(self) -> Text:
        if self.status is None:
            return Text()
        return stats_text(self.frame, self.status, self._style, max(10, self.size.width))

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"stats--{name}")


def stats_text(frame: Frame | None, status: Status, style: StyleFor, width: int) -> Text:
    """The numbers block for the frame under the playhead."""
    rows: list[tuple[str, Text]] = [("segment", _segment(frame, status))]
    if frame is not None:
        rows += [
            ("q_halt", _q_halt(frame, style)),
            ("accuracy", _accuracy(frame, style)),
            ("rules", _rules(frame, style)),
            ("changed", Text(_plural(int(frame.changed.sum()), "cell"))),
            ("time", Text(f"{frame.seconds:.2f} s/segment")),
        ]
    rows += [("play", _playback(status)), ("model", _model(status, style))]
    if status.attempts > 1:
        rows.append(("attempt", _attempt(status)))
    text = Text(no_wrap=True, overflow="ellipsis")
    for i, (label, value) in enumerate(rows):
        if i:
            text.append("\n")
        text.append(f"{label:<9} ", style("label"))
        text.append_text(value)
    if frame is not None and frame.verdict.violations:
        text.append("\n")
        text.append(_truncate(frame.verdict.violations[0], width), style("dim"))
    return text


def _segment(frame: Frame | None, status: Status) -> Text:
    total = frame.max_segments if frame is not None else status.max_segments
    of = f" / {total}" if total else ""
    if frame is None:
        return Text(f"–{of}  (the question)")
    text = Text(f"{frame.segment}{of}", "bold")
    text.append(_stop_note(frame))
    return text


def _stop_note(frame: Frame) -> str:
    """Where `hrm solve` (adaptive halting) stops, and why; watch itself shows every segment."""
    at = frame.halted_at if frame.halted_at is not None else (frame.segment if frame.halted else None)
    if at is None:
        return ""
    if at < frame.segment:
        return f"  (solve stopped at {at})"
    return "  solve stops here" if frame.wants_halt is not False else "  solve stops here: Mmax"


def _q_halt(frame: Frame, style: StyleFor) -> Text:
    """The model's own halt rule: HRM halts when q_halt > q_continue, TRM when q_halt > 0.5."""
    halts = frame.wants_halt if frame.wants_halt is not None else frame.q_halt >= HALT_THRESHOLD
    look = style("good") if halts else ""
    if frame.q_continue is not None:
        text = Text(f"{frame.q_halt:.2f} ", look)
        text.append(f"{'>' if halts else '≤'} continue {frame.q_continue:.2f}", style("dim"))
    else:
        filled = round(frame.q_halt * 10)
        bar = "".join("█" if i < filled else "·" for i in range(10))
        text = Text(f"{frame.q_halt:.2f} ", look)
        text.append(bar[:5] + "│" + bar[5:], look or style("dim"))
    text.append(" → halt" if halts else " → go on", style("dim"))
    return text


def _accuracy(frame: Frame, style: StyleFor) -> Text:
    if frame.accuracy is None:
        return Text("n/a (no known answer)", style("dim"))
    return Text(f"{100 * frame.accuracy:.1f} %", style("good") if frame.accuracy >= 1.0 else "")


def _rules(frame: Frame, style: StyleFor) -> Text:
    verdict = frame.verdict
    if not verdict.checkable:
        return Text("n/a (nothing to check)", style("dim"))
    if verdict.ok:
        return Text("✓ solved", style("good"))
    count = verdict.count
    return Text(f"✗ {count} broken" if count else "✗ not solved", style("bad"))


def _playback(status: Status) -> Text:
    speed = f"{status.speed:g} seg/s"
    return Text(f"▶ playing {speed}" if status.playing else f"⏸ paused ({speed})")


def _model(status: Status, style: StyleFor) -> Text:
    described = {
        "running": (f"computing… {status.ready} ready", ""),
        "done": (f"done, {_plural(status.ready, 'segment')}", style("good")),
        "stopped": (f"stopped after {status.ready}", style("dim")),
        "failed": (f"failed after {status.ready}", style("bad")),
    }
    words, look = described.get(status.model, (status.model, ""))
    return Text(words, look)


def _attempt(status: Status) -> Text:
    note = "" if status.attempt == 0 else f" (noise, seed {status.attempt})"
    return Text(f"{status.attempt + 1} / {status.attempts}{note}")


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _truncate(line: str, width: int) -> str:
    return line if len(line) <= width else line[: max(1, width - 1)] + "…"


class SidePanel(Vertical):
    """Numbers, trends and (when the model reports them) inner-cycle residuals."""

    def __init__(self, l_cycles: int | None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.l_cycles = l_cycles

    def compose(self) -> ComposeResult:
        yield Stats(id="stats")
        yield Trends(id="trends")
        yield InnerChart(self.l_cycles, id="inner")

    def show(self, frames: list[Frame], playhead: int, status: Status) -> None:
        frame = frames[playhead] if 0 <= playhead < len(frames) else None
        self.query_one(Stats).show(frame, status)
        self.query_one(Trends).show(frames, playhead)
        inner = self.query_one(InnerChart)
        inner.display = any(f.l_residuals for f in frames)
        inner.show(frames, playhead)
