"""Data parallelism: a 2-process gloo run equals a 1-process run with the same global batch.

Halting exploration is switched off (model.halt_exploration_prob=0): its random draws come from each
rank's own generator (seed + rank, as the reference), so they legitimately differ between the runs.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from hrm.train import train
from hrm.train.state import load_resume
from tests.test_train_support import make_copy_dataset, tiny_config


def _config():
    return tiny_config(total_steps=8, eval_every=4, log_every=2, ema=True,
                       model_overrides={"halt_exploration_prob": 0.0})


def _worker(rank: int, world_size: int, port: int, data: str, run: str) -> None:
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    train(_config(), run, device="cpu", data_dir=data)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_match_one(tmp_path: Path) -> None:
    data = make_copy_dataset(tmp_path / "data")
    torch.set_num_threads(1)
    single = train(_config(), tmp_path / "single", device="cpu", data_dir=data)
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "double")), nprocs=2, join=True)

    a, b = load_resume(tmp_path / "single" / "resume.pt"), load_resume(tmp_path / "double" / "resume.pt")
    assert (a["step"], b["step"], b["world_size"]) == (8, 8, 2)
    for part in ("model", "ema"):
        for key, value in a[part].items():
            assert torch.allclose(value, b[part][key], atol=1e-5, rtol=0), f"{part}.{key}"
    for key in ("z_H", "z_L"):                          # the global carry, assembled from both ranks
        assert torch.allclose(a["carry"][key], b["carry"][key], atol=1e-4, rtol=0), key
    assert torch.equal(a["carry"]["steps"], b["carry"]["steps"])
    records = [[line for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
               for run in ("single", "double")]
    assert len(records[0]) == len(records[1])
    assert single.last_eval is not None
    double_eval = [r for r in map(json.loads, records[1]) if "eval/exact_accuracy" in r][-1]
    assert double_eval["eval/count"] == single.last_eval.count
    assert abs(double_eval["eval/token_accuracy"] - single.last_eval.token_accuracy) < 1e-6


def test_a_failed_worker_is_one_line_from_the_launcher(tmp_path: Path) -> None:
    """`hrm train --nproc 2` whose workers fail: their own one-line message, then one line from the
    launcher, and no traceback or launcher log lines."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "NO_COLOR": "1", "HRM_NO_PROGRESS": "1"}
    command = [sys.executable, "-m", "hrm_cli", "train", "--task", "sudoku", "--preset", "cpu", "--nproc", "2",
               "--device", "cpu", "--out", str(tmp_path / "run"), "data=no-such-dataset"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240,
                          cwd=Path(__file__).resolve().parents[1])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and not any(line[:1] in "WE" and line[1:5].isdigit() for line in lines)
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 2 and "unknown dataset 'no-such-dataset'" in errors[0]
    assert "training stopped: a process exited with code 2" in errors[1]
