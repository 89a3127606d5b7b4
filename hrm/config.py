"""Model configuration: one dataclass that serialises to JSON and travels inside every weights file.

Presets follow the HRM reference code's configs and README commands, and TRM's README recipes.
`hrm-*` presets are the paper's architecture; `trm-*` the Tiny Recursive Model variant; `*-tiny`
shrink hidden size and depth for tests and CPU demos.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from hrm.errors import HRMError


def task_shape(task: str) -> tuple[int, int]:
    """(vocab_size, seq_len) of a task's tokens, as the task defines them."""
    from hrm.tasks import get_task

    spec = get_task(task)
    return spec.vocab_size, spec.seq_len


def swiglu_width(hidden: int, expansion: float) -> int:
    """SwiGLU inner width: round(expansion * hidden * 2/3) rounded up to a multiple of 256."""
    inner = round(expansion * hidden * 2 / 3)
    return -(-inner // 256) * 256


# The ranges a model config may take (read from any weights file, so they bound what it can allocate):
# generous for every real model (the paper's are hidden 512, 4 + 4 layers, Mmax 16, 30x30 grids).
CONFIG_RANGES: dict[str, tuple[float, float]] = {
    "vocab_size": (2, 1024), "seq_len": (1, 4096), "num_puzzle_identifiers": (1, 4_000_000),
    "puzzle_emb_ndim": (0, 8192), "puzzle_emb_len": (0, 256), "hidden_size": (1, 8192), "num_heads": (1, 256),
    "expansion": (0.01, 64.0), "H_layers": (0, 32), "L_layers": (1, 32), "H_cycles": (1, 32), "L_cycles": (1, 32),
    "grad_cycles": (1, 32),
    "halt_max_steps": (1, 256), "halt_min_steps": (1, 256), "halt_exploration_prob": (0.0, 1.0),
    "rms_norm_eps": (0.0, 1.0),
    "rope_theta": (1.0, 1e9), "attention_window": (0, 255),
}


@dataclass(frozen=True)
class ModelConfig:
    arch: str = "hrm"                   # "hrm": two modules, one-step gradient; "trm": one net, full recursion
    task: str = "sudoku"
    vocab_size: int = 11
    seq_len: int = 81
    num_puzzle_identifiers: int = 1     # ARC: one per augmented puzzle; Sudoku/Maze: one shared prefix
    puzzle_emb_ndim: int = 512          # 0 disables the puzzle embedding
    puzzle_emb_len: int = 0             # prefix tokens; 0 = ceil(puzzle_emb_ndim / hidden_size) (HRM); TRM uses 16
    hidden_size: int = 512
    num_heads: int = 8
    expansion: float = 4.0
    H_layers: int = 4                   # ignored by TRM (one shared net of L_layers)
    L_layers: int = 4
    H_cycles: int = 2                   # HRM: N high-level cycles; TRM: T recursions
    L_cycles: int = 2                   # HRM: T low-level steps per cycle; TRM: n latent updates
    grad_cycles: int = 1                # TRM: recursions with backprop, the last of the T (the paper: 1)
    halt_max_steps: int = 16            # deep-supervision segments (Mmax)
    halt_min_steps: int = 1             # inference: adaptive solving never stops before this segment
    halt_exploration_prob: float = 0.1
    pos_encodings: str = "rope"         # rope | rope2d (row and column of a square grid) | learned | none
    mixer: str = "attention"            # attention | mlp (TRM's MLP token mixer over the sequence axis)
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    forward_dtype: str = "bfloat16"     # used on CUDA; CPU always computes in float32
    loss_type: str = "stablemax"        # stablemax | softmax
    act_continue: bool = True           # HRM's Q-continue head and bootstrapped target; TRM drops it
    attention_backend: str = "auto"     # auto | sdpa | flash
    attention_window: int = 0           # 0: full attention (the papers); K (odd): each grid cell sees its K x K square
    window_levels: str = "both"         # which updates the window applies to: both, or L only (H attends globally)

    def __post_init__(self) -> None:
        self._check_types_and_ranges()
        checks = [
            (self.arch in ("hrm", "trm"), "arch must be 'hrm' or 'trm'"),
            (self.hidden_size % self.num_heads == 0, "hidden_size must be divisible by num_heads"),
            (self.pos_encodings in ("rope", "rope2d", "learned", "none"),
             "pos_encodings must be rope, rope2d, learned or none"),
            *self._rope2d_checks(),
            (self.mixer in ("attention", "mlp"), "mixer must be attention or mlp"),
            (self.loss_type in ("stablemax", "softmax"), "loss_type must be stablemax or softmax"),
            (self.attention_backend in ("auto", "sdpa", "flash"), "attention_backend must be auto, sdpa or flash"),
            (self.halt_max_steps >= 1, "halt_max_steps must be at least 1"),
            (self.H_cycles >= 1 and self.L_cycles >= 1, "H_cycles and L_cycles must be at least 1"),
            (self.grad_cycles <= self.H_cycles, "grad_cycles cannot exceed H_cycles"),
            (self.grad_cycles == 1 or self.arch == "trm", "grad_cycles is TRM's (HRM has the one-step gradient)"),
            *self._window_checks(),
        ]
        for ok, message in checks:
            if not ok:
                raise HRMError(f"invalid model config: {message}")

    def _check_types_and_ranges(self) -> None:
        """Every field has its type and a sane range (CONFIG_RANGES) before anything is sized from it: a
        file's config may say 100,000 layers or num_heads 0."""
        for f in fields(self):
            value = getattr(self, f.name)
            kind = {"int": int, "float": float, "str": str, "bool": bool}[str(f.type)]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise HRMError(f"invalid model config: {f.name} must be {kind.__name__}, not {value!r:.40}")
            low, high = CONFIG_RANGES.get(f.name, (None, None))
            if low is not None and not (low <= value <= high):   # NaN fails this too
                raise HRMError(f"invalid model config: {f.name} = {value!r:.40} is outside {low}..{high}")

    def _rope2d_checks(self) -> list[tuple[bool, str]]:
        if self.pos_encodings != "rope2d":
            return []
        return [(math.isqrt(self.seq_len) ** 2 == self.seq_len, "rope2d needs a square grid (seq_len n*n)"),
                (self.head_dim % 4 == 0, "rope2d needs hidden_size / num_heads divisible by 4")]

    def _window_checks(self) -> list[tuple[bool, str]]:
        if self.attention_window == 0:
            return [(self.window_levels in ("both", "L"), "window_levels must be both or L")]
        return [
            (self.attention_window % 2 == 1, "attention_window must be 0 or odd (a square centred on the cell)"),
            (self.mixer == "attention", "attention_window needs mixer=attention"),
            (math.isqrt(self.seq_len) ** 2 == self.seq_len, "attention_window needs a square grid (seq_len n*n)"),
            (self.window_levels in ("both", "L"), "window_levels must be both or L"),
        ]

    @property
    def prefix_len(self) -> int:
        """Number of puzzle-embedding tokens prepended to the sequence."""
        if self.puzzle_emb_ndim == 0:
            return 0
        return self.puzzle_emb_len or math.ceil(self.puzzle_emb_ndim / self.hidden_size)

    @property
    def full_seq_len(self) -> int:
        return self.seq_len + self.prefix_len

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        if not isinstance(data, dict):
            raise HRMError(f"invalid model config: a JSON object is needed, not {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:   # bad JSON, deep nesting, numbers of thousands of digits
            raise HRMError(f"invalid model config: not readable JSON ({str(exc)[:120]})") from None
        return cls.from_dict(data)

    def with_overrides(self, **overrides: Any) -> ModelConfig:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise HRMError(f"unknown model option(s): {', '.join(unknown)}", hint=f"known: {', '.join(sorted(known))}")
        return replace(self, **overrides)


def _for_task(config: ModelConfig, task: str) -> ModelConfig:
    vocab_size, seq_len = task_shape(task)
    return replace(config, task=task, vocab_size=vocab_size, seq_len=seq_len)


_HRM = ModelConfig()
_TRM_ATT = ModelConfig(arch="trm", H_layers=0, L_layers=2, H_cycles=3, L_cycles=4, puzzle_emb_len=16,
                       act_continue=False)
_TINY = dict(hidden_size=64, num_heads=4, expansion=2.0, puzzle_emb_ndim=64)


def _build_presets() -> dict[str, ModelConfig]:
    from hrm.tasks import BUILTIN_TASKS

    presets: dict[str, ModelConfig] = {}
    for task in BUILTIN_TASKS:
        presets[f"hrm-{task}"] = _for_task(_HRM, task)
        presets[f"trm-{task}"] = _for_task(_TRM_ATT, task)
    # TRM's Sudoku recipe: MLP token mixer, no positions, n=6, T=3 (TRM's README).
    presets["trm-sudoku"] = replace(presets["trm-sudoku"], mixer="mlp", pos_encodings="none", L_cycles=6)
    presets["trm-sudoku-att"] = replace(presets["trm-sudoku"], mixer="attention", pos_encodings="rope")
    for name in list(presets):
        tiny = dict(_TINY)
        if presets[name].arch == "hrm":
            tiny.update(H_layers=1, L_layers=1)
        else:
            tiny.update(L_layers=1, puzzle_emb_len=1)
        presets[f"{name}-tiny"] = replace(presets[name], **tiny)
    return presets


PRESETS: dict[str, ModelConfig] = _build_presets()


def get_preset(name: str) -> ModelConfig:
    if name not in PRESETS:
        raise HRMError(f"unknown model preset '{name}'", hint=f"choose one of: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def canvas_problem(c: ModelConfig) -> str | None:
    """Why weights with this config cannot read another maze canvas (None: they can). Their tensors and
    behaviour must not depend on it: attention as the token mixer, and positions by row and column
    (rope2d) or none."""
    if c.task != "maze":
        return f"is for maze models; this one is for {c.task}"
    if c.mixer != "attention":
        return "needs an attention model: the MLP token mixer is sized to its canvas"
    if c.pos_encodings not in ("rope2d", "none"):
        return f"needs positions by row and column (rope2d) or none, not {c.pos_encodings}"
    return None
