"""Inference on CPU: `hrm solve` as a whole process, in-process per puzzle, and batch throughput with
fixed Mmax against adaptive halting.

    python bench/bench_inference.py --quick     # tiny presets when no weights ship; 2 runs each
    python bench/bench_inference.py             # median of 5 whole-process runs, full batch test

Weights: the entries of weights/MANIFEST.json for sudoku and maze when they exist; otherwise an
untrained model of the matching preset (hrm-sudoku, hrm-maze; --quick: the -tiny presets) is saved
to a temporary file, and the output says so. An untrained model never halts on its own (its Q head
starts at q_halt = q_continue), so adaptive and fixed then run the same Mmax segments: the worst case.

Measured:
- whole process: `hrm solve FILE -w WEIGHTS --json` in a fresh interpreter, median of N runs, with the
  environment as given and the default engine (numpy for one puzzle on CPU: torch is never imported);
  Sudoku also with `--engine torch`, as given and with one thread (see docs/performance.md); Maze
  (minutes per run with an untrained paper-size model) 3 runs;
- import cost: `python -X importtime -m hrm_cli solve ...`, the biggest cumulative imports, and
  `python -c "import torch"` alone;
- in-process: load_model once, then hrm.solver.solve on the one puzzle, median of N (after a warm-up),
  on each engine;
- batch: hrm.solver.solve over the first K Sudoku test puzzles of data/sudoku-easy (or the example
  files), fixed Mmax vs adaptive: puzzles/s, mean segments and exact accuracy (verified answers).
Writes bench/results/inference.json.
"""

from __future__ import annotations

import os

_USER_OMP_POLICY = os.environ.get("OMP_WAIT_POLICY")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # for this process only; children get the user's env
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as hrm_cli/main.py sets it for the numpy engine

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402

# "one Sudoku": an easy held-out puzzle the shipped CPU weights solve in one pass (the hard one is
# also timed: the shipped model cannot solve it, so `hrm solve` tries its default 4 views)
EASY_SUDOKU = common.REPO / "examples" / "sudoku" / "easy1.txt"
HARD_SUDOKU = common.REPO / "examples" / "sudoku" / "forum_hardest_1106.txt"
NEWSPAPER = {f"newspaper-{grade}": common.REPO / "examples" / "sudoku" / f"newspaper_{grade}.txt"
             for grade in ("easy", "hard", "diabolical")}   # G1, G2, G3: the latency goals are per grade
PUZZLES = {"sudoku": EASY_SUDOKU if EASY_SUDOKU.exists() else HARD_SUDOKU,
           "maze": common.REPO / "examples" / "maze" / "hard1.txt",
           "sudoku-hard": HARD_SUDOKU, **NEWSPAPER}
UNTRAINED = {"sudoku": "hrm-sudoku", "maze": "hrm-maze"}
UNTRAINED_QUICK = {"sudoku": "hrm-sudoku-tiny", "maze": "hrm-maze-tiny"}


def user_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    if _USER_OMP_POLICY is None:
        env.pop("OMP_WAIT_POLICY", None)
    else:
        env["OMP_WAIT_POLICY"] = _USER_OMP_POLICY
    env.update(extra)
    return env


def resolve_weights(task: str, quick: bool, tmp: Path) -> dict:
    """The shipped weights from weights/MANIFEST.json, or an untrained model saved to `tmp`."""
    from hrm.weights import weights_dir

    manifest = weights_dir() / "MANIFEST.json"
    if manifest.exists():
        try:
            entry = json.loads(manifest.read_text()).get(task)
        except ValueError:
            entry = None
        if entry:
            path = weights_dir() / (entry["file"] if isinstance(entry, dict) else entry)
            if path.exists():
                return {"path": str(path), "source": "weights/MANIFEST.json", "trained": True}
    import torch

    from hrm.checkpoint import save_model
    from hrm.config import get_preset
    from hrm.model import HRM

    preset = (UNTRAINED_QUICK if quick else UNTRAINED)[task]
    torch.manual_seed(0)
    path = tmp / f"untrained-{preset}.safetensors"
    save_model(path, HRM(get_preset(preset)))
    return {"path": str(path), "source": f"untrained {preset} (no weights/MANIFEST.json entry for {task})",
            "trained": False, "preset": preset}


def hrm_command() -> list[str]:
    script = Path(sys.executable).with_name("hrm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hrm_cli"]


def whole_process(task: str, weights: str, runs: int, env: dict[str, str], puzzle: str | None = None,
                  engine: str = "auto") -> dict:
    cmd = [*hrm_command(), "solve", str(PUZZLES[puzzle or task]), "-w", weights, "--json", "--device", "cpu",
           "--engine", engine]
    times, record = [], None
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=common.REPO)
        times.append(time.perf_counter() - started)
        if out.returncode not in (0, 1):  # 1: solved but unverified (an untrained model's answer)
            raise RuntimeError(f"{' '.join(cmd)} failed ({out.returncode}): {out.stderr[-2000:]}")
        lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
        record = json.loads(lines[-1]) if lines else None
    result = common.summarize(times)
    result.update(command="hrm solve " + " ".join(cmd[len(hrm_command()) + 1:]),
                  segments=record and record.get("segments"), status=record and record.get("status"),
                  attempts=record and record.get("attempts"),
                  puzzle=str(PUZZLES[puzzle or task].relative_to(common.REPO)),
                  solve_seconds_reported=record and record.get("seconds"))
    return result


def import_costs(task: str, weights: str, top: int = 12) -> dict:
    """`python -X importtime` of the solve command: the largest cumulative top-level imports."""
    cmd = [sys.executable, "-X", "importtime", "-m", "hrm_cli", "solve", str(PUZZLES[task]), "-w", weights,
           "--json", "--device", "cpu"]
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=user_env(OMP_WAIT_POLICY="PASSIVE"),
                         cwd=common.REPO)
    total = time.perf_counter() - started
    rows = []
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    for line in out.stderr.splitlines():
        m = pattern.match(line)
        if m:
            rows.append({"self_ms": int(m.group(1)) / 1000, "cumulative_ms": int(m.group(2)) / 1000,
                         "depth": len(m.group(3)) // 2, "module": m.group(4)})
    top_level = sorted((r for r in rows if r["depth"] == 0), key=lambda r: -r["cumulative_ms"])
    heaviest_self = sorted(rows, key=lambda r: -r["self_ms"])[:top]
    torch_ms = next((r["cumulative_ms"] for r in rows if r["module"] == "torch"), None)
    return {"process_seconds": total, "imports_total_ms": sum(r["cumulative_ms"] for r in top_level),
            "torch_cumulative_ms": torch_ms, "top_level": top_level[:top], "heaviest_self": heaviest_self}


def bare_import_seconds(code: str, runs: int) -> dict:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=user_env(OMP_WAIT_POLICY="PASSIVE"))
        times.append(time.perf_counter() - started)
    return common.summarize(times)


def in_process(task_name: str, weights: str, runs: int, engine: str = "torch") -> dict:
    from hrm.solver import solve
    from hrm.tasks import get_task
    from hrm.weights import load_model

    started = time.perf_counter()
    loaded = load_model(weights, task_name, "cpu", engine=engine)
    load_s = time.perf_counter() - started
    task = get_task(task_name)
    puzzle = task.parse(PUZZLES[task_name].read_text(), str(PUZZLES[task_name]))[0]
    last = []

    def once() -> None:
        last[:] = solve(loaded, task, [puzzle], adaptive=True)

    timing = common.time_runs(once, repeats=runs, warmup=1 if runs > 1 else 0)  # a paper-size maze takes minutes
    return {"load_model_s": load_s, "solve": timing, "segments": last[0].segments,
            "verified": bool(last[0].verdict.ok), "per_segment_s": timing["median_s"] / max(1, last[0].segments)}


def engine_segment_times(presets: list[str], runs: int, tmp: Path) -> dict:
    """Seconds per segment of one puzzle on each engine, untrained models of `presets` (this process's
    threads for torch, one BLAS thread for numpy): where the numpy engine stops paying for itself."""
    import numpy as np
    import torch

    from hrm.checkpoint import save_model
    from hrm.config import get_preset
    from hrm.model import HRM
    from hrm.numpy_engine import NumpyHRM
    from hrm.solver import iter_steps

    out = {}
    for preset in presets:
        torch.manual_seed(0)
        model = HRM(get_preset(preset).with_overrides(halt_max_steps=2)).eval()
        path = tmp / f"{preset}.safetensors"
        save_model(path, model)
        twin, _ = NumpyHRM.from_file(path)
        tokens = np.random.default_rng(0).integers(1, model.config.vocab_size, size=(1, model.config.seq_len))
        row = {"parameters_x_seq_len": model.num_parameters() * model.config.seq_len}
        for name, engine in (("torch", model), ("numpy", twin)):
            timing = common.time_runs(lambda engine=engine, tokens=tokens: list(iter_steps(engine, tokens,
                                                                                            adaptive=False)),
                                      repeats=runs, warmup=1)
            row[f"{name}_s_per_segment"] = timing["median_s"] / 2
        out[preset] = row
    return out


def sudoku_test_puzzles(count: int) -> tuple[list, str]:
    import numpy as np

    from hrm.tasks import Puzzle

    root = common.REPO / "data" / "sudoku-easy" / "test"
    if (root / "all__inputs.npy").exists():
        inputs = np.load(root / "all__inputs.npy")[:count].astype(np.int64)
        labels = np.load(root / "all__labels.npy")[:count].astype(np.int64)
        puzzles = [Puzzle("sudoku", (i - 1).reshape(9, 9), (lab - 1).reshape(9, 9), name=f"sudoku-easy test {k}")
                   for k, (i, lab) in enumerate(zip(inputs, labels, strict=True))]
        return puzzles, "data/sudoku-easy/test"
    from hrm.tasks import get_task

    task = get_task("sudoku")
    puzzles = []
    for path in sorted((common.REPO / "examples" / "sudoku").glob("*.txt")):
        puzzles += task.parse(path.read_text(), str(path))
    return (puzzles * (count // max(1, len(puzzles)) + 1))[:count], "examples/sudoku (repeated)"


def batch_throughput(weights: str, count: int, batch_size: int) -> dict:
    from hrm.solver import solve
    from hrm.tasks import get_task
    from hrm.weights import load_model

    loaded = load_model(weights, "sudoku", "cpu")
    task = get_task("sudoku")
    puzzles, source = sudoku_test_puzzles(count)
    result = {"puzzles": len(puzzles), "source": source, "batch_size": batch_size,
              "max_segments": loaded.config.halt_max_steps}
    for mode, adaptive in (("fixed", False), ("adaptive", True)):
        solve(loaded, task, puzzles[:min(2, len(puzzles))], adaptive=adaptive, batch_size=batch_size)  # warm-up
        started = time.perf_counter()
        solutions = solve(loaded, task, puzzles, adaptive=adaptive, batch_size=batch_size)
        seconds = time.perf_counter() - started
        result[mode] = {"seconds": seconds, "puzzles_per_s": len(puzzles) / seconds,
                        "mean_segments": sum(s.segments for s in solutions) / len(solutions),
                        "exact_accuracy": sum(bool(s.verdict.ok) for s in solutions) / len(solutions)}
    result["adaptive_speedup"] = result["fixed"]["seconds"] / result["adaptive"]["seconds"]
    result["accuracy_cost"] = result["fixed"]["exact_accuracy"] - result["adaptive"]["exact_accuracy"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny untrained presets, 2 runs, small batch test")
    parser.add_argument("--runs", type=int, default=0, help="whole-process and in-process runs (median)")
    parser.add_argument("--maze-runs", type=int, default=0,
                        help="maze runs, whole-process and in-process (default 3, quick 1)")
    parser.add_argument("--batch-puzzles", type=int, default=0,
                        help="puzzles in the batch test (default 64 with shipped weights, 16 untrained)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch threads in this process")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["whole", "imports", "inprocess", "batch", "maze", "engines"])
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    started_load = common.load_average()
    runs = args.runs or (2 if args.quick else 5)
    maze_runs = args.maze_runs or (1 if args.quick else 3)
    batch_puzzles = args.batch_puzzles
    tasks = ["sudoku"] + ([] if "maze" in args.skip else ["maze"])
    print(f"load average {started_load}; {runs} runs, threads {torch.get_num_threads()} in-process", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="hrm-bench-"))
    payload: dict = {"quick": args.quick, "weights": {}, "whole_process": {}, "in_process": {}}
    try:
        weights = {t: resolve_weights(t, args.quick, tmp) for t in tasks}
        payload["weights"] = weights
        for t, w in weights.items():
            print(f"{t}: weights {w['source']}", flush=True)

        if "imports" not in args.skip:
            payload["bare_python_s"] = bare_import_seconds("pass", runs)
            payload["import_torch_s"] = bare_import_seconds("import torch", runs)
            payload["imports"] = import_costs("sudoku", weights["sudoku"]["path"])
            imp = payload["imports"]
            torch_ms = imp["torch_cumulative_ms"]
            torch_part = "torch not imported" if torch_ms is None else f"torch {torch_ms:.0f} ms"
            print(f"python alone {payload['bare_python_s']['median_s']:.2f} s; `import torch` process "
                  f"{payload['import_torch_s']['median_s']:.2f} s; importtime of hrm solve: {torch_part}, "
                  f"{imp['imports_total_ms']:.0f} ms of imports in all", flush=True)
            for r in imp["top_level"][:8]:
                print(f"    {r['cumulative_ms']:8.1f} ms  {r['module']}")

        if "whole" not in args.skip:
            for t in tasks:
                n = runs if t == "sudoku" else maze_runs
                # The user's environment with the default engine (numpy for one puzzle on CPU), then the
                # torch engine with that environment and with one thread; Maze: the default engine only.
                variants = {"default_env": (user_env(), "auto")}
                if t == "sudoku":
                    variants.update(torch_engine=(user_env(), "torch"),
                                    torch_one_thread=(user_env(OMP_NUM_THREADS="1"), "torch"))
                payload["whole_process"][t] = {}
                for label, (env, engine) in variants.items():
                    r = whole_process(t, weights[t]["path"], n, env, engine=engine)
                    payload["whole_process"][t][label] = r
                    print(f"hrm solve {t} ({label}): median {r['median_s']:.2f} s over {n} runs "
                          f"({r['segments']} segments, {r['status']})", flush=True)
                if t == "sudoku" and PUZZLES["sudoku"] != HARD_SUDOKU:
                    r = whole_process(t, weights[t]["path"], n, user_env(), puzzle="sudoku-hard")
                    payload["whole_process"]["sudoku-hard"] = {"default_env": r}
                    print(f"hrm solve sudoku-hard (default_env): median {r['median_s']:.2f} s over {n} runs "
                          f"({r['segments']} segments, {r['status']}, {r.get('attempts')} attempts)", flush=True)
                for name in NEWSPAPER if t == "sudoku" else ():
                    r = whole_process(t, weights[t]["path"], n, user_env(), puzzle=name)
                    payload["whole_process"][name] = {"default_env": r}
                    print(f"hrm solve {name} (default_env): median {r['median_s']:.2f} s over {n} runs "
                          f"({r['segments']} segments, {r['status']}, {r.get('attempts')} attempts)", flush=True)

        if "inprocess" not in args.skip:
            for t, engine in [(t, e) for t in tasks for e in ("numpy", "torch")]:
                r = in_process(t, weights[t]["path"], runs if t == "sudoku" else maze_runs, engine)
                payload["in_process"][f"{t}_{engine}"] = r
                print(f"in-process {t} ({engine}): load {r['load_model_s']:.2f} s, "
                      f"solve median {r['solve']['median_s']:.3f} s "
                      f"({r['segments']} segments, {r['per_segment_s'] * 1000:.0f} ms/segment)", flush=True)

        if "engines" not in args.skip:
            presets = ["hrm-sudoku-tiny", "hrm-maze-tiny"] if args.quick else ["hrm-sudoku", "hrm-maze"]
            payload["engines"] = engine_segment_times(presets, 2 if args.quick else 3, tmp)
            for preset, row in payload["engines"].items():
                print(f"{preset}: {row['torch_s_per_segment']:.3f} s/segment torch, "
                      f"{row['numpy_s_per_segment']:.3f} s/segment numpy "
                      f"(parameters x tokens {row['parameters_x_seq_len']:.2e})", flush=True)

        if "batch" not in args.skip:
            # an untrained paper-size model runs all Mmax segments on every puzzle: keep that test short
            count = batch_puzzles or (64 if weights["sudoku"]["trained"] else 16)
            r = batch_throughput(weights["sudoku"]["path"], count, args.batch_size)
            payload["batch"] = r
            for mode in ("fixed", "adaptive"):
                m = r[mode]
                print(f"batch {mode:8s}: {m['puzzles_per_s']:.2f} puzzles/s, {m['mean_segments']:.2f} segments, "
                      f"exact {m['exact_accuracy']:.3f}", flush=True)
            print(f"adaptive / fixed speed-up {r['adaptive_speedup']:.2f}x, accuracy cost {r['accuracy_cost']:+.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    path = common.write_results("inference_quick" if args.quick else "inference", payload, started_load)
    print(f"\nwrote {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
