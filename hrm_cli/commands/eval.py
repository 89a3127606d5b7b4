"""`hrm eval WEIGHTS`: exact accuracy (the headline), token accuracy, the per-segment curve, adaptive
halting, and for ARC pass@K with augmentation voting."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hrm_cli.output import get_printer

if TYPE_CHECKING:
    from rich.console import Group

    from hrm.data.format import PuzzleDataset
    from hrm.model import HRM
    from hrm.train.distributed import DistEnv
    from hrm.train.evaluate import EvalResult, Targets

SCHEMA_VERSION = 1


def _weights_path(path: Path) -> Path:
    """A run directory stands for its best checkpoint (else its last one)."""
    if path.is_dir():
        for name in ("best.safetensors", "last.safetensors"):
            if (path / name).is_file():
                return path / name
        from hrm.errors import WeightsError

        raise WeightsError(f"{path} holds no best.safetensors or last.safetensors",
                           hint="pass a weights file or a run directory written by `hrm train`")
    return path


def _dataset_root(weights: Path, data: Path | None, set_name: str | None, metadata: dict[str, str]) -> Path:
    from hrm.data.format import built_splits
    from hrm.errors import DataError

    if data is not None and set_name is not None:
        raise DataError("pass either --data or --set, not both")
    if data is not None:
        if not built_splits(data):
            raise DataError(f"{data} is not a built dataset (no train/ or test/ with dataset.json)",
                            hint="build one with `hrm data build NAME`, or use --set NAME")
        return data
    run_config = weights.parent / "config.json"
    if set_name is None and run_config.is_file():         # a checkpoint inside a run directory
        try:
            path = Path(json.loads(run_config.read_text())["dataset"]["path"])
        except (ValueError, KeyError, TypeError):
            path = None
        if path is not None and built_splits(path):
            return path
    name = set_name or metadata.get("dataset")
    if not name:
        raise DataError("which dataset should be used?", hint="pass --data DIR or --set NAME")
    from hrm.data.build import ensure_dataset
    from hrm_cli.progress import BuildProgress

    progress = BuildProgress()
    try:
        return Path(ensure_dataset(name, progress=progress))
    finally:
        progress.close()


def eval_command(
    weights: Path = typer.Argument(..., help="A .safetensors weights file, or a run directory (its best checkpoint)."),
    data: Path = typer.Option(None, "--data", help="A built dataset folder."),
    set_name: str = typer.Option(None, "--set", help="A dataset by name (built if missing), e.g. sudoku-hard-1k."),
    split: str = typer.Option("test", "--split", help="Which split to evaluate."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Evaluate a fixed random subset of N examples."),
    segments: int = typer.Option(None, "--segments", "-m", min=1,
                                 help="Segments per example (default: the model's Mmax)."),
    batch_size: int = typer.Option(256, "--batch-size", "-b", min=1, help="Examples per batch."),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    targets: str = typer.Option("auto", "--targets",
                                help="What an answer is judged against: labels, nearest (maze: any shortest "
                                     "path, the verifier's rule) or auto (nearest for mazes, else labels)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object on stdout."),
) -> None:
    """Evaluate weights on a dataset split."""
    from hrm.checkpoint import load_model
    from hrm.data.format import PuzzleDataset
    from hrm.errors import DataError
    from hrm.tasks import get_task
    from hrm.train import distributed as D
    from hrm.train.evaluate import evaluate, nearest_path_labels
    from hrm.weights import resolve_weights

    printer = get_printer()
    env = D.init(device)
    try:
        path = _weights_path(resolve_weights(weights, printer.show_progress))
        model, metadata = load_model(path, env.device)
        root = _dataset_root(path, data, set_name, metadata)
        dataset = PuzzleDataset.load(root, split)
        c, meta = model.config, dataset.metadata
        if (meta.vocab_size, meta.seq_len) != (c.vocab_size, c.seq_len) or (meta.task and meta.task != c.task):
            raise DataError(f"{root} ({meta.task or '?'}, vocab {meta.vocab_size}, {meta.seq_len} tokens) does not "
                            f"fit the model ({c.task}, vocab {c.vocab_size}, {c.seq_len} tokens)")
        if meta.num_puzzle_identifiers > c.num_puzzle_identifiers:
            raise DataError(f"{root} has {meta.num_puzzle_identifiers:,} puzzle identifiers but the model's "
                            f"table has {c.num_puzzle_identifiers:,} rows", hint="evaluate on the training dataset")
        judge = _judge(targets, c.task)
        views_vote = not get_task(c.task).uses_verifier   # ARC: augmented views, each its own puzzle row, vote
        trained_on = metadata.get("dataset_hash")
        if views_vote and trained_on and env.is_main:
            train_hash = PuzzleDataset.load(root, "train").content_hash if (root / "train").is_dir() else None
            if train_hash and train_hash != trained_on:
                printer.info(f"[yellow]warning:[/] this {c.task} dataset is not the one the model was trained on, "
                             "so its puzzle embeddings do not match the identifiers")
        total = min(limit or dataset.num_examples, dataset.num_examples)
        if env.is_main:
            printer.info(f"evaluating {path} on {root}/{split}: {total:,} examples, "
                         f"{segments or c.halt_max_steps} segments, {env.device}")
        result = _run(evaluate, model, dataset, batch_size * env.world_size, limit, env, segments,
                      arc=views_vote, show=env.is_main and printer.show_progress, total=total,
                      targets=nearest_path_labels if judge == "nearest" else None)
    finally:
        D.cleanup()
    if not env.is_main:
        return
    record = {"schema_version": SCHEMA_VERSION, "weights": str(path), "dataset": str(root), "split": split,
              "train_step": metadata.get("train_step"), "targets": judge, **result.to_dict()}
    if as_json:
        printer.json_line(json.dumps(record))
    else:
        printer.result(_table(record))


def _judge(targets: str, task: str) -> str:
    """labels or nearest: `--targets auto` judges mazes by the verifier's rule (any shortest path is right)."""
    from hrm.errors import DataError

    if targets == "auto":
        return "nearest" if task == "maze" else "labels"
    if targets not in ("labels", "nearest"):
        raise DataError(f"unknown --targets '{targets}'", hint="choose labels, nearest or auto")
    if targets == "nearest" and task != "maze":
        raise DataError(f"--targets nearest is for mazes (any shortest path); this is a {task} model")
    return targets


def _run(evaluate: Callable[..., EvalResult], model: HRM, dataset: PuzzleDataset, batch_size: int,
         limit: int | None, env: DistEnv, segments: int | None, arc: bool, show: bool, total: int,
         targets: Targets | None) -> EvalResult:
    kwargs = dict(batch_size=batch_size, limit=limit, env=env, segments=segments, arc_voting=arc, targets=targets)
    bar = get_printer().progress("evaluating") if show else None
    if bar is None:
        return evaluate(model, dataset, **kwargs)
    with bar:
        job = bar.add_task("eval", total=total)
        return evaluate(model, dataset, progress=lambda done, n: bar.update(job, completed=done, total=n),
                        **kwargs)


def _table(record: dict) -> Group:
    from rich.console import Group
    from rich.table import Table

    summary = Table(title=f"{Path(record['weights']).name} on {Path(record['dataset']).name}/{record['split']}",
                    show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    m = record["halt_max_steps"]
    summary.add_row("examples", f"{record['count']:,}")
    judged = ", any shortest path" if record.get("targets") == "nearest" else ""
    summary.add_row(f"exact accuracy ({m} segments{judged})", f"{record['exact_accuracy']:.4f}")
    summary.add_row("token accuracy", f"{record['token_accuracy']:.4f}")
    summary.add_row("exact accuracy, adaptive halting", f"{record['adaptive_exact_accuracy']:.4f}")
    summary.add_row("mean segments, adaptive halting", f"{record['mean_segments']:.2f}")
    summary.add_row("q_halt accuracy", f"{record['q_halt_accuracy']:.4f}")
    for key, value in (record.get("arc") or {}).items():
        summary.add_row(f"ARC {key}" if key.startswith("pass@") else f"ARC {key.replace('_', ' ')}",
                        f"{value:.4f}" if isinstance(value, float) else f"{value:,}")
    summary.add_row("seconds", f"{record['seconds']:.1f}")
    curve = Table(title="exact accuracy after each segment", title_justify="left")
    for i in range(len(record["segment_exact_accuracy"])):
        curve.add_column(str(i + 1), justify="right")
    curve.add_row(*[f"{v:.3f}" for v in record["segment_exact_accuracy"]])
    return Group(summary, curve)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)
