"""How much memory a training run needs, estimated before it starts, and the check that refuses a run
the machine cannot hold (a GPU preset on a laptop CPU would otherwise be killed by the kernel hours
into its dataset build, or minutes into its first steps, without a word).

The estimate, per process:
    static  parameters x 4 bytes x (weights + AdamATan2's two moments [+ EMA shadow])
    saved   activations autograd keeps for the backward pass: batch x tokens x blocks with gradient x
            (7 h + 4 inner + mixer) floats, where blocks with gradient are HRM's last L and H step
            (one-step gradient: H_layers + L_layers) or TRM's last recursions (grad_cycles x (n + 1) x
            L_layers), and the mixer term is attention's 4 h (SDPA keeps no probabilities: rotated q and
            k, the output, softmax statistics), plus, with the L level's window, the keys and values its
            tiled kernel gathers for each query tile, or the MLP mixer's 4 x inner_t x h / tokens. Calibrated on
            bench/results/memory_scaling.json (hidden 512: hrm-sudoku and trm-sudoku-att at every depth)
            and on the 30x30 maze TRM with and without a window (tests/test_bench_smoke.py).
    peak    static + 2 x saved (the backward pass's gradients of the saved tensors on top of them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from hrm.config import ModelConfig, swiglu_width
from hrm.errors import HRMError
from hrm.grid_window import grid_window

FLOAT = 4
HEADROOM = 0.9      # of the available memory a run may plan to use


@dataclass
class MemoryEstimate:
    static_bytes: int
    saved_bytes: int

    @property
    def peak_bytes(self) -> int:
        return self.static_bytes + 2 * self.saved_bytes


def blocks_with_gradient(config: ModelConfig) -> int:
    if config.arch == "trm":
        return config.grad_cycles * (config.L_cycles + 1) * config.L_layers
    return config.H_layers + config.L_layers


def attention_floats(config: ModelConfig) -> float:
    """Floats per token one attention block keeps for the backward pass beyond its projections."""
    h = config.hidden_size
    window = grid_window(config.seq_len, config.prefix_len, config.attention_window)
    if window is None:
        return 4 * h
    keys = (window.tile_side + window.window - 1) ** 2 + config.prefix_len   # one query tile's keys
    return 4 * h + 2 * h * keys / window.tile_side**2


def training_memory(config: ModelConfig, batch: int, parameters: int, ema: bool,
                    activation_bytes: int = FLOAT) -> MemoryEstimate:
    """Estimated memory of one training process with `batch` examples (see the module docstring);
    activations take 2 bytes a value under bf16 autocast on CUDA."""
    tokens = config.seq_len + config.prefix_len
    h, inner = config.hidden_size, swiglu_width(config.hidden_size, config.expansion)
    if config.mixer == "mlp":
        mixer = 4 * swiglu_width(tokens, config.expansion) * h // max(tokens, 1)
    else:
        mixer = attention_floats(config)
    per_token = 7 * h + 4 * inner + mixer
    saved = int(batch * tokens * blocks_with_gradient(config) * per_token * activation_bytes)
    carry = batch * tokens * h * 2 * FLOAT
    static = parameters * FLOAT * (3 + int(ema)) + carry
    return MemoryEstimate(static, saved)


def available_memory(device: str) -> int | None:
    """Bytes a new allocation can use now: free GPU memory on CUDA, MemAvailable on a CPU (None when
    the platform does not say)."""
    if device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def check_training_memory(estimate: MemoryEstimate, processes: int, available: int | None, preset: str,
                          batch: int, device: str) -> None:
    """Refuse, in one line, a run whose processes together would not fit in the memory available."""
    if available is None:
        return
    need = estimate.peak_bytes * processes
    if need <= HEADROOM * available:
        return
    where = "the GPU" if device.startswith("cuda") else "this machine"
    fix = ("lower global_batch_size=N, or train on a GPU with --preset paper"
           if not device.startswith("cuda") else "lower global_batch_size=N or use more GPUs (--nproc)")
    raise HRMError(f"preset {preset or 'custom'} with batch {batch:,} needs about {gib(need)} "
                   f"({processes} process{'es' if processes > 1 else ''} x {gib(estimate.peak_bytes)}: weights, "
                   f"optimizer state and activations); {where} has {gib(available)} available",
                   hint=f"{fix}; on a CPU the cpu preset trains in minutes")
