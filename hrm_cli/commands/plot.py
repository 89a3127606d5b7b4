"""`hrm plot RUN_DIR`: draw a run's training curves to a PNG (also written when training stops)."""

from __future__ import annotations

from pathlib import Path

import typer

from hrm_cli.output import get_printer


def plot(
    run_dir: Path = typer.Argument(..., help="A run directory written by `hrm train`."),
    out: Path = typer.Option(None, "--out", "-o", help="PNG path (default: RUN_DIR/curves.png)."),
) -> None:
    """Plot loss, exact and token accuracy, and learning rate from RUN_DIR/metrics.jsonl."""
    from hrm.train.plot import plot_run

    path = plot_run(run_dir, out)
    get_printer().result(str(path))


def register(app: typer.Typer) -> None:
    app.command()(plot)
