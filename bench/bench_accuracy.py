"""Solve accuracy of a weights file on built test sets, judged by the verifier (Sudoku, Maze).

    python bench/bench_accuracy.py                       # the shipped Sudoku weights, per human grade
    python bench/bench_accuracy.py --weights weights/sudoku.safetensors \
        --sets sudoku-easy,sudoku-hard-1k,sudoku-magictour --attempts 1,8 --limit 1000

With no --sets, the Sudoku grade table: G1-G3 (sudoku-g1/g2/g3, generated from a seed no training build
uses and graded by the techniques a human needs) and G4, the hardest public collections (17-clue,
magictour top1465, forum hardest 1106; skipped with a note when their source folder is missing), each
single pass (K=1) and with `hrm solve`'s defaults (up to K=32 views, the verifier choosing).

For every set and every K in --attempts it reports: solved (the answer passes the task's verifier:
Sudoku rules and givens; Maze a valid shortest path), exact (the answer equals the stored label),
mean segments used, and milliseconds per puzzle. Writes bench/results/accuracy_<weights>.json.
Sets are dataset names (built on first use) or built dataset folders; the test split is used (--split train
to choose settings without it); --limit
takes the first N puzzles (deterministic).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from hrm.data.build import ensure_dataset
from hrm.data.format import PuzzleDataset
from hrm.errors import DataError
from hrm.solver import Solution, solve
from hrm.tasks import get_task
from hrm.tasks.base import Puzzle
from hrm.tasks.maze import MazeTask, shortest_distance
from hrm.weights import default_weights, load_model

RESULTS = Path(__file__).resolve().parent / "results"
GRADE_SETS = {"sudoku-g1": "G1 singles", "sudoku-g2": "G2 pairs, pointing, box-line",
              "sudoku-g3": "G3 fish, wings, chains", "sudoku-17clue": "G4 17-clue (2,000)",
              "sudoku-magictour": "G4 magictour top1465", "sudoku-forum1106": "G4 forum hardest 1106"}
# bands of shortest-path moves: maze-mixed's four bands, with shorter (maze-small/-medium) and maze-hard's
MAZE_BANDS = ((1, 19), (20, 44), (45, 69), (70, 89), (90, 110), (111, None))


def puzzles_from_split(dataset: PuzzleDataset, task, limit: int | None) -> list[Puzzle]:
    """The stored test examples as Puzzles with their label as the known solution."""
    count = dataset.num_examples if limit is None else min(limit, dataset.num_examples)
    extra: dict = {}
    if task.name == "maze":         # a maze set may use a smaller canvas (maze-small): its mazes sit top-left
        side = math.isqrt(dataset.inputs.shape[1])
        task, extra = MazeTask(side), {"shape": (side, side), "origin": (0, 0)}
    puzzles = []
    for i in range(count):
        template = Puzzle(task.name, np.zeros(1), name=f"{dataset.metadata.name}:{i}", extra=extra)
        grid = task.decode(template, np.asarray(dataset.inputs[i]))
        solution = task.decode(template, np.asarray(dataset.labels[i]))
        puzzles.append(Puzzle(task.name, grid, solution, template.name, extra))
    return puzzles


def failure_kind(violation: str) -> str:
    """A verifier message without its cells and counts, so failures of one kind count together:
    'the path breaks at r3c4' -> 'the path breaks at CELL'."""
    kind = re.sub(r"\br\d+c\d+\b", "CELL", violation)
    kind = re.sub(r"\((CELL(, )?)+( \(\+\d+ more\))?\)", "(CELLS)", kind)
    return re.sub(r"\b\d+\b", "N", kind)


def failure_kinds(solutions: list[Solution]) -> dict[str, int]:
    """How many unsolved puzzles fail by each kind of first violation, most common first."""
    kinds = Counter(failure_kind(s.verdict.violations[0] if s.verdict.violations else "no verdict")
                    for s in solutions if not s.verified)
    return dict(kinds.most_common())


def solved_by_length(puzzles: list[Puzzle], solved: list[bool]) -> dict[str, dict[str, int]]:
    """Mazes solved and held per band of shortest-path moves (MAZE_BANDS), for the bands holding any."""
    moves = [int(shortest_distance(p.grid)) for p in puzzles]
    bands = {}
    for low, high in MAZE_BANDS:
        inside = [ok for n, ok in zip(moves, solved, strict=True) if n >= low and (high is None or n <= high)]
        if inside:
            bands[f"{low}-{high}" if high else f"{low}+"] = {"solved": sum(inside), "mazes": len(inside)}
    return bands


def measure(loaded, task, puzzles: list[Puzzle], attempts: int, batch_size: int, adaptive: bool,
            max_segments: int | None = None) -> dict:
    started = time.perf_counter()
    solutions = solve(loaded, task, puzzles, attempts=attempts, batch_size=batch_size, adaptive=adaptive,
                      max_segments=max_segments)
    seconds = time.perf_counter() - started
    solved = sum(s.verified for s in solutions)
    exact = sum(bool(np.array_equal(s.answer, s.puzzle.solution)) for s in solutions)
    row = {"attempts": attempts, "puzzles": len(puzzles), "solved": solved / len(puzzles),
           "exact": exact / len(puzzles), "mean_segments": float(np.mean([s.segments for s in solutions])),
           "ms_per_puzzle": 1000 * seconds / len(puzzles), "failures": failure_kinds(solutions)}
    if task.name == "maze":
        row["by_length"] = solved_by_length(puzzles, [s.verified for s in solutions])
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None, help="default: the shipped Sudoku weights")
    parser.add_argument("--sets", default=",".join(GRADE_SETS), help="comma-separated dataset names or folders")
    parser.add_argument("--attempts", default="1,32", help="comma-separated K values (32: hrm solve's Sudoku default)")
    parser.add_argument("--max-segments", type=int, default=None, help="default: the model's Mmax")
    parser.add_argument("--min-segments", type=int, default=None,
                        help="segments before the halt rule may stop a puzzle (default: the model's config)")
    parser.add_argument("--split", default="test", help="test, or train to choose settings without the test set")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--fixed", action="store_true", help="run every puzzle for Mmax segments")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    args.weights = args.weights or str(default_weights("sudoku"))
    loaded = load_model(args.weights, None, args.device)
    if args.min_segments is not None:     # the model's config is what the solver reads; keep both in step
        loaded.model.config = dataclasses.replace(loaded.config, halt_min_steps=args.min_segments)
        loaded = dataclasses.replace(loaded, config=loaded.model.config)
    task = get_task(loaded.task_name)
    rows = []
    for name in args.sets.split(","):
        try:
            root = Path(name) if Path(name).is_dir() else ensure_dataset(name)
        except DataError as exc:
            print(f"{name:<22} skipped: {exc}", flush=True)
            continue
        puzzles = puzzles_from_split(PuzzleDataset.load(root, args.split), task, args.limit)
        for k in (int(x) for x in args.attempts.split(",")):
            row = {"set": root.name, **measure(loaded, task, puzzles, k, args.batch_size, not args.fixed,
                                               args.max_segments)}
            rows.append(row)
            print(f"{row['set']:<22} K={k:<3} solved {100 * row['solved']:6.2f}%  exact {100 * row['exact']:6.2f}%  "
                  f"segments {row['mean_segments']:5.2f}  {row['ms_per_puzzle']:8.1f} ms/puzzle  "
                  f"({row['puzzles']} puzzles)", flush=True)
            if row["failures"]:
                print("    unsolved, by first violation: " + "; ".join(
                    f"{n} {kind}" for kind, n in list(row["failures"].items())[:4]), flush=True)
            if row.get("by_length"):
                print("    solved by shortest-path moves: " + "; ".join(
                    f"{band} {b['solved']}/{b['mazes']}" for band, b in row["by_length"].items()), flush=True)
    print_table(rows)
    record = {"command": "python bench/bench_accuracy.py " + " ".join(sys.argv[1:]),
              "weights": args.weights, "device": str(loaded.device), "adaptive": not args.fixed,
              "max_segments": args.max_segments, "min_segments": loaded.model.config.halt_min_steps,
              "split": args.split,
              "machine": f"{platform.machine()} {os.cpu_count()} cpus", "load_average": os.getloadavg(),
              "results": rows}
    out = Path(args.out) if args.out else RESULTS / f"accuracy_{Path(args.weights).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")


def print_table(rows: list[dict]) -> None:
    """The README's table: one line per set, solved % for each K."""
    ks = sorted({row["attempts"] for row in rows})
    print("\n| set | puzzles | " + " | ".join(f"K={k}" for k in ks) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in ks) + " |")
    for name in dict.fromkeys(row["set"] for row in rows):
        mine = {row["attempts"]: row for row in rows if row["set"] == name}
        cells = [f"{100 * mine[k]['solved']:.1f}%" if k in mine else "-" for k in ks]
        label = GRADE_SETS.get(name, name)
        print(f"| {label} | {next(iter(mine.values()))['puzzles']} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
