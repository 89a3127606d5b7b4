"""Building blocks of HRM/TRM (the reference's models/layers.py).

Post-norm blocks with weightless RMSNorm, fused bias-free qkv attention with RoPE, SwiGLU with the
inner width rounded up to a multiple of 256, TRM's MLP token mixer, truncated LeCun-normal init.
Linear and embedding weights are fp32 masters cast to the activation dtype at call time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from hrm.config import swiglu_width
from hrm.grid_rope import grid_rope_tables
from hrm.grid_window import GridWindow
from hrm.kernels import attention
from hrm.local_attention import Tiles, local_attention

_TRUNC_STD_CORRECTION = 0.87962566103423978  # std of a standard normal truncated at +-2


def trunc_normal_(tensor: torch.Tensor, std: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Truncated normal at +-2 sigma whose realised std equals `std` (JAX-style correction).

    PyTorch's trunc_normal_ truncates a N(0, std) and so has a smaller std than asked.
    """
    with torch.no_grad():
        if tensor.is_meta:  # shape-only models (parameter counting) need no values
            return tensor
        if std == 0:
            return tensor.zero_()
        # inverse-CDF sampling of a standard normal truncated at +-2, then scaled
        lower, upper = torch.special.ndtr(torch.tensor(-2.0)), torch.special.ndtr(torch.tensor(2.0))
        u = torch.empty(tensor.shape, dtype=torch.float64).uniform_(float(lower), float(upper), generator=generator)
        samples = torch.special.ndtri(u).clamp_(-2.0, 2.0) * (std / _TRUNC_STD_CORRECTION)
        return tensor.copy_(samples)


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    """Weightless RMSNorm computed in fp32, cast back to the input dtype."""
    dtype = x.dtype
    x = x.float()
    return (x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)).to(dtype)


class CastedLinear(nn.Module):
    """Linear layer with an fp32 master weight (truncated LeCun-normal) cast to the input dtype."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False) -> None:
        super().__init__()
        weight = torch.empty(out_features, in_features)
        self.weight = nn.Parameter(trunc_normal_(weight, std=1 / math.sqrt(in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, self.weight.to(x.dtype), bias)


class CastedEmbedding(nn.Module):
    def __init__(self, num: int, dim: int, init_std: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_(torch.empty(num, dim), std=init_std))

    def forward(self, ids: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        return F.embedding(ids, self.weight.to(dtype))


class RotaryEmbedding(nn.Module):
    """RoPE cos/sin tables over the flattened sequence (prefix tokens first), fp32."""

    def __init__(self, dim: int, max_len: int, base: float) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        freqs = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)  # rotate-half (non-interleaved) layout
        self.register_buffer("cos", emb.cos(), persistent=False)
        self.register_buffer("sin", emb.sin(), persistent=False)


class GridRotaryEmbedding(nn.Module):
    """rope2d: RoPE tables that turn with a cell's row and column (hrm/grid_rope.py), fp32."""

    def __init__(self, dim: int, seq_len: int, prefix: int, base: float) -> None:
        super().__init__()
        cos, sin = grid_rope_tables(dim, seq_len, prefix, base)
        self.register_buffer("cos", torch.from_numpy(cos), persistent=False)
        self.register_buffer("sin", torch.from_numpy(sin), persistent=False)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate-half RoPE: x * cos + rotate_half(x) * sin, in fp32. x: [B, S, ..., D]; cos/sin: [S, D].

    rotate_half(x) = [-x2, x1] is written as [x2, x1] * [-1, 1]: the sign moves onto the small sin
    table, which saves a pass over x and gives the same bits.
    """
    dtype = x.dtype
    x = x.float()
    x1, x2 = x.chunk(2, dim=-1)
    sin1, sin2 = sin.chunk(2, dim=-1)
    table_shape = (cos.shape[0], *[1] * (x.dim() - 3), cos.shape[-1])  # broadcast over the dims between S and D
    cos, signed_sin = cos.view(table_shape), torch.cat((-sin1, sin2), dim=-1).view(table_shape)
    return (x * cos + torch.cat((x2, x1), dim=-1) * signed_sin).to(dtype)


class Attention(nn.Module):
    """Non-causal multi-head attention with one fused bias-free qkv projection."""

    def __init__(self, hidden: int, num_heads: int, backend: str) -> None:
        super().__init__()
        self.num_heads, self.head_dim, self.backend = num_heads, hidden // num_heads, backend
        self.qkv_proj = CastedLinear(hidden, 3 * hidden)
        self.o_proj = CastedLinear(hidden, hidden)

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None,
                window: GridWindow | Tiles | None = None) -> torch.Tensor:
        batch, seq, _ = x.shape
        qkv = self.qkv_proj(x).view(batch, seq, 3, self.num_heads, self.head_dim)
        qk, v = qkv[:, :, :2], qkv[:, :, 2]
        if rope is not None:
            qk = apply_rope(qk, *rope)  # q and k rotated in one pass
        q, k = qk.unbind(dim=2)  # each [B, S, H, D]
        out = local_attention(q, k, v, window) if window is not None else attention(q, k, v, self.backend)
        return self.o_proj(out.reshape(batch, seq, -1))


class SwiGLU(nn.Module):
    def __init__(self, hidden: int, expansion: float) -> None:
        super().__init__()
        inner = swiglu_width(hidden, expansion)
        self.gate_up_proj = CastedLinear(hidden, 2 * inner)
        self.down_proj = CastedLinear(inner, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    """Post-norm transformer block: h = norm(h + mix(h)); h = norm(h + mlp(h)).

    The token mixer is attention or, for TRM's MLP variant, a SwiGLU across the sequence axis.
    """

    def __init__(self, hidden: int, num_heads: int, expansion: float, eps: float, mixer: str,
                 seq_len: int, backend: str) -> None:
        super().__init__()
        self.eps, self.mixer = eps, mixer
        if mixer == "attention":
            self.self_attn = Attention(hidden, num_heads, backend)
        else:
            self.mlp_t = SwiGLU(seq_len, expansion)
        self.mlp = SwiGLU(hidden, expansion)

    def forward(self, h: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None,
                window: GridWindow | Tiles | None = None) -> torch.Tensor:
        if self.mixer == "attention":
            h = rms_norm(h + self.self_attn(h, rope, window), self.eps)
        else:
            ht = h.transpose(1, 2)  # [B, D, S]: mix along the sequence
            h = rms_norm(ht + self.mlp_t(ht), self.eps).transpose(1, 2)
        return rms_norm(h + self.mlp(h), self.eps)


class ReasoningModule(nn.Module):
    """A stack of blocks whose input is the state plus an additive injection."""

    def __init__(self, blocks: list[Block]) -> None:
        super().__init__()
        self.layers = nn.ModuleList(blocks)

    def forward(self, state: torch.Tensor, injection: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None,
                window: GridWindow | Tiles | None = None) -> torch.Tensor:
        h = state + injection
        for layer in self.layers:
            h = layer(h, rope, window)
        return h
