"""hrm: a faithful Hierarchical Reasoning Model (and TRM) engine for puzzles.

Public API (imports are lazy so `import hrm` stays cheap):
    hrm.load_model(weights=None, task="sudoku", device="auto", engine="torch") -> LoadedModel
        (engine="numpy": the same forward in numpy, CPU inference without importing torch)
    hrm.get_task("sudoku" | "maze" | "arc") -> Task
    hrm.register_task(name, factory): another puzzle family (a class implementing hrm.tasks.base.Task,
        usually on hrm.tasks.base.TaskDefaults); every front end draws it from its `look` (hrm.tasks.look)
    hrm.solve(loaded, task, puzzles, ...) -> list[Solution]
    hrm.iter_steps(model, tokens, ...) / hrm.frames(loaded, task, puzzle) -> per-segment streams

The engine never imports the command-line or terminal UI libraries (typer, rich, textual).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "load_model": "hrm.weights",
    "get_task": "hrm.tasks",
    "detect_task": "hrm.tasks",
    "register_task": "hrm.tasks",
    "solve": "hrm.solver",
    "iter_steps": "hrm.solver",
    "frames": "hrm.solver",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hrm' has no attribute {name!r}")
