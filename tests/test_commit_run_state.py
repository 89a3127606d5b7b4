"""tools/commit_run_state.sh: snapshots a background run into git, and stops once the run has ended
(its lock file stays behind, so "ended" means nobody holds the lock)."""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not (shutil.which("git") and shutil.which("flock")),
                                reason="needs git and util-linux flock")


def _repo_with_run(tmp_path: Path) -> tuple[Path, Path]:
    repo = tmp_path / "repo"
    (repo / "tools").mkdir(parents=True)
    shutil.copy(REPO / "tools" / "commit_run_state.sh", repo / "tools")
    git = ["git", "-C", str(repo)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "config", "user.email", "t@example.com"], check=True)
    subprocess.run([*git, "config", "user.name", "t"], check=True)
    run = repo / "runs" / "r"
    run.mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "metrics.jsonl").write_text('{"step": 7}\n')
    (run / "resume.pt").write_bytes(b"state")
    (run / "run.lock").write_text("12345\n")          # left behind by a run that ended
    return repo, run


def _loop(repo: Path, timeout: float) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(["bash", "tools/commit_run_state.sh", "runs/r", "training/r", "0"], cwd=repo,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def _log(repo: Path) -> str:
    return subprocess.run(["git", "-C", str(repo), "log", "--format=%s"], capture_output=True, text=True,
                          check=True).stdout


def test_the_loop_commits_the_run_and_stops_when_the_run_has_ended(tmp_path: Path) -> None:
    repo, _ = _repo_with_run(tmp_path)
    done = _loop(repo, timeout=30)
    assert done is not None and done.returncode == 0, "the loop did not stop after the run ended"
    assert "metrics to step 7" in _log(repo)
    assert (repo / "training" / "r" / "resume.pt").read_bytes() == b"state"


def test_the_loop_keeps_watching_while_the_run_holds_its_lock(tmp_path: Path) -> None:
    repo, run = _repo_with_run(tmp_path)
    with open(run / "run.lock", "r+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)   # as hrm/train/runlock.py holds it
        assert _loop(repo, timeout=3) is None
    assert "metrics to step 7" in _log(repo)
