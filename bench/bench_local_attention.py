"""Benchmark: the attention window's kernel against full attention on a 30x30 maze grid (forward + backward).

    python bench/bench_local_attention.py                 # batch 16, 4 heads of 16, one thread
    python bench/bench_local_attention.py --tiles 3 5 6   # which tile side is fastest per window

Three ways to compute one attention call over 1 prefix token + 900 cells: full attention (SDPA, no
mask: what `attention_window=0` runs), SDPA under the dense window mask (same FLOPs as full), and the
tiled kernel of hrm/local_attention.py. Medians of --repeats timed calls after one warm-up; writes
bench/results/local_attention.json.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

from hrm.grid_window import GridWindow, window_mask
from hrm.local_attention import local_attention

Kernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def full(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)


def masked(geometry: GridWindow) -> Kernel:
    mask = torch.from_numpy(window_mask(geometry))

    def run(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                             attn_mask=mask)
        return out.transpose(1, 2)
    return run


def tiled(geometry: GridWindow) -> Kernel:
    return lambda q, k, v: local_attention(q, k, v, geometry)


def time_kernel(kernel: Kernel, shape: tuple[int, int, int, int], repeats: int) -> float:
    q, k, v = (torch.randn(shape, requires_grad=True) for _ in range(3))

    def step() -> None:
        kernel(q, k, v).sum().backward()
    return common.time_runs(step, repeats=repeats, warmup=1)["median_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--head-dim", type=int, default=16)
    parser.add_argument("--side", type=int, default=30)
    parser.add_argument("--windows", type=int, nargs="*", default=[3, 5, 7])
    parser.add_argument("--tiles", type=int, nargs="*", default=[0], help="tile sides (0: the default)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started_load = common.load_average()
    shape = (args.batch, 1 + args.side * args.side, args.heads, args.head_dim)
    rows = [{"kernel": "full", "window": 0, "tile": None, "seconds": time_kernel(full, shape, args.repeats)}]
    for window in args.windows:
        geometry = GridWindow(args.side, 1, window)
        rows.append({"kernel": "masked", "window": window, "tile": None,
                     "seconds": time_kernel(masked(geometry), shape, args.repeats)})
        for tile in args.tiles:
            geometry = GridWindow(args.side, 1, window, tile)
            rows.append({"kernel": "tiled", "window": window, "tile": geometry.tile_side,
                         "seconds": time_kernel(tiled(geometry), shape, args.repeats)})
    base = rows[0]["seconds"]
    for row in rows:
        row["speedup_vs_full"] = round(base / row["seconds"], 2)
    print(common.table(rows, [("kernel", "kernel"), ("window", "K"), ("tile", "tile"), ("seconds", "s (fwd+bwd)"),
                              ("speedup_vs_full", "x full")]))
    common.write_results("local_attention", {"shape_BSHD": list(shape), "threads": args.threads,
                                             "repeats": args.repeats, "rows": rows}, started_load)


if __name__ == "__main__":
    main()
