"""Training curves as a PNG (matplotlib, imported only here and only when a plot is asked for).

Four panels from metrics.jsonl against the optimizer step: training loss (log scale), exact
accuracy (train on halted sequences, eval after the last segment and with adaptive halting), token
accuracy, and the learning rate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hrm.checkpoint import atomic_write
from hrm.errors import HRMError


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of a metrics.jsonl file; a torn last line (a crash while writing) is skipped."""
    if not path.is_file():
        raise HRMError(f"no metrics file at {path}", hint="is this a run directory written by `hrm train`?")
    lines = path.read_text().splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError:
            if number < len(lines):
                raise HRMError(f"{path}:{number} is not valid JSON") from None
    return records


def _series(records: list[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    pairs = [(r["step"], r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_run(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write the run's curves (default run_dir/curves.png) atomically and return the path."""
    run_dir = Path(run_dir)
    records = read_metrics(run_dir / "metrics.jsonl")
    if not records:
        raise HRMError(f"{run_dir}/metrics.jsonl has no records yet")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise HRMError("matplotlib is not installed", hint="pip install 'hrm[plot]'") from None

    fig, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
    (loss_ax, exact_ax), (token_ax, lr_ax) = axes
    steps, values = _series(records, "train/loss")
    loss_ax.plot(steps, values, lw=1, label="train loss")
    steps, values = _series(records, "train/lm_loss")
    loss_ax.plot(steps, values, lw=1, alpha=0.7, label="train LM loss")
    loss_ax.set_yscale("log")
    loss_ax.set_title("loss (per example, summed over tokens' means)")
    for key, label, style in (("train/exact_accuracy", "train (halted)", "-"),
                              ("eval/exact_accuracy", "eval, last segment", "o-"),
                              ("eval/adaptive_exact_accuracy", "eval, adaptive halting", "s--")):
        steps, values = _series(records, key)
        if steps:
            exact_ax.plot(steps, values, style, lw=1, ms=3, label=label)
    exact_ax.set_title("exact accuracy")
    exact_ax.set_ylim(-0.02, 1.02)
    for key, label, style in (("train/accuracy", "train (halted)", "-"), ("eval/token_accuracy", "eval", "o-")):
        steps, values = _series(records, key)
        if steps:
            token_ax.plot(steps, values, style, lw=1, ms=3, label=label)
    token_ax.set_title("token accuracy")
    token_ax.set_ylim(-0.02, 1.02)
    steps, values = _series(records, "lr")
    lr_ax.plot(steps, values, lw=1)
    lr_ax.set_title("learning rate")
    for ax in axes.flat:
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.suptitle(run_dir.name)
    path = Path(out) if out else run_dir / "curves.png"
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path
