"""Shared helpers for the benchmarks in bench/: timing, machine description, FLOP and memory counting,
and the JSON writer.

Only the standard library and torch are imported here (never `hrm`), because bench_peers.py also runs
this module inside the peers' separate virtualenv.

Conventions every benchmark follows:
- a figure is the median of N timed runs after warm-up runs (N and the spread are stored beside it);
- every JSON under bench/results/ holds `machine` (CPU, cores, threads, torch, GPU) and the load
  average (`os.getloadavg()`) at the start and at the end of the run, because this CPU is shared.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "bench" / "results"

# Dense bf16 tensor-core peak (TFLOP/s, no sparsity) from the vendors' data sheets, matched against
# torch.cuda.get_device_name(). The first matching key wins, so more specific names come first.
BF16_PEAK_TFLOPS: list[tuple[str, float]] = [
    ("H200", 989.4),
    ("H100 PCIe", 756.0),
    ("H100 NVL", 835.0),
    ("H100", 989.4),            # SXM5
    ("GH200", 989.4),
    ("B200", 2250.0),
    ("A100", 312.0),
    ("L40S", 362.05),
    ("L4", 121.0),
    ("A10G", 70.0),
    ("A10", 125.0),
    ("RTX 4090", 165.2),
    ("RTX 5090", 209.5),
    ("RTX 3090", 71.0),
]


# --------------------------------------------------------------------------------------------------
# Machine and load


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                             timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import torch

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "load_average": load_average(),
    }
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        info["gpu"] = name
        info["gpu_memory_gib"] = round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1)
        info["gpu_bf16_peak_tflops"] = bf16_peak_tflops(name)
    return info


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def bf16_peak_tflops(device_name: str) -> float | None:
    for key, peak in BF16_PEAK_TFLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None


# --------------------------------------------------------------------------------------------------
# Timing


def sync(device: Any) -> None:
    """Wait for queued GPU work (a no-op on CPU)."""
    import torch

    if getattr(device, "type", str(device)).startswith("cuda"):
        torch.cuda.synchronize()


def time_runs(fn: Callable[[], Any], repeats: int, warmup: int = 1, device: Any = "cpu") -> dict[str, Any]:
    """Call fn `warmup` times untimed, then `repeats` times timed; median, min and every run in seconds."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - started)
    return summarize(times)


def summarize(times: list[float]) -> dict[str, Any]:
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "runs": len(times), "times_s": [round(t, 6) for t in times]}


def median(values: list[float]) -> float:
    return statistics.median(values)


# --------------------------------------------------------------------------------------------------
# FLOPs and memory


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs executed by fn (forward and backward), counted per aten op by torch's FlopCounterMode
    (matmuls, convolutions, attention; elementwise ops are not counted, as in MFU conventions)."""
    import torch
    from torch.utils import flop_counter

    aten = torch.ops.aten
    # PyTorch's table lacks the CPU flash-attention kernels; they do the same work as the CUDA ones.
    custom = {
        aten._scaled_dot_product_flash_attention_for_cpu: lambda q, k, v, *a, **kw: flop_counter.sdpa_flop_count(
            q, k, v),
        aten._scaled_dot_product_flash_attention_for_cpu_backward:
            lambda grad_out, q, k, v, *a, **kw: flop_counter.sdpa_backward_flop_count(grad_out, q, k, v),
    }
    counter = flop_counter.FlopCounterMode(display=False, custom_mapping=custom)
    with counter:
        fn()
    return int(counter.get_total_flops())


def _gemm_key(func: Any, args: tuple) -> tuple | None:
    """(kind, operand shapes, which operands are transposed views) of one aten GEMM call, or None."""
    import torch

    aten = torch.ops.aten
    if func in (aten.mm.default, aten.addmm.default):
        a, b = args[-2], args[-1]
        transposed = tuple(t.dim() == 2 and t.stride(0) == 1 and t.stride(1) != 1 for t in (a, b))
        return ("mm", tuple(a.shape), tuple(b.shape), transposed)
    if func in (aten.bmm.default, aten.baddbmm.default):
        a, b = args[-2], args[-1]
        return ("bmm", tuple(a.shape), tuple(b.shape), (False, False))
    return None


def _gemm_operands(key: tuple) -> tuple[Any, Any]:
    """Fresh fp32 operands with the recorded shapes and layouts (a transposed operand is a .T view)."""
    import torch

    _, shape_a, shape_b, transposed = key
    made = []
    for shape, t in zip((shape_a, shape_b), transposed, strict=True):
        made.append(torch.randn(*reversed(shape)).T if t else torch.randn(*shape))
    return made[0], made[1]


def gemm_floor(fn: Callable[[], Any], repeats: int = 7) -> dict[str, Any]:
    """What fn's matrix multiplications alone cost on this machine with the fastest BLAS at hand.

    Every GEMM fn issues (aten mm/addmm/bmm/baddbmm, forward and backward) is recorded with its shapes
    and operand layouts by a dispatch mode; each distinct one is then timed in isolation, as torch runs
    it (MKL) and as numpy runs it (OpenBLAS), and the fastest run of either counts (a floor is what the
    core can do; the other processes on a shared machine only ever add time). The sum over all calls is
    the time a step would take if everything but its GEMMs were free: a floor for any implementation
    that does the same arithmetic on this core. Attention kernels are not GEMM calls here and are left
    out, which only lowers the floor.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    calls: dict[tuple, int] = {}

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            key = _gemm_key(func, args)
            if key is not None:
                calls[key] = calls.get(key, 0) + 1
            return func(*args, **(kwargs or {}))

    with Record():
        fn()
    total = {"torch": 0.0, "numpy": 0.0, "best": 0.0}
    flops = 0
    for key, count in calls.items():
        a, b = _gemm_operands(key)
        seconds = {"torch": time_runs(lambda a=a, b=b: torch.matmul(a, b), repeats)["min_s"]}
        if key[0] == "mm":
            an, bn = a.numpy(), b.numpy()
            seconds["numpy"] = time_runs(lambda an=an, bn=bn: an @ bn, repeats)["min_s"]
        else:
            seconds["numpy"] = seconds["torch"]
        for name in ("torch", "numpy"):
            total[name] += count * seconds[name]
        total["best"] += count * min(seconds.values())
        m_k_n = (*key[1][-2:], key[2][-1])
        batch = key[1][0] if key[0] == "bmm" else 1
        flops += count * 2 * batch * m_k_n[0] * m_k_n[1] * m_k_n[2]
    return {"gemm_calls": sum(calls.values()), "distinct_shapes": len(calls), "gemm_flops": flops,
            "torch_mkl_s": total["torch"], "numpy_openblas_s": total["numpy"], "floor_s": total["best"],
            "floor_gflops": flops / total["best"] / 1e9 if total["best"] else None}


def mfu(flops_per_step: float, seconds_per_step: float, peak_tflops: float | None) -> float | None:
    """Model FLOP utilisation: achieved FLOP/s over the card's dense bf16 peak."""
    if not peak_tflops or seconds_per_step <= 0:
        return None
    return flops_per_step / seconds_per_step / (peak_tflops * 1e12)


def saved_activation_bytes(fn: Callable[[], Any], exclude: list[Any] = ()) -> int:
    """Bytes of distinct tensors autograd saves for backward while fn runs (its forward).

    A saved-tensor hook sees every tensor packed for the backward pass; storages are de-duplicated
    by data pointer, and the tensors in `exclude` (the parameters, which are saved by reference and
    live anyway) are not counted. This is the activation memory that grows with the recursion depth
    when gradients flow through it.
    """
    import torch

    skip = {t.untyped_storage().data_ptr() for t in exclude}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in skip and ptr not in seen and t.device.type != "meta":
            seen[ptr] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(seen.values())


def profiler_peak_bytes(fn: Callable[[], Any]) -> int:
    """Peak of CPU bytes allocated during fn over those live when it starts.

    torch.profiler with profile_memory=True records every allocation and free of the CPU allocator
    (positive and negative `self_cpu_memory_usage` on each op, plus `[memory]` events for frees
    outside ops). Summing them in time order gives the live-byte curve; its maximum is the peak.
    Attribution is at op granularity (an op's allocations count from its start).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    events = sorted(((e.time_range.start, e.self_cpu_memory_usage) for e in prof.events()), key=lambda x: x[0])
    live = peak = 0
    for _, delta in events:
        live += delta
        peak = max(peak, live)
    return peak


def cuda_peak_bytes(fn: Callable[[], Any]) -> int:
    """torch.cuda.max_memory_allocated over fn (all live tensors, static ones included)."""
    import torch

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return int(torch.cuda.max_memory_allocated())


def tensor_bytes(tensors: Any) -> int:
    """Bytes of all tensors found in (nested) lists, tuples, dicts and dataclass-like objects."""
    import torch

    seen: set[int] = set()
    total = 0

    def walk(obj: Any) -> None:
        nonlocal total
        if isinstance(obj, torch.Tensor):
            storage = obj.untyped_storage()
            if storage.data_ptr() not in seen:
                seen.add(storage.data_ptr())
                total += storage.nbytes()
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)
        elif isinstance(obj, (list, tuple)):
            for v in obj:
                walk(v)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            for v in vars(obj).values():
                walk(v)

    walk(tensors)
    return total


def mib(n: float | None) -> float | None:
    return None if n is None else round(n / 2**20, 2)


# --------------------------------------------------------------------------------------------------
# Results


def write_results(name: str, payload: dict[str, Any], started_load: list[float] | None = None) -> Path:
    """Write bench/results/<name>.json with the machine description and the load average."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv),
           "machine": machine(), "load_average_start": started_load, "load_average_end": load_average(), **payload}
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """A plain-text table: columns are (key, header)."""
    cells = [[header for _, header in columns]]
    for row in rows:
        cells.append([_fmt(row.get(key)) for key, _ in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)
