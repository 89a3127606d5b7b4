"""Process plumbing for data-parallel training, as the reference does it (the reference's pretrain.py).

torchrun (or `hrm train --nproc K`) sets RANK / WORLD_SIZE / LOCAL_RANK. There is no DDP wrapper:
parameters and buffers are broadcast from rank 0 once, every gradient is all-reduced (summed) by hand
after backward (the loss is already divided by the global batch), and metrics are summed across ranks.
gloo on CPU, NCCL on CUDA. Only rank 0 writes files.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from hrm.device import resolve_device
from hrm.errors import DeviceError


@dataclass(frozen=True)
class DistEnv:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def env_ranks() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from the torchrun environment; (0, 1, 0) without it."""
    try:
        return (int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError:
        raise DeviceError("RANK, WORLD_SIZE and LOCAL_RANK must be integers (set by torchrun)") from None


def init(device_name: str = "auto") -> DistEnv:
    """Pick the device and, under torchrun, join the process group (NCCL on CUDA, gloo on CPU)."""
    rank, world_size, local_rank = env_ranks()
    device = resolve_device(device_name)
    if world_size > 1 and device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DeviceError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible)",
                              hint="lower --nproc to the number of GPUs per node")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=rank, world_size=world_size, timeout=timedelta(minutes=30))
    return DistEnv(rank, world_size, local_rank, device)


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def broadcast_module(module: torch.nn.Module) -> None:
    """Make every rank start from rank 0's parameters and buffers."""
    if _active():
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)


def all_reduce_grads(params: list[torch.nn.Parameter]) -> None:
    """Sum gradients over ranks, flattened into one buffer per dtype to make few collective calls."""
    if not _active():
        return
    grads = [p.grad for p in params if p.grad is not None]
    for dtype in {g.dtype for g in grads}:
        group = [g for g in grads if g.dtype == dtype]
        flat = torch.cat([g.reshape(-1) for g in group])
        dist.all_reduce(flat)
        offset = 0
        for g in group:
            g.copy_(flat[offset:offset + g.numel()].view_as(g))
            offset += g.numel()


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    if _active():
        dist.all_reduce(tensor)
    return tensor


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if `flag` is true on any rank (one tiny collective; free when single-process)."""
    if not _active():
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def gather_objects(obj: object) -> list[object]:
    """Every rank's `obj`, in rank order, on every rank (picklable Python objects, CPU tensors)."""
    if not _active():
        return [obj]
    out: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def barrier() -> None:
    if _active():
        dist.barrier()


def relaunch_argv(nproc: int, argv: list[str]) -> list[str]:
    """The torch.distributed.run command (through hrm_cli.launch, which keeps a failed worker's report to
    one line) that reruns `hrm <argv>` on `nproc` local processes."""
    return [sys.executable, "-m", "hrm_cli.launch", "--standalone", f"--nproc-per-node={nproc}",
            "-m", "hrm_cli", *argv]
