"""Attention backend choice in one place: PyTorch SDPA everywhere, flash-attn on CUDA when usable."""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from hrm.errors import DeviceError


@functools.cache
def _flash_attn_func() -> Callable[..., torch.Tensor] | None:
    try:
        from flash_attn_interface import flash_attn_func  # FlashAttention 3 (Hopper)
    except ImportError:
        try:
            from flash_attn import flash_attn_func  # FlashAttention 2
        except ImportError:
            return None
    return flash_attn_func


def flash_usable(q: torch.Tensor) -> bool:
    return _flash_attn_func() is not None and q.is_cuda and q.dtype in (torch.float16, torch.bfloat16)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: str = "auto") -> torch.Tensor:
    """Bidirectional attention without mask. q, k, v: [B, S, H, D] -> [B, S, H, D]."""
    if backend == "flash" and not flash_usable(q):
        reason = ("flash-attn is not installed (pip install 'hrm[cuda]')" if _flash_attn_func() is None
                  else "flash-attn needs CUDA tensors in float16/bfloat16")
        raise DeviceError(f"attention backend 'flash' is unusable: {reason}", hint="use attention_backend=sdpa")
    if backend in ("auto", "flash") and flash_usable(q):
        out = _flash_attn_func()(q, k, v, causal=False)
        return out[0] if isinstance(out, tuple) else out
    out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return out.transpose(1, 2)
