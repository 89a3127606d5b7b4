"""A miniature HuggingFace hub and GitHub on 127.0.0.1, for tests of every download path.

    hub = LoopbackHub()                        # or the `loopback_hub` fixture (tests/conftest.py)
    hub.add_dataset("sapientinc/sudoku-extreme", {"train.csv": b"..."}, commit="549754de" + "0" * 32)
    hub.add_model("OWNER/NAME", {"model.safetensors": data})
    hub.add_github_archive("fchollet/ARC-AGI", COMMIT, {"data/training/a.json": b"{}"})
    hub.add_github_file("balmerdx/sudoku_pytorch", COMMIT, "data/puzzles2_17_clue", b"...")
    os.environ["HF_ENDPOINT"] = hub.url        # huggingface_hub and hrm read the hub here
    os.environ["HRM_GITHUB_ENDPOINT"] = hub.url

Routes, as the real services answer them (HEAD and GET, `Range: bytes=N-` or `N-M` honoured with 206):
    /datasets/{repo}/resolve/{rev}/{path}      a dataset file; rev = branch, full commit or its prefix
    /{repo}/resolve/{rev}/{path}               a model file
    /api/models/{repo}[/revision/{rev}]        repo info JSON: id, sha, siblings [{rfilename, size}]
    /api/datasets/{repo}[/revision/{rev}]
    /api/models/{repo}/tree/{rev}              file listing JSON: [{type, path, size, oid}]
    /{owner}/{repo}/archive/{commit}.tar.gz    GitHub source archive (top folder {repo}-{commit}/)
    /{owner}/{repo}/raw/{commit}/{path}        one file of a GitHub repository
Resolve answers carry ETag (the quoted SHA-256 of the file), X-Repo-Commit, Content-Length and
Accept-Ranges. A hub 404 says why in X-Error-Code, as the real hub does (RepoNotFound, RevisionNotFound,
EntryNotFound), which huggingface_hub turns into its named errors. Knobs: `truncate_next(n)` closes the
next file body after n bytes (a dropped connection), `ignore_range` answers every GET whole with 200,
`requests` records (method, path, Range header).
`closed_port_url()` gives a URL on which nothing listens (no network).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import tarfile
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class HubRepo:
    kind: str                        # "model" or "dataset"
    repo: str                        # owner/name
    files: dict[str, bytes]
    commit: str                      # 40 hex digits
    branches: tuple[str, ...] = ("main",)

    def matches(self, revision: str) -> bool:
        return revision in self.branches or (len(revision) >= 7 and self.commit.startswith(revision.lower()))


@dataclass
class Served:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"


def _commit_of(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class LoopbackHub:
    """The server runs in a daemon thread from construction until `close()` (a context manager too)."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], HubRepo] = {}
        self.github: dict[str, bytes] = {}          # URL path -> body
        self.requests: list[tuple[str, str, str | None]] = []
        self.ignore_range = False
        self._truncate: int | None = None
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- content -------------------------------------------------------------------------------------

    def add_dataset(self, repo: str, files: dict[str, bytes], commit: str | None = None,
                    branches: tuple[str, ...] = ("main",)) -> HubRepo:
        return self._add("dataset", repo, files, commit, branches)

    def add_model(self, repo: str, files: dict[str, bytes], commit: str | None = None,
                  branches: tuple[str, ...] = ("main",)) -> HubRepo:
        return self._add("model", repo, files, commit, branches)

    def _add(self, kind: str, repo: str, files: dict[str, bytes], commit: str | None,
             branches: tuple[str, ...]) -> HubRepo:
        entry = HubRepo(kind, repo, dict(files), (commit or _commit_of(f"{kind}:{repo}")).lower(), branches)
        self.repos[(kind, repo)] = entry
        return entry

    def add_github_file(self, repo: str, commit: str, path: str, body: bytes) -> str:
        """One raw file; returns its URL."""
        url_path = f"/{repo}/raw/{commit}/{path}"
        self.github[url_path] = body
        return self.url + urllib.parse.quote(url_path)

    def add_github_archive(self, repo: str, commit: str, files: dict[str, bytes]) -> bytes:
        """A .tar.gz of `files` under `{name}-{commit}/`, as GitHub names its archive folders; returns it."""
        top = f"{repo.split('/')[1]}-{commit}"
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path, body in sorted(files.items()):
                info = tarfile.TarInfo(f"{top}/{path}")
                info.size = len(body)
                tar.addfile(info, io.BytesIO(body))
        self.github[f"/{repo}/archive/{commit}.tar.gz"] = buffer.getvalue()
        return buffer.getvalue()

    def truncate_next(self, size: int) -> None:
        """The next file body is cut after `size` bytes and the connection closed."""
        self._truncate = size

    def take_truncation(self) -> int | None:
        with self._lock:
            size, self._truncate = self._truncate, None
            return size

    def range_requests(self) -> list[str]:
        return [r for _, _, r in self.requests if r]

    # --- routing -------------------------------------------------------------------------------------

    def route(self, path: str) -> Served | None:
        path = urllib.parse.unquote(path.split("?", 1)[0])
        if path in self.github:
            return Served(self.github[path])
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 4:
            return self._api(parts[1:])
        kind = "dataset" if parts[0] == "datasets" else "model"
        parts = parts[1:] if kind == "dataset" else parts
        if len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(kind, "/".join(parts[:2]), parts[3], "/".join(parts[4:]))
        return None

    def error_code(self, path: str) -> str | None:
        """Why a hub path is not found, in the real hub's X-Error-Code words (None for other paths)."""
        parts = urllib.parse.unquote(path.split("?", 1)[0]).strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 4:
            kind, rest = {"models": "model", "datasets": "dataset"}.get(parts[1]), parts[4:]
            repo = "/".join(parts[2:4])
            revision = rest[1] if len(rest) >= 2 and rest[0] in ("revision", "tree") else "main"
        else:
            kind = "dataset" if parts[0] == "datasets" else "model"
            parts = parts[1:] if kind == "dataset" else parts
            if not (len(parts) >= 5 and parts[2] == "resolve"):
                return None
            repo, revision = "/".join(parts[:2]), parts[3]
        entry = self.repos.get((kind, repo)) if kind else None
        if entry is None:
            return "RepoNotFound"
        return "EntryNotFound" if entry.matches(revision) else "RevisionNotFound"

    def _repo(self, kind: str, repo: str, revision: str) -> HubRepo | None:
        entry = self.repos.get((kind, repo))
        return entry if entry is not None and entry.matches(revision) else None

    def _resolve(self, kind: str, repo: str, revision: str, file: str) -> Served | None:
        entry = self._repo(kind, repo, revision)
        if entry is None or file not in entry.files:
            return None
        body = entry.files[file]
        etag = f'"{hashlib.sha256(body).hexdigest()}"'
        return Served(body, {"ETag": etag, "X-Repo-Commit": entry.commit})

    def _api(self, parts: list[str]) -> Served | None:
        kind = {"models": "model", "datasets": "dataset"}.get(parts[0])
        if kind is None:
            return None
        repo, rest = "/".join(parts[1:3]), parts[3:]
        revision = rest[1] if len(rest) >= 2 and rest[0] in ("revision", "tree") else "main"
        entry = self._repo(kind, repo, revision)
        if entry is None:
            return None
        if rest and rest[0] == "tree":
            listing = [{"type": "file", "path": name, "size": len(body), "oid": _commit_of(name)}
                       for name, body in sorted(entry.files.items())]
            return Served(json.dumps(listing).encode(), content_type="application/json")
        info = {"id": repo, "sha": entry.commit, "private": False, "disabled": False, "gated": False,
                "siblings": [{"rfilename": name, "size": len(body)} for name, body in sorted(entry.files.items())]}
        return Served(json.dumps(info).encode(), content_type="application/json")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a `bytes=N-` or `bytes=N-M` header, None without one."""
    if not header or not header.startswith("bytes="):
        return None
    first, _, last = header[len("bytes="):].partition("-")
    start = int(first)
    end = int(last) if last else size - 1
    return start, min(end, size - 1)


def _handler_for(hub: LoopbackHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return None

        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _answer(self, send_body: bool) -> None:
            wanted = self.headers.get("Range")
            hub.requests.append((self.command, self.path, wanted))
            served = hub.route(self.path)
            if served is None:
                headers = {"Content-Type": "application/json"}
                code = hub.error_code(self.path)
                if code is not None:
                    headers["X-Error-Code"] = code
                self._send(404, b'{"error": "not found"}', headers, send_body)
                return
            body, status = served.body, 200
            headers = {"Content-Type": served.content_type, "Accept-Ranges": "bytes", **served.headers}
            span = None if hub.ignore_range else _byte_range(wanted, len(body))
            if span is not None:
                start, end = span
                if start >= len(body):
                    self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"}, send_body)
                    return
                body, status = body[start:end + 1], 206
                headers["Content-Range"] = f"bytes {start}-{end}/{len(served.body)}"
            self._send(status, body, headers, send_body)

        def _send(self, status: int, body: bytes, headers: dict[str, str], send_body: bool) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not send_body:
                return
            cut = hub.take_truncation() if status in (200, 206) else None
            if cut is not None and cut < len(body):
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(body)

    return Handler


def closed_port_url() -> str:
    """http://127.0.0.1:PORT where nothing listens: every connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
