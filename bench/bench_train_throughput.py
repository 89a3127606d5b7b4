"""Training throughput: examples x segments per second, FLOPs, MFU and peak memory per preset.

One training step here is exactly one step of hrm/train/loop.py: one ACT segment on the whole batch
(`carry, outputs = model(carry, batch)`, HRM's second no-grad forward for the Q target included),
`act_loss`, backward of loss / batch, sign-SGD on the puzzle-table rows, AdamATan2 on the weights,
zero_grad. So examples x segments / s = batch / step time. The batch is synthetic (random tokens of
the task's vocabulary and length): the cost of a step does not depend on the values.

    python bench/bench_train_throughput.py --quick          # tiny presets + trm-sudoku, 2 timed steps
    python bench/bench_train_throughput.py                  # every preset below, 3 timed steps
    python bench/bench_train_throughput.py --device cuda    # on a GPU: bf16, torch.compile, MFU
    python bench/bench_train_throughput.py --presets trm-maze-tiny --model attention_window=3 seq_len=256

FLOPs are counted by torch's FlopCounterMode over one step (matmuls and attention, forward and
backward); MFU = FLOPs / step time / the card's dense bf16 peak (bench/common.py). Memory: on CUDA
torch.cuda.max_memory_allocated over a step; on CPU the bytes live before the step (parameters,
buffers, optimizer state, carry) plus the profiler's peak of allocations during it, and separately
the activations autograd saves for backward (a saved-tensor hook). Writes
bench/results/train_throughput_<device>.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: see docs/performance.md

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import torch

CPU_PRESETS = ["hrm-sudoku", "trm-sudoku", "trm-sudoku-att", "hrm-sudoku-tiny", "trm-sudoku-tiny",
               "trm-sudoku-att-tiny", "hrm-maze-tiny", "trm-maze-tiny"]
QUICK_PRESETS = ["trm-sudoku", "hrm-sudoku-tiny", "trm-sudoku-tiny"]
GPU_PRESETS = ["hrm-sudoku", "trm-sudoku", "trm-sudoku-att", "hrm-maze", "trm-maze", "hrm-sudoku-tiny",
               "trm-sudoku-tiny"]


def default_batch(preset: str, device: str) -> int:
    tiny = preset.endswith("-tiny")
    maze = "maze" in preset or "arc" in preset
    if device == "cuda":
        return (64 if maze else 768) if not tiny else (256 if maze else 768)
    if maze:
        return 8 if tiny else 1
    return 64 if tiny else 8


def synthetic_batch(config, batch_size: int, device: torch.device, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tokens shaped like the task: inputs in 1..V-1, labels in 2..V-1 (never ignored)."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(1, config.vocab_size, (batch_size, config.seq_len), generator=g, dtype=torch.int32)
    labels = torch.randint(2, config.vocab_size, (batch_size, config.seq_len), generator=g, dtype=torch.int64)
    return {"inputs": inputs.to(device), "labels": labels.to(device),
            "puzzle_identifiers": torch.zeros(batch_size, dtype=torch.int32, device=device)}


class TrainStep:
    """Our training step as hrm/train/loop.py runs it (AdamATan2 + sign-SGD, one ACT segment)."""

    def __init__(self, config, batch_size: int, device: str | torch.device = "cpu", compile: bool = False,
                 seed: int = 0, lr: float = 1e-4, weight_decay: float = 1.0) -> None:
        from hrm.losses import act_loss
        from hrm.model import HRM
        from hrm.optim import AdamATan2, PuzzleEmbeddingSignSGD

        self.config, self.batch_size, self.device = config, batch_size, torch.device(device)
        self._act_loss = act_loss
        torch.manual_seed(seed)
        self.model = HRM(config).to(self.device).train()
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = AdamATan2(self.params, lr=lr, betas=(0.9, 0.95), weight_decay=weight_decay)
        self.sparse = (PuzzleEmbeddingSignSGD(self.model.puzzle_emb, lr, weight_decay)
                       if self.model.puzzle_emb is not None else None)
        self.batch = synthetic_batch(config, batch_size, self.device, seed)
        self.carry = self.model.initial_carry(self.batch)
        self.compiled = compile
        if compile:  # as the training loop does on CUDA: compile the reasoning modules in place
            for module in (self.model.L_level, getattr(self.model, "H_level", None)):
                if module is not None:
                    module.compile()

    def __call__(self) -> torch.Tensor:
        self.carry, outputs = self.model(self.carry, self.batch)
        loss, _ = self._act_loss(self.carry, outputs, self.config.loss_type)
        (loss / self.batch_size).backward()
        if self.sparse is not None:
            self.sparse.step()
            self.sparse.zero_grad()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    def forward_only(self) -> None:
        """The step's forward and loss, for the saved-activation count."""
        carry, outputs = self.model(self.carry, self.batch)
        self._act_loss(carry, outputs, self.config.loss_type)

    def static_bytes(self) -> int:
        """Parameters, buffers, optimizer state and carry: what lives across steps."""
        state = [list(self.model.parameters()), list(self.model.buffers()),
                 [s for s in self.optimizer.state.values()], self.carry]
        return common.tensor_bytes(state)


def analytic_flops(config, batch_size: int) -> dict[str, float]:
    """Matmul FLOPs of one training step from the config alone (a cross-check of FlopCounterMode).

    A block costs 2 x tokens x (its matmul weights) plus attention 4 x B x S^2 x D; backward is 2x
    forward for the calls that carry gradients. HRM: N*T L-calls + N H-calls, 1 L + 1 H with grad, plus
    a second full forward for the Q target when act_continue; TRM: T*(n+1) calls, n+1 with grad.
    """
    from hrm.layers import swiglu_width

    c = config
    S, D = c.full_seq_len, c.hidden_size
    tokens = batch_size * S
    mlp = 3 * D * swiglu_width(D, c.expansion)
    if c.mixer == "attention":
        mixer_flops = 2 * tokens * 4 * D * D + 4 * batch_size * S * S * D
    else:
        mixer_flops = 2 * batch_size * D * 3 * S * swiglu_width(S, c.expansion)
    block = 2 * tokens * mlp + mixer_flops
    if c.arch == "hrm":
        fwd_layers = c.H_cycles * c.L_cycles * c.L_layers + c.H_cycles * c.H_layers
        grad_layers = c.L_layers + c.H_layers
        if c.act_continue:
            fwd_layers *= 2
    else:
        fwd_layers = c.H_cycles * (c.L_cycles + 1) * c.L_layers
        grad_layers = (c.L_cycles + 1) * c.L_layers
    head = 2 * batch_size * c.seq_len * D * c.vocab_size * 3
    forward = fwd_layers * block
    backward = 2 * grad_layers * block
    return {"forward": forward, "backward": backward, "total": forward + backward + head}


def model_overrides(pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` model options, parsed as `hrm train model.KEY=VALUE` parses them."""
    from hrm.train.config import parse_model_option

    return {key: parse_model_option(key, raw) for key, _, raw in (pair.partition("=") for pair in pairs)}


def measure(preset: str, batch_size: int, device: str, repeats: int, compile: bool, memory: bool = True,
            overrides: dict[str, Any] | None = None) -> dict:
    from hrm.config import get_preset

    config = get_preset(preset).with_overrides(**(overrides or {}))
    dev = torch.device(device)
    step = TrainStep(config, batch_size, dev, compile=compile)
    row: dict = {"preset": preset, "arch": config.arch, "mixer": config.mixer,
                 "parameters": step.model.num_parameters(), "batch": batch_size, "seq_len": config.full_seq_len,
                 "device": device, "threads": torch.get_num_threads(), "compile": compile,
                 "dtype": str(step.model.compute_dtype()).removeprefix("torch."), "overrides": overrides or {}}

    # FLOPs on an eager step (FlopCounterMode does not see inside compiled graphs)
    flop_step = step if not compile else TrainStep(config, batch_size, dev, compile=False)
    row["flops_per_step"] = common.count_flops(flop_step)
    row["flops_analytic"] = analytic_flops(config, batch_size)["total"]

    timing = common.time_runs(step, repeats=repeats, warmup=2 if compile else 1, device=dev)
    seconds = timing["median_s"]
    row.update(step_s=seconds, timing=timing, examples_segments_per_s=batch_size / seconds,
               achieved_tflops=row["flops_per_step"] / seconds / 1e12)
    if dev.type == "cuda":
        peak = common.bf16_peak_tflops(torch.cuda.get_device_name())
        row["mfu"] = common.mfu(row["flops_per_step"], seconds, peak)
        row["peak_memory_mib"] = common.mib(common.cuda_peak_bytes(step))
    elif memory:
        static = step.static_bytes()
        increment = common.profiler_peak_bytes(step)
        row["static_memory_mib"] = common.mib(static)
        row["peak_memory_mib"] = common.mib(static + increment)
    if memory:  # on the eager twin when compiled: saved-tensor hooks and compiled graphs do not mix
        row["saved_activations_mib"] = common.mib(
            common.saved_activation_bytes(flop_step.forward_only, exclude=list(flop_step.model.parameters())))
    return row


COLUMNS = [("preset", "preset"), ("parameters", "params"), ("batch", "batch"), ("threads", "thr"),
           ("compile", "compile"), ("step_s", "step s"), ("examples_segments_per_s", "ex*seg/s"),
           ("achieved_tflops", "TFLOP/s"), ("mfu", "MFU"), ("peak_memory_mib", "peak MiB"),
           ("saved_activations_mib", "saved act MiB")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few presets, 2 timed steps")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--presets", nargs="*", help="override the preset list")
    parser.add_argument("--batch", type=int, default=0, help="batch size for every preset (0: per-preset default)")
    parser.add_argument("--repeats", type=int, default=0, help="timed steps per preset (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (see docs/performance.md)")
    parser.add_argument("--compile", choices=["auto", "on", "off"], default="auto",
                        help="torch.compile the reasoning modules (auto: on CUDA only, like hrm train)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurements")
    parser.add_argument("--model", nargs="*", default=[], metavar="KEY=VALUE",
                        help="model options for every preset, e.g. attention_window=3 pos_encodings=rope2d")
    parser.add_argument("--name", default="", help="results file name (default train_throughput_<device>)")
    args = parser.parse_args()

    started_load = common.load_average()
    torch.set_num_threads(args.threads)
    presets = args.presets or (QUICK_PRESETS if args.quick else (GPU_PRESETS if args.device == "cuda" else CPU_PRESETS))
    repeats = args.repeats or (2 if args.quick else 3)
    compile = args.compile == "on" or (args.compile == "auto" and args.device == "cuda")
    print(f"load average {started_load}, device {args.device}, threads {torch.get_num_threads()}, "
          f"compile {compile}, {repeats} timed steps per preset", flush=True)
    rows = []
    for preset in presets:
        batch = args.batch or default_batch(preset, args.device)
        row = measure(preset, batch, args.device, repeats, compile, memory=not args.no_memory,
                      overrides=model_overrides(args.model))
        rows.append(row)
        print(f"{preset:22s} batch {batch:4d}  {row['step_s']:.3f} s/step  "
              f"{row['examples_segments_per_s']:.1f} ex*seg/s  {row['achieved_tflops'] * 1e3:.1f} GFLOP/s"
              + (f"  MFU {row['mfu']:.1%}" if row.get("mfu") is not None else "")
              + (f"  peak {row['peak_memory_mib']} MiB" if row.get("peak_memory_mib") is not None else ""),
              flush=True)
    print()
    print(common.table(rows, COLUMNS))
    name = args.name or f"train_throughput_{args.device}" + ("_quick" if args.quick else "")
    path = common.write_results(name, {"quick": args.quick, "rows": rows}, started_load)
    print(f"\nwrote {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
