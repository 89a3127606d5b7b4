"""`hrm export`: weights to a clean bundle, ONNX of one segment, or a GIF/HTML replay of a solve."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import typer

from hrm.errors import HRMError
from hrm_cli.output import get_printer

if TYPE_CHECKING:
    from hrm.model import HRM
    from hrm.weights import LoadedModel


def export(
    weights: Path = typer.Argument(..., help="Weights file (.safetensors) to export."),
    fmt: str = typer.Option("safetensors", "--format", "-f", help="safetensors, onnx, gif or html."),
    out: Path = typer.Option(None, "--out", "-o",
                             help="Output file or folder (default: NAME.FORMAT in the current folder)."),
    dtype: str = typer.Option(None, "--dtype", help="safetensors only: bf16 (half the size; the default) or "
                                                     "fp32 (the default with --widen)."),
    puzzle: str = typer.Option(None, "--puzzle", "-p", help="gif/html: the puzzle file whose solve is replayed."),
    max_segments: int = typer.Option(None, "--max-segments", "-m", min=1,
                                     help="gif/html: segments to record; safetensors: the Mmax stored in the "
                                          "config, which hrm solve runs by default."),
    min_segments: int = typer.Option(None, "--min-segments", min=1,
                                     help="safetensors: segments hrm solve runs before the model's halt "
                                          "rule may stop it (stored in the config)."),
    check: bool = typer.Option(True, "--check/--no-check", help="onnx: compare with PyTorch in onnxruntime."),
    card: Path = typer.Option(None, "--card", help="safetensors: a JSON file merged into the model card."),
    canvas: int = typer.Option(None, "--canvas", min=2, max=30,
                               help="safetensors, maze models with rope2d or no positions: the canvas side "
                                    "the bundle reads (trained on 10x10 mazes, it can read 30x30 ones)."),
    widen: int = typer.Option(None, "--widen", min=2, max=8,
                              help="safetensors: K times the hidden width and heads, computing the same function "
                                   "(Net2Net), as init_weights for a wider run."),
) -> None:
    """Export weights or a solve trace to portable files."""
    import torch

    from hrm.export import check_format, export_html, export_onnx, export_safetensors, widened, with_canvas
    from hrm.weights import load_model

    check_format(fmt)
    for name, value in (("--canvas", canvas), ("--widen", widen)):
        if value is not None and fmt != "safetensors":
            raise HRMError(f"{name} applies to --format safetensors only")
    dtype = dtype or ("fp32" if widen else "bf16")     # bf16 would round away the noise that splits the copies
    printer = get_printer()
    loaded = load_model(weights, None, "cpu")
    model = cast("HRM", loaded.model)     # load_model's default engine is torch
    suffix = {"safetensors": f".{dtype}.safetensors", "onnx": ".onnx", "gif": ".gif", "html": ".html"}[fmt]
    default_name = Path(loaded.path).name.removesuffix(".safetensors") + suffix
    out = out or Path.cwd() / default_name
    if out.is_dir():          # like cp: a folder receives the file under its default name
        out = out / default_name
    if fmt == "safetensors":
        if dtype not in ("bf16", "fp32"):
            raise HRMError(f"unknown --dtype '{dtype}'", hint="choose bf16 or fp32")
        metadata = dict(loaded.metadata)
        if max_segments is not None or min_segments is not None:   # inference may think longer
            import dataclasses

            model.config = dataclasses.replace(model.config, halt_max_steps=max_segments or model.config.halt_max_steps,
                                               halt_min_steps=min_segments or model.config.halt_min_steps)
        if canvas is not None:
            model = with_canvas(model, canvas)
        if widen is not None:
            model = widened(model, widen)
        if card is not None:
            metadata["card"] = json.dumps({**loaded.card, **_read_card(card)})
        export_safetensors(model, metadata, out, torch.bfloat16 if dtype == "bf16" else torch.float32)
    elif fmt == "onnx":
        export_onnx(model, out)
        if check:
            error = _check_onnx(model, out)
            printer.info(f"onnxruntime agrees with PyTorch: max |difference| {error:.2e}")
    else:
        _export_trace(loaded, fmt, out, puzzle, max_segments, export_html)
    printer.info(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def _read_card(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HRMError(f"--card {path}: not a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise HRMError(f"--card {path}: expected a JSON object")
    return data


def _export_trace(loaded: LoadedModel, fmt: str, out: Path, puzzle_path: str | None, max_segments: int | None,
                  export_html: Callable[..., None]) -> None:
    from hrm.solver import frames
    from hrm_cli.inputs import read_puzzles

    if not puzzle_path:
        raise HRMError(f"--format {fmt} replays a solve: pass --puzzle FILE")
    task, puzzles = read_puzzles(puzzle_path, loaded.task_name)
    trace = list(frames(loaded, task, puzzles[0], max_segments=max_segments, record_inner=False))
    if fmt == "gif":
        from hrm.imaging.render import save_gif

        save_gif(task, puzzles[0], trace, out)
    else:
        export_html(task, puzzles[0], trace, out)


def _check_onnx(model: HRM, path: Path) -> float:
    import numpy as np
    import torch

    try:
        import onnxruntime as ort
    except ImportError:
        get_printer().info("onnxruntime is not installed: skipped the check (pip install onnxruntime)")
        return float("nan")
    from hrm.export import SegmentStep

    z_H, z_L = model.initial_state(2)
    inputs = torch.randint(1, model.config.vocab_size, (2, model.config.seq_len), dtype=torch.int32)
    ids = torch.zeros(2, dtype=torch.int32)
    with torch.no_grad():
        expected = SegmentStep(model)(z_H, z_L, inputs, ids)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"z_H": z_H.numpy(), "z_L": z_L.numpy(), "inputs": inputs.numpy(),
                             "puzzle_identifiers": ids.numpy()})
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))


def register(app: typer.Typer) -> None:
    app.command()(export)
