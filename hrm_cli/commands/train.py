"""`hrm train`: a preset plus key=value overrides, live progress on stderr, a run directory on disk.

    hrm train --task sudoku --preset cpu                  small model, minutes on a laptop CPU
    hrm train --task sudoku --preset paper lr=7e-5        the reference recipe, one override
    hrm train --out runs/x --resume                       continue an interrupted run
    hrm train --task maze --preset paper --nproc 8        8 local GPUs (relaunches via torch.distributed.run)
    torchrun --nproc-per-node 8 -m hrm_cli train ...      the same, launched by hand (multi-node too)
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hrm_cli import exit_codes
from hrm_cli.output import get_printer
from hrm_cli.progress import BuildProgress

if TYPE_CHECKING:
    from hrm.train.config import TrainConfig
    from hrm.train.evaluate import EvalResult

SCHEMA_VERSION = 1


class RichReporter:
    """Draws training progress on stderr: a live bar on a terminal, a status line now and then otherwise."""

    LINE_SECONDS = 15.0

    def __init__(self, build_progress: BuildProgress | None = None) -> None:
        self.build_progress = build_progress
        self.printer = get_printer()
        self.progress = None
        self.info: dict[str, Any] = {}
        self.fields = {"loss": "-", "exact": "-", "lr": "-", "speed": "-", "epoch": "0.00"}
        self._last_line = 0.0
        self._started = time.monotonic()
        self._eval_task = None

    def start(self, info: dict[str, Any]) -> None:
        if self.build_progress is not None:
            self.build_progress.close()                 # rich allows one live display at a time
        self.info = info
        self._started = time.monotonic()
        p = self.printer
        resumed = f", resuming at step {info['start_step']:,}" if info["start_step"] else ""
        p.info(f"[bold]training[/] {info['parameters']:,} parameters on {info['device']}"
               f"{' x' + str(info['world_size']) if info['world_size'] > 1 else ''}: "
               f"{info['total_steps']:,} steps, eval every {info['eval_every']:,}{resumed}")
        p.info(f"run directory {info['run_dir']}  (Ctrl-C saves and stops; --resume continues)")
        self.progress = p.progress("[bold]{task.description}", "{task.fields[info]}", transient=False,
                                   refresh_per_second=4)
        if self.progress is None:
            return
        self.progress.start()
        self._task = self.progress.add_task("train", total=info["stop_at"], completed=info["start_step"],
                                            info=self._info())

    def _info(self) -> str:
        f = self.fields
        return f"epoch {f['epoch']}  loss {f['loss']}  exact {f['exact']}  lr {f['lr']}  {f['speed']} ex/s"

    def step(self, step: int, epoch: float) -> None:
        self.fields["epoch"] = f"{epoch:.2f}"
        if self.progress is not None:
            self.progress.update(self._task, completed=step, info=self._info())

    def metrics(self, record: dict[str, Any]) -> None:
        self.fields.update(loss=f"{record.get('train/loss', float('nan')):.4f}",
                           exact=f"{record.get('train/exact_accuracy', float('nan')):.3f}",
                           lr=f"{record['lr']:.2e}", speed=f"{record['examples_per_s']:,.0f}")
        if self.progress is not None:
            self.progress.update(self._task, info=self._info())
            return
        now = time.monotonic()
        if now - self._last_line >= self.LINE_SECONDS or record["step"] == self.info.get("stop_at"):
            self._last_line = now
            f, stop_at = self.fields, self.info.get("stop_at", 0)
            done = record["step"] - self.info.get("start_step", 0)
            eta = (stop_at - record["step"]) * (now - self._started) / max(done, 1)
            self.printer.info(f"step {record['step']:,}/{stop_at:,}  epoch {f['epoch']}  loss {f['loss']}  "
                              f"exact {f['exact']}  lr {f['lr']}  {f['speed']} ex/s  "
                              f"elapsed {_duration(record['time'])}  ETA {_duration(eta)}")

    def eval_progress(self, done: int, total: int) -> None:
        if self.progress is None:
            return
        if self._eval_task is None:
            self._eval_task = self.progress.add_task("eval", total=total, info="held-out examples")
        self.progress.update(self._eval_task, completed=done, total=total)

    def eval(self, step: int, result: EvalResult) -> None:
        if self._eval_task is not None and self.progress is not None:
            self.progress.remove_task(self._eval_task)
            self._eval_task = None
        curve = " ".join(f"{v:.2f}" for v in result.segment_exact_accuracy)
        self.printer.info(f"[bold]eval[/] step {step:,}: exact [bold]{result.exact_accuracy:.4f}[/] "
                          f"token {result.token_accuracy:.4f}  adaptive {result.adaptive_exact_accuracy:.4f} "
                          f"in {result.mean_segments:.2f} segments  ({result.count:,} examples, "
                          f"{result.seconds:.1f}s)  per segment: {curve}")

    def log(self, message: str) -> None:
        self.printer.info(message)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def _duration(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _strip_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--nproc", "--nproc-per-node"):
            skip = True
            continue
        if arg.startswith(("--nproc=", "--nproc-per-node=")):
            continue
        out.append(arg)
    return out


def _relaunch(nproc: int, out: Path) -> None:
    """Rerun this command under torch.distributed.run with `nproc` local processes; exit with its code."""
    import signal

    from hrm.train.distributed import relaunch_argv

    argv = _strip_nproc(sys.argv[1:])
    if "--out" not in argv and "-o" not in argv and not any(a.startswith("--out=") for a in argv):
        argv += ["--out", str(out)]                   # every worker must agree on the run directory
    command = relaunch_argv(nproc, argv)
    get_printer().debug(" ".join(command))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the workers; they save and exit
    try:
        code = subprocess.call(command, env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    finally:
        signal.signal(signal.SIGINT, previous)
    raise typer.Exit(exit_codes.INTERRUPTED if code in (130, -2) else code)


def _check_memory(config: TrainConfig, device: str, processes: int) -> None:
    """Refuse a run that cannot fit before any data is built; say what --nproc costs on a CPU."""
    import torch

    from hrm.model import HRM
    from hrm.train.memory import available_memory, check_training_memory, gib, training_memory

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model_config = config.model_config()
    with torch.device("meta"):                  # shapes only: the count costs no memory
        parameters = HRM(model_config).num_parameters()
    batch = max(1, config.global_batch_size // processes)
    half = device.startswith("cuda") and model_config.forward_dtype == "bfloat16"
    estimate = training_memory(model_config, batch, parameters, config.ema, activation_bytes=2 if half else 4)
    if processes > 1 and not device.startswith("cuda"):
        get_printer().info(f"--nproc {processes} on a CPU: {processes} processes share {os.cpu_count()} cores, "
                           f"each with batch {batch:,} and about {gib(estimate.peak_bytes)} "
                           f"({gib(processes * estimate.peak_bytes)} in all); one process is as fast on a CPU")
    check_training_memory(estimate, processes, available_memory(device), config.preset, config.global_batch_size,
                          device)


def _warn_cpu_limits(config: TrainConfig, device: str, rank: int) -> None:
    """Say before hours of work what a CPU run of this task will not reach (the task knows)."""
    from hrm.tasks import get_task

    note = getattr(get_task(config.task), "cpu_training_note", "")
    if note and rank == 0 and device != "cuda":
        import torch

        if device == "cpu" or not torch.cuda.is_available():
            get_printer().warn(note)


def _default_out(preset: str) -> Path:
    return Path("runs") / f"{preset}-{time.strftime('%Y%m%d-%H%M%S')}"


def _is_built_dataset(path: Path) -> bool:
    from hrm.data.format import built_splits

    return Path(path).is_dir() and bool(built_splits(path))


def train(
    overrides: list[str] = typer.Argument(None, help="Training options as key=value; model options as "
                                                     "model.key=value (e.g. lr=3e-4 model.halt_max_steps=8)."),
    task: str = typer.Option(None, "--task", "-t", help="sudoku, maze or arc (read from the run when resuming)."),
    preset: str = typer.Option("auto", "--preset", "-p",
                               help="paper, trm, cpu (or a full name from `hrm presets`); auto: paper on CUDA, "
                                    "cpu otherwise."),
    data: Path = typer.Option(None, "--data", help="A built dataset folder, or a folder to build the preset's "
                                                   "dataset in (default: $HRM_DATA or ./data)."),
    out: Path = typer.Option(None, "--out", "-o", help="Run directory (default: runs/<preset>-<time>)."),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its resume.pt."),
    until: int = typer.Option(None, "--until", min=1, help="Stop (and save) after this step; --resume continues."),
    nproc: int = typer.Option(1, "--nproc", "--nproc-per-node", min=1,
                              help="Processes on this machine (one per GPU), via torch.distributed.run."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write curves.png when training stops."),
    as_json: bool = typer.Option(False, "--json", help="Print the final summary as JSON on stdout."),
) -> None:
    """Train an HRM or TRM with deep supervision and ACT; evaluate, checkpoint, resume."""
    from hrm.errors import HRMError
    from hrm.train.config import get_train_preset
    from hrm.train.distributed import env_ranks
    from hrm.train.loop import load_run_config

    printer = get_printer()
    rank, world_size, _ = env_ranks()
    if resume:
        if out is None:
            raise HRMError("--resume needs the run directory", hint="pass --out runs/NAME")
        config = load_run_config(out)
        if task is not None and task != config.task:
            raise HRMError(f"the run in {out} trains {config.task}, not {task}")
    else:
        if task is None:
            raise HRMError("which task should be trained?", hint="pass --task sudoku, maze or arc")
        chosen = preset
        if preset == "auto":
            import torch

            chosen = "paper" if torch.cuda.is_available() and device != "cpu" else "cpu"
        config = get_train_preset(task, chosen)      # an unknown task or preset fails here, before any word
        if preset == "auto" and rank == 0:
            printer.info(f"preset {config.preset} ({'a GPU is present' if chosen == 'paper' else 'no GPU'};"
                         " choose with --preset)")
    config = config.with_overrides(overrides or [])
    if data is not None and _is_built_dataset(data):  # recorded, so --resume finds the same data
        config = dataclasses.replace(config, data=str(Path(data).resolve()))
    out = out or _default_out(config.preset or config.task)
    _warn_cpu_limits(config, device, rank)

    if world_size == 1:
        _check_memory(config, device, nproc)
    if nproc > 1 and world_size == 1:
        _relaunch(nproc, out)

    from hrm.train.loop import train as run_training

    build_progress = BuildProgress() if rank == 0 else None
    try:
        result = run_training(config, out, device=device, data_dir=data, resume=resume, until=until,
                              reporter=RichReporter(build_progress) if rank == 0 else None,
                              data_progress=build_progress)
    finally:
        if build_progress is not None:
            build_progress.close()
    if rank != 0:
        raise typer.Exit(exit_codes.INTERRUPTED if result.status == "interrupted" else exit_codes.OK)
    if plot and (out / "metrics.jsonl").exists():
        _write_plot(out)
    summary = {"schema_version": SCHEMA_VERSION, "run_dir": str(out), "status": result.status,
               "step": result.step, "total_steps": result.total_steps, "best": result.best,
               "last_eval": result.last_eval.to_dict() if result.last_eval else None}
    best = (f"best exact accuracy {result.best['exact_accuracy']:.4f} at step {result.best['step']:,}"
            if result.best else "no evaluation yet")
    line = (f"{result.status} at step {result.step:,}/{result.total_steps:,}: {best}; "
            f"weights in {out}/{'best' if result.best else 'last'}.safetensors")
    _record_event(out, line)
    if as_json:
        printer.json_line(json.dumps(summary))
    else:
        printer.result(line)
    if result.status == "interrupted":
        printer.info(f"continue with: hrm train --out {out} --resume")
        printer.reported_stop = True
        raise typer.Exit(exit_codes.INTERRUPTED)


def _record_event(run_dir: Path, line: str) -> None:
    """Append how the run stopped to RUN/events.log: the one place that still says it when the terminal
    or the pipe that showed the run is gone."""
    try:
        with open(Path(run_dir) / "events.log", "a") as log:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')}  {line}\n")
    except OSError:
        pass


def _write_plot(run_dir: Path) -> None:
    from hrm.errors import HRMError

    try:
        from hrm.train.plot import plot_run

        path = plot_run(run_dir)
        get_printer().debug(f"wrote {path}")
    except HRMError as exc:  # a missing matplotlib must not turn a finished run into a failure
        get_printer().info(f"[yellow]no plot:[/] {exc}")


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": True})(train)
