"""`hrm data list | build NAME | info DIR`: the named datasets, building them, and what a built one holds."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from hrm_cli.output import Printer, get_printer
from hrm_cli.progress import build_count_column

SCHEMA_VERSION = 1

data_app = typer.Typer(help="List, build and inspect datasets.", no_args_is_help=True)


@contextlib.contextmanager
def _progress_callback(printer: Printer) -> Iterator[Any]:
    """A progress(stage, done, total) callback drawing one Rich bar per stage on stderr (or nothing)."""
    bars = printer.progress(count=build_count_column(), elapsed=True) if printer.show_progress else None
    if bars is None:
        yield None
        return
    with bars:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bars.add_task(stage, total=total)
            bars.update(tasks[stage], completed=done, total=total)

        yield update


@data_app.command("list")
def list_command(
    root: Path = typer.Option(None, "--root", help="Dataset root (default: $HRM_DATA or ./data)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of a table."),
) -> None:
    """The named datasets, what they contain and whether they are built."""
    from hrm.data.build import DATASETS, dataset_path, is_built

    rows = [{"name": s.name, "task": s.task, "splits": list(s.splits), "description": s.description,
             "path": str(dataset_path(s.name, root)), "built": is_built(s.name, dataset_path(s.name, root))}
            for s in DATASETS.values()]
    printer = get_printer()
    if as_json:
        printer.json_line(json.dumps({"schema_version": SCHEMA_VERSION, "datasets": rows}))
        return
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("name", "task", "splits", "built", "contents"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["name"], row["task"], "+".join(row["splits"]), "yes" if row["built"] else "-",
                      row["description"])
    printer.result(table)


@data_app.command("build")
def build_command(
    name: str = typer.Argument(..., help="Dataset name (see `hrm data list`)."),
    out: Path = typer.Option(None, "--out", help="Output folder (default: $HRM_DATA/NAME or ./data/NAME)."),
    seed: int = typer.Option(0, "--seed", help="Seed for sampling and augmentation (eval sets never change)."),
    num_aug: int = typer.Option(None, "--num-aug", help="Augmented copies per training puzzle/task."),
    workers: int = typer.Option(None, "--workers", help="Worker processes (default: all cores)."),
    limit: int = typer.Option(None, "--limit", help="At most N base puzzles/tasks per split (quick builds)."),
    dihedral: bool = typer.Option(False, "--dihedral", help="Maze: 8 dihedral copies of each training maze."),
    room: int = typer.Option(None, "--room", min=0, max=10_000,
                             help="Maze: wall every training cell more than N moves of detour off all shortest "
                             "paths (the answers stay; the room to search shrinks)."),
    room_mix: bool = typer.Option(False, "--room-mix", help="Maze, with --room: keep each training maze as "
                                  "built too (an epoch draws one of the two)."),
    generated: int = typer.Option(0, "--generated", help="sudoku-hard-full: add N mutated hard puzzles."),
    from_csv: Path = typer.Option(None, "--from-csv", help="Maze: build from DIR/train.csv and DIR/test.csv."),
    from_json: Path = typer.Option(None, "--from-json",
                                   help="arc-tasks: a folder (or file) of ARC task JSON to train on."),
    canvas: int = typer.Option(None, "--canvas", help="ARC: canvas side, 30 by default (smaller is faster)."),
    source: Path = typer.Option(None, "--source", help="Read the raw collections from this local copy "
                                "(default: $HRM_SOURCE_DATA, else download them into $HRM_CACHE or ~/.cache/hrm)."),
) -> None:
    """Build a dataset (deterministic: same options, same content hash). Ctrl-C leaves nothing behind.

    The raw collections it needs are downloaded from their public origins on first use (pinned by
    commit and SHA-256, resumable) unless --source or $HRM_SOURCE_DATA names a local copy."""
    from hrm.data.build import BuildOptions, build_dataset, get_spec
    from hrm.data.format import read_metadata

    spec = get_spec(name)
    options = BuildOptions(seed=seed, num_aug=num_aug, workers=workers or os.cpu_count() or 1, limit=limit,
                           dihedral=dihedral, room=room, room_mix=room_mix, generated=generated,
                           from_csv=str(from_csv) if from_csv else None,
                           from_json=str(from_json) if from_json else None, canvas=canvas,
                           source=str(source) if source else None)
    printer = get_printer()
    started = time.perf_counter()
    with _progress_callback(printer) as progress:
        path = build_dataset(name, out, options, progress)
    printer.info(f"built {name} in {time.perf_counter() - started:.1f} s")
    for split in spec.splits:
        meta = read_metadata(path, split)
        printer.result(f"{path / split}  groups {meta.total_groups}  puzzles {meta.num_puzzles}  "
                       f"examples {meta.num_examples}  hash {meta.content_hash[:16]}")


def _resolve(target: str) -> Path:
    """A dataset folder, or a dataset name under the data root."""
    from hrm.data.build import DATASETS, dataset_path
    from hrm.errors import DataError

    path = Path(target)
    if path.is_dir():
        return path
    if target in DATASETS:
        return dataset_path(target)
    raise DataError(f"no dataset folder {path}", hint="pass a folder written by `hrm data build`, or a name")


@data_app.command("info")
def info_command(
    target: str = typer.Argument(..., help="A built dataset folder (or a dataset name)."),
    verify: bool = typer.Option(False, "--verify", help="Recompute the content hash from the arrays."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object instead of text."),
) -> None:
    """Metadata and content hash of each split of a built dataset."""
    from hrm.data.format import PuzzleDataset, built_splits, read_identifiers
    from hrm.errors import DataError

    root = _resolve(target)
    splits = built_splits(root)
    if not splits:
        raise DataError(f"{root} is not a built dataset (no train/ or test/ with dataset.json)")
    report: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "path": str(root), "splits": {}}
    identifiers = read_identifiers(root)
    report["identifiers"] = None if identifiers is None else len(identifiers)
    for split in splits:
        dataset = PuzzleDataset.load(root, split)
        entry = dict(vars(dataset.metadata))
        if verify:
            entry["hash_ok"] = dataset.compute_hash() == dataset.content_hash
        report["splits"][split] = entry
    _print_info(get_printer(), report, as_json)
    if verify and not all(s["hash_ok"] for s in report["splits"].values()):
        raise DataError(f"{root}: content hash mismatch, the files changed after the build",
                        hint="rebuild with `hrm data build`")


def _print_info(printer: Printer, report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        printer.json_line(json.dumps(report))
        return
    printer.result(f"[bold]{report['path']}[/]")
    for split, meta in report["splits"].items():
        printer.result(f"[bold]{split}[/]: {meta['name'] or '?'} ({meta['task']}), seed {meta['seed']}")
        printer.result(f"  groups {meta['total_groups']}, puzzles {meta['num_puzzles']}, "
                       f"examples {meta['num_examples']} (mean {meta['mean_puzzle_examples']:.3f} per puzzle)")
        printer.result(f"  seq_len {meta['seq_len']}, vocab {meta['vocab_size']}, "
                       f"identifiers {meta['num_puzzle_identifiers']}, build {json.dumps(meta['build_args'])}")
        check = {True: " (verified)", False: " (MISMATCH)"}.get(meta.get("hash_ok"), "")
        printer.result(f"  hash {meta['content_hash']}{check}")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
