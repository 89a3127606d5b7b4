"""Run the real `hrm` entry point in-process (fast) and capture exit code, stdout and stderr."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str | None = None,
            env: dict[str, str] | None = None) -> CliResult:
    from hrm_cli.main import main

    monkeypatch.setattr(sys, "argv", ["hrm", *args])
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "160")
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main()
    captured = capsys.readouterr()
    code = exit_info.value.code
    return CliResult(code if isinstance(code, int) else (0 if code is None else 1), captured.out, captured.err)
