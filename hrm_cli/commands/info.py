"""`hrm info`: the model card stored in a weights file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from hrm_cli.output import get_printer, visible


def info(
    weights: Path = typer.Argument(None, help="Weights file (default: the shipped model for --task)."),
    task: str = typer.Option("sudoku", "--task", "-t", help="Task whose shipped weights to describe."),
    as_json: bool = typer.Option(False, "--json", help="Print the card as JSON."),
) -> None:
    """Print a weights file's card: architecture, parameters, task, data, training, accuracy."""
    from rich.table import Table

    from hrm.weights import load_model, resolve_weights

    if weights is not None:
        weights = resolve_weights(weights, get_printer().show_progress)
    loaded = load_model(weights, None if weights else task, "cpu")
    config = loaded.config
    record = {
        "path": str(loaded.path), "task": loaded.task_name, "arch": config.arch,
        "parameters": loaded.model.num_parameters(), "dtype": loaded.metadata.get("dtype"),
        "dataset_hash": loaded.metadata.get("dataset_hash"), "train_step": loaded.metadata.get("train_step"),
        "config": json.loads(config.to_json()), "card": loaded.card,
    }
    printer = get_printer()
    if as_json:
        printer.json_line(json.dumps(record))
        return
    from rich.text import Text

    table = Table(show_header=False, box=None)
    for key in ("path", "task", "arch", "parameters", "dtype", "dataset_hash", "train_step"):
        value = record[key]
        table.add_row(key, Text(f"{value:,}" if isinstance(value, int) else visible(value)))
    c = config
    table.add_row("architecture", f"hidden {c.hidden_size}, {c.num_heads} heads, mixer {c.mixer}, "
                  f"H/L layers {c.H_layers}/{c.L_layers}, H/L cycles {c.H_cycles}/{c.L_cycles}, "
                  f"Mmax {c.halt_max_steps}, positions {c.pos_encodings}")
    for key, value in loaded.card.items():      # card text is the file's: never markup, never control codes
        table.add_row(Text(visible(key)), Text(visible(value if isinstance(value, str) else json.dumps(value))))
    printer.result(table)


def register(app: typer.Typer) -> None:
    app.command()(info)
