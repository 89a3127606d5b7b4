"""Find and load the weights for a task: an explicit path, then $HRM_WEIGHTS_DIR, then the checkout's
weights/ folder, through weights/MANIFEST.json ({"task": "file.safetensors", ...})."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from hrm.errors import WeightsError

# a checkout (or editable install) has weights/ beside the package; a wheel carries them as hrm/_weights
_CHECKOUT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
REPO_WEIGHTS = _CHECKOUT_WEIGHTS if _CHECKOUT_WEIGHTS.is_dir() else Path(__file__).resolve().parent / "_weights"


@dataclass
class LoadedModel:
    model: object                     # hrm.model.HRM, in eval mode on `device`
    config: object                    # hrm.config.ModelConfig
    task_name: str
    path: Path
    device: object                    # torch.device
    metadata: dict[str, str] = field(default_factory=dict)
    card: dict = field(default_factory=dict)
    identifiers: dict[str, int] = field(default_factory=dict)  # ARC: trained puzzle variant -> row


def weights_dir() -> Path:
    return Path(os.environ.get("HRM_WEIGHTS_DIR", REPO_WEIGHTS))


def default_weights(task: str) -> Path:
    folder = weights_dir()
    manifest_path = folder / "MANIFEST.json"
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise WeightsError(f"no weights manifest at {manifest_path}", hint="pass --weights PATH") from None
    except ValueError as exc:
        raise WeightsError(f"{manifest_path} is not valid JSON ({exc})") from None
    entry = manifest.get(task)
    if entry is None:
        raise WeightsError(f"no shipped weights for task '{task}' in {folder}",
                           hint=f"train some with `hrm train --task {task}` and pass --weights")
    file = entry["file"] if isinstance(entry, dict) else entry
    return folder / file


def load_model(weights: str | Path | None = None, task: str | None = None, device: str = "auto") -> LoadedModel:
    """Load weights (default: the shipped ones for `task`) onto `device` ('auto' picks CUDA if present)."""
    from hrm.checkpoint import card
    from hrm.checkpoint import load_model as load_file
    from hrm.device import resolve_device

    if weights is None:
        if task is None:
            raise WeightsError("no weights given and no task to pick shipped weights for")
        path = default_weights(task)
    else:
        path = Path(weights)
    torch_device = resolve_device(device)
    model, metadata = load_file(path, torch_device)
    if task is not None and model.config.task != task:
        raise WeightsError(f"{path} holds a {model.config.task} model, not a {task} model",
                           hint=f"pass --task {model.config.task} or weights trained on {task}")
    identifiers = json.loads(metadata.get("identifiers", "{}"))
    return LoadedModel(model=model, config=model.config, task_name=model.config.task, path=path,
                       device=torch_device, metadata=metadata, card=card(metadata), identifiers=identifiers)
