"""How a task's grids look: data the front ends draw from (text board, TUI board, PNG, HTML replay).

A task picks one of three board kinds and fills in its parameters; no front end knows a task by name.
- `DigitLook`: cells hold digits 1..size (0 = blank) drawn as text, ruled into boxes (Sudoku).
- `CodeLook`: each cell code plays a role (wall, open, start, goal, path) drawn as a coloured block (mazes).
- `PaletteLook`: each value is a colour of a palette (ARC); the answer may differ in size from the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# The roles a CodeLook cell can play; each front end has one colour (and one character) per role.
ROLES = ("wall", "open", "start", "goal", "path")


@dataclass(frozen=True)
class DigitLook:
    size: int                  # digits 1..size; the grid is size x size
    box: tuple[int, int]       # rows and columns of one box (the thick rules fall between boxes)

    @property
    def shape(self) -> tuple[int, int]:
        return self.size, self.size


@dataclass(frozen=True)
class CodeLook:
    roles: Mapping[int, str]   # cell code -> one of ROLES; codes not listed read as "open"

    def role(self, code: int) -> str:
        return self.roles.get(int(code), "open")


@dataclass(frozen=True)
class PaletteLook:
    palette: tuple[str, ...]   # '#rrggbb' per value
    light: frozenset[int]      # values light enough to take dark ink (text boards print the value on its colour)


Look = DigitLook | CodeLook | PaletteLook


def unknown_look(look: object, where: str) -> TypeError:
    """The error a front end raises for a look it cannot draw (never a silent fallback)."""
    return TypeError(f"{where} cannot draw a {type(look).__name__}")
