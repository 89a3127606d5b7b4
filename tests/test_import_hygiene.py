"""The engine never imports the front end, and `hrm --help` stays light (no torch)."""

from __future__ import annotations

import subprocess
import sys

ENGINE_MODULES = ["hrm", "hrm.config", "hrm.model", "hrm.solver", "hrm.train.loop", "hrm.data.build",
                  "hrm.tasks.sudoku", "hrm.tasks.maze", "hrm.tasks.arc", "hrm.export", "hrm.imaging.render"]


def _loaded_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_engine_imports_no_ui_library():
    modules = _loaded_after("\n".join(f"import {m}" for m in ENGINE_MODULES))
    for ui in ("typer", "rich", "textual", "hrm_cli"):
        assert ui not in modules, f"the engine imported {ui}"


def test_cli_help_does_not_import_torch():
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "hrm_cli", "--help"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "solve" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "torch" not in imported and "textual" not in imported


def test_unknown_option_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "hrm_cli", "solve", "--no-such-option"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "No such option" in result.stderr and "Traceback" not in result.stderr
