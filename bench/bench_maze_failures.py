"""Which mazes a maze model fails, and whether the room around the shortest paths is the cause.

    python bench/bench_maze_failures.py --weights W --sets data/maze-easy-d8 --limit 200 --max-segments 16

Two readings of one weights file on a built maze test set, single pass, every maze run for the same
number of segments:

- solved against maze features, in thirds of each: shortest-path moves, how many shortest paths the maze
  has, how many cells S can reach, how many cells are open;
- how far the model's path reaches along the maze's shortest path nearest to it, in the mazes it fails:
  the share of that path's cells it marks, by moves from the nearer of S and G (a share that falls with
  the distance says the ends' signals fade before they meet; `marked_by_end_distance`);
- an intervention: the same mazes with every open cell walled that no S-to-G walk within `slack` moves of
  the shortest passes (`hrm.tasks.maze.keep_near_shortest`; "reachable" walls only the cells S cannot
  reach, 0 leaves only the cells of shortest paths). Every shortest path survives, so the answers the
  verifier accepts are the same; a solved rate that rises as the room shrinks says the room, not the path,
  is what the model fails on.

Writes bench/results/maze_failures_<weights>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

import numpy as np
from bench_accuracy import puzzles_from_split

from hrm.data.build import ensure_dataset
from hrm.data.format import PuzzleDataset
from hrm.solver import Solution, solve
from hrm.tasks import get_task
from hrm.tasks.base import Puzzle
from hrm.tasks.maze import (
    GOAL,
    OPEN,
    PATH,
    START,
    bfs_distances,
    count_shortest_paths,
    keep_near_shortest,
    nearest_shortest_paths,
    shortest_distance,
)
from hrm.weights import LoadedModel, load_model

RESULTS = Path(__file__).resolve().parent / "results"
ALL_REACHABLE = 10**6       # a slack no 30x30 detour reaches: walls only what S cannot reach
END_BANDS = (1, 6, 11, 16, 21, 31)     # moves from the nearer end: 1-5, 6-10, 11-15, 16-20, 21-30, 31 and more


def reachable_cells(grid: np.ndarray) -> int:
    return int((bfs_distances(grid, grid == START) >= 0).sum())


def maze_features(grid: np.ndarray) -> dict[str, int]:
    return {"moves": shortest_distance(grid), "shortest_paths": count_shortest_paths(grid),
            "reachable": reachable_cells(grid), "open": int((grid == OPEN).sum())}


def by_thirds(values: np.ndarray, solved: np.ndarray) -> list[dict]:
    """Solved rate in each third of `values` (ties kept together, so a third may be larger)."""
    edges = np.quantile(values.astype(float), [1 / 3, 2 / 3])
    band = np.digitize(values.astype(float), edges, right=True)
    return [{"from": int(values[band == b].min()), "to": int(values[band == b].max()), "mazes": int((band == b).sum()),
             "solved": float(solved[band == b].mean())} for b in range(3) if (band == b).any()]


def marked_by_end_distance(grid: np.ndarray, answer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of the shortest S-to-G path nearest `answer` (the one sharing most of its PATH cells; S and G aside):
    each cell's moves from the nearer of S and G, and whether `answer` marks it."""
    marks = np.asarray(answer) == PATH
    target = nearest_shortest_paths(grid[None], marks[None].astype(np.float64))[0]
    on_path = target == PATH
    nearer = np.minimum(bfs_distances(grid, grid == START), bfs_distances(grid, grid == GOAL))
    return nearer[on_path], marks[on_path]


def marked_share_by_band(pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[dict]:
    """Pooled over mazes: the share of path cells marked in each band of END_BANDS."""
    nearer = np.concatenate([n for n, _ in pairs]) if pairs else np.zeros(0, dtype=int)
    marked = np.concatenate([m for _, m in pairs]) if pairs else np.zeros(0, dtype=bool)
    band = np.digitize(nearer, END_BANDS) - 1
    return [{"from": low, "to": END_BANDS[b + 1] - 1 if b + 1 < len(END_BANDS) else None,
             "cells": int((band == b).sum()), "marked": float(marked[band == b].mean())}
            for b, low in enumerate(END_BANDS) if (band == b).any()]


def walled(puzzle: Puzzle, slack: int) -> Puzzle:
    return Puzzle(puzzle.task, keep_near_shortest(np.asarray(puzzle.grid), slack), puzzle.solution, puzzle.name,
                  puzzle.extra)


def solve_all(loaded: LoadedModel, puzzles: list[Puzzle], segments: int | None, batch_size: int) -> list[Solution]:
    return solve(loaded, get_task("maze"), puzzles, max_segments=segments, adaptive=False, batch_size=batch_size)


def solved_rate(loaded: LoadedModel, puzzles: list[Puzzle], segments: int | None, batch_size: int) -> np.ndarray:
    return np.array([s.verified for s in solve_all(loaded, puzzles, segments, batch_size)])


def parse_slacks(text: str) -> list[tuple[str, int]]:
    return [(part, ALL_REACHABLE if part == "reachable" else int(part)) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", required=True)
    parser.add_argument("--sets", default="maze-easy", help="comma-separated maze dataset names or folders")
    parser.add_argument("--slack", default="reachable,2,0", help="walled variants: 'reachable' or detour moves")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--max-segments", type=int, default=None, help="default: the model's Mmax")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    loaded = load_model(args.weights, None, "cpu")
    if loaded.task_name != "maze":
        sys.exit(f"error: {args.weights} is a {loaded.task_name} model; this benchmark reads maze models")
    rows = []
    for name in args.sets.split(","):
        root = Path(name) if Path(name).is_dir() else ensure_dataset(name)
        puzzles = puzzles_from_split(PuzzleDataset.load(root, "test"), get_task("maze"), args.limit)
        solutions = solve_all(loaded, puzzles, args.max_segments, args.batch_size)
        solved = np.array([s.verified for s in solutions])
        features = [maze_features(np.asarray(p.grid)) for p in puzzles]
        row = {"set": root.name, "mazes": len(puzzles), "solved": float(solved.mean()),
               "by_feature": {key: by_thirds(np.array([f[key] for f in features]), solved) for key in features[0]},
               "walled": {}}
        failed = [marked_by_end_distance(np.asarray(s.puzzle.grid), s.answer) for s in solutions if not s.verified]
        row["failed_path_marked_by_end_distance"] = marked_share_by_band(failed)
        print(f"{root.name}: solved {100 * row['solved']:.1f}% of {len(puzzles)}", flush=True)
        for key, thirds in row["by_feature"].items():
            print(f"    by {key}: " + "; ".join(f"{t['from']}-{t['to']} {100 * t['solved']:.0f}% of {t['mazes']}"
                                              for t in thirds), flush=True)
        print("    failed mazes, share of the nearest shortest path marked, by moves from the nearer end: "
              + "; ".join(f"{b['from']}{'-' + str(b['to']) if b['to'] else '+'} {100 * b['marked']:.0f}%"
                          for b in row["failed_path_marked_by_end_distance"]), flush=True)
        for label, slack in parse_slacks(args.slack):
            variant = [walled(p, slack) for p in puzzles]
            rate = solved_rate(loaded, variant, args.max_segments, args.batch_size)
            reach = float(np.mean([reachable_cells(np.asarray(p.grid)) for p in variant]))
            row["walled"][label] = {"solved": float(rate.mean()), "mean_reachable": reach}
            print(f"    walled beyond {label}: solved {100 * rate.mean():.1f}%  (S reaches {reach:.0f} cells)",
                  flush=True)
        rows.append(row)
    record = {"command": "python bench/bench_maze_failures.py " + " ".join(sys.argv[1:]), "weights": args.weights,
              "max_segments": args.max_segments, "machine": f"{platform.machine()} {os.cpu_count()} cpus",
              "results": rows}
    out = Path(args.out) if args.out else RESULTS / f"maze_failures_{Path(args.weights).stem}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
