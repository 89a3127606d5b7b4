"""Downloading source files: resumable, checksummed, atomic.

A file is streamed into `NAME.part` beside its destination; a later call resumes it with an HTTP Range
request (a server that answers the whole file instead restarts it). When complete, its SHA-256 is
checked against the pin (if there is one): a mismatch removes the file and fails in one line; a match
renames `.part` to the destination, so a destination that exists is always complete. Progress goes to
the build's `progress(stage, done, total)` callback with stages named `download NAME`, in bytes.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from hrm.errors import DataError

ProgressFn = Callable[[str, int, int | None], None]
DOWNLOAD_STAGE = "download "      # progress stages that count bytes start with this
TIMEOUT_S = 30.0
_CHUNK = 1 << 20
_REASON_CHARS = 160               # a server's words are bounded before they reach the terminal


def cache_root() -> Path:
    """Where downloads live: $HRM_CACHE, else ~/.cache/hrm (one folder per source)."""
    env = os.environ.get("HRM_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hrm"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _user_agent() -> str:
    from hrm import __version__

    return f"hrm/{__version__}"


def _short(reason: object) -> str:
    text = " ".join(str(reason).split())
    return text[:_REASON_CHARS] + ("..." if len(text) > _REASON_CHARS else "")


def check_sha256(path: Path, expected: str | None, url: str) -> None:
    """Refuse a file whose SHA-256 is not the pinned one: it is removed and the error says so."""
    if expected is None:
        return
    actual = sha256_of(path)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch for {url}: SHA-256 {actual[:16]}..., expected {expected[:16]}...; "
                        "the file was removed", hint="try again; if it persists the origin changed")


def download(url: str, dest: Path, sha256: str | None = None, progress: ProgressFn | None = None,
             offline_hint: str | None = None) -> Path:
    """`dest`, downloaded from `url` unless it is already there (then only its checksum is checked)."""
    if dest.exists():
        check_sha256(dest, sha256, str(dest))
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        _fetch_into(url, part, progress or _silent, DOWNLOAD_STAGE + dest.name)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DataError(f"cannot download {url}: {_describe(exc)}",
                        hint=offline_hint or f"download it to {dest} yourself") from None
    check_sha256(part, sha256, url)
    os.replace(part, dest)
    return dest


def _silent(stage: str, done: int, total: int | None) -> None:
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {_short(exc.reason)}"
    if isinstance(exc, urllib.error.URLError):
        return _short(exc.reason)
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"no answer in {TIMEOUT_S:.0f} s"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed early (run again to resume)"
    return _short(exc) or type(exc).__name__


def _fetch_into(url: str, part: Path, progress: ProgressFn, stage: str) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": _user_agent(), "Accept-Encoding": "identity"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:       # the part already holds the whole file
            return
        raise
    with response:
        if response.status != 206:       # a whole answer: start again
            have = 0
        total = _total_size(response, have)
        with open(part, "ab" if have else "wb") as handle:
            done = have
            progress(stage, done, total)
            while block := response.read(_CHUNK):
                handle.write(block)
                done += len(block)
                progress(stage, done, total)
        if total is not None and done < total:
            raise http.client.IncompleteRead(b"", total - done)


def _total_size(response: http.client.HTTPResponse, have: int) -> int | None:
    length = response.headers.get("Content-Length")
    return have + int(length) if length and length.isdigit() else None
