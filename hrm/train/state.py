"""The resume file (`resume.pt`): everything needed to continue a run bit-identically on CPU.

Contents (torch.save of plain containers and tensors, so it loads with torch.load(weights_only=True)):
    version, step, elapsed          format, optimizer steps done, training seconds so far
    model                           raw weights and buffers (the .safetensors may hold EMA weights)
    optimizer, sparse_optimizer     AdamATan2 and puzzle-embedding sign-SGD states
    ema                             EMA shadow weights, or None
    sampler                         TrainSampler position (epoch, cursor) and identity (seed, batch, hash)
    carry                           the ACT carry of the whole global batch (ranks' slices concatenated)
    rng                             one torch RNG state per rank (CPU, and CUDA when used)
    world_size, best, config, dataset_hash
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from hrm.checkpoint import atomic_write
from hrm.errors import WeightsError
from hrm.model import Carry

RESUME_VERSION = 1


def carry_state(carry: Carry) -> dict[str, Any]:
    return {"z_H": carry.z_H.cpu(), "z_L": carry.z_L.cpu(), "steps": carry.steps.cpu(),
            "halted": carry.halted.cpu(), "data": {k: v.cpu() for k, v in carry.data.items()}}


def concat_carries(states: list[dict[str, Any]]) -> dict[str, Any]:
    """Ranks' local carries -> the carry of the global batch."""
    out = {k: torch.cat([s[k] for s in states]) for k in ("z_H", "z_L", "steps", "halted")}
    out["data"] = {k: torch.cat([s["data"][k] for s in states]) for k in states[0]["data"]}
    return out


def carry_slice(state: dict[str, Any], rows: slice, device: torch.device) -> Carry:
    """This rank's rows of a saved global carry, on `device`."""
    def take(t: torch.Tensor) -> torch.Tensor:
        return t[rows].to(device)
    return Carry(z_H=take(state["z_H"]), z_L=take(state["z_L"]), steps=take(state["steps"]),
                 halted=take(state["halted"]), data={k: take(v) for k, v in state["data"].items()})


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict[str, torch.Tensor], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save_resume(path: Path, state: dict[str, Any]) -> None:
    state = {"version": RESUME_VERSION, **state}
    atomic_write(Path(path), lambda tmp: torch.save(state, tmp))


def load_resume(path: Path) -> dict[str, Any]:
    """Read resume.pt safely (weights_only) with one clear error for a missing or damaged file."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"no resume file at {path}", hint="start a new run without --resume")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "weights only load failed" in first.lower():     # torch's text goes on to advise unsafe loading
            raise WeightsError(f"{path} holds Python objects besides tensors and numbers; hrm never runs code "
                               "from a resume file", hint="it was not written by hrm train; start a new run") from None
        raise WeightsError(f"{path} is not a readable resume file ({first[:200]})",
                           hint="it may be truncated or corrupted; restore a copy or start again") from None
    if not isinstance(state, dict) or state.get("version") != RESUME_VERSION:
        raise WeightsError(f"{path} is not an hrm resume file of version {RESUME_VERSION}")
    return state
