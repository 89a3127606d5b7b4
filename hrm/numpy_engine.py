"""The same model's inference forward in numpy alone, so a one-puzzle `hrm solve` never imports torch.

Importing torch costs 1.7-2.4 s on a 2-core machine while solving a Sudoku costs about 0.03 s, so the
CLI runs small CPU jobs here (docs/performance.md). Every function mirrors its counterpart in
hrm/layers.py and hrm/model.py and is held to it by tests/test_numpy_engine.py (max |difference| in
logits below 1e-4); weights come from the same safetensors files, read by `read_safetensors`.
Inference only: no autograd, no ACT training wrapper.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from hrm.config import ModelConfig, swiglu_width
from hrm.grid_rope import grid_rope_tables
from hrm.grid_window import grid_window, window_mask
from hrm.safetensors_file import read_header, read_safetensors, read_tensors

__all__ = ["NumpyHRM", "expected_shapes", "model_size", "read_safetensors"]
from hrm.errors import WeightsError

_BUFFERS = ("puzzle_emb.weights", "H_init", "L_init")  # not parameters, as in HRM.num_parameters
Rope = tuple[np.ndarray, np.ndarray] | None             # (cos, sin) tables, None without rotary positions


def model_size(path: str | Path) -> tuple[int, int]:
    """(parameters, sequence length) of a weights file, from its header alone (no tensor is read)."""
    header = read_header(path)
    config = config_from_metadata(path, header.metadata)      # checked: a file may say seq_len Infinity
    parameters = sum(math.prod(shape) for name, shape in header.shapes().items() if name not in _BUFFERS)
    return parameters, config.seq_len


# --------------------------------------------------------------------------------------------------
# Layers (hrm/layers.py)


def rms_norm(x: np.ndarray, eps: float) -> np.ndarray:
    return x / np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True) + eps)


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def rope_tables(dim: int, max_len: int, base: float) -> tuple[np.ndarray, np.ndarray]:
    inv_freq = (1.0 / (base ** (np.arange(0, dim, 2, dtype=np.float32) / dim))).astype(np.float32)
    freqs = np.outer(np.arange(max_len, dtype=np.float32), inv_freq)
    emb = np.concatenate((freqs, freqs), axis=-1)
    return np.cos(emb), np.sin(emb)


def position_tables(c: ModelConfig) -> Rope:
    if c.pos_encodings == "rope":
        return rope_tables(c.head_dim, c.full_seq_len, c.rope_theta)
    if c.pos_encodings == "rope2d":
        return grid_rope_tables(c.head_dim, c.seq_len, c.prefix_len, c.rope_theta)
    return None


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """x: [B, S, H, D] rotated in the rotate-half layout."""
    half = x.shape[-1] // 2
    rotated = np.concatenate((-x[..., half:], x[..., :half]), axis=-1)
    return x * cos[:, None, :] + rotated * sin[:, None, :]


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.exp(x - x.max(axis=axis, keepdims=True))
    return x / x.sum(axis=axis, keepdims=True)


class _Block:
    """Post-norm block: h = norm(h + mix(h)); h = norm(h + mlp(h))."""

    def __init__(self, weights: dict[str, np.ndarray], prefix: str, config: ModelConfig) -> None:
        self.eps, self.mixer, self.heads = config.rms_norm_eps, config.mixer, config.num_heads
        if config.mixer == "attention":
            self.qkv = weights[f"{prefix}.self_attn.qkv_proj.weight"].T.copy()
            self.o = weights[f"{prefix}.self_attn.o_proj.weight"].T.copy()
        else:
            self.mix_gate_up = weights[f"{prefix}.mlp_t.gate_up_proj.weight"].T.copy()
            self.mix_down = weights[f"{prefix}.mlp_t.down_proj.weight"].T.copy()
        self.gate_up = weights[f"{prefix}.mlp.gate_up_proj.weight"].T.copy()
        self.down = weights[f"{prefix}.mlp.down_proj.weight"].T.copy()

    def __call__(self, h: np.ndarray, rope: Rope, mask: np.ndarray | None) -> np.ndarray:
        if self.mixer == "attention":
            h = rms_norm(h + self._attention(h, rope, mask), self.eps)
        else:
            ht = h.transpose(0, 2, 1)
            h = rms_norm(ht + _swiglu(ht, self.mix_gate_up, self.mix_down), self.eps).transpose(0, 2, 1)
        return rms_norm(h + _swiglu(h, self.gate_up, self.down), self.eps)

    def _attention(self, x: np.ndarray, rope: Rope, mask: np.ndarray | None) -> np.ndarray:
        batch, seq, hidden = x.shape
        head_dim = hidden // self.heads
        qkv = (x @ self.qkv).reshape(batch, seq, 3, self.heads, head_dim)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        q, k, v = (t.transpose(0, 2, 1, 3) for t in (q, k, v))           # [B, H, S, D]
        scores = (q @ k.transpose(0, 1, 3, 2)) * (1.0 / math.sqrt(head_dim))
        if mask is not None:   # attention_window: keys outside the query's square are not seen
            scores = np.where(mask, scores, np.float32(-np.inf))
        weights = softmax(scores)
        out = (weights @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        return out @ self.o


def _swiglu(x: np.ndarray, gate_up: np.ndarray, down: np.ndarray) -> np.ndarray:
    gate, up = np.split(x @ gate_up, 2, axis=-1)
    return (silu(gate) * up) @ down


class _ReasoningModule:
    def __init__(self, blocks: list[_Block]) -> None:
        self.blocks = blocks

    def __call__(self, state: np.ndarray, injection: np.ndarray, rope: Rope,
                 mask: np.ndarray | None) -> np.ndarray:
        h = state + injection
        for block in self.blocks:
            h = block(h, rope, mask)
        return h


# --------------------------------------------------------------------------------------------------
# The model (hrm/model.py, inference path)


def expected_shapes(c: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor a weights file of config `c` holds (hrm/model.py's state_dict)."""
    d, inner = c.hidden_size, swiglu_width(c.hidden_size, c.expansion)
    shapes: dict[str, tuple[int, ...]] = {"embed_tokens.weight": (c.vocab_size, d), "lm_head.weight": (c.vocab_size, d),
                                          "H_init": (d,), "L_init": (d,)}
    heads = 2 if c.act_continue else 1
    shapes.update({"q_head.weight": (heads, d), "q_head.bias": (heads,)})
    if c.puzzle_emb_ndim:
        shapes["puzzle_emb.weights"] = (c.num_puzzle_identifiers, c.puzzle_emb_ndim)
    if c.pos_encodings == "learned":
        shapes["embed_pos.weight"] = (c.full_seq_len, d)
    modules = [("L_level", c.L_layers)] + ([("H_level", c.H_layers)] if c.arch == "hrm" else [])
    for name, layers in modules:
        for i in range(layers):
            prefix = f"{name}.layers.{i}"
            shapes[f"{prefix}.mlp.gate_up_proj.weight"] = (2 * inner, d)
            shapes[f"{prefix}.mlp.down_proj.weight"] = (d, inner)
            if c.mixer == "attention":
                shapes[f"{prefix}.self_attn.qkv_proj.weight"] = (3 * d, d)
                shapes[f"{prefix}.self_attn.o_proj.weight"] = (d, d)
            else:
                inner_t = swiglu_width(c.full_seq_len, c.expansion)
                shapes[f"{prefix}.mlp_t.gate_up_proj.weight"] = (2 * inner_t, c.full_seq_len)
                shapes[f"{prefix}.mlp_t.down_proj.weight"] = (c.full_seq_len, inner_t)
    return shapes


def config_from_metadata(path: str | Path, metadata: dict[str, str]) -> ModelConfig:
    """The ModelConfig stored in a weights file's metadata, validated (types and ranges)."""
    if "hrm_config" not in metadata:
        raise WeightsError(f"{path} has no hrm model config in its metadata", hint="was it written by hrm?")
    try:
        return ModelConfig.from_json(metadata["hrm_config"])
    except (ValueError, TypeError, RecursionError) as exc:
        raise WeightsError(f"{path}: the stored model config is invalid ({str(exc)[:200]})") from None


def check_shapes(path: str | Path, config: ModelConfig, shapes: dict[str, tuple[int, ...]]) -> None:
    """The tensors present are exactly those the config implies, with their shapes: so the memory a
    model built from the config needs is the memory of the tensors in the file, checked before it is
    allocated (a config may claim 100,000 layers over a file of a few hundred kilobytes)."""
    expected = expected_shapes(config)
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = sorted(k for k in expected if k in shapes and tuple(shapes[k]) != expected[k])
    if missing or unexpected or wrong:
        detail = (missing and f"missing {missing[:3]}") or (unexpected and f"unexpected {unexpected[:3]}") \
            or f"shape mismatch in {wrong[:3]}"
        raise WeightsError(f"{path}: tensors do not match the stored config ({detail})")


class NumpyHRM:
    """HRM or TRM forward in numpy float32, built from a weights file's config and tensors."""

    device = "cpu"

    def __init__(self, config: ModelConfig, tensors: dict[str, np.ndarray]) -> None:
        c = self.config = config
        self._check(tensors)
        self.embed_scale = math.sqrt(c.hidden_size)
        self.embed_tokens = tensors["embed_tokens.weight"]
        self.puzzle_table = tensors.get("puzzle_emb.weights")
        self.embed_pos = tensors.get("embed_pos.weight")
        self._read_canvas(c)
        self.L_level = self._module("L_level", c.L_layers, tensors)
        self.H_level = self._module("H_level", c.H_layers, tensors) if c.arch == "hrm" else None
        self.lm_head = tensors["lm_head.weight"].T.copy()
        self.q_head, self.q_bias = tensors["q_head.weight"].T.copy(), tensors["q_head.bias"]
        self.H_init, self.L_init = tensors["H_init"], tensors["L_init"]
        self._parameters = sum(v.size for k, v in tensors.items() if k not in _BUFFERS)

    @classmethod
    def from_file(cls, path: str | Path) -> tuple[NumpyHRM, dict[str, str]]:
        header = read_header(path)
        config = config_from_metadata(path, header.metadata)
        check_shapes(path, config, header.shapes())     # before any tensor is read
        return cls(config, read_tensors(path, header)), header.metadata

    def with_canvas(self, side: int) -> NumpyHRM:
        """The same weights reading a side x side maze canvas (hrm.export.with_canvas, for this engine):
        only the position tables and the window depend on it."""
        moved = copy.copy(self)
        moved.config = replace(self.config, seq_len=side * side)
        moved._read_canvas(moved.config)
        return moved

    def _read_canvas(self, c: ModelConfig) -> None:
        self.rope = position_tables(c)
        window = grid_window(c.seq_len, c.prefix_len, c.attention_window)
        self.L_mask = window_mask(window) if window is not None else None
        self.H_mask = self.L_mask if c.window_levels == "both" else None

    def _check(self, tensors: dict[str, np.ndarray]) -> None:
        check_shapes("weights", self.config, {k: tuple(v.shape) for k, v in tensors.items()})

    def _module(self, name: str, layers: int, tensors: dict[str, np.ndarray]) -> _ReasoningModule:
        return _ReasoningModule([_Block(tensors, f"{name}.layers.{i}", self.config) for i in range(layers)])

    def num_parameters(self) -> int:
        return self._parameters

    def eval(self) -> NumpyHRM:
        return self

    # ----------------------------------------------------------------------------------------------
    def input_embeddings(self, inputs: np.ndarray, puzzle_ids: np.ndarray) -> np.ndarray:
        c = self.config
        emb = self.embed_tokens[inputs.astype(np.int64)]                         # [B, S, D]
        if self.puzzle_table is not None:
            prefix = np.zeros((len(inputs), c.prefix_len * c.hidden_size), dtype=np.float32)
            prefix[:, :c.puzzle_emb_ndim] = self.puzzle_table[puzzle_ids.astype(np.int64)]
            emb = np.concatenate((prefix.reshape(-1, c.prefix_len, c.hidden_size), emb), axis=1)
        if self.embed_pos is not None:
            emb = np.float32(0.707106781) * (emb + self.embed_pos)
        return np.float32(self.embed_scale) * emb

    def initial_state(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        shape = (batch_size, self.config.full_seq_len, self.config.hidden_size)
        return np.broadcast_to(self.H_init, shape).copy(), np.broadcast_to(self.L_init, shape).copy()

    def _L(self, z_L: np.ndarray, injection: np.ndarray, trace: list | None) -> np.ndarray:
        new = self.L_level(z_L, injection, self.rope, self.L_mask)
        if trace is not None:
            flat_new, flat_old = new.reshape(len(new), -1), z_L.reshape(len(z_L), -1)
            change = np.linalg.norm(flat_new - flat_old, axis=1)
            trace.append(change / np.maximum(np.linalg.norm(flat_old, axis=1), 1e-6))
        return new

    def _cycles(self, z_H: np.ndarray, z_L: np.ndarray, x: np.ndarray,
                trace: list | None) -> tuple[np.ndarray, np.ndarray]:
        """N high-level updates, each after T low-level ones. HRM updates z_H with H_level; TRM's single
        network does both updates. Inference needs no split into no-grad and grad calls."""
        high = self.H_level if self.H_level is not None else self.L_level
        for _ in range(self.config.H_cycles):
            for _ in range(self.config.L_cycles):
                z_L = self._L(z_L, z_H + x, trace)
            z_H = high(z_H, z_L, self.rope, self.H_mask)
        return z_H, z_L

    def segment(self, z_H: np.ndarray, z_L: np.ndarray, inputs: np.ndarray, puzzle_ids: np.ndarray,
                trace: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One segment: (z_H, z_L) -> (z_H, z_L, logits [B, S, V], q_logits [B, 1|2])."""
        x = self.input_embeddings(inputs, puzzle_ids)
        z_H, z_L = self._cycles(z_H, z_L, x, trace)
        logits = (z_H @ self.lm_head)[:, self.config.prefix_len:]
        q_logits = z_H[:, 0] @ self.q_head + self.q_bias
        return z_H, z_L, logits, q_logits

    def wants_to_halt(self, q_logits: np.ndarray) -> np.ndarray:
        """HRM halts when q_halt > q_continue; TRM when the halt logit is positive."""
        if self.config.act_continue:
            return q_logits[:, 0] > q_logits[:, 1]
        return q_logits[:, 0] > 0
