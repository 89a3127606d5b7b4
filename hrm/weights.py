"""Find and load the weights for a task: an explicit path, then $HRM_WEIGHTS_DIR, then the checkout's
weights/ folder, through weights/MANIFEST.json ({"task": "file.safetensors", ...})."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from hrm.errors import WeightsError

if TYPE_CHECKING:
    import torch

    from hrm.config import ModelConfig
    from hrm.model import HRM
    from hrm.segment_model import SegmentModel

# a checkout (or editable install) has weights/ beside the package; a wheel carries them as hrm/_weights
_CHECKOUT_WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
REPO_WEIGHTS = _CHECKOUT_WEIGHTS if _CHECKOUT_WEIGHTS.is_dir() else Path(__file__).resolve().parent / "_weights"


@dataclass
class LoadedModel:
    model: SegmentModel               # hrm.model.HRM in eval mode on `device`, or hrm.numpy_engine.NumpyHRM
    config: ModelConfig
    task_name: str
    path: Path
    device: torch.device | str        # "cpu" for the numpy engine
    metadata: dict[str, str] = field(default_factory=dict)
    card: dict = field(default_factory=dict)
    identifiers: dict[str, int] = field(default_factory=dict)  # ARC: trained puzzle variant -> row
    _variants: dict[str, list[str]] | None = field(default=None, repr=False)

    def on_canvas(self, side: int | None) -> LoadedModel:
        """These weights reading a smaller side x side maze canvas, when they can (hrm.config.canvas_problem):
        a maze is solved on the canvas it fills rather than walled in on the model's own. The prefix
        tokens attend to every cell, so the walls around a small maze change what every cell sees: a
        16x16 model solves 52 of 100 held-out 16x16 mazes on its canvas and 8 walled into a 30x30 one."""
        from hrm.config import canvas_problem

        c = self.config
        if side is None or side * side >= c.seq_len or canvas_problem(c) is not None:
            return self
        from hrm.numpy_engine import NumpyHRM

        if isinstance(self.model, NumpyHRM):
            model: SegmentModel = self.model.with_canvas(side)
        else:
            from hrm.export import with_canvas

            model = with_canvas(cast("HRM", self.model), side).eval()
        return replace(self, model=model, config=model.config)

    def trained_variants(self, task_id: str) -> list[str]:
        """ARC: names of the augmented variants of `task_id` this model has puzzle-table rows for,
        in table order (the identity, a plain task id, is not among them)."""
        if self._variants is None:
            from hrm.tasks.arc import variant_task

            self._variants = {}
            for name in sorted(self.identifiers, key=self.identifiers.__getitem__):
                base = variant_task(name)
                if base is not None:
                    self._variants.setdefault(base, []).append(name)
        return self._variants.get(task_id, [])


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
        from hrm.tasks import get_task

        note = getattr(get_task(task), "cpu_training_note", "")
        raise WeightsError(f"no shipped weights for task '{task}' in {folder}",
                           hint=f"{note}; then pass --weights" if note
                           else f"train some with `hrm train --task {task}` and pass --weights")
    file = entry["file"] if isinstance(entry, dict) else entry
    return folder / file


def resolve_weights(weights: str | Path, progress: bool = True) -> Path:
    """A weights file from what a user typed: a file; a run folder (its best.safetensors); the name of a
    shipped model (`sudoku-hrm-h128`, with or without .safetensors); or a hub model `hf:OWNER/NAME[@REVISION]`
    (downloaded and converted on first use, hrm/hub.py). Anything else is returned as given, for the loader
    to report as missing."""
    from hrm.hub import hub_weights, is_hub_spec

    if is_hub_spec(weights):
        return hub_weights(str(weights), progress)
    path = Path(weights)
    if path.is_dir() and (path / "best.safetensors").is_file():
        return path / "best.safetensors"
    if path.exists() or path.parent != Path("."):
        return path
    for name in (path.name, f"{path.name}.safetensors"):
        shipped = weights_dir() / name
        if shipped.is_file():
            return shipped
    return path


ENGINES = ("auto", "torch", "numpy")
SMALL_JOB = 16  # puzzles; past this a batched torch forward (and a GPU, when there is one) pays for its import
# parameters x sequence length: above this the numpy forward (one BLAS thread, no fused attention) costs
# more than torch's 2.5 s import saves. bench/bench_inference.py (engines, one thread, per segment):
# paper-size Sudoku (2.2e9) 0.24-0.29 s numpy vs 0.27-0.29 s torch, a tie; paper-size Maze (2.5e10)
# 3.5-3.7 s vs 3.0-3.2 s, 8-24% slower over dozens of segments. The shipped stand-ins are 1.8e7 and 8.5e6.
SMALL_MODEL = 5e9


def pick_engine(engine: str, device: str, jobs: int, weights: str | Path | None = None) -> str:
    """'auto' runs small CPU jobs of small models on the numpy engine, whose start-up skips torch's 2 s
    import, and everything else (big batches, big models, CUDA, MPS) on torch. `jobs` is the number of
    puzzles; `weights` the file to size the model from (its header only)."""
    if engine not in ENGINES:
        raise WeightsError(f"unknown engine '{engine}'", hint=f"choose one of: {', '.join(ENGINES)}")
    if engine == "numpy" and device not in ("auto", "cpu"):
        raise WeightsError(f"the numpy engine runs on the CPU only, not on '{device}'", hint="use --engine torch")
    if engine != "auto":
        return engine
    small_cpu_job = jobs <= SMALL_JOB and (device == "cpu" or (device == "auto" and not _gpu_present()))
    return "numpy" if small_cpu_job and _small_model(weights) else "torch"


def _small_model(weights: str | Path | None) -> bool:
    if weights is None:
        return True
    from hrm.numpy_engine import model_size

    try:
        parameters, seq_len = model_size(weights)
    except WeightsError:
        return True   # the loader will report the problem in one line, without torch's import first
    return parameters * seq_len <= SMALL_MODEL


def _gpu_present() -> bool:
    """Whether torch could find an accelerator, guessed without importing it (NVIDIA driver, Apple MPS)."""
    import platform

    return Path("/proc/driver/nvidia/version").exists() or (platform.system() == "Darwin"
                                                             and platform.machine() == "arm64")


def load_model(weights: str | Path | None = None, task: str | None = None, device: str = "auto",
               engine: str = "torch") -> LoadedModel:
    """Load weights (default: the shipped ones for `task`) onto `device` ('auto' picks CUDA if present).

    engine 'numpy' builds hrm.numpy_engine.NumpyHRM (CPU inference, torch never imported)."""
    if weights is None:
        if task is None:
            raise WeightsError("no weights given and no task to pick shipped weights for")
        path = default_weights(task)
    else:
        path = resolve_weights(weights)
    if engine == "numpy":
        from hrm.numpy_engine import NumpyHRM

        if device not in ("auto", "cpu"):
            raise WeightsError(f"the numpy engine runs on the CPU only, not on '{device}'", hint="use engine torch")
        model, metadata = NumpyHRM.from_file(path)
        torch_device: torch.device | str = "cpu"
    else:
        from hrm.checkpoint import load_model as load_file
        from hrm.device import resolve_device

        torch_device = resolve_device(device)
        model, metadata = load_file(path, torch_device)
    if task is not None and model.config.task != task:
        raise WeightsError(f"{path} holds {_a(model.config.task)} model, not {_a(task)} model",
                           hint=f"pass --task {model.config.task} or weights trained on {task}")
    identifiers = _identifiers(metadata.get("identifiers", "{}"), model.config.num_puzzle_identifiers, path)
    return LoadedModel(model=model, config=model.config, task_name=model.config.task, path=path,
                       device=torch_device, metadata=metadata, card=card(metadata), identifiers=identifiers)


def _identifiers(text: str, rows: int, path: Path) -> dict[str, int]:
    """The task-name -> puzzle-embedding-row map of an ARC model, checked: every row must exist."""
    try:
        identifiers = json.loads(text)
    except (ValueError, RecursionError):
        raise WeightsError(f"{path}: its identifiers are not JSON") from None
    if not isinstance(identifiers, dict):
        raise WeightsError(f"{path}: its identifiers must map task names to rows")
    for name, row in identifiers.items():
        if type(row) is not int or not 0 <= row < rows:
            raise WeightsError(f"{path}: identifier {str(name)[:40]!r} points at row {str(row)[:20]}, "
                               f"outside the {rows} rows of its puzzle embedding")
    return identifiers


def _a(task: str) -> str:
    return f"an {task}" if task[:1] in "aeiou" else f"a {task}"


def card(metadata: dict[str, str]) -> dict:
    """The model card stored in the metadata (empty if none, or if it is not a JSON object)."""
    try:
        value = json.loads(metadata.get("card", "{}"))
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}
