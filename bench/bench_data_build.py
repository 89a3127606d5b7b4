"""Time the dataset builds: sudoku-hard-1k (defaults), maze-hard (1000 + 1000) and arc1 at 300 augmentations,
plus the hard-sudoku mutator (puzzles per second).

Usage: python bench/bench_data_build.py [--workers K] [--out DIR] [--keep] [--mutate N]
Prints one line per measurement and writes bench/results/data_build.json. The raw collections come from
$HRM_SOURCE_DATA (in the development checkout: HRM_SOURCE_DATA=../shared/data) or are downloaded first,
which a timing should not include.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hrm.data.build import BuildOptions, build_dataset, get_spec
from hrm.data.format import read_metadata
from hrm.data.sources import read_sudoku_source
from hrm.data.sudoku_gen import HARD_RATING, mutate_many

BUILDS = [
    ("sudoku-hard-1k", {}),
    ("maze-hard", {}),
    ("arc1", {"num_aug": 300}),
]
RESULTS = Path(__file__).resolve().parent / "results" / "data_build.json"


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def time_build(name: str, extra: dict, workers: int, out: Path) -> dict:
    options = BuildOptions(workers=workers, **extra)
    started = time.perf_counter()
    path = build_dataset(name, out / name, options)
    seconds = time.perf_counter() - started
    splits = {s: read_metadata(path, s) for s in get_spec(name).splits}
    return {
        "name": name, "options": extra, "seconds": round(seconds, 1), "disk_mb": round(folder_bytes(path) / 1e6, 1),
        "splits": {s: {"groups": m.total_groups, "puzzles": m.num_puzzles, "examples": m.num_examples,
                       "hash": m.content_hash} for s, m in splits.items()},
    }


def time_mutator(count: int, workers: int) -> dict:
    seeds = read_sudoku_source("puzzles5")
    hard = seeds.take(seeds.ratings >= HARD_RATING)
    started = time.perf_counter()
    made = mutate_many(hard.questions, hard.answers, count, seed=0, workers=workers)
    seconds = time.perf_counter() - started
    return {"name": "sudoku-mutate", "puzzles": len(made), "min_rating": HARD_RATING,
            "seconds": round(seconds, 1), "puzzles_per_second": round(len(made) / seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=None, help="where to build (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the built datasets")
    parser.add_argument("--mutate", type=int, default=500, help="mutated hard sudoku puzzles to time (0: skip)")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="hrm-bench-data-"))
    results = []
    try:
        for name, extra in BUILDS:
            result = time_build(name, extra, args.workers, out)
            results.append(result)
            counts = ", ".join(f"{s} {v['examples']} examples" for s, v in result["splits"].items())
            print(f"{name:16s} {result['seconds']:8.1f} s  {result['disk_mb']:8.1f} MB  {counts}", flush=True)
        if args.mutate:
            result = time_mutator(args.mutate, args.workers)
            results.append(result)
            print(f"sudoku-mutate    {result['seconds']:8.1f} s  {result['puzzles_per_second']:.2f} hard puzzles/s "
                  f"(rating >= {HARD_RATING})", flush=True)
    finally:
        if not args.keep and args.out is None:
            shutil.rmtree(out, ignore_errors=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"workers": args.workers, "cpu_count": os.cpu_count(),
                                   "machine": platform.platform(), "python": platform.python_version(),
                                   "builds": results}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
