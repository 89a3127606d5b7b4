"""Training configuration: one dataclass, named presets per task, and `key=value` overrides.

Presets (`<task>-<recipe>`; `hrm train --task sudoku --preset paper` picks `sudoku-paper`):
    paper  the HRM reference hyperparameters (the HRM README's commands): batch 768, lr 1e-4 constant after 2000
           warmup steps, betas (0.9, 0.95), wd 1.0 (sudoku/maze) or 0.1 (arc), puzzle-embedding lr 1e-4
           or 1e-2, 20,000 epochs with an eval every 2,000 (sudoku/maze) or 100,000 / 10,000 (arc).
    trm    TRM's recipe (TRM's README): model trm-<task>, EMA 0.999, 50,000 epochs for sudoku/maze.
    cpu    a small model and batch that make visible progress within minutes on a laptop CPU.
    shipped (sudoku) the recipe of the shipped Sudoku weights: TRM tiny on generated published-like puzzles.
Overrides are `key=value` for TrainConfig fields and `model.key=value` for ModelConfig fields.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from hrm.config import ModelConfig, get_preset
from hrm.errors import HRMError
from hrm.tasks import BUILTIN_TASKS, get_task

TASKS = BUILTIN_TASKS     # the tasks with training presets and dataset builders
TARGETS = ("labels", "nearest")


@dataclass
class TrainConfig:
    task: str = "sudoku"
    model: str = "hrm-sudoku"               # model preset (hrm.config.PRESETS)
    model_overrides: dict[str, Any] = field(default_factory=dict)   # `model.key=value` on the command line
    data: str = "sudoku-hard-1k"            # dataset name (built on first use) or a built dataset folder
    global_batch_size: int = 768            # summed over all processes
    epochs: int = 20000                     # reference epochs: one random variant of every group each
    total_steps: int = 0                    # 0: epochs x examples per epoch / global batch (the reference)
    eval_interval: int = 2000               # epochs between evaluations (reference)
    eval_every: int = 0                     # steps between evaluations; 0: from eval_interval
    eval_limit: int | None = None           # evaluate on a fixed random subset of the test split
    eval_batch_size: int = 0                # 0: the global batch size
    lr: float = 1e-4
    lr_min_ratio: float = 1.0               # 1.0: constant after warmup (reference); <1: cosine decay to it
    lr_warmup_steps: int = 2000
    lr_decay_steps: int = 0                 # >0: constant until the last this-many steps, cosine over them
    beta1: float = 0.9
    beta2: float = 0.95
    weight_decay: float = 1.0
    puzzle_emb_lr: float = 1e-4
    puzzle_emb_weight_decay: float = 1.0
    ema: bool = False                       # evaluate and export an exponential moving average of the weights
    ema_decay: float = 0.999
    seed: int = 0
    compile: bool | None = None             # torch.compile the reasoning modules; None: on for CUDA only
    log_every: int = 10                     # steps per metrics.jsonl line (and per all-reduce of metrics)
    init_weights: str = ""                  # a fresh run starts from these weights (curriculum stages)
    targets: str = "labels"                 # "nearest": maze, train and judge toward the shortest path
                                            # nearest the model's own answer (hrm.tasks.maze.nearest_shortest_paths)
    preset: str = ""                        # the preset this config started from (informational)

    def __post_init__(self) -> None:
        checks = [
            (self.task in TASKS, "task", f"must be one of {', '.join(TASKS)}"),
            (self.global_batch_size >= 1, "global_batch_size", "must be at least 1"),
            (self.epochs >= 1 or self.total_steps >= 1, "epochs", "must be at least 1 (or set total_steps)"),
            (self.total_steps >= 0, "total_steps", "must be 0 (derived from epochs) or positive"),
            (self.eval_interval >= 1 or self.eval_every >= 1, "eval_interval", "must be at least 1"),
            (self.eval_every >= 0, "eval_every", "must be 0 (derived from eval_interval) or positive"),
            (self.eval_limit is None or self.eval_limit >= 1, "eval_limit", "must be positive or null"),
            (self.eval_batch_size >= 0, "eval_batch_size", "must be 0 (the training batch) or positive"),
            (self.lr > 0 and self.puzzle_emb_lr >= 0, "lr", "must be positive"),
            (0 <= self.lr_min_ratio <= 1, "lr_min_ratio", "must be in [0, 1]"),
            (self.lr_warmup_steps >= 0, "lr_warmup_steps", "must be 0 or positive"),
            (self.lr_decay_steps >= 0, "lr_decay_steps", "must be 0 (decay over the whole run) or positive"),
            (0 <= self.beta1 < 1 and 0 <= self.beta2 < 1, "beta1", "betas must be in [0, 1)"),
            (0 < self.ema_decay < 1, "ema_decay", "must be in (0, 1)"),
            (self.log_every >= 1, "log_every", "must be at least 1"),
            (self.targets in TARGETS, "targets", f"must be one of {', '.join(TARGETS)}"),
            (self.targets != "nearest" or self.task == "maze", "targets",
             "nearest is for mazes (the only task with several right answers and a verifier here)"),
        ]
        for ok, key, message in checks:
            if not ok:
                raise HRMError(f"invalid training config: {key} {message}",
                               hint=f"override it with {key}=VALUE")
        self.model_config()  # unknown model options or a bad preset fail now, not after the data is built

    # ----------------------------------------------------------------------------------------------
    def model_config(self, vocab_size: int | None = None, seq_len: int | None = None,
                     num_puzzle_identifiers: int | None = None) -> ModelConfig:
        """The model preset plus `model.*` overrides, shaped for the dataset when its sizes are given."""
        config = get_preset(self.model).with_overrides(**self.model_overrides)
        if config.task != self.task:
            raise HRMError(f"model preset '{self.model}' is for {config.task}, not {self.task}",
                           hint=f"pick a {self.task} model, e.g. model=hrm-{self.task}")
        shape = dict(vocab_size=vocab_size, seq_len=seq_len, num_puzzle_identifiers=num_puzzle_identifiers)
        shape = {k: v for k, v in shape.items() if v is not None}
        return replace(config, **shape)

    def steps_for(self, examples_per_epoch: float) -> tuple[int, int]:
        """(total optimizer steps, steps between evaluations) for a dataset of this size."""
        total = max(1, self.total_steps or int(self.epochs * examples_per_epoch / self.global_batch_size))
        every = self.eval_every or math.ceil(self.eval_interval * examples_per_epoch / self.global_batch_size)
        return total, max(1, min(every, total))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise HRMError(f"unknown training option(s) in the stored config: {', '.join(unknown)}")
        return cls(**data)

    def with_overrides(self, pairs: list[str]) -> TrainConfig:
        """Apply `key=value` / `model.key=value` strings; values are parsed by the field's type."""
        values: dict[str, Any] = {}
        model_overrides = dict(self.model_overrides)
        train_types = typing.get_type_hints(TrainConfig)
        for pair in pairs:
            key, sep, raw = pair.partition("=")
            key = key.strip().removeprefix("--").replace("-", "_")
            if not sep or not key:
                raise HRMError(f"override '{pair}' is not key=value",
                               hint="e.g. lr=3e-4 or model.hidden_size=128")
            if key.startswith("model."):
                name = key.removeprefix("model.")
                model_overrides[name] = parse_model_option(name, raw)
            elif key in train_types and key != "model_overrides":
                values[key] = parse_value(raw, train_types[key], key)
            else:
                known = sorted(set(train_types) - {"model_overrides"})
                raise HRMError(f"unknown training option '{key}'",
                               hint=f"known: {', '.join(known)}; model options as model.NAME=VALUE")
        return replace(self, **values, model_overrides=model_overrides)


def parse_model_option(name: str, raw: str) -> Any:
    """The value of `model.NAME=RAW`, parsed by the ModelConfig field's type."""
    model_types = typing.get_type_hints(ModelConfig)
    if name not in model_types:
        raise HRMError(f"unknown model option '{name}'", hint=f"known: {', '.join(sorted(model_types))}")
    return parse_value(raw, model_types[name], f"model.{name}")


def _type_of(annotation: Any) -> tuple[type, bool]:
    """(base type, optional) of a resolved field annotation such as `int | None`."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        base = [a for a in args if a is not type(None)]
        return base[0], type(None) in args
    return typing.get_origin(annotation) or annotation, False


def parse_value(raw: str, annotation: Any, key: str) -> Any:
    kind, optional = _type_of(annotation)
    text = raw.strip()
    if optional and text.lower() in ("none", "null", "auto", ""):
        return None
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            number = float(text)
            if number != int(number):
                raise ValueError
            return int(number)
        if kind is float:
            return float(text)
        if kind is str:
            return text
    except ValueError:
        raise HRMError(f"{key}={raw}: expected {'an integer' if kind is int else kind.__name__}"
                       + (" or null" if optional else "")) from None
    raise HRMError(f"{key} cannot be set from the command line")


# ----------------------------------------------------------------------------------------------------
# Presets


def _with_recipe(config: TrainConfig, task: str, recipe: str) -> TrainConfig:
    """`config` with the task's own settings for `recipe` (its datasets and what differs for it:
    hrm.tasks.base.Task.train_recipes); model overrides add to the recipe's."""
    settings = dict(get_task(task).train_recipes.get(recipe, {}))
    model = {**config.model_overrides, **settings.pop("model_overrides", {})}
    return replace(config, model_overrides=model, **settings)


def _paper(task: str) -> TrainConfig:
    base = TrainConfig(task=task, model=f"hrm-{task}", global_batch_size=768, epochs=20000, eval_interval=2000,
                       lr=1e-4, lr_warmup_steps=2000, weight_decay=1.0, puzzle_emb_lr=1e-4,
                       puzzle_emb_weight_decay=1.0)
    return _with_recipe(base, task, "paper")


def _trm(task: str, model: str | None = None) -> TrainConfig:
    base = replace(_paper(task), model=model or f"trm-{task}", ema=True, ema_decay=0.999, epochs=50000,
                   eval_interval=5000)
    return _with_recipe(base, task, "trm")


def _cpu(task: str) -> TrainConfig:
    """Tuned so a 2-core machine sees held-out exact accuracy climb within minutes (bench/bench_train_cpu.py).

    The *-tiny HRM (hidden 64, one layer per module) with 4 segments, batch 32, lr 2e-3 after a short
    warmup, and evaluations every 200 steps on a fixed 512-example subset of the test split. For Sudoku
    the token mixer is TRM's MLP across the sequence (no positions): on 2 cores it reaches about 70%
    exact accuracy on sudoku-easy in 600 steps where the attention version is still at 0%. Maze and ARC
    sequences are 11x longer, so their CPU runs demonstrate the pipeline rather than strong accuracy.
    """
    base = TrainConfig(task=task, model=f"hrm-{task}-tiny", model_overrides={"halt_max_steps": 4},
                       global_batch_size=32, epochs=1, total_steps=2000, eval_every=200, eval_limit=512,
                       eval_batch_size=256, lr=2e-3, lr_warmup_steps=100, weight_decay=0.1,
                       puzzle_emb_lr=2e-3, puzzle_emb_weight_decay=0.1, log_every=10)
    return _with_recipe(base, task, "cpu")


def _shipped_sudoku() -> TrainConfig:
    """The recipe of the shipped Sudoku weights (docs/sudoku-training.md): TRM tiny (113,601 parameters,
    T=3, n=6, MLP token mixer), Mmax 8, EMA 0.999, on generated puzzles like published ones. Hours on one
    CPU core and still improving; `--until N` stops early and `--resume` continues. Compiled on a CPU too
    (from step 25,584 of the shipped run): a few minutes of compiling buy 1.2-1.4x faster steps."""
    return replace(_cpu("sudoku"), model="trm-sudoku-tiny", data="sudoku-published",
                   model_overrides={"halt_max_steps": 8, "mixer": "mlp", "pos_encodings": "none"},
                   ema=True, total_steps=100_000, eval_every=1000, eval_limit=500, compile=True)


def _build() -> dict[str, TrainConfig]:
    presets: dict[str, TrainConfig] = {}
    for task in TASKS:
        presets[f"{task}-paper"] = _paper(task)
        presets[f"{task}-trm"] = _trm(task)
        presets[f"{task}-cpu"] = _cpu(task)
    presets["sudoku-trm-att"] = _trm("sudoku", model="trm-sudoku-att")
    presets["sudoku-shipped"] = _shipped_sudoku()
    return {name: replace(config, preset=name) for name, config in presets.items()}


TRAIN_PRESETS: dict[str, TrainConfig] = _build()


def get_train_preset(task: str, name: str = "paper") -> TrainConfig:
    """`name` is a recipe (paper, trm, cpu, trm-att, shipped) for `task`, or a full preset name like sudoku-cpu."""
    if task not in TASKS:
        raise HRMError(f"unknown task '{task}'", hint=f"choose one of: {', '.join(TASKS)}")
    full = name if name in TRAIN_PRESETS else f"{task}-{name}"
    if full not in TRAIN_PRESETS:
        mine = [n.removeprefix(f"{task}-") for n in TRAIN_PRESETS if n.startswith(f"{task}-")]
        raise HRMError(f"unknown training preset '{name}' for {task}",
                       hint=f"choose one of: {', '.join(mine)}")
    config = TRAIN_PRESETS[full]
    if config.task != task:
        raise HRMError(f"preset '{name}' trains {config.task}, not {task}", hint=f"use --task {config.task}")
    return replace(config, model_overrides=dict(config.model_overrides))
