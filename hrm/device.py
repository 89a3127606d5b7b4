"""Device choice: --device auto|cpu|cuda|mps, with one clear error when the device is missing."""

from __future__ import annotations

import torch

from hrm.errors import DeviceError

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    if name not in DEVICES and not name.startswith("cuda:"):
        raise DeviceError(f"unknown device '{name}'", hint="choose auto, cpu, cuda or mps")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")  # MPS only on request: small-batch inference is faster on CPU
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError("--device cuda was asked for but no CUDA GPU is available",
                          hint="use --device cpu or --device auto")
    if name == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise DeviceError("--device mps was asked for but Apple's MPS backend is not available",
                          hint="use --device cpu")
    return torch.device(name)
