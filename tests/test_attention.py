"""Attention backends and RoPE: SDPA equals the textbook formula, flash-attn equals SDPA (on CUDA)."""

from __future__ import annotations

import math

import pytest
import torch

from hrm.errors import DeviceError
from hrm.kernels import _flash_attn_func, attention
from hrm.layers import RotaryEmbedding, apply_rope


def _qkv(dtype=torch.float32, device="cpu", batch=2, seq=17, heads=3, dim=16):
    g = torch.Generator().manual_seed(0)
    return [torch.randn(batch, seq, heads, dim, generator=g).to(device=device, dtype=dtype) for _ in range(3)]


def test_sdpa_matches_the_textbook_formula():
    q, k, v = _qkv()
    scores = torch.einsum("bshd,bthd->bhst", q, k) / math.sqrt(q.shape[-1])
    expected = torch.einsum("bhst,bthd->bshd", scores.softmax(-1), v)
    torch.testing.assert_close(attention(q, k, v, "sdpa"), expected, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attention(q, k, v, "auto"), expected, atol=1e-5, rtol=1e-5)


def test_flash_backend_refuses_clearly_when_unusable():
    q, k, v = _qkv()  # CPU float32: flash-attn can never take these
    with pytest.raises(DeviceError, match="flash"):
        attention(q, k, v, "flash")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.skipif(_flash_attn_func() is None, reason="flash-attn is not installed (pip install 'hrm[cuda]')")
def test_flash_attn_agrees_with_sdpa_in_bf16():
    q, k, v = _qkv(torch.bfloat16, "cuda", batch=4, seq=82, heads=8, dim=64)
    flash = attention(q, k, v, "flash").float()
    sdpa = attention(q, k, v, "sdpa").float()
    torch.testing.assert_close(flash, sdpa, atol=2e-2, rtol=2e-2)


def test_rope_scores_depend_only_on_relative_position():
    rope = RotaryEmbedding(dim=16, max_len=40, base=10000.0)
    q = torch.randn(1, 1, 1, 16).expand(1, 40, 1, 16)
    k = torch.randn(1, 1, 1, 16).expand(1, 40, 1, 16)
    rq, rk = apply_rope(q, rope.cos, rope.sin), apply_rope(k, rope.cos, rope.sin)
    score = lambda m, n: float((rq[0, m, 0] * rk[0, n, 0]).sum())  # noqa: E731
    assert score(5, 2) == pytest.approx(score(30, 27), rel=1e-4, abs=1e-4)
    assert score(0, 0) == pytest.approx(float((q[0, 0, 0] * k[0, 0, 0]).sum()), rel=1e-5)  # position 0: identity
    torch.testing.assert_close(rq.norm(dim=-1), q.norm(dim=-1))  # a rotation keeps lengths


def test_rope_equals_the_rotate_half_formula_and_rotates_stacked_q_and_k_alike():
    """apply_rope folds rotate_half's sign into the sin table and rotates q and k in one call; both must
    give exactly the bits of x * cos + [-x2, x1] * sin applied to each tensor on its own."""
    rope = RotaryEmbedding(dim=16, max_len=17, base=10000.0)
    q, k, _ = _qkv()

    def textbook(x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=-1)
        return x * rope.cos[:, None, :] + torch.cat((-x2, x1), dim=-1) * rope.sin[:, None, :]

    assert torch.equal(apply_rope(q, rope.cos, rope.sin), textbook(q))
    stacked = apply_rope(torch.stack((q, k), dim=2), rope.cos, rope.sin)   # [B, S, 2, H, D]
    assert torch.equal(stacked[:, :, 0], textbook(q)) and torch.equal(stacked[:, :, 1], textbook(k))
