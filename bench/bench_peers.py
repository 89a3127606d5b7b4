"""Side by side with the peers: our TRM against PyPI's `nano-trm` and `tiny-recursive-model`.

Same machine, same torch, same thread count, same configuration and batch, measured interleaved:

    python bench/bench_peers.py --quick      # hidden 128, 2 rounds: a smoke run (minutes)
    python bench/bench_peers.py              # the matched 5M/7M Sudoku configurations, 5 rounds
    python bench/bench_peers.py --hidden 64 --batch 16   # the same blocks at a CPU-scale width

Before and after the timed rounds our worker measures the GEMM floor of its training step (common.gemm_floor:
the step's matmuls alone, each timed in isolation on the faster of MKL and OpenBLAS), the least any
implementation of this arithmetic can take on this core; the report sets the peers' times against it.
Our inference is timed twice: through torch and through the numpy engine `hrm solve` uses on CPU.

The peers live in their own virtualenv, created on first use outside the repository (default
~/.cache/hrm-bench/peers-venv, or $HRM_PEERS_VENV): `pip install torch==2.13.0` first (the CPU build
from local disk), then `tiny-recursive-model` and `nano-trm`. nano-trm 0.1.0 declares
`Requires-Python ==3.12.1` and a long list of training-only dependencies (wandb, transformers,
kaggle...), so it is installed with --no-deps --ignore-requires-python and only what its model module
imports is added (lightning, hydra-core, omegaconf, rich, scikit-learn, einops).

Every implementation runs in its own worker process (ours in this venv, the peers in theirs), built
once; the parent then asks the workers in turn for one timed training step or one timed inference
run, rotating the order every round, so a change of load on the shared CPU hits all of them alike.
Ratios are (their median time) / (our median time): above 1 means we are faster.

Matched configurations (read from each peer's installed source; no code is copied):
  trm-mlp  our `trm-sudoku`: hidden 512, 2 layers, T=3 (H_cycles), n=6 (L_cycles), SwiGLU x4,
           MLP token mixer over 81 + 16 prefix tokens, post-norm RMSNorm, one-net full recursion.
           nano-trm TRMModule(hidden 512, num_layers 2, H_cycles 3, L_cycles 6, ffn_expansion 4,
           use_mlp_t, puzzle_emb_len 16): the same block. tiny-recursive-model TinyRecursiveModel
           (dim 512, T 3, n 6, 16 register tokens) over its MLPMixer1D(depth 2, seq 97) with the
           token and channel widths chosen so the matmul weights and FLOPs equal ours (token 768,
           channel 2304; its blocks are pre-norm LayerNorm + GELU, the closest it offers).
  trm-att  our `trm-sudoku-att`: as above with RoPE self-attention (8 heads x 64) as the mixer.
           nano-trm with use_mlp_t False and 1-D RoPE; tiny-recursive-model over an x-transformers
           Encoder(dim 512, depth 2, heads 8, SwiGLU width 1536, RMSNorm, post-norm, RoPE).
Training step: one deep-supervision segment + loss + backward + optimizer step, as each project's
own training loop does it (ours: hrm/train/loop.py with AdamATan2 + sign-SGD; nano-trm: its
`training_step` (AdamW fallback on CPU since the adam-atan2 CUDA extension is absent, sign-SGD,
grad clipping); tiny-recursive-model: the body of its Trainer loop with AdamW). Inference: Mmax
segments with halting off on the same batch (ours: hrm.solver.iter_steps; nano-trm: its ACT forward
in eval mode plus argmax; tiny-recursive-model: `predict` with the halt threshold out of reach).
Writes bench/results/peers.json.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP: see docs/performance.md

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

IMPLS = ["ours", "nano-trm", "tiny-recursive-model"]
PEER_PACKAGES = ["tiny-recursive-model", "lightning", "hydra-core", "omegaconf", "rich", "scikit-learn", "einops"]
REPLY = "BENCH-JSON "

# name -> (our preset, overrides applied to every implementation's matching field)
CONFIGS = {"trm-mlp": "trm-sudoku", "trm-att": "trm-sudoku-att"}


def peers_venv() -> Path:
    return Path(os.environ.get("HRM_PEERS_VENV", Path.home() / ".cache" / "hrm-bench" / "peers-venv"))


def peers_python() -> Path:
    return peers_venv() / "bin" / "python"


def ensure_peers_venv() -> None:
    """Create the peers' virtualenv if it is missing (never inside the repository)."""
    python = peers_python()
    check = [str(python), "-c", "import tiny_recursive_model, src.nn.models.trm"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return
    venv = peers_venv()
    print(f"creating the peers' virtualenv at {venv} (once)", flush=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, "--no-deps", "--ignore-requires-python", "nano-trm==0.1.0"], check=True)
    subprocess.run([*pip, *PEER_PACKAGES], check=True)


def peer_versions() -> dict[str, str]:
    code = ("import importlib.metadata as m, json; print(json.dumps({p: m.version(p) for p in "
            "['nano-trm', 'tiny-recursive-model', 'x-transformers', 'torch', 'lightning']}))")
    out = subprocess.run([str(peers_python()), "-c", code], capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


# --------------------------------------------------------------------------------------------------
# Workers (one process per implementation)


def model_shape(config_name: str, hidden: int) -> dict:
    """The shared architecture numbers, taken from our preset (at another width if hidden differs)."""
    from hrm.config import get_preset

    c = get_preset(CONFIGS[config_name])
    overrides = {}
    if hidden != c.hidden_size:  # heads of 64 dimensions, at least two
        overrides = {"hidden_size": hidden, "puzzle_emb_ndim": hidden, "num_heads": max(2, hidden // 64)}
        c = c.with_overrides(**overrides)
    return {"hidden": c.hidden_size, "heads": c.num_heads, "layers": c.L_layers, "T": c.H_cycles, "n": c.L_cycles,
            "expansion": c.expansion, "prefix": c.prefix_len, "seq_len": c.seq_len, "vocab": c.vocab_size,
            "mixer": c.mixer, "segments": c.halt_max_steps, "preset": CONFIGS[config_name], "overrides": overrides}


class _Ours:
    def __init__(self, shape: dict, batch: int, segments: int) -> None:
        import torch
        from bench_train_throughput import TrainStep

        from hrm.config import get_preset

        config = get_preset(shape["preset"]).with_overrides(**shape["overrides"])
        self.train_step = TrainStep(config, batch)
        torch.manual_seed(1)
        from hrm.model import HRM

        self.model = HRM(config).eval()
        self.inputs = self.train_step.batch["inputs"].numpy()
        self.segments = segments
        self.parameters = self.model.num_parameters()
        from hrm.numpy_engine import NumpyHRM

        # the engine `hrm solve` picks for a few puzzles on CPU, with the same weights
        self.numpy_model = NumpyHRM(config, {k: v.numpy() for k, v in self.model.state_dict().items()})

    def train(self) -> None:
        self.train_step()

    def infer(self) -> None:
        from hrm.solver import iter_steps

        for _ in iter_steps(self.model, self.inputs, max_segments=self.segments, adaptive=False):
            pass

    def infer_numpy(self) -> None:
        from hrm.solver import iter_steps

        for _ in iter_steps(self.numpy_model, self.inputs, max_segments=self.segments, adaptive=False):
            pass

    def gemm_floor(self) -> dict:
        return common.gemm_floor(self.train_step)


class _NanoTRM:
    def __init__(self, shape: dict, batch: int, segments: int) -> None:
        import torch
        from src.nn.models.trm import TRMModule

        torch.manual_seed(0)
        kwargs = dict(hidden_size=shape["hidden"], num_layers=shape["layers"], num_heads=shape["heads"],
                      H_cycles=shape["T"], L_cycles=shape["n"], N_supervision=shape["segments"],
                      N_supervision_val=segments, ffn_expansion=shape["expansion"], learning_rate=1e-4,
                      learning_rate_emb=1e-4, weight_decay=1.0, puzzle_emb_dim=shape["hidden"],
                      puzzle_emb_len=shape["prefix"], use_mlp_t=shape["mixer"] == "mlp",
                      pos_emb_type=None if shape["mixer"] == "mlp" else "1d", vocab_size=shape["vocab"],
                      num_puzzles=1, batch_size=batch, seq_len=shape["seq_len"], forward_dtype=torch.float32)
        self.model = TRMModule(**kwargs)
        self.model.total_steps = 10**9
        self.model._optimizers = self.model.configure_optimizers()
        self.model.train()
        g = torch.Generator().manual_seed(0)
        self.batch = {
            "input": torch.randint(1, shape["vocab"], (batch, shape["seq_len"]), generator=g, dtype=torch.int32),
            "output": torch.randint(2, shape["vocab"], (batch, shape["seq_len"]), generator=g, dtype=torch.int64),
            "puzzle_identifiers": torch.zeros(batch, dtype=torch.int32)}
        self.step_index = 1  # its training_step runs extra gradient monitoring when batch_idx % 50 == 0
        self.segments = segments
        self.parameters = sum(p.numel() for p in self.model.parameters())
        torch.manual_seed(1)
        self.eval_model = TRMModule(**kwargs).eval()

    def train(self) -> None:
        self.model.training_step(self.batch, self.step_index)
        self.step_index += 1 if (self.step_index + 1) % 50 else 2

    def infer(self) -> None:
        import torch

        with torch.inference_mode():
            carry = self.eval_model.initial_carry(self.batch)
            for _ in range(self.segments):
                carry, outputs = self.eval_model(carry, self.batch)
                outputs["logits"].argmax(-1)


class _TinyRecursiveModel:
    def __init__(self, shape: dict, batch: int, segments: int) -> None:
        import torch
        from tiny_recursive_model import MLPMixer1D, TinyRecursiveModel

        torch.manual_seed(0)
        dim, full_len = shape["hidden"], shape["seq_len"] + shape["prefix"]

        def network() -> torch.nn.Module:
            if shape["mixer"] == "mlp":
                # matmul weights equal to ours: token mixer 3*S*w_t (SwiGLU) = 2*S*768 (GELU MLP) for
                # hidden 512, channel 3*D*1536 = 2*D*2304; expressed as its expansion factors
                token = 3 * _swiglu_width(full_len, shape["expansion"]) / 2 / dim
                channel = 3 * _swiglu_width(dim, shape["expansion"]) / 2 / dim
                return MLPMixer1D(dim=dim, depth=shape["layers"], seq_len=full_len, expansion_factor=token,
                                  expansion_factor_token=channel)
            from x_transformers import Encoder

            width = _swiglu_width(dim, shape["expansion"])
            return Encoder(dim=dim, depth=shape["layers"], heads=shape["heads"], attn_dim_head=dim // shape["heads"],
                           ff_mult=width / dim, ff_glu=True, ff_swish=True, ff_no_bias=True, rotary_pos_emb=True,
                           use_rmsnorm=True, pre_norm=False, attn_flash=True)

        def model() -> TinyRecursiveModel:
            return TinyRecursiveModel(dim=dim, num_tokens=shape["vocab"], network=network(),
                                      num_refinement_blocks=shape["T"], num_latent_refinements=shape["n"],
                                      num_register_tokens=shape["prefix"])

        self.model = model().train()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=1e-4, weight_decay=1.0)
        g = torch.Generator().manual_seed(0)
        self.inputs = torch.randint(1, shape["vocab"], (batch, shape["seq_len"]), generator=g)
        self.labels = torch.randint(2, shape["vocab"], (batch, shape["seq_len"]), generator=g)
        self.outputs, self.latents = self.model.get_initial()
        self.segments = segments
        self.parameters = sum(p.numel() for p in self.model.parameters())
        torch.manual_seed(1)
        self.eval_model = model().eval()

    def train(self) -> None:
        loss, _, self.outputs, self.latents, _, _ = self.model(self.inputs, self.outputs, self.latents,
                                                               labels=self.labels)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()

    def infer(self) -> None:
        self.eval_model.predict(self.inputs, halt_prob_thres=2.0, max_deep_refinement_steps=self.segments)


def _swiglu_width(hidden: int, expansion: float) -> int:
    """hrm.layers.swiglu_width, restated: the peers' venv cannot import hrm."""
    inner = round(expansion * hidden * 2 / 3)
    return -(-inner // 256) * 256


WORKERS = {"ours": _Ours, "nano-trm": _NanoTRM, "tiny-recursive-model": _TinyRecursiveModel}


def worker_main(impl: str, shape: dict, batch: int, segments: int, threads: int) -> None:
    """Serve timing requests on stdin: {"op": "train"|"infer"|"memory"|"quit"}; replies on stdout."""
    import torch

    torch.set_num_threads(threads)
    runner = WORKERS[impl](shape, batch, segments)

    def reply(obj: dict) -> None:
        sys.stdout.write(REPLY + json.dumps(obj) + "\n")
        sys.stdout.flush()

    reply({"ready": True, "parameters": runner.parameters, "torch": torch.__version__,
           "threads": torch.get_num_threads()})
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "quit":
            return
        if op == "memory":
            reply({"peak_bytes": common.profiler_peak_bytes(runner.train),
                   "rss_peak_mib": _rss_peak_mib()})
            continue
        if op == "floor":
            reply(runner.gemm_floor())
            continue
        fn = {"train": runner.train, "infer": runner.infer, "infer_numpy": getattr(runner, "infer_numpy", None)}[op]
        started = time.perf_counter()
        fn()
        reply({"seconds": time.perf_counter() - started})


def _rss_peak_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Worker:
    def __init__(self, impl: str, config_name: str, shape: dict, batch: int, segments: int, threads: int,
                 log: Path) -> None:
        python = sys.executable if impl == "ours" else str(peers_python())
        cmd = [python, str(Path(__file__).resolve()), "--worker", impl, "--shape", json.dumps(shape),
               "--batch", str(batch), "--segments", str(segments), "--threads", str(threads)]
        env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=str(threads))
        env.pop("PYTHONPATH", None)
        self.impl = impl
        self.log = open(log, "a")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env, cwd=common.REPO)

    def read(self) -> dict:
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY):])
            self.log.write(line)
        raise RuntimeError(f"worker {self.impl} ended without a reply; see {self.log.name}")

    def ask(self, op: str) -> dict:
        self.proc.stdin.write(json.dumps({"op": op}) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        try:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.log.close()


# --------------------------------------------------------------------------------------------------


def _timed_ops(impls: list[str]) -> list[tuple[str, str]]:
    """(implementation, op) pairs timed each round: training steps, then inference (ours twice:
    through torch, and through the numpy engine that `hrm solve` uses for a few puzzles on CPU)."""
    pairs = [(impl, "train") for impl in impls] + [(impl, "infer") for impl in impls]
    if "ours" in impls:
        pairs.append(("ours", "infer_numpy"))
    return pairs


def _rotate(items: list, r: int) -> list:
    return items[r % len(items):] + items[:r % len(items)]


def compare(config_name: str, shape: dict, batch: int, segments: int, threads: int, rounds: int,
            impls: list[str], memory: bool) -> dict:
    log = peers_venv().parent / "peers_workers.log"  # the workers' stderr, outside the repository
    workers = {impl: Worker(impl, config_name, shape, batch, segments, threads, log) for impl in impls}
    pairs = _timed_ops(impls)
    try:
        info = {impl: w.read() for impl, w in workers.items()}
        floors = [workers["ours"].ask("floor")] if "ours" in workers else []
        for impl, op in pairs:  # warm-up: allocator, lazy init, first-call overheads
            workers[impl].ask(op)
        times: dict[tuple[str, str], list[float]] = {pair: [] for pair in pairs}
        for op in ("train", "infer"):
            for r in range(rounds):
                for impl, op_ in _rotate([p for p in pairs if p[1].startswith(op)], r):
                    times[impl, op_].append(workers[impl].ask(op_)["seconds"])
                print(f"  {config_name} {op} round {r + 1}/{rounds}: "
                      + ", ".join(f"{i}{'-numpy' if o == 'infer_numpy' else ''} {times[i, o][-1]:.3f}s"
                                  for i, o in pairs if o.startswith(op)), flush=True)
        mem = {impl: w.ask("memory") for impl, w in workers.items()} if memory else {}
        if floors:  # once before the rounds and once after; the lower stands (load only adds time)
            floors.append(workers["ours"].ask("floor"))
        floor = min(floors, key=lambda f: f["floor_s"], default=None)
        if floor is not None:
            floor = dict(floor, passes_s=[f["floor_s"] for f in floors])
    finally:
        for w in workers.values():
            w.close()
    return _summarise(config_name, shape, batch, segments, threads, rounds, impls, info, times, mem, floor)


def _summarise(config_name: str, shape: dict, batch: int, segments: int, threads: int, rounds: int,
               impls: list[str], info: dict, times: dict, mem: dict, floor: dict | None) -> dict:
    result: dict = {"config": config_name, "shape": shape, "batch": batch, "inference_segments": segments,
                    "threads": threads, "rounds": rounds, "impls": {}}
    ours = {op: common.median(times["ours", op]) for op in ("train", "infer")} if "ours" in impls else None
    for impl in impls:
        entry = {"parameters": info[impl]["parameters"], "torch": info[impl]["torch"],
                 "train": common.summarize(times[impl, "train"]), "infer": common.summarize(times[impl, "infer"])}
        entry["train_examples_segments_per_s"] = batch / entry["train"]["median_s"]
        entry["infer_puzzles_per_s"] = batch / entry["infer"]["median_s"]
        if impl in mem:
            entry["train_peak_alloc_mib"] = common.mib(mem[impl]["peak_bytes"])
            entry["process_rss_peak_mib"] = round(mem[impl]["rss_peak_mib"], 1)
        if ours is not None:
            # per-round ratios too: each round's peer time over ours in the same round
            entry["train_speedup_ours_vs_this"] = entry["train"]["median_s"] / ours["train"]
            entry["infer_speedup_ours_vs_this"] = entry["infer"]["median_s"] / ours["infer"]
            entry["train_round_ratios"] = [round(t / o, 3) for t, o in zip(times[impl, "train"], times["ours", "train"],
                                                                            strict=True)]
        result["impls"][impl] = entry
    if ours is None:
        return result
    numpy_infer = common.summarize(times["ours", "infer_numpy"])
    result["ours_numpy_engine_infer"] = numpy_infer
    for impl in impls:
        result["impls"][impl]["infer_speedup_ours_numpy_vs_this"] = (
            result["impls"][impl]["infer"]["median_s"] / numpy_infer["median_s"])
    if floor is not None:
        peers = [i for i in impls if i != "ours"]
        fastest_peer = min((result["impls"][i]["train"]["median_s"] for i in peers), default=None)
        floor["our_step_over_floor"] = ours["train"] / floor["floor_s"]
        if fastest_peer is not None:
            # the largest speed-up over the faster peer that this arithmetic allows on this core
            floor["fastest_peer_over_floor"] = fastest_peer / floor["floor_s"]
            floor["step_needed_for_1_5x_s"] = fastest_peer / 1.5
        result["gemm_floor"] = floor
    return result


def _report(results: list[dict], segments: int) -> str:
    rows, floors = [], []
    for res in results:
        for impl, e in res["impls"].items():
            rows.append({"config": res["config"], "impl": impl, "params": e["parameters"],
                         "train_s": e["train"]["median_s"], "train_ratio": e.get("train_speedup_ours_vs_this"),
                         "infer_s": e["infer"]["median_s"], "infer_ratio": e.get("infer_speedup_ours_vs_this"),
                         "numpy_ratio": e.get("infer_speedup_ours_numpy_vs_this"),
                         "peak": e.get("train_peak_alloc_mib")})
        if "ours_numpy_engine_infer" in res:
            rows.append({"config": res["config"], "impl": "ours, numpy engine",
                         "infer_s": res["ours_numpy_engine_infer"]["median_s"]})
        if "gemm_floor" in res:
            f = res["gemm_floor"]
            floors.append({"config": res["config"], "floor": f["floor_s"], "gflops": f["floor_gflops"],
                           "ours": f["our_step_over_floor"], "peer": f.get("fastest_peer_over_floor"),
                           "needed": f.get("step_needed_for_1_5x_s")})
    text = common.table(rows, [("config", "config"), ("impl", "implementation"), ("params", "params"),
                               ("train_s", "train step s"), ("train_ratio", "ours x faster"),
                               ("infer_s", f"infer {segments} seg s"), ("infer_ratio", "ours x faster"),
                               ("numpy_ratio", "ours-numpy x faster"), ("peak", "step alloc peak MiB")])
    if floors:
        text += "\n\nGEMM floor of one training step (its matmuls alone, fastest BLAS here):\n"
        text += common.table(floors, [("config", "config"), ("floor", "floor s"), ("gflops", "GEMM GFLOP/s"),
                                      ("ours", "our step / floor"), ("peer", "faster peer / floor"),
                                      ("needed", "step for 1.5x peer s")])
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="hidden 128 and 2 rounds (a smoke run)")
    parser.add_argument("--hidden", type=int, default=0,
                        help="model width for every implementation (default: the preset's 512; 128 with --quick)")
    parser.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--impls", nargs="*", default=IMPLS, choices=IMPLS)
    parser.add_argument("--batch", type=int, default=4, help="examples per step and per inference batch")
    parser.add_argument("--segments", type=int, default=4, help="segments per timed inference run (Mmax)")
    parser.add_argument("--rounds", type=int, default=0, help="timed rounds per implementation (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads in every worker")
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--worker", choices=IMPLS, help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        worker_main(args.worker, json.loads(args.shape), args.batch, args.segments, args.threads)
        return

    started_load = common.load_average()
    ensure_peers_venv()
    rounds = args.rounds or (2 if args.quick else 5)
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    print(f"load average {started_load}; batch {args.batch}, {args.segments} inference segments, "
          f"{args.threads} thread(s), {rounds} rounds", flush=True)
    results = []
    for config_name in args.configs:
        shape = model_shape(config_name, args.hidden or (128 if args.quick else 512))
        results.append(compare(config_name, shape, args.batch, args.segments, args.threads, rounds, args.impls,
                               memory=not args.no_memory))

    print()
    print(_report(results, args.segments))
    name = "peers_quick" if args.quick else "peers" if args.hidden in (0, 512) else f"peers_h{args.hidden}"
    path = common.write_results(name, {"quick": args.quick, "peer_versions": peer_versions(), "results": results},
                                started_load)
    print(f"\nwrote {path.relative_to(common.REPO)}")


if __name__ == "__main__":
    main()
