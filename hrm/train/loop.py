"""The training loop: deep supervision with ACT, exactly as the reference's
pretrain.py and puzzle_dataset.py do it.

One optimizer step per ACT segment. The carry persists across steps: a slot keeps working on its
example until it halts, and only halted slots take the new batch's example (so many sampled examples
are skipped, as in the reference). Per step:

    carry, outputs = model(carry, batch)              one segment (training halting + exploration)
    loss = act_loss(carry, outputs) / global_batch    summed over the batch, divided by the global batch
    loss.backward(); all-reduce (sum) the gradients   by hand, no DDP wrapper
    sign-SGD on the batch's puzzle-table rows, AdamATan2 on the weights, then the EMA

Every `eval_every` steps the test split is evaluated (EMA weights when the run uses EMA), the best
checkpoint by exact accuracy and the last one are written, with resume.pt beside them. Ctrl-C (or
SIGTERM, SIGHUP) stops at the end of the current step, saves, and returns status "interrupted". Files in the
run directory: config.json, metrics.jsonl, last.safetensors, best.safetensors, resume.pt (rank 0 only).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from hrm.checkpoint import atomic_write, save_model
from hrm.config import ModelConfig
from hrm.data.format import PuzzleDataset, built_splits
from hrm.data.sampler import TrainSampler
from hrm.errors import DataError, HRMError
from hrm.losses import act_loss
from hrm.model import HRM
from hrm.optim import EMA, AdamATan2, PuzzleEmbeddingSignSGD, lr_at
from hrm.train import distributed as D
from hrm.train.config import TrainConfig
from hrm.train.evaluate import EvalResult, Targets, evaluate, nearest_path_labels, to_device
from hrm.train.runlock import RunLock
from hrm.train.state import (
    carry_slice,
    carry_state,
    concat_carries,
    load_resume,
    rng_state,
    save_resume,
    set_rng_state,
)

if TYPE_CHECKING:
    from hrm.data.build import ProgressFn

LOSS_KEYS = ("lm_loss", "q_halt_loss", "q_continue_loss")
COUNT_KEYS = ("accuracy", "exact_accuracy", "q_halt_accuracy", "steps")


class Reporter:
    """What the loop tells its front end (rank 0 only). The CLI draws it with rich; tests ignore it."""

    def start(self, info: dict[str, Any]) -> None: ...
    def step(self, step: int, epoch: float) -> None: ...
    def metrics(self, record: dict[str, Any]) -> None: ...
    def eval_progress(self, done: int, total: int) -> None: ...
    def eval(self, step: int, result: EvalResult) -> None: ...
    def log(self, message: str) -> None: ...
    def close(self) -> None: ...


@dataclass
class TrainResult:
    status: str                  # "finished", "paused" (reached `until`) or "interrupted"
    step: int
    total_steps: int
    run_dir: Path
    best: dict[str, Any] | None = None
    last_eval: EvalResult | None = None
    history: list[dict[str, Any]] = field(default_factory=list)   # metric records of this session


class _StopSignal:
    """First SIGINT/SIGTERM/SIGHUP asks for a clean stop at the end of the step; a second SIGINT aborts."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignal:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True


@contextlib.contextmanager
def ema_weights(model: HRM, ema: EMA | None) -> Iterator[None]:
    """Temporarily swap the EMA weights into the model (for evaluation and checkpoints)."""
    if ema is None:
        yield
        return
    raw = {n: p.detach().clone() for n, p in model.named_parameters() if n in ema.shadow}
    ema.copy_to(model)
    try:
        yield
    finally:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name in raw:
                    param.copy_(raw[name])


def resolve_dataset(config: TrainConfig, data_dir: str | Path | None, env: D.DistEnv,
                    progress: ProgressFn | None = None) -> Path:
    """The built dataset folder: --data DIR when it holds one, else the named dataset, built if missing."""
    candidates = [Path(p) for p in (data_dir, config.data) if p]
    for path in candidates:
        if path.is_dir() and built_splits(path):
            return path
    from hrm.data import build  # imported here: building pulls in task modules and generators

    root = Path(data_dir) if data_dir else None
    if env.is_main:
        path = build.ensure_dataset(config.data, root=root, progress=progress)
    D.barrier()
    if not env.is_main:
        path = build.ensure_dataset(config.data, root=root)
    return Path(path)


def seeded_from_trm(model: HRM, source: HRM) -> dict[str, torch.Tensor]:
    """The source's tensors, and where an HRM starts from a TRM, its single net copied into both
    levels: TRM's updates z_L <- net(z_L, z_H + x) and z_H <- net(z_H, z_L) are HRM's with
    H_level = L_level, so the HRM's forward starts equal to the TRM's and its two levels part from
    there under HRM's own (one-step) gradient."""
    theirs = dict(source.state_dict())
    if model.config.arch == "hrm" and source.config.arch == "trm":
        theirs.update({"H_level." + k.removeprefix("L_level."): v
                       for k, v in list(theirs.items()) if k.startswith("L_level.")})
    return theirs


def initialise_from(model: HRM, path: Path) -> None:
    """Copy the weights of `path` into `model` (the next stage of a curriculum starts where the last
    one ended); the architecture must be the same, tensor for tensor, or an HRM seeded by a TRM."""
    from hrm.checkpoint import load_model

    source, _ = load_model(path, model.device)
    mine, theirs = model.state_dict(), seeded_from_trm(model, source)
    mismatched = sorted(k for k in mine if k not in theirs or theirs[k].shape != mine[k].shape)
    if mismatched or set(theirs) - set(mine):
        raise HRMError(f"init_weights {path} does not fit this model ({len(mismatched)} tensors differ, "
                       f"first: {(mismatched or sorted(set(theirs) - set(mine)))[0]})",
                       hint="use weights of the same architecture or drop init_weights")
    with torch.no_grad():
        model.load_state_dict({k: v.to(mine[k].dtype) for k, v in theirs.items()})


def load_run_config(run_dir: Path) -> TrainConfig:
    path = Path(run_dir) / "config.json"
    try:
        return TrainConfig.from_dict(json.loads(path.read_text())["train"])
    except FileNotFoundError:
        raise HRMError(f"{run_dir} is not a run directory (no config.json)", hint="check --out") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise HRMError(f"{path} is malformed ({exc})") from None


def train(config: TrainConfig, run_dir: str | Path, *, device: str = "auto",
          data_dir: str | Path | None = None, resume: bool = False, until: int | None = None,
          reporter: Reporter | None = None,
          data_progress: ProgressFn | None = None) -> TrainResult:
    """Train `config` into `run_dir` (every rank calls this; only rank 0 writes)."""
    env = D.init(device)
    try:
        with RunLock(Path(run_dir)) if env.is_main else contextlib.nullcontext():
            return _Trainer(config, Path(run_dir), env, reporter or Reporter()).run(
                data_dir, resume, until, data_progress)
    finally:
        D.cleanup()


class _Trainer:
    def __init__(self, config: TrainConfig, run_dir: Path, env: D.DistEnv, reporter: Reporter) -> None:
        self.config, self.run_dir, self.env = config, run_dir, env
        self.reporter = reporter if env.is_main else Reporter()
        self._targets: Targets | None = nearest_path_labels if config.targets == "nearest" else None
        self.stop = _StopSignal()
        self.history: list[dict[str, Any]] = []

    # ----------------------------------------------------------------------------------------------
    def setup(self, data_dir: str | Path | None, resume: bool, data_progress: ProgressFn | None) -> None:
        c, env = self.config, self.env
        if env.is_main and not resume and (self.run_dir / "resume.pt").exists():
            raise HRMError(f"{self.run_dir} already holds a run",
                           hint="pass --resume to continue it, or choose a new --out")
        root = resolve_dataset(c, data_dir, env, data_progress)
        self.train_set = PuzzleDataset.load(root, "train")
        self.test_set = PuzzleDataset.load(root, "test") if "test" in built_splits(root) else None
        meta = self.train_set.metadata
        if meta.task and meta.task != c.task:
            raise DataError(f"dataset {root} is a {meta.task} dataset, not {c.task}",
                            hint="check --data and --task")

        torch.manual_seed(c.seed)                          # identical init on every rank...
        self.model_config = c.model_config(meta.vocab_size, meta.seq_len, meta.num_puzzle_identifiers)
        self.model = model = HRM(self.model_config).to(env.device)
        if c.init_weights and not resume:
            initialise_from(model, Path(c.init_weights))
        D.broadcast_module(model)                          # ...and rank 0's weights anyway, as the reference
        torch.manual_seed(c.seed + env.rank)               # then per-rank randomness (halting exploration)
        model.train()
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = AdamATan2(self.params, lr=c.lr, betas=(c.beta1, c.beta2),
                                   weight_decay=c.weight_decay)
        self.sparse = (PuzzleEmbeddingSignSGD(model.puzzle_emb, c.puzzle_emb_lr, c.puzzle_emb_weight_decay)
                       if model.puzzle_emb is not None else None)
        self.ema = EMA(model, c.ema_decay) if c.ema else None
        self.sampler = TrainSampler(self.train_set, c.global_batch_size, c.seed, env.rank, env.world_size)
        names = self.train_set.identifiers or []     # ARC: variant name -> puzzle-table row, for `hrm solve`
        self._identifiers_json = json.dumps({n: i for i, n in enumerate(names)}) if len(names) > 1 else ""
        examples_per_epoch = meta.total_groups * meta.mean_puzzle_examples
        self.total_steps, self.eval_every = c.steps_for(examples_per_epoch)
        self.step, self.carry, self.best, self.elapsed = 0, None, None, 0.0

        if resume:
            self._load_resume()
        if self._should_compile():
            for module in (model.L_level, getattr(model, "H_level", None)):
                if module is not None:
                    module.compile()                       # in place: state_dict keys stay unprefixed
        if env.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self._write_config(root, examples_per_epoch)
            self._trim_metrics()

    def _should_compile(self) -> bool:
        """compile=None: on CUDA only. On a CPU torch.compile writes C++ (1.2-1.4x faster steps for the tiny
        Sudoku TRM, docs/sudoku-training.md) and so needs a C++ compiler; without one the run goes on eager."""
        c, device = self.config, self.env.device.type
        wanted = c.compile if c.compile is not None else device == "cuda"
        if wanted and device == "cpu" and not any(shutil.which(cxx) for cxx in ("g++", "c++", "clang++")):
            self.reporter.log("warning: compile=true on a CPU needs a C++ compiler (g++ or clang++); "
                              "training without torch.compile")
            return False
        return wanted

    def _write_config(self, root: Path, examples_per_epoch: float) -> None:
        meta = self.train_set.metadata
        doc = {"train": self.config.to_dict(), "model": json.loads(self.model_config.to_json()),
               "dataset": {"path": str(root.resolve()), "name": meta.name, "task": meta.task,
                           "content_hash": meta.content_hash, "train_examples": self.train_set.num_examples,
                           "test_examples": self.test_set.num_examples if self.test_set else 0,
                           "examples_per_epoch": examples_per_epoch},
               "total_steps": self.total_steps, "eval_every": self.eval_every,
               "world_size": self.env.world_size, "parameters": self.model.num_parameters()}
        text = json.dumps(doc, indent=2) + "\n"
        atomic_write(self.run_dir / "config.json", lambda tmp: tmp.write_text(text))

    def _trim_metrics(self) -> None:
        """On resume, drop metric lines logged after the checkpoint, so the file matches the run."""
        path = self.run_dir / "metrics.jsonl"
        if not path.exists():
            return
        kept = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                record = json.loads(line) if line.strip() else None
            except ValueError:                  # a line torn by a kill mid-write: nothing to keep
                self.reporter.log(f"warning: dropped unreadable line {number} of {path}")
                continue
            if isinstance(record, dict) and record.get("step", 0) <= self.step:
                kept.append(line)
        atomic_write(path, lambda tmp: tmp.write_text("".join(line + "\n" for line in kept)))

    def _load_resume(self) -> None:
        state = load_resume(self.run_dir / "resume.pt")
        # compared as configs, not as text: a field added since (at its default) is the same model
        if ModelConfig.from_json(state["model_config"]) != self.model_config:
            raise HRMError("the model config differs from the one the run was started with",
                           hint="drop the model.* overrides, or start a new run")
        if state["dataset_hash"] != self.train_set.content_hash:
            raise DataError("the training data changed since the run was started",
                            hint="point --data at the original dataset, or start a new run")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.sparse is not None:
            self.sparse.load_state_dict(state["sparse_optimizer"])
        if self.ema is not None and state["ema"] is not None:
            self.ema.load_state_dict(state["ema"])
        elif self.ema is not None:                         # EMA switched on when resuming: start it here
            self.ema = EMA(self.model, self.config.ema_decay)
        self.sampler.load_state_dict(state["sampler"])
        local = self.config.global_batch_size // self.env.world_size
        if state["carry"] is not None:
            rows = slice(self.env.rank * local, (self.env.rank + 1) * local)
            self.carry = carry_slice(state["carry"], rows, self.env.device)
        self.step, self.best, self.elapsed = int(state["step"]), state["best"], float(state["elapsed"])
        if state["world_size"] == self.env.world_size:
            set_rng_state(state["rng"][self.env.rank], self.env.device)
        else:
            torch.manual_seed(self.config.seed + self.env.rank + 1_000_003 * self.step)
            self.reporter.log(f"resuming on {self.env.world_size} processes instead of "
                              f"{state['world_size']}: the run continues, but not bit-identically")

    # ----------------------------------------------------------------------------------------------
    def run(self, data_dir: str | Path | None, resume: bool, until: int | None,
            data_progress: ProgressFn | None) -> TrainResult:
        self.setup(data_dir, resume, data_progress)
        self.session_start = time.perf_counter()
        c, env = self.config, self.env
        stop_at = min(until, self.total_steps) if until is not None else self.total_steps
        self.reporter.start({"total_steps": self.total_steps, "start_step": self.step, "stop_at": stop_at,
                             "eval_every": self.eval_every, "parameters": self.model.num_parameters(),
                             "device": str(env.device), "world_size": env.world_size,
                             "train_examples": self.train_set.num_examples, "run_dir": str(self.run_dir)})
        status, last_eval, saved_at = "finished" if stop_at == self.total_steps else "paused", None, self.step
        window: dict[str, torch.Tensor] = {}
        window_steps, window_start = 0, time.perf_counter()
        try:
            with self.stop:
                while self.step < stop_at:
                    window = self._train_step(window)
                    self.step += 1
                    window_steps += 1
                    self.reporter.step(self.step, self.sampler.epoch)
                    at_log = self.step % c.log_every == 0 or self.step == stop_at
                    if at_log:
                        self._log_train(window, window_steps, time.perf_counter() - window_start)
                        window, window_steps, window_start = {}, 0, time.perf_counter()
                    eval_stopped = False
                    if self.step % self.eval_every == 0 or self.step == self.total_steps:
                        result, saved_at = self._evaluate_and_save(), self.step
                        eval_stopped = result is not None and not result.complete
                        last_eval = result if result is not None and result.complete else last_eval
                        window_start = time.perf_counter()
                    if eval_stopped or self._stop_requested(at_log):
                        status = "interrupted"
                        break
                if status == "interrupted":
                    self.reporter.log(f"interrupted at step {self.step}: saving the checkpoint")
                    if window_steps:                           # single process: log the unlogged steps too
                        self._log_train(window, window_steps, time.perf_counter() - window_start)
                if saved_at != self.step:
                    self._save(best=False)
        finally:
            self.reporter.close()    # also on a second Ctrl-C or an error: never leave a live bar
        return TrainResult(status, self.step, self.total_steps, self.run_dir, self.best, last_eval,
                           self.history)

    def _stop_requested(self, at_log: bool) -> bool:
        if not self.env.distributed:
            return self.stop.requested
        # every rank must stop at the same step: agree at the log cadence (the metrics sync anyway)
        return at_log and D.any_rank(self.stop.requested, self.env.device)

    def _train_step(self, window: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        c, model, device = self.config, self.model, self.env.device
        batch = to_device(next(self.sampler), device)
        if self.carry is None:
            self.carry = model.initial_carry(batch)
        self.carry, outputs = model(self.carry, batch)
        if self._targets is not None:
            data = self.carry.data
            data["labels"] = self._targets(data["inputs"], data["labels"], outputs["logits"])
        loss, metrics = act_loss(self.carry, outputs, self.model_config.loss_type)
        (loss / c.global_batch_size).backward()
        D.all_reduce_grads(self.params)
        step = self.step + 1                               # the reference counts steps from 1 here
        if self.sparse is not None:
            self.sparse.param_groups[0]["lr"] = lr_at(step, c.puzzle_emb_lr, c.lr_warmup_steps,
                                                      self.total_steps, c.lr_min_ratio, c.lr_decay_steps)
            self.sparse.step()
            self.sparse.zero_grad()
        lr = lr_at(step, c.lr, c.lr_warmup_steps, self.total_steps, c.lr_min_ratio, c.lr_decay_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.update(model)
        metrics["loss"] = loss.detach()
        for key, value in metrics.items():
            window[key] = window[key] + value.double() if key in window else value.detach().double()
        return window

    def _clock(self) -> float:
        """Wall seconds this run has taken, over all sessions (training and evaluation)."""
        return self.elapsed + time.perf_counter() - self.session_start

    def _log_train(self, window: dict[str, torch.Tensor], steps: int, seconds: float) -> None:
        c = self.config
        keys = sorted(window)
        sums = D.all_reduce_sum(torch.stack([window[k] for k in keys])).tolist() if keys else []
        totals = dict(zip(keys, sums, strict=True))
        count = max(totals.get("count", 0.0), 1.0)
        lr = lr_at(self.step, c.lr, c.lr_warmup_steps, self.total_steps, c.lr_min_ratio, c.lr_decay_steps)
        record: dict[str, Any] = {"step": self.step, "epoch": round(self.sampler.epoch, 4), "lr": lr,
                                  "time": round(self._clock(), 3),
                                  "examples_per_s": steps * c.global_batch_size / max(seconds, 1e-9)}
        for key in ("loss", *LOSS_KEYS):
            if key in totals:
                record[f"train/{key}"] = totals[key] / (c.global_batch_size * steps)
        for key in COUNT_KEYS:
            if key in totals:
                record[f"train/{key}"] = totals[key] / count
        record["train/count"] = int(totals.get("count", 0))
        self._record(record)
        self.reporter.metrics(record)

    def _record(self, record: dict[str, Any]) -> None:
        if not self.env.is_main:
            return
        self.history.append(record)
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")

    # ----------------------------------------------------------------------------------------------
    def _should_stop_eval(self) -> Callable[[], bool]:
        if self.env.distributed:
            return lambda: D.any_rank(self.stop.requested, self.env.device)
        return lambda: self.stop.requested

    def _evaluate_and_save(self) -> EvalResult | None:
        result = None
        if self.test_set is not None:
            c = self.config
            with ema_weights(self.model, self.ema):
                result = evaluate(self.model, self.test_set, c.eval_batch_size or c.global_batch_size,
                                  c.eval_limit, self.env, progress=self.reporter.eval_progress,
                                  should_stop=self._should_stop_eval(), targets=self._targets)
            if result.complete:
                self._record({"step": self.step, "epoch": round(self.sampler.epoch, 4),
                              "time": round(self._clock(), 3), **result.metrics()})
                self.reporter.eval(self.step, result)
        improved = result is not None and result.complete and (
            self.best is None or result.exact_accuracy > self.best["exact_accuracy"])
        if improved:
            self.best = {"step": self.step, "exact_accuracy": result.exact_accuracy,
                         "token_accuracy": result.token_accuracy}
        self._save(best=improved, result=result)
        return result

    def _save(self, best: bool, result: EvalResult | None = None) -> None:
        """last.safetensors (+ best.safetensors when improved) and resume.pt; a collective call."""
        carries = D.gather_objects(carry_state(self.carry) if self.carry is not None else None)
        rngs = D.gather_objects(rng_state(self.env.device))
        if not self.env.is_main:
            return
        meta = self._weights_meta(result)
        with ema_weights(self.model, self.ema):
            save_model(self.run_dir / "last.safetensors", self.model, meta)
            if best:
                save_model(self.run_dir / "best.safetensors", self.model, meta)
        save_resume(self.run_dir / "resume.pt", {
            "step": self.step, "elapsed": self._clock(), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "sparse_optimizer": self.sparse.state_dict() if self.sparse is not None else None,
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "sampler": self.sampler.state_dict(),
            "carry": concat_carries(carries) if carries[0] is not None else None,
            "rng": rngs, "world_size": self.env.world_size, "best": self.best,
            "config": self.config.to_json(), "model_config": self.model_config.to_json(),
            "dataset_hash": self.train_set.content_hash})

    def _weights_meta(self, result: EvalResult | None) -> dict[str, str]:
        c, meta = self.config, self.train_set.metadata
        card = {"description": f"{self.model_config.arch.upper()} trained on {meta.name or c.data} "
                               f"({c.preset or 'custom'} recipe) for {self.step} steps",
                "dataset": meta.name or c.data, "preset": c.preset, "ema": c.ema,
                "train_config": self.config.to_dict()}
        if result is not None and result.complete:
            card["eval"] = {"exact_accuracy": result.exact_accuracy, "token_accuracy": result.token_accuracy,
                            "examples": result.count, "step": self.step}
        out = {"task": c.task, "dataset_hash": meta.content_hash, "dataset": meta.name or c.data,
               "train_step": str(self.step), "ema": "1" if c.ema else "0", "card": json.dumps(card)}
        if self._identifiers_json:
            out["identifiers"] = self._identifiers_json
        return out
