"""Benchmark: train the `cpu` preset on sudoku-easy on this machine's CPU; exact accuracy vs wall time.

    python bench/bench_train_cpu.py                     # the preset as shipped
    python bench/bench_train_cpu.py --steps 500 --threads 2 lr=2e-3

Builds sudoku-easy if it is missing (under $HRM_DATA or ./data), trains into a fresh run directory,
evaluates on a fixed subset of the held-out test split at the preset's cadence, prints one line per
evaluation and writes bench/results/train_cpu.json (machine, configuration, the curve).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

from hrm.checkpoint import atomic_write
from hrm.data.build import ensure_dataset
from hrm.train import Reporter, get_train_preset, train

RESULTS = Path(__file__).resolve().parent / "results" / "train_cpu.json"


class CurveReporter(Reporter):
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.eval_seconds = 0.0
        self.curve: list[dict] = []
        self.last_train: dict = {}

    def metrics(self, record: dict) -> None:
        self.last_train = record

    def eval(self, step: int, result) -> None:
        self.eval_seconds += result.seconds
        wall = time.perf_counter() - self.started
        point = {"step": step, "wall_seconds": round(wall, 1), "train_seconds": round(wall - self.eval_seconds, 1),
                 "exact_accuracy": result.exact_accuracy, "token_accuracy": result.token_accuracy,
                 "adaptive_exact_accuracy": result.adaptive_exact_accuracy,
                 "mean_segments": result.mean_segments, "segment_exact_accuracy": result.segment_exact_accuracy,
                 "examples": result.count, "train_lm_loss": self.last_train.get("train/lm_loss"),
                 "train_exact_accuracy": self.last_train.get("train/exact_accuracy")}
        self.curve.append(point)
        print(f"{step:>6}  {wall / 60:6.1f} min  exact {result.exact_accuracy:.3f}  token {result.token_accuracy:.3f}"
              f"  adaptive {result.adaptive_exact_accuracy:.3f} ({result.mean_segments:.2f} seg)"
              f"  train lm loss {self.last_train.get('train/lm_loss', float('nan')):.3f}", flush=True)

    def log(self, message: str) -> None:
        print(message, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="training overrides, key=value / model.key=value")
    parser.add_argument("--steps", type=int, help="optimizer steps (default: the preset's)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--out", type=Path, help="run directory (default: a temporary one)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON summary")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    config = get_train_preset("sudoku", "cpu").with_overrides(args.overrides)
    if args.steps:
        config = config.with_overrides([f"total_steps={args.steps}"])
    data = ensure_dataset(config.data)
    run_dir = args.out or Path(tempfile.mkdtemp(prefix="bench-train-cpu-")) / "run"
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    print(f"training {config.preset} ({config.model}, {config.model_overrides}) on {data}: {config.total_steps} "
          f"steps, batch {config.global_batch_size}, {args.threads} thread(s); load average {load}", flush=True)
    print("  step      wall   held-out exact accuracy", flush=True)
    reporter = CurveReporter()
    result = train(config, run_dir, device="cpu", data_dir=data, reporter=reporter)
    summary = {
        "benchmark": "train_cpu", "preset": config.preset, "config": config.to_dict(), "dataset": str(data),
        "machine": {"cpus": os.cpu_count(), "threads": args.threads, "load_average_at_start": load,
                    "platform": platform.platform(), "processor": platform.processor(),
                    "torch": torch.__version__, "python": platform.python_version()},
        "steps": result.step, "status": result.status, "best": result.best, "curve": reporter.curve,
        "run_dir": str(run_dir), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    text = json.dumps(summary, indent=2) + "\n"
    atomic_write(args.results, lambda tmp: tmp.write_text(text))
    best = result.best or {}
    print(f"best held-out exact accuracy {best.get('exact_accuracy', 0):.3f} at step {best.get('step')}; "
          f"wrote {args.results}")


if __name__ == "__main__":
    main()
