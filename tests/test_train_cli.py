"""`hrm train`, `hrm eval`, `hrm presets`, `hrm plot` through the real entry point: Ctrl-C, damaged
checkpoints, JSON output on a clean stdout."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hrm.checkpoint import load_model, read_metadata
from hrm.train.state import load_resume
from tests.cli_helpers import run_cli
from tests.test_train_support import make_copy_dataset

REPO = Path(__file__).resolve().parents[1]
TINY = ["model.hidden_size=32", "model.num_heads=2", "model.puzzle_emb_ndim=32", "model.halt_max_steps=3",
        "global_batch_size=8", "eval_batch_size=16", "lr_warmup_steps=2"]


TRAIN_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "HRM_NO_PROGRESS": "1", "NO_COLOR": "1"}


def train_command(dataset: Path, run: Path, eval_every: int) -> list[str]:
    """`hrm train` of the tiny model as a separate process, stepping until it is stopped."""
    return [sys.executable, "-m", "hrm_cli", "train", "--task", "sudoku", "--preset", "cpu", "--data", str(dataset),
            "--out", str(run), "--device", "cpu", "--no-plot", *TINY, "total_steps=100000",
            f"eval_every={eval_every}", "log_every=1"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_copy_dataset(tmp_path_factory.mktemp("data") / "copy")


@pytest.fixture(scope="module")
def trained(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from hrm.train import train
    from tests.test_train_support import tiny_config

    run = tmp_path_factory.mktemp("runs") / "run"
    train(tiny_config(total_steps=4, eval_every=2), run, device="cpu", data_dir=dataset)
    return run


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_ctrl_c_saves_a_loadable_checkpoint_and_exits_130(dataset: Path, tmp_path: Path, stop: int) -> None:
    """Ctrl-C, a kill and a closed terminal all stop at the end of a step and save."""
    run = tmp_path / "run"
    env = TRAIN_ENV
    command = train_command(dataset, run, eval_every=100000)
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        metrics = run / "metrics.jsonl"
        while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "training never started stepping"
            time.sleep(0.1)
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted at step" in err and "--resume" in err
    state = load_resume(run / "resume.pt")
    model, meta = load_model(run / "last.safetensors")
    assert int(meta["train_step"]) == state["step"] >= 2
    assert model.config.hidden_size == 32
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == state["step"]


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["INT", "TERM", "HUP"])
def test_a_signal_to_a_tee_pipeline_saves_and_the_run_resumes(dataset: Path, tmp_path: Path, capsys, monkeypatch,
                                                              stop: int) -> None:
    """`hrm train ... 2>&1 | tee log` and Ctrl-C (or a kill, or a closed terminal) for the whole pipeline:
    tee dies first, the run's next lines meet a closed pipe, and it must still save, and say so in
    events.log."""
    run, log = tmp_path / "run", tmp_path / "log"
    env = TRAIN_ENV
    command = train_command(dataset, run, eval_every=100000)
    pipeline = subprocess.Popen(["bash", "-c", f"{shlex.join(command)} 2>&1 | tee {shlex.quote(str(log))}"],
                                cwd=REPO, env=env, start_new_session=True, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        metrics = run / "metrics.jsonl"
        while not (metrics.exists() and metrics.read_text().count("\n") >= 2):
            assert pipeline.poll() is None and time.monotonic() < deadline, "training never started stepping"
            time.sleep(0.1)
        os.killpg(pipeline.pid, stop)
        pipeline.wait(timeout=120)
        deadline = time.monotonic() + 60
        while "interrupted" not in ((run / "events.log").read_text() if (run / "events.log").exists() else ""):
            assert time.monotonic() < deadline, "the run never recorded its stop"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pipeline.pid, signal.SIGKILL)
    state = load_resume(run / "resume.pt")
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps[-1] == state["step"] >= 2
    assert f"interrupted at step {state['step']:,}" in (run / "events.log").read_text()
    again = run_cli(capsys, monkeypatch, "train", "--out", str(run), "--resume", "--device", "cpu", "--json",
                    "--no-plot", "--until", str(state["step"] + 1))
    assert again.code == 0, again.err
    assert json.loads(again.out)["step"] == state["step"] + 1


def test_resume_after_pause_from_the_cli(dataset: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    run = tmp_path / "run"
    first = run_cli(capsys, monkeypatch, "train", "--task", "sudoku", "--preset", "cpu", "--data", str(dataset),
                    "--out", str(run), "--device", "cpu", "--until", "2", "--no-plot", "--json", *TINY,
                    "total_steps=4", "eval_every=2")
    assert first.code == 0, first.err
    summary = json.loads(first.out)
    assert (summary["status"], summary["step"], summary["total_steps"]) == ("paused", 2, 4)
    # the run remembers its --data folder, and a longer run can be asked for on resume
    assert json.loads((run / "config.json").read_text())["train"]["data"] == str(dataset.resolve())
    second = run_cli(capsys, monkeypatch, "train", "--out", str(run), "--resume", "--device", "cpu", "--json",
                     "total_steps=6")
    assert second.code == 0, second.err
    assert json.loads(second.out)["status"] == "finished"
    assert read_metadata(run / "last.safetensors")["train_step"] == "6"
    assert (run / "curves.png").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_damaged_weights_give_one_line_error_and_exit_2(trained: Path, dataset: Path, tmp_path: Path,
                                                        damage: str, capsys, monkeypatch) -> None:
    data = (trained / "last.safetensors").read_bytes()
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x00\x01not safetensors" * 40)
    result = run_cli(capsys, monkeypatch, "eval", str(bad), "--data", str(dataset), "--device", "cpu")
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "bad.safetensors" in lines[0]


def test_truncated_resume_file_gives_one_line_error(trained: Path, dataset: Path, tmp_path: Path,
                                                    capsys, monkeypatch) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_bytes((trained / "config.json").read_bytes())
    data = (trained / "resume.pt").read_bytes()
    (run / "resume.pt").write_bytes(data[: len(data) // 3])
    result = run_cli(capsys, monkeypatch, "train", "--out", str(run), "--resume", "--data", str(dataset),
                     "--device", "cpu")
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert lines[-1].startswith("error:") and "resume.pt" in lines[-1] and "truncated" in lines[-1]
    assert len([line for line in lines if line.startswith("error:")]) == 1


def test_eval_json_on_a_run_directory(trained: Path, dataset: Path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "eval", str(trained), "--device", "cpu", "--limit", "10", "--json")
    assert result.code == 0, result.err
    record = json.loads(result.out)
    assert record["count"] == 10 and record["weights"].endswith("best.safetensors")
    assert len(record["segment_exact_accuracy"]) == record["halt_max_steps"] == 3
    assert 0 <= record["adaptive_exact_accuracy"] <= 1 and 1 <= record["mean_segments"] <= 3
    table = run_cli(capsys, monkeypatch, "eval", str(trained / "last.safetensors"), "--data", str(dataset),
                    "--device", "cpu", "--segments", "5")
    assert table.code == 0 and "exact accuracy (5 segments)" in table.out


def test_presets_json_lists_every_preset_with_exact_counts(capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "presets", "--json", "--task", "sudoku")
    assert result.code == 0, result.err
    records = {r["name"]: r for r in json.loads(result.out)}
    assert records["hrm-sudoku"]["parameters"] == 27_275_266
    assert records["sudoku-paper"]["parameters"] == 27_275_266 and records["sudoku-paper"]["kind"] == "train"
    assert {"sudoku-cpu", "sudoku-trm", "sudoku-trm-att", "trm-sudoku-att", "hrm-sudoku-tiny"} <= records.keys()
    assert all(r["task"] == "sudoku" for r in records.values())


def test_plot_command_and_missing_run(trained: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    pytest.importorskip("matplotlib")
    result = run_cli(capsys, monkeypatch, "plot", str(trained), "--out", str(tmp_path / "c.png"))
    assert result.code == 0 and result.out.strip() == str(tmp_path / "c.png")
    missing = run_cli(capsys, monkeypatch, "plot", str(tmp_path / "nope"))
    assert missing.code == 2 and "no metrics file" in missing.err


def test_train_without_a_task_is_a_usage_error(capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "train", "lr=1e-3")
    assert result.code == 2 and "--task" in result.err
    bad = run_cli(capsys, monkeypatch, "train", "--task", "sudoku", "--preset", "cpu", "lr==")
    assert bad.code == 2 and "lr" in bad.err


def test_one_run_per_folder_and_leftovers_of_kills_are_cleared(dataset: Path, tmp_path: Path, capsys,
                                                                monkeypatch) -> None:
    """A second run (or resume) into a folder a live run holds stops at once, naming its PID; after the
    holder stops, resume works, clearing temp files of killed writes and a torn last metrics line."""
    run = tmp_path / "run"
    env = TRAIN_ENV
    command = train_command(dataset, run, eval_every=3)
    holder = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "resume.pt").exists():
            assert holder.poll() is None and time.monotonic() < deadline, "training never saved"
            time.sleep(0.1)
        for extra in ([], ["--resume"]):
            second = subprocess.run([*command, *extra], cwd=REPO, env=env, capture_output=True, text=True,
                                    timeout=120)
            assert second.returncode == 2, second.stderr
            assert f"in use by another training run (PID {holder.pid})" in second.stderr
        holder.send_signal(signal.SIGINT)
        holder.communicate(timeout=120)
    finally:
        if holder.poll() is None:
            holder.kill()
    stale = run / ".last.safetensors.tmp-12345"
    stale.write_bytes(b"half a file")
    with open(run / "metrics.jsonl", "a") as metrics:
        metrics.write('{"step": 99999, "lr": 0.0')          # torn by a kill
    resumed = run_cli(capsys, monkeypatch, "train", "--out", str(run), "--resume", "--device", "cpu", "--json",
                      "--no-plot", "--until", str(load_resume(run / "resume.pt")["step"] + 1))
    assert resumed.code == 0, resumed.err
    assert not stale.exists() and "dropped unreadable line" in resumed.err
    assert all(json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines())


MAZE_WEIGHTS = REPO / "tests" / "assets" / "maze-small-trm-bf16.safetensors"   # 10x10, targets=nearest, step 3,000


def test_eval_judges_mazes_by_any_shortest_path(tmp_path: Path, capsys, monkeypatch) -> None:
    """A maze has many shortest paths and the label is one of them: `hrm eval` counts a maze as solved
    when the model draws any of them (the verifier's rule), and --targets labels asks for the label's."""
    from hrm.data.build import BuildOptions, build_dataset

    root = build_dataset("maze-small", tmp_path / "maze", BuildOptions(limit=16, workers=1))
    args = ["eval", str(MAZE_WEIGHTS), "--data", str(root), "--device", "cpu", "--segments", "4", "--json"]
    nearest = json.loads(run_cli(capsys, monkeypatch, *args).out)
    labels = json.loads(run_cli(capsys, monkeypatch, *args, "--targets", "labels").out)
    assert (nearest["targets"], labels["targets"]) == ("nearest", "labels")
    assert all(n >= lab for n, lab in zip(nearest["segment_exact_accuracy"], labels["segment_exact_accuracy"],
                                           strict=True))
    assert nearest["exact_accuracy"] >= 0.5 > labels["exact_accuracy"]


def test_eval_nearest_targets_are_for_mazes_only(trained: Path, dataset: Path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "eval", str(trained), "--data", str(dataset), "--device", "cpu",
                     "--targets", "nearest")
    assert result.code == 2 and "for mazes" in result.err and len(result.err.strip().splitlines()) == 1
    unknown = run_cli(capsys, monkeypatch, "eval", str(trained), "--data", str(dataset), "--device", "cpu",
                      "--targets", "closest")
    assert unknown.code == 2 and "unknown --targets 'closest'" in unknown.err
