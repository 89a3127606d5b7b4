"""Shared fixtures. Paths: the shared data sits next to the repository (/work/shared/data)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hrm.tasks import get_task

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported: see hrm_cli/main.py

REPO_DIR = Path(__file__).resolve().parents[1]
DATA_DIR = Path(__file__).resolve().parents[2] / "shared" / "data"
EXAMPLES_DIR = REPO_DIR / "examples"

# Builds read the development mirror through the local-copy path, as CI does; without it they would download.
if DATA_DIR.is_dir():
    os.environ.setdefault("HRM_SOURCE_DATA", str(DATA_DIR))
# No test reaches outside the machine: downloads go to a throwaway cache, and an endpoint a test does not
# point at its loopback server is a closed port on 127.0.0.1 (port 9, discard: nothing listens).
_CACHE = tempfile.mkdtemp(prefix="hrm-test-cache-")
atexit.register(shutil.rmtree, _CACHE, True)
os.environ.setdefault("HRM_CACHE", _CACHE)
os.environ.setdefault("HRM_GITHUB_ENDPOINT", "http://127.0.0.1:9")
os.environ.setdefault("HF_ENDPOINT", "http://127.0.0.1:9")


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder; tests that need it are skipped (with the path) when it is absent."""
    if not DATA_DIR.is_dir():
        pytest.skip(f"shared data not found at {DATA_DIR}")
    return DATA_DIR


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    return EXAMPLES_DIR


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def sudoku_task():
    return get_task("sudoku")


@pytest.fixture(scope="session")
def maze_task():
    return get_task("maze")


@pytest.fixture(scope="session")
def arc_task():
    return get_task("arc")


@pytest.fixture
def loopback_hub():
    """A miniature HuggingFace hub and GitHub on 127.0.0.1 (tests/loopback_hub.py), closed afterwards."""
    from tests.loopback_hub import LoopbackHub

    with LoopbackHub() as hub:
        yield hub
