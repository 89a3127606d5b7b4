"""Turn a model into portable files: a clean safetensors bundle, ONNX of one segment, an HTML replay."""

from __future__ import annotations

import dataclasses
import json
import math
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from hrm.checkpoint import atomic_write, save_model
from hrm.config import ModelConfig, canvas_problem
from hrm.errors import HRMError
from hrm.model import HRM
from hrm.tasks import get_task
from hrm.tasks.base import cropped
from hrm.tasks.look import CodeLook, DigitLook, PaletteLook, unknown_look
from hrm.tasks.maze import CANVAS

if TYPE_CHECKING:
    from hrm.solver import Frame
    from hrm.tasks.base import Puzzle, Task

ONNX_INPUTS = ["z_H", "z_L", "inputs", "puzzle_identifiers"]
ONNX_OUTPUTS = ["z_H_out", "z_L_out", "logits", "q_logits"]


class SegmentStep(torch.nn.Module):
    """One deep-supervision segment as a pure function of the carry: what the ONNX file computes.

    Run it Mmax times, feeding z_H_out/z_L_out back as z_H/z_L; start from initial_state (stored in
    the ONNX metadata as H_init/L_init)."""

    def __init__(self, model: HRM) -> None:
        super().__init__()
        self.model = model

    def forward(self, z_H: torch.Tensor, z_L: torch.Tensor, inputs: torch.Tensor,
                puzzle_identifiers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        data = {"inputs": inputs, "puzzle_identifiers": puzzle_identifiers}
        return self.model.segment(z_H, z_L, data)


def with_canvas(model: HRM, side: int) -> HRM:
    """The same weights reading a side x side maze canvas instead of the one they were trained on.

    Only a model whose tensors and behaviour do not depend on the canvas qualifies: attention as the
    token mixer and positions by row and column (rope2d) or none. With a window, a cell of a maze that
    fits both canvases computes what it computed before; with full attention it also attends to the
    extra wall cells. So a model trained on cheap 10x10 mazes reads 30x30 ones."""
    c = model.config
    problem = canvas_problem(c)
    if problem is not None:
        raise HRMError(f"--canvas {problem}", hint="its positions are numbered along the flattened canvas"
                       if c.pos_encodings not in ("rope2d", "none") else None)
    if not 2 <= side <= CANVAS:
        raise HRMError(f"--canvas {side} is outside 2..{CANVAS}")
    moved = HRM(dataclasses.replace(c, seq_len=side * side)).to(model.device)
    moved.load_state_dict(model.state_dict())
    return moved.train(model.training)


def widened(model: HRM, factor: int, noise: float = 1e-3, seed: int = 0) -> HRM:
    """The same function at `factor` times the width (Net2Net's widening): every hidden unit and every
    attention head is copied `factor` times and the weights that read the copies are divided by `factor`,
    so each layer sums to what it summed before. RMSNorm averages over the copies, so it is unchanged; the
    SwiGLU inner units are copied only as far as its rounded width grows; the token embeddings shrink by
    sqrt(factor) to undo the wider embedding scale. Copies receive identical gradients and would stay
    identical, so `noise` (relative to each tensor's std) perturbs the widened weights; noise=0 keeps
    the outputs equal up to rounding (a test holds them to it)."""
    c = model.config
    if not 2 <= factor <= 8:
        raise HRMError(f"--widen {factor} is outside 2..8")
    wide_config = dataclasses.replace(c, hidden_size=c.hidden_size * factor, num_heads=c.num_heads * factor,
                                      puzzle_emb_ndim=_embedding_tokens(c) * c.hidden_size * factor)
    wide = HRM(wide_config).to(model.device)
    old, new = model.state_dict(), wide.state_dict()
    generator = torch.Generator().manual_seed(seed)
    for key, target in new.items():
        tensor = _widen_tensor(key, old[key], target.shape, c, factor)
        if noise and tensor.is_floating_point() and tensor.ndim == 2 and tensor.std() > 0:
            tensor = tensor + noise * tensor.std() * torch.randn(tensor.shape, generator=generator).to(tensor)
        new[key] = tensor
    wide.load_state_dict(new)
    return wide.train(model.training)


def _widen_tensor(key: str, tensor: torch.Tensor, shape: torch.Size, c: ModelConfig, factor: int) -> torch.Tensor:
    """One state-dict entry at the wider shape: copies along the hidden axis (index u reads unit u mod D)."""
    hidden, name = c.hidden_size, key.rsplit(".", 2)
    if ".mlp_t." in key:                     # TRM's token mixer works along the sequence, per channel
        return tensor
    if key in ("H_init", "L_init"):
        return tensor.repeat(factor)
    if key in ("embed_tokens.weight", "embed_pos.weight"):
        return tensor.repeat(1, factor) / math.sqrt(factor)
    if key == "puzzle_emb.weights":
        tokens = _embedding_tokens(c)
        padded = F.pad(tensor, (0, tokens * hidden - tensor.shape[1])).view(tensor.shape[0], tokens, hidden)
        return padded.repeat(1, 1, factor).flatten(1) / math.sqrt(factor)
    if key.startswith(("lm_head.", "q_head.")):
        return tensor.repeat(1, factor) / factor if key.endswith("weight") else tensor
    if name[-2] == "qkv_proj":               # [3 * heads * d, hidden]: q, k, v each gain copies of every head
        q_k_v = tensor.view(3, hidden, hidden).repeat(1, factor, factor) / factor
        return q_k_v.reshape(shape)
    if name[-2] == "o_proj":
        return tensor.repeat(factor, factor) / factor
    if name[-2] == "gate_up_proj":           # [2 * inner, hidden]
        inner, wide_inner = tensor.shape[0] // 2, _inner_copies(key, tensor.shape[0] // 2, shape[0] // 2)
        gate_up = tensor.view(2, inner, hidden)[:, torch.arange(wide_inner) % inner]
        return gate_up.repeat(1, 1, factor).reshape(shape) / factor
    if name[-2] == "down_proj":              # [hidden, inner]
        inner, wide_inner = tensor.shape[1], _inner_copies(key, tensor.shape[1], shape[1])
        return tensor[:, torch.arange(wide_inner) % inner].repeat(factor, 1) / (wide_inner // inner)
    if tensor.shape != shape:
        raise HRMError(f"--widen cannot widen {key} {tuple(tensor.shape)} to {tuple(shape)}")
    return tensor


def _embedding_tokens(c: ModelConfig) -> int:
    """Prefix tokens the puzzle embedding fills (the rest of an explicit puzzle_emb_len is zero padding)."""
    return math.ceil(c.puzzle_emb_ndim / c.hidden_size)


def _inner_copies(key: str, inner: int, wide_inner: int) -> int:
    if wide_inner % inner:
        raise HRMError(f"--widen cannot widen {key}: its SwiGLU width goes from {inner} to {wide_inner}")
    return wide_inner


def export_safetensors(model: HRM, metadata: dict[str, str], out: Path, dtype: torch.dtype) -> None:
    keep = {k: v for k, v in metadata.items() if k not in ("format_version", "hrm_config", "task", "dtype")}
    save_model(out, model, keep, dtype=dtype)


def export_onnx(model: HRM, out: Path, opset: int = 17) -> None:
    """ONNX graph of one segment with the carry as inputs and outputs (fp32, dynamic batch)."""
    model = model.float().cpu().eval()
    step = SegmentStep(model)
    z_H, z_L = model.initial_state(1)
    inputs = torch.ones(1, model.config.seq_len, dtype=torch.int32)
    ids = torch.zeros(1, dtype=torch.int32)
    axes = {name: {0: "batch"} for name in ONNX_INPUTS + ONNX_OUTPUTS}

    def write(tmp: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(step, (z_H, z_L, inputs, ids), str(tmp), input_names=ONNX_INPUTS,
                              output_names=ONNX_OUTPUTS, dynamic_axes=axes, opset_version=opset, dynamo=False)
        _add_onnx_metadata(tmp, model)

    atomic_write(out, write)


def _add_onnx_metadata(path: Path, model: HRM) -> None:
    try:
        import onnx
    except ImportError:  # the graph is complete without it; metadata is a convenience
        return
    proto = onnx.load(str(path))
    entries = {"hrm_config": model.config.to_json(),
               "H_init": json.dumps(model.H_init.tolist()), "L_init": json.dumps(model.L_init.tolist()),
               "usage": "run Mmax times: (z_H, z_L) <- (z_H_out, z_L_out); answer = argmax(logits)"}
    for key, value in entries.items():
        prop = proto.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(proto, str(path))


# What the replay page draws with: a digit board's cell size and boxes, or a colour per cell value.
REPLAY_ROLE_COLOURS = {"wall": "#333333", "open": "#ffffff", "start": "#22cc22", "goal": "#dd2222",
                       "path": "#e6a000"}


def replay_look(task: Task) -> dict:
    """The task's look as the replay page reads it: `cell` pixels; `box` (digit boards) or `colours` by
    cell value, `fade` listing the values drawn paler when the model is less sure."""
    look = task.look
    if isinstance(look, DigitLook):
        return {"cell": 40, "box": list(look.box), "colours": None, "fade": []}
    if isinstance(look, CodeLook):
        colours = {code: REPLAY_ROLE_COLOURS[role] for code, role in look.roles.items()}
        return {"cell": 16, "box": None, "colours": colours,
                "fade": [code for code, role in look.roles.items() if role == "path"]}
    if isinstance(look, PaletteLook):
        return {"cell": 16, "box": None, "colours": dict(enumerate(look.palette)), "fade": []}
    raise HRMError(f"cannot replay {task.name} puzzles: {unknown_look(look, 'the replay page')}")


def frames_to_json(task: str | Task, puzzle: Puzzle, frames: Iterable[Frame]) -> dict:
    """A replay as plain JSON: the puzzle and each segment's answer, confidence and q_halt, cut to the
    puzzle's window, with the look the page draws them in."""
    spec = get_task(task) if isinstance(task, str) else task

    def grid(a: np.ndarray, decimals: int = 3) -> list:
        return np.asarray(cropped(spec, puzzle, a)).round(decimals).tolist()

    return {"task": spec.name, "look": replay_look(spec), "puzzle": grid(puzzle.grid),
            "given": grid(spec.given_mask(puzzle).astype(int)),
            "solution": None if puzzle.solution is None else grid(puzzle.solution),
            "frames": [{"segment": f.segment, "answer": grid(f.answer), "confidence": grid(f.confidence),
                        "changed": grid(np.asarray(f.changed).astype(int)), "q_halt": round(f.q_halt, 4),
                        "halted": f.halted, "ok": f.verdict.ok, "violations": len(f.verdict.violations),
                        "accuracy": f.accuracy} for f in frames]}


def export_html(task: str | Task, puzzle: Puzzle, frames: Iterable[Frame], out: Path) -> None:
    """A self-contained HTML page that replays the solve segment by segment (no network, no server)."""
    template = (Path(__file__).parent / "replay.html").read_text()
    payload = json.dumps(frames_to_json(task, puzzle, frames)).replace("</", "<\\/")
    page = template.replace("/*REPLAY_DATA*/null", payload)
    atomic_write(out, lambda tmp: tmp.write_text(page))


def check_format(fmt: str) -> None:
    if fmt not in ("safetensors", "onnx", "gif", "html"):
        raise HRMError(f"unknown export format '{fmt}'", hint="choose safetensors, onnx, gif or html")
