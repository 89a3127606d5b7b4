"""Read puzzles from files, folders, images or stdin, and pick the task by flag or by content."""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from hrm.errors import HRMError, PuzzleParseError

if TYPE_CHECKING:
    from hrm.tasks.base import Puzzle, Task

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
TEXT_SUFFIXES = {".txt", ".json", ".csv", ".sdk", ".maze", ""}
MAX_TEXT_BYTES = 200 * 1024 * 1024


def _expand(paths: list[str]) -> list[str]:
    files: list[str] = []
    for p in paths:
        path = Path(p)
        if p != "-" and path.is_dir():
            known = IMAGE_SUFFIXES | TEXT_SUFFIXES
            inside = sorted(f for f in path.iterdir()
                            if f.is_file() and f.suffix.lower() in known and not f.name.startswith("."))
            if not inside:
                raise HRMError(f"{p}: folder holds no puzzle files (.txt, .json, .csv or images)")
            files.extend(str(f) for f in inside)
        else:
            files.append(p)
    return files


def _read_bounded(stream: BinaryIO, source: str) -> bytes:
    """At most MAX_TEXT_BYTES from a stream whose size nobody can know in advance (stdin, a device)."""
    data = stream.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise HRMError(f"{source}: more than {MAX_TEXT_BYTES // 2**20} MB of input, too much for puzzles")
    return data


def _read_text(path: str) -> tuple[str, str]:
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise HRMError("no puzzle given", hint="pass a FILE, or pipe a puzzle into `hrm solve -`")
        stream = getattr(sys.stdin, "buffer", None)
        data = _read_bounded(stream, "<stdin>") if stream is not None else sys.stdin.read().encode()
        return _decode(data, "<stdin>"), "<stdin>"
    file = Path(path)
    if not file.exists():
        raise HRMError(f"{path}: no such file")
    mode = file.stat().st_mode
    if not stat.S_ISREG(mode):
        kind = "a pipe" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else \
            "not a regular file"
        raise HRMError(f"{path}: {kind}, not a puzzle file", hint=f"pipe it in instead: hrm solve - < {path}")
    if file.stat().st_size > MAX_TEXT_BYTES:
        raise HRMError(f"{path}: file is too large ({file.stat().st_size} bytes) for a puzzle file")
    with open(file, "rb") as handle:
        return _decode(_read_bounded(handle, path), path), path


def _decode(data: bytes, path: str) -> str:
    if b"\x00" in data[:4096]:
        raise PuzzleParseError("not a text file (binary data)", source=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PuzzleParseError(f"not UTF-8 text (byte {exc.start})", source=path) from None


def _read_one(path: str, task_name: str | None) -> tuple[Task, list[Puzzle]]:
    from hrm.tasks import detect_task, get_task

    if path != "-" and Path(path).suffix.lower() in IMAGE_SUFFIXES:
        from hrm.imaging.read import read_image

        puzzles = read_image(path, task_name)
        return get_task(puzzles[0].task), puzzles
    text, source = _read_text(path)
    if not text.strip():
        raise PuzzleParseError("the file is empty", source=source)
    task = get_task(task_name) if task_name else detect_task(text)
    puzzles = task.parse(text, source)
    if not puzzles:
        raise PuzzleParseError("no puzzle found", source=source)
    return task, puzzles


def read_puzzles(paths: str | list[str] | None, task: str | None = None) -> tuple[Task, list[Puzzle]]:
    """All puzzles from the given paths ('-' or None = stdin); every puzzle must be of one task."""
    if paths is None:
        paths = ["-"]
    elif isinstance(paths, str):
        paths = [paths]
    found_task, puzzles = None, []
    for path in _expand(list(paths)):
        file_task, file_puzzles = _read_one(path, task)
        if found_task is not None and file_task.name != found_task.name:
            raise HRMError(f"{path} holds {file_task.name} puzzles but earlier inputs hold {found_task.name}",
                           hint="solve one kind of puzzle per command, or pass --task")
        found_task = file_task
        puzzles.extend(file_puzzles)
    return found_task, puzzles
