"""`hrm import`: a checkpoint of the reference code (a folder, or a hub model hf:OWNER/NAME) to our weights file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hrm_cli.output import get_printer, visible

if TYPE_CHECKING:
    from hrm.weights import LoadedModel


def import_command(
    source: str = typer.Argument(..., help="Checkpoint folder (or its weights file) in the layout the HRM and TRM "
                                           "repositories write, or a hub model hf:OWNER/NAME "
                                           "(hf:OWNER/NAME@REVISION for one revision)."),
    out: Path = typer.Option(None, "--out", "-o", help="Weights file to write (default: NAME.safetensors here)."),
    task: str = typer.Option(None, "--task", "-t", help="sudoku, maze or arc (default: from the vocabulary)."),
    config: Path = typer.Option(None, "--config", help="The run's all_config.yaml when it is not beside the "
                                                       "weights (or an arch file such as config/arch/hrm_v1.yaml)."),
    identifiers: Path = typer.Option(None, "--identifiers", help="ARC: the identifiers.json of the dataset build "
                                                                 "the run trained on (row -> task name)."),
    as_json: bool = typer.Option(False, "--json", help="Print what was written as one JSON object."),
) -> None:
    """Convert a released or self-trained HRM/TRM checkpoint into a weights file hrm runs on the CPU."""
    from hrm.hub import import_from_hub, is_hub_spec, parse_spec
    from hrm.importer import import_checkpoint
    from hrm.weights import load_model

    printer = get_printer()
    options = dict(task=task, config=config, identifiers=identifiers)
    if is_hub_spec(source):
        out = out or Path.cwd() / f"{parse_spec(source).repo.split('/')[1]}.safetensors"
        warnings = import_from_hub(source, out, printer.show_progress, **options).warnings
    else:
        src = Path(source)
        out = out or Path.cwd() / f"{(src if src.is_dir() else src.parent).resolve().name}.safetensors"
        warnings = import_checkpoint(src, out, **options).warnings
    loaded = load_model(out, task, "cpu", engine="numpy")     # what was written loads, for the task asked
    for warning in warnings:
        printer.warn(warning)
    _report(out, loaded, as_json)


def _report(out: Path, loaded: LoadedModel, as_json: bool) -> None:
    c = loaded.config
    record = {"path": str(out), "task": c.task, "arch": c.arch, "mixer": c.mixer,
              "parameters": loaded.model.num_parameters(), "puzzle_rows": c.num_puzzle_identifiers,
              "named_puzzles": len(loaded.identifiers), "bytes": out.stat().st_size,
              "source": loaded.card.get("source")}
    printer = get_printer()
    if as_json:
        printer.json_line(json.dumps(record))
        return
    printer.result(visible(f"wrote {out}: {c.arch.upper()} ({c.mixer}) for {c.task}, {record['parameters']:,} "
                           f"parameters, {record['bytes'] / 1e6:.1f} MB"))
    printer.info(visible(f"try: hrm solve --weights {out} PUZZLE   ·   hrm info {out}"))


def register(app: typer.Typer) -> None:
    app.command(name="import")(import_command)
