"""Errors a user can cause. The CLI prints `message` (and `hint`) on one line, never a traceback."""

from __future__ import annotations


class HRMError(Exception):
    """Base class for user-fixable problems."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class PuzzleParseError(HRMError):
    """Malformed puzzle text: carries the 1-based line and column of the first problem."""

    def __init__(self, message: str, source: str = "<input>", line: int | None = None,
                 column: int | None = None, hint: str | None = None) -> None:
        where = source
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        super().__init__(f"{where}: {message}", hint)
        self.source, self.line, self.column = source, line, column


class DataError(HRMError):
    """A dataset or source file is missing or malformed."""


class WeightsError(HRMError):
    """Weights are missing, corrupt, or do not match the task."""


class DeviceError(HRMError):
    """The requested device or kernel is unavailable."""


class ImageReadError(HRMError):
    """An image could not be read or no puzzle grid was found in it."""
