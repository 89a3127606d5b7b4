"""Write a shipped Sudoku model's card from the accuracy benchmarks that measured it.

    python tools/make_sudoku_card.py --name sudoku-trm-cpu --description "..." --trained-with "..." \
        bench/results/accuracy_sudoku-trm-cpu.json bench/results/accuracy_sudoku-trm-cpu_g4.json \
        bench/results/accuracy_sudoku-trm-cpu_g4_k32.json > weights/cards/sudoku-trm-cpu.json

Every accuracy figure on the card is copied from a bench/results JSON written by bench/bench_accuracy.py,
so the card says only what was measured; then `hrm export ... --card weights/cards/NAME.json` puts it in
the bundle.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hrm.tasks import get_task

GRADES = {"sudoku-g1": "G1 singles only", "sudoku-g2": "G2 pairs, pointing, box-line",
          "sudoku-g3": "G3 fish, wings, chains", "sudoku-17clue": "G4 17-clue",
          "sudoku-magictour": "G4 magictour top1465", "sudoku-forum1106": "G4 forum hardest 1106"}


def accuracy_lines(results: list[dict]) -> dict[str, str]:
    lines = {}
    for row in results:
        grade = GRADES.get(row["set"], row["set"])
        how = "one pass" if row["attempts"] == 1 else f"up to {row['attempts']} views + verifier"
        if row["attempts"] == get_task("sudoku").default_attempts:
            how += " (hrm solve default)"
        lines[f"{grade} ({row['puzzles']:,} held out), {how}"] = f"{100 * row['solved']:.1f}%"
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", required=True)
    parser.add_argument("--description", required=True)
    parser.add_argument("--trained-with", required=True)
    parser.add_argument("results", nargs="+", type=Path, help="bench/results/accuracy_*.json files")
    args = parser.parse_args()
    rows, commands = [], []
    for path in args.results:
        doc = json.loads(path.read_text())
        rows += doc["results"]
        commands.append(doc.get("command") or path.name)
    order = {name: i for i, name in enumerate(GRADES)}
    rows.sort(key=lambda row: (order.get(row["set"], len(order)), row["attempts"]))
    card = {"name": args.name, "description": args.description, "trained_with": args.trained_with,
            "accuracy": accuracy_lines(rows), "measured_with": "; ".join(commands)}
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
