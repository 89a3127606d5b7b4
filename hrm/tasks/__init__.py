"""Task registry. Built-in tasks are imported lazily by name."""

from __future__ import annotations

import importlib

from hrm.errors import HRMError
from hrm.tasks.base import Puzzle, Task, Verdict

# name -> "module:Class"; a fourth task adds one line here.
REGISTRY: dict[str, str] = {
    "sudoku": "hrm.tasks.sudoku:SudokuTask",
    "maze": "hrm.tasks.maze:MazeTask",
    "arc": "hrm.tasks.arc:ArcTask",
}

_instances: dict[str, Task] = {}


def get_task(name: str) -> Task:
    """Return the (cached) task object for `name`."""
    if name not in REGISTRY:
        raise HRMError(f"unknown task '{name}'", hint=f"choose one of: {', '.join(REGISTRY)}")
    if name not in _instances:
        module_name, class_name = REGISTRY[name].split(":")
        _instances[name] = getattr(importlib.import_module(module_name), class_name)()
    return _instances[name]


def detect_task(text: str) -> Task:
    """Pick the task whose `sniff` accepts the text (ARC JSON, then maze, then sudoku)."""
    for name in ("arc", "maze", "sudoku"):
        task = get_task(name)
        if task.sniff(text):
            return task
    for name in REGISTRY:                     # a near miss: that task's own parser says what is wrong
        task = get_task(name)
        resembles = getattr(task, "resembles", None)
        if resembles is not None and resembles(text):
            task.parse(text)
            return task
    raise HRMError("could not tell which puzzle this is", hint="pass --task sudoku|maze|arc")


__all__ = ["REGISTRY", "Puzzle", "Task", "Verdict", "detect_task", "get_task"]
