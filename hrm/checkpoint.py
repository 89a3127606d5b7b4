"""Weights files: safetensors only, with the model config and a card in the metadata.

Metadata keys (flat strings): format_version, hrm_config (ModelConfig JSON), task, dataset_hash,
train_step, card (JSON: description, accuracy figures, training recipe). Writes are atomic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from hrm.errors import WeightsError
from hrm.model import HRM
from hrm.safetensors_file import read_header

FORMAT_VERSION = "1"


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call write(tmp) then rename tmp over path, so a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # temp files may be created private; the result should not be
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def model_state(model: HRM, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Parameters and persistent buffers, unwrapped from torch.compile, contiguous, in `dtype`."""
    model = getattr(model, "_orig_mod", model)
    state = model.state_dict()
    return {k: (v.to(dtype) if v.is_floating_point() else v).contiguous().cpu() for k, v in state.items()}


def save_model(path: str | Path, model: HRM, meta: dict[str, str] | None = None,
               dtype: torch.dtype = torch.float32) -> None:
    model = getattr(model, "_orig_mod", model)
    metadata = {"format_version": FORMAT_VERSION, "hrm_config": model.config.to_json(),
                "task": model.config.task, "dtype": str(dtype).removeprefix("torch.")}
    metadata.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in (meta or {}).items()})
    tensors = model_state(model, dtype)
    atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read_metadata(path: str | Path) -> dict[str, str]:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not a readable safetensors weights file ({exc})",
                           hint="the file may be truncated or corrupted") from None
    if "hrm_config" not in metadata:
        raise WeightsError(f"{path} has no hrm model config in its metadata", hint="was it written by hrm?")
    return metadata


def load_model(path: str | Path, device: str | torch.device = "cpu") -> tuple[HRM, dict[str, str]]:
    """Rebuild the model from the config in the file and load its tensors (cast to fp32 masters)."""
    from hrm.numpy_engine import check_shapes, config_from_metadata

    header = read_header(path)          # checked (tiling, dtypes, shapes) before torch reads it
    config = config_from_metadata(path, header.metadata)
    check_shapes(path, config, header.shapes())   # before the model is allocated
    metadata = header.metadata
    model = HRM(config)
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: could not read tensors ({exc})", hint="the file may be truncated") from None
    expected = model.state_dict()     # names and shapes already match: check_shapes above
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()})
    return model.to(device).eval(), metadata
