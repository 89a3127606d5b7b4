"""Task registry. Built-in tasks are imported lazily by name; any other task joins with `register_task`."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from hrm.errors import HRMError
from hrm.tasks.base import Puzzle, Task, TaskDefaults, Verdict

# name -> "module:Class" (imported on first use) or a factory that builds the task.
REGISTRY: dict[str, str | Callable[[], Task]] = {
    "sudoku": "hrm.tasks.sudoku:SudokuTask",
    "maze": "hrm.tasks.maze:MazeTask",
    "arc": "hrm.tasks.arc:ArcTask",
}
BUILTIN_TASKS = tuple(REGISTRY)

_instances: dict[str, Task] = {}


def register_task(name: str, factory: str | Callable[[], Task]) -> None:
    """Make a task known by `name`: a "module:Class" path or a callable returning the task."""
    REGISTRY[name] = factory
    _instances.pop(name, None)


def unregister_task(name: str) -> None:
    """Forget a task added with `register_task` (the built-in ones stay)."""
    if name in BUILTIN_TASKS:
        raise HRMError(f"'{name}' is a built-in task")
    REGISTRY.pop(name, None)
    _instances.pop(name, None)


def get_task(name: str) -> Task:
    """Return the (cached) task object for `name`."""
    if name not in REGISTRY:
        raise HRMError(f"unknown task '{name}'", hint=f"choose one of: {', '.join(REGISTRY)}")
    if name not in _instances:
        factory = REGISTRY[name]
        if isinstance(factory, str):
            module_name, class_name = factory.split(":")
            factory = getattr(importlib.import_module(module_name), class_name)
        _instances[name] = factory()
    return _instances[name]


def all_tasks() -> list[Task]:
    return [get_task(name) for name in REGISTRY]


def task_choices() -> str:
    """'sudoku|maze|arc', for hints."""
    return "|".join(REGISTRY)


def detect_task(text: str) -> Task:
    """Pick the task whose `sniff` accepts the text, asking tasks in order of `detect_priority`."""
    ordered = sorted(all_tasks(), key=lambda task: task.detect_priority)
    for task in ordered:
        if task.sniff(text):
            return task
    for task in ordered:                      # a near miss: that task's own parser says what is wrong
        resembles = getattr(task, "resembles", None)
        if resembles is not None and resembles(text):
            task.parse(text)
            return task
    raise HRMError("could not tell which puzzle this is", hint=f"pass --task {task_choices()}")


__all__ = ["BUILTIN_TASKS", "REGISTRY", "Puzzle", "Task", "TaskDefaults", "Verdict", "all_tasks", "detect_task",
           "get_task", "register_task", "task_choices", "unregister_task"]
