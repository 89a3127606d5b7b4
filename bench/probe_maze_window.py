"""Probe: which maze model learns fastest on one CPU core? Same data, same minutes, side by side.

    python bench/probe_maze_window.py --minutes 10                    # every probe below, one after another
    python bench/probe_maze_window.py --steps 150                     # same steps instead of same minutes
    python bench/probe_maze_window.py --minutes 10 --only trm-w5 hrm-full
    python bench/probe_maze_window.py --time-steps 3           # seconds per training step of each probe
    python bench/probe_maze_window.py --data data/maze-small --results probe_maze_small --minutes 40 \
        model.pos_encodings=rope2d model.halt_max_steps=8 ema=true --only trm-full trm-w5


Each probe is one `hrm train --task maze --preset cpu` process on one thread, stopped with SIGINT (which
saves) after the same wall-clock minutes, evaluating on a fixed subset of the held-out split as it goes.
The curves go to bench/results/probe_maze_window.json (or --results NAME.json, one file per data set);
docs/maze-training.md reads them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, load_average, write_results

RESULTS = RESULTS_DIR / "probe_maze_window.json"

# name -> model preset and model.* overrides (the cpu preset's batch, lr and cadence otherwise)
PROBES: dict[str, tuple[str, dict[str, object]]] = {
    "hrm-full": ("hrm-maze-tiny", {}),
    "hrm-w3": ("hrm-maze-tiny", {"attention_window": 3}),
    "hrm-w5": ("hrm-maze-tiny", {"attention_window": 5}),
    "hrm-w5-Lonly": ("hrm-maze-tiny", {"attention_window": 5, "window_levels": "L"}),
    "trm-full": ("trm-maze-tiny", {}),
    "trm-w3": ("trm-maze-tiny", {"attention_window": 3}),
    "trm-w5": ("trm-maze-tiny", {"attention_window": 5}),
    "trm-w7": ("trm-maze-tiny", {"attention_window": 7}),
    "trm-w5-h96": ("trm-maze-tiny", {"attention_window": 5, "hidden_size": 96, "num_heads": 6,
                                     "puzzle_emb_ndim": 96}),
}


def run_probe(name: str, minutes: float | None, steps: int, data: Path, out_root: Path, extra: list[str]) -> dict:
    """One probe, stopped after `minutes` of wall clock, or by its own step budget when minutes is None."""
    model, overrides = PROBES[name]
    out = out_root / name
    args = [sys.executable, "-m", "hrm_cli", "train", "--task", "maze", "--preset", "cpu", "--data", str(data),
            "--out", str(out), "--no-plot", f"model={model}", f"total_steps={steps or 1_000_000}", *extra,
            *[f"model.{key}={value}" for key, value in overrides.items()]]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    started = time.monotonic()
    with open(out_root / f"{name}.log", "w") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            process.wait(timeout=minutes * 60 if minutes is not None else None)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGINT)       # the trainer saves and stops
            process.wait(timeout=300)
    return {"name": name, "model": model, "overrides": overrides, "minutes": minutes, "step_budget": steps,
            "wall_seconds": round(time.monotonic() - started, 1), "returncode": process.returncode,
            **read_curve(out / "metrics.jsonl")}


def read_curve(path: Path) -> dict:
    if not path.exists():
        return {"curve": [], "steps": 0, "examples_per_s": None}
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    train = [r for r in records if "train/loss" in r]
    curve = [{"step": r["step"], "train_seconds": round(r["time"], 1),
              "exact_accuracy": r["eval/exact_accuracy"], "token_accuracy": r["eval/token_accuracy"],
              "adaptive_exact_accuracy": r.get("eval/adaptive_exact_accuracy")}
             for r in records if "eval/exact_accuracy" in r]
    return {"curve": curve, "steps": train[-1]["step"] if train else 0,
            "examples_per_s": round(train[-1]["examples_per_s"], 2) if train else None,
            "final_train_lm_loss": train[-1].get("train/lm_loss") if train else None}


def step_seconds(name: str, batch_size: int, repeats: int) -> dict:
    """Median seconds of one training step (one segment, forward and backward, optimizer) on one thread."""
    import torch
    from bench_train_throughput import TrainStep
    from common import time_runs

    from hrm.config import get_preset

    torch.set_num_threads(1)
    model, overrides = PROBES[name]
    step = TrainStep(get_preset(model).with_overrides(halt_max_steps=4, **overrides), batch_size)
    timing = time_runs(step, repeats=repeats, warmup=1)
    return {"name": name, "batch": batch_size, "parameters": step.model.num_parameters(), **timing}


def time_probes(names: list[str], batch_size: int, repeats: int) -> None:
    started_load = load_average()
    rows = []
    for name in names:
        rows.append(step_seconds(name, batch_size, repeats))
        print(f"{name:14s} {rows[-1]['median_s']:.2f} s/step  {batch_size / rows[-1]['median_s']:.1f} ex/s", flush=True)
    write_results("probe_maze_window_steps", {"steps": rows}, started_load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=0, help="stop each probe after N steps (0: after --minutes)")
    parser.add_argument("--data", type=Path, default=Path("data/maze-easy"))
    parser.add_argument("--out", type=Path, default=Path("runs/probe-maze"))
    parser.add_argument("--only", nargs="*", choices=sorted(PROBES), default=None)
    parser.add_argument("--results", default=RESULTS.stem, help="results file name under bench/results/")
    parser.add_argument("--time-steps", type=int, default=0, help="only time N training steps of each probe")
    parser.add_argument("--batch", type=int, default=32, help="batch size for --time-steps (the cpu preset's)")
    parser.add_argument("overrides", nargs="*", help="extra training key=value options for every probe")
    args = parser.parse_args()
    if args.time_steps:
        time_probes(args.only or list(PROBES), args.batch, args.time_steps)
        return
    args.out.mkdir(parents=True, exist_ok=True)
    started_load = load_average()
    results = RESULTS_DIR / f"{args.results}.json"
    previous = json.loads(results.read_text())["probes"] if results.exists() else {}
    probes = dict(previous)
    for name in args.only or list(PROBES):
        minutes = None if args.steps else args.minutes
        result = run_probe(name, minutes, args.steps, args.data, args.out, args.overrides)
        probes[name] = result
        best = max((p["exact_accuracy"] for p in result["curve"]), default=float("nan"))
        print(f"{name:14s} {result['steps']:>6} steps  {result['examples_per_s']} ex/s  best exact {best:.3f}",
              flush=True)
        write_results(results.stem, {"data": str(args.data), "probes": probes}, started_load)


if __name__ == "__main__":
    main()
