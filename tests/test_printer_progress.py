"""Printer.progress: the one place a command gets a progress display, and the cases that get none."""

from __future__ import annotations

import pytest
from rich.progress import BarColumn, DownloadColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

from hrm_cli.output import Printer


def _terminal_printer(**options: object) -> Printer:
    return Printer(color="always", **options)      # forces a terminal on stderr


def test_a_bar_on_a_terminal_with_title_count_fields_and_time() -> None:
    bar = _terminal_printer().progress("[bold]{task.description}", "{task.fields[info]}", transient=False)
    assert bar is not None
    kinds = [type(column) for column in bar.columns]
    assert kinds[:3] == [TextColumn, BarColumn, MofNCompleteColumn] and kinds[3] is TextColumn
    assert bar.columns[3].text_format == "{task.fields[info]}"
    assert bar.live.transient is False
    data = _terminal_printer().progress(count=DownloadColumn(), elapsed=True)
    assert isinstance(data.columns[2], DownloadColumn) and isinstance(data.columns[-1], TimeElapsedColumn)


@pytest.mark.parametrize("options", [{"quiet": 1}, {"verbose": 1}, {"progress_bars": False}])
def test_no_bar_when_quiet_verbose_or_switched_off(options: dict) -> None:
    assert _terminal_printer(**options).progress("solving") is None


def test_no_bar_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    assert Printer(color="auto").progress("solving") is None           # pytest captures stderr


def test_hrm_no_progress_switches_bars_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HRM_NO_PROGRESS", "1")
    assert _terminal_printer().progress("solving") is None
