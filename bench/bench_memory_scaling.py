"""Peak training memory as the recursion deepens: HRM's one-step gradient against TRM's full recursion.

    python bench/bench_memory_scaling.py --quick    # hidden 128, a few points
    python bench/bench_memory_scaling.py            # paper widths (hidden 512), batch 2

Sweeps (each point is one training step of bench_train_throughput.TrainStep):
  HRM  hrm-sudoku with N = T = k (H_cycles = L_cycles = k), k in 1, 2, 3, 4, 6
  TRM  trm-sudoku-att with T = 3 and n (L_cycles) in 1, 2, 3, 4, 6, 8, 12   (TRM's Table 3 ran out
       of 40 GB at n = 12 with batch 768), and with n = 6 and T in 1, 2, 3, 4
Memory on CPU, two ways (bench/common.py):
  saved  bytes of the distinct tensors autograd saves for backward during the step's forward (a
         saved-tensor hook; parameters excluded): the activation memory, which the one-step gradient
         keeps constant and full backpropagation through the recursion makes grow;
  peak   bytes live before the step (parameters, buffers, optimizer state, carry) plus the peak of
         the allocations during it, from torch.profiler's memory events.
On CUDA, peak is torch.cuda.max_memory_allocated. Depth is the number of transformer layers applied
per segment (HRM N*T*L_layers + N*H_layers, TRM T*(n+1)*L_layers). Writes
bench/results/memory_scaling.json and bench/results/memory_scaling.png.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: see docs/performance.md

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import torch
from bench_train_throughput import TrainStep

SWEEPS = {
    "HRM (one-step gradient), N = T = k": ("hrm-sudoku", [dict(H_cycles=k, L_cycles=k) for k in (1, 2, 3, 4, 6)]),
    "TRM (full recursion), T = 3, n grows": ("trm-sudoku-att", [dict(H_cycles=3, L_cycles=n)
                                                                for n in (1, 2, 3, 4, 6, 8, 12)]),
    "TRM, n = 6, T grows": ("trm-sudoku-att", [dict(H_cycles=t, L_cycles=6) for t in (1, 2, 3, 4)]),
}
QUICK_SWEEPS = {
    "HRM (one-step gradient), N = T = k": ("hrm-sudoku", [dict(H_cycles=k, L_cycles=k) for k in (1, 2, 4)]),
    "TRM (full recursion), T = 3, n grows": ("trm-sudoku-att", [dict(H_cycles=3, L_cycles=n) for n in (1, 3, 6)]),
}
QUICK_SIZE = dict(hidden_size=128, puzzle_emb_ndim=128, num_heads=2)


def depth(c) -> int:
    if c.arch == "hrm":
        return c.H_cycles * c.L_cycles * c.L_layers + c.H_cycles * c.H_layers
    return c.H_cycles * (c.L_cycles + 1) * c.L_layers


def measure_point(config, batch: int, device: str, profile: bool) -> dict:
    step = TrainStep(config, batch, device)
    step()  # optimizer state exists from here on, as in training
    row = {"arch": config.arch, "H_cycles": config.H_cycles, "L_cycles": config.L_cycles, "depth": depth(config),
           "batch": batch, "parameters": step.model.num_parameters()}
    saved = common.saved_activation_bytes(step.forward_only, exclude=list(step.model.parameters()))
    row["saved_activations_mib"] = common.mib(saved)
    row["saved_activations_mib_per_example"] = common.mib(saved / batch)
    if device == "cuda":
        row["peak_memory_mib"] = common.mib(common.cuda_peak_bytes(step))
    elif profile:
        static = step.static_bytes()
        row["static_memory_mib"] = common.mib(static)
        row["peak_memory_mib"] = common.mib(static + common.profiler_peak_bytes(step))
    return row


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("saved_activations_mib_per_example", "activations saved for backward (MiB per example)"),
            ("peak_memory_mib", "peak memory of a training step (MiB)")]
    keys = [k for k in keys if any(k[0] in r for rows in results.values() for r in rows)]
    fig, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.2), squeeze=False)
    for ax, (key, label) in zip(axes[0], keys, strict=True):
        for (name, rows), marker in zip(results.items(), "osd^", strict=False):
            pts = [(r["depth"], r[key]) for r in rows if r.get(key) is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=name)
        ax.set_xlabel("transformer layers applied per segment (recursion depth)")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    batch = next(iter(results.values()))[0]["batch"]
    fig.suptitle(f"Training memory vs recursion depth (batch {batch})")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="hidden 128, fewer points")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=0, help="examples per step (default: 2 on CPU, 768 on CUDA)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-profile", action="store_true", help="CPU: only the saved-activation count (faster)")
    args = parser.parse_args()

    from hrm.config import get_preset

    torch.set_num_threads(args.threads)
    started_load = common.load_average()
    batch = args.batch or (768 if args.device == "cuda" else (8 if args.quick else 2))
    sweeps = QUICK_SWEEPS if args.quick else SWEEPS
    print(f"load average {started_load}; device {args.device}, batch {batch}", flush=True)
    results: dict[str, list[dict]] = {}
    for name, (preset, points) in sweeps.items():
        rows = []
        for overrides in points:
            config = get_preset(preset).with_overrides(**overrides, **(QUICK_SIZE if args.quick else {}))
            row = measure_point(config, batch, args.device, profile=not args.no_profile)
            row["preset"] = preset
            rows.append(row)
            print(f"{name:40s} N/T={row['H_cycles']} n/T={row['L_cycles']:2d} depth {row['depth']:3d}: saved "
                  f"{row['saved_activations_mib']:8.1f} MiB ({row['saved_activations_mib_per_example']:.1f}/example)"
                  + (f", peak {row['peak_memory_mib']:.1f} MiB" if row.get("peak_memory_mib") else ""), flush=True)
        results[name] = rows
    print()
    flat = [dict(sweep=name.split(",")[0], **r) for name, rows in results.items() for r in rows]
    print(common.table(flat, [("sweep", "sweep"), ("H_cycles", "N|T"), ("L_cycles", "T|n"), ("depth", "depth"),
                              ("saved_activations_mib", "saved MiB"),
                              ("saved_activations_mib_per_example", "saved MiB/ex"),
                              ("peak_memory_mib", "peak MiB")]))
    name = "memory_scaling_quick" if args.quick else "memory_scaling"
    png = common.RESULTS_DIR / f"{name}.png"
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    plot(results, png)
    path = common.write_results(name, {"quick": args.quick, "device": args.device, "batch": batch,
                                       "model_overrides": QUICK_SIZE if args.quick else {}, "sweeps": results,
                                       "plot": str(png.relative_to(common.REPO))}, started_load)
    print(f"\nwrote {path.relative_to(common.REPO)} and {png.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
