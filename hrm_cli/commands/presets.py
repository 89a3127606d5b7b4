"""`hrm presets`: every training preset and model preset, with exact trainable parameter counts."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer

from hrm_cli.output import get_printer

if TYPE_CHECKING:
    from hrm.config import ModelConfig

SCHEMA_VERSION = 1


def _parameters(config: ModelConfig, cache: dict[str, int]) -> int:
    """Exact trainable parameters (the puzzle table is a buffer and does not count, as the reference)."""
    import torch

    from hrm.model import HRM

    key = config.to_json()
    if key not in cache:
        with torch.device("meta"):  # shapes only: no memory, no initialisation
            cache[key] = HRM(config).num_parameters()
    return cache[key]


def _records(task: str | None) -> list[dict]:
    import torch

    from hrm.config import PRESETS
    from hrm.train.config import TRAIN_PRESETS

    torch.set_num_threads(min(torch.get_num_threads(), 4))
    cache: dict[str, int] = {}
    records = []
    for name, t in TRAIN_PRESETS.items():
        if task and t.task != task:
            continue
        m = t.model_config()
        records.append({
            "name": name, "kind": "train", "task": t.task, "arch": m.arch, "model": t.model,
            "parameters": _parameters(m, cache), "data": t.data, "global_batch_size": t.global_batch_size,
            "lr": t.lr, "lr_warmup_steps": t.lr_warmup_steps, "weight_decay": t.weight_decay,
            "puzzle_emb_lr": t.puzzle_emb_lr, "epochs": t.epochs, "total_steps": t.total_steps or None,
            "eval_interval": t.eval_interval, "eval_every": t.eval_every or None, "ema": t.ema,
            "model_overrides": t.model_overrides})
    for name, m in PRESETS.items():
        if task and m.task != task:
            continue
        records.append({
            "name": name, "kind": "model", "task": m.task, "arch": m.arch, "parameters": _parameters(m, cache),
            "hidden_size": m.hidden_size, "H_layers": m.H_layers if m.arch == "hrm" else 0,
            "L_layers": m.L_layers, "H_cycles": m.H_cycles, "L_cycles": m.L_cycles,
            "halt_max_steps": m.halt_max_steps, "mixer": m.mixer, "pos_encodings": m.pos_encodings})
    return records


def presets(
    task: str = typer.Option(None, "--task", "-t", help="Only presets for sudoku, maze or arc."),
    as_json: bool = typer.Option(False, "--json", help="A JSON list of objects (name, kind, parameters, ...)."),
) -> None:
    """List training presets (hrm train --preset) and model presets (model=NAME) with parameter counts."""
    from hrm.errors import HRMError
    from hrm.train.config import TASKS

    if task is not None and task not in TASKS:
        raise HRMError(f"unknown task '{task}'", hint=f"choose one of: {', '.join(TASKS)}")
    records = _records(task)
    printer = get_printer()
    if as_json:
        printer.json_line(json.dumps([{"schema_version": SCHEMA_VERSION, **r} for r in records]))
        return
    train_rows = []
    for r in (r for r in records if r["kind"] == "train"):
        length = f"{r['total_steps']:,} steps" if r["total_steps"] else f"{r['epochs']:,} epochs"
        every = f"{r['eval_every']:,} steps" if r["eval_every"] else f"{r['eval_interval']:,} epochs"
        train_rows.append([r["name"], r["model"] + ("*" if r["model_overrides"] else ""), f"{r['parameters']:,}",
                           r["data"], str(r["global_batch_size"]), f"{r['lr']:g}", f"{r['weight_decay']:g}",
                           f"{r['puzzle_emb_lr']:g}", length, every, "0.999" if r["ema"] else "-"])
    model_rows = [[r["name"], r["arch"], r["task"], f"{r['parameters']:,}", str(r["hidden_size"]),
                   f"{r['H_layers']}/{r['L_layers']}", f"{r['H_cycles']}/{r['L_cycles']}", str(r["halt_max_steps"]),
                   f"{r['mixer']}, {r['pos_encodings']}"] for r in records if r["kind"] == "model"]
    notes = [f"* {r['name']}: " + " ".join(f"model.{k}={v}" for k, v in r["model_overrides"].items())
             for r in records if r["kind"] == "train" and r["model_overrides"]]
    _show("training presets (hrm train --task TASK --preset RECIPE)",
          ["name", "model", "parameters", "data", "batch", "lr", "wd", "puzzle lr", "length", "eval", "ema"],
          train_rows)
    if notes:
        printer.result("\n".join(notes))
    _show("model presets (model=NAME)",
          ["name", "arch", "task", "parameters", "hidden", "layers H/L", "cycles H/L", "Mmax", "mixer"], model_rows)


def _show(title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on a terminal; aligned plain text when piped (not squeezed into 80 columns)."""
    printer = get_printer()
    if printer.out.is_terminal:
        from rich.table import Table

        table = Table(title=title, title_justify="left")
        for header in headers:
            table.add_column(header, justify="right" if header in ("parameters", "batch") else "left")
        for row in rows:
            table.add_row(*row)
        printer.result(table)
        return
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in (headers, *rows)]
    printer.result(f"# {title}\n" + "\n".join(lines), markup=False)


def register(app: typer.Typer) -> None:
    app.command()(presets)
