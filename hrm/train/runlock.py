"""One run per folder: an OS lock on RUN/run.lock held for the whole run.

A second `hrm train` (or `--resume`) into a folder that a live run holds stops at once, naming the
holder's PID, instead of interleaving metrics and overwriting the other run's weights and resume state.
The lock is the kernel's (flock): it is released when the process ends, however it ends, so a killed
run never leaves a stale lock. Taking it also clears temporary files that killed checkpoint writes
left behind (nothing else can be writing them while the lock is held).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

from hrm.errors import HRMError

try:
    import fcntl
except ImportError:      # Windows: no flock; runs there are not guarded
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "run.lock"
TEMP_GLOB = ".*.tmp-*"   # hrm.checkpoint.atomic_write's temporary names


class RunLock:
    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / LOCK_NAME
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise HRMError(f"{self.path.parent} is in use by another training run (PID {holder})",
                           hint="wait for it, stop it (Ctrl-C saves), or choose another --out") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        self.removed = remove_stale_temp_files(self.path.parent)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)          # releases the lock; the file stays (its PID is stale, harmless)
            self._fd = None


def remove_stale_temp_files(run_dir: Path) -> list[Path]:
    removed = []
    for path in Path(run_dir).glob(TEMP_GLOB):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
