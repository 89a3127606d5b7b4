"""The Hierarchical Reasoning Model (and TRM), written to be read beside the HRM paper (Wang et al.
2025, arXiv:2506.21734) and the TRM paper (Jolicoeur-Martineau 2025, arXiv:2510.04871).

Shape of one ACT segment (the reference code's inner forward and ACT wrapper):
    x   = scale * [puzzle prefix ; token embeddings]
    HRM: N*T - 1 low-level calls and N - 1 high-level calls without grad, then one L and one H call
         with grad (the one-step gradient). L gets z_H + x, H gets z_L.
    TRM: T - 1 full recursions without grad, then one recursion (n L-calls + 1 H-call) with grad,
         one shared network for both updates (TRM). `grad_cycles` > 1 (not the paper's) backpropagates
         through that many of the last recursions.
    logits = lm_head(z_H) without the prefix; q = q_head(z_H[:, 0])
The carry (z_H, z_L) is detached between segments. `HRM.forward` is the ACT wrapper with the
reference's training semantics (halted-slot replacement, exploration, bootstrapped Q target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from hrm.config import ModelConfig
from hrm.grid_window import GridWindow, grid_window
from hrm.layers import (
    Block,
    CastedEmbedding,
    CastedLinear,
    GridRotaryEmbedding,
    ReasoningModule,
    RotaryEmbedding,
    trunc_normal_,
)
from hrm.local_attention import Tiles, tiles_for

Batch = dict[str, torch.Tensor]   # inputs [B, S] int, labels [B, S] int64 (-100 ignored), puzzle_identifiers [B]
Rope = tuple[torch.Tensor, torch.Tensor] | None
State = tuple[torch.Tensor, torch.Tensor]   # (z_H, z_L)


@dataclass
class Carry:
    z_H: torch.Tensor        # [B, P + S, D]
    z_L: torch.Tensor        # [B, P + S, D]
    steps: torch.Tensor      # [B] int32 segments run on the current example
    halted: torch.Tensor     # [B] bool; a halted slot takes the next example on the next call
    data: Batch              # the example each slot is working on


class PuzzleEmbedding(nn.Module):
    """Per-puzzle vectors (the reference's models/sparse_embedding.py): a zero-initialised buffer
    trained by sign-SGD, not by Adam.

    In training only the batch's rows enter autograd, as the leaf tensor `local`; the sparse
    optimizer reads `local.grad` and `local_ids` and updates those rows of the table.
    """

    def __init__(self, num_identifiers: int, dim: int) -> None:
        super().__init__()
        self.register_buffer("weights", torch.zeros(num_identifiers, dim))
        self.local: torch.Tensor | None = None
        self.local_ids: torch.Tensor | None = None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = self.weights[ids.long()]
        if self.training and torch.is_grad_enabled():
            self.local = rows.detach().clone().requires_grad_(True)
            self.local_ids = ids.long()
            return self.local
        return rows


class HRM(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = self.config = config
        self.embed_scale = math.sqrt(c.hidden_size)
        embed_std = 1.0 / self.embed_scale
        self.embed_tokens = CastedEmbedding(c.vocab_size, c.hidden_size, init_std=embed_std)
        self.puzzle_emb = PuzzleEmbedding(c.num_puzzle_identifiers, c.puzzle_emb_ndim) if c.puzzle_emb_ndim else None
        if c.pos_encodings == "learned":
            self.embed_pos = CastedEmbedding(c.full_seq_len, c.hidden_size, init_std=embed_std)
        if c.pos_encodings == "rope":
            self.rotary = RotaryEmbedding(c.head_dim, c.full_seq_len, c.rope_theta)
        if c.pos_encodings == "rope2d":
            self.rotary = GridRotaryEmbedding(c.head_dim, c.seq_len, c.prefix_len, c.rope_theta)
        # attention_window: the L updates attend locally; the H updates too unless window_levels is "L"
        self.L_window = grid_window(c.seq_len, c.prefix_len, c.attention_window)
        self.H_window = self.L_window if c.window_levels == "both" else None

        def module(num_layers: int) -> ReasoningModule:
            return ReasoningModule([Block(c.hidden_size, c.num_heads, c.expansion, c.rms_norm_eps, c.mixer,
                                          c.full_seq_len, c.attention_backend) for _ in range(num_layers)])

        self.L_level = module(c.L_layers)
        if c.arch == "hrm":  # TRM has no H_level: its single net (L_level) does both updates
            self.H_level = module(c.H_layers)

        self.lm_head = CastedLinear(c.hidden_size, c.vocab_size)
        self.q_head = CastedLinear(c.hidden_size, 2 if c.act_continue else 1, bias=True)
        with torch.no_grad():  # "for faster bootstrapping": q starts at sigmoid(-5)
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        self.register_buffer("H_init", trunc_normal_(torch.empty(c.hidden_size), std=1.0))
        self.register_buffer("L_init", trunc_normal_(torch.empty(c.hidden_size), std=1.0))

    # ----------------------------------------------------------------------------------------------
    def num_parameters(self) -> int:
        """Trainable parameters (the puzzle table is a buffer and not counted, as in the reference)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    @property
    def device(self) -> torch.device:
        return self.embed_tokens.weight.device

    def compute_dtype(self) -> torch.dtype:
        """bf16 forward on CUDA (fp32 master weights); fp32 on CPU and MPS."""
        if self.device.type == "cuda" and self.config.forward_dtype == "bfloat16":
            return torch.bfloat16
        return torch.float32

    def _rope(self) -> Rope:
        return (self.rotary.cos, self.rotary.sin) if self.config.pos_encodings in ("rope", "rope2d") else None

    # ----------------------------------------------------------------------------------------------
    def input_embeddings(self, inputs: torch.Tensor, puzzle_ids: torch.Tensor) -> torch.Tensor:
        c, dtype = self.config, self.compute_dtype()
        emb = self.embed_tokens(inputs.long(), dtype)                         # [B, S, D]
        if self.puzzle_emb is not None:
            prefix = self.puzzle_emb(puzzle_ids).to(dtype)                    # [B, ndim]
            prefix = F.pad(prefix, (0, c.prefix_len * c.hidden_size - c.puzzle_emb_ndim))
            emb = torch.cat((prefix.view(-1, c.prefix_len, c.hidden_size), emb), dim=1)  # [B, P + S, D]
        if c.pos_encodings == "learned":
            emb = 0.707106781 * (emb + self.embed_pos.weight.to(dtype))      # keep unit variance
        return self.embed_scale * emb

    def initial_state(self, batch_size: int) -> State:
        shape = (batch_size, self.config.full_seq_len, self.config.hidden_size)
        dtype = self.compute_dtype()
        return self.H_init.to(dtype).expand(shape).clone(), self.L_init.to(dtype).expand(shape).clone()

    def _tiles(self, window: GridWindow | None) -> Tiles | None:
        """The window's kernel inputs, resolved here, outside the modules torch.compile may wrap."""
        return tiles_for(window, self.device, self.compute_dtype()) if window is not None else None

    def _L(self, z_L: torch.Tensor, injection: torch.Tensor, rope: Rope, trace: list | None) -> torch.Tensor:
        new = self.L_level(z_L, injection, rope, self._tiles(self.L_window))
        if trace is not None:  # relative change of the low-level state per call (hierarchical convergence)
            with torch.no_grad():
                delta = (new - z_L).float().flatten(1).norm(dim=1) / z_L.float().flatten(1).norm(dim=1).clamp_min(1e-6)
            trace.append(delta)
        return new

    def _hrm_cycles(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor, rope: Rope,
                    trace: list | None) -> State:
        N, T = self.config.H_cycles, self.config.L_cycles
        with torch.no_grad():
            for h_step in range(N):
                for l_step in range(T):
                    if not (h_step == N - 1 and l_step == T - 1):
                        z_L = self._L(z_L, z_H + x, rope, trace)
                if h_step != N - 1:
                    z_H = self.H_level(z_H, z_L, rope, self._tiles(self.H_window))
        # one-step gradient: only the final L and H calls are recorded by autograd
        z_L = self._L(z_L, z_H + x, rope, trace)
        z_H = self.H_level(z_H, z_L, rope, self._tiles(self.H_window))
        return z_H, z_L

    def _trm_recursion(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor, rope: Rope,
                       trace: list | None) -> State:
        for _ in range(self.config.L_cycles):      # n latent updates: z <- f(z + y + x)
            z_L = self._L(z_L, z_H + x, rope, trace)
        z_H = self.L_level(z_H, z_L, rope, self._tiles(self.H_window))  # answer update: y <- f(y + z)
        return z_H, z_L

    def _trm_cycles(self, z_H: torch.Tensor, z_L: torch.Tensor, x: torch.Tensor, rope: Rope,
                    trace: list | None) -> State:
        with torch.no_grad():
            for _ in range(self.config.H_cycles - self.config.grad_cycles):
                z_H, z_L = self._trm_recursion(z_H, z_L, x, rope, trace)
        for _ in range(self.config.grad_cycles):  # full backprop through the last one (the paper) or more
            z_H, z_L = self._trm_recursion(z_H, z_L, x, rope, trace)
        return z_H, z_L

    def segment(self, z_H: torch.Tensor, z_L: torch.Tensor, data: Batch,
                trace: list | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """One deep-supervision segment: (z_H, z_L) -> (z_H, z_L, logits [B, S, V], q_logits [B, 1|2] fp32)."""
        x = self.input_embeddings(data["inputs"], data["puzzle_identifiers"])
        cycles = self._hrm_cycles if self.config.arch == "hrm" else self._trm_cycles
        z_H, z_L = cycles(z_H, z_L, x, self._rope(), trace)
        logits = self.lm_head(z_H)[:, self.config.prefix_len:]
        q_logits = self.q_head(z_H[:, 0]).float()
        return z_H, z_L, logits, q_logits

    # ----------------------------------------------------------------------------------------------
    def initial_carry(self, batch: Batch) -> Carry:
        batch_size = batch["inputs"].shape[0]
        z_H, z_L = self.initial_state(batch_size)
        return Carry(z_H=z_H, z_L=z_L,
                     steps=torch.zeros(batch_size, dtype=torch.int32, device=self.device),
                     halted=torch.ones(batch_size, dtype=torch.bool, device=self.device),
                     data={k: torch.zeros_like(v) for k, v in batch.items()})

    def forward(self, carry: Carry, batch: Batch, max_steps: int | None = None) -> tuple[Carry, dict]:
        """ACT wrapper: one segment for every slot. Halted slots take the batch's new example and a
        fresh state; the others keep their example and state. Eval mode halts only at max_steps."""
        c = self.config
        max_steps = max_steps or c.halt_max_steps
        reset = carry.halted
        data = {k: torch.where(reset.view(-1, *[1] * (v.ndim - 1)), v, carry.data[k]) for k, v in batch.items()}
        H0, L0 = self.initial_state(reset.shape[0])
        z_H = torch.where(reset.view(-1, 1, 1), H0, carry.z_H)
        z_L = torch.where(reset.view(-1, 1, 1), L0, carry.z_L)
        steps = torch.where(reset, 0, carry.steps) + 1

        z_H, z_L, logits, q_logits = self.segment(z_H, z_L, data)
        outputs = {"logits": logits, "q_halt_logits": q_logits[:, 0],
                   "q_continue_logits": q_logits[:, 1] if c.act_continue else None}

        with torch.no_grad():
            is_last = steps >= max_steps
            halted = is_last
            if self.training and max_steps > 1:
                halted = halted | self.wants_to_halt(q_logits)
                explore = torch.rand_like(q_logits[:, 0]) < c.halt_exploration_prob
                min_steps = explore * torch.randint_like(steps, low=2, high=max_steps + 1)
                halted = halted & (steps >= min_steps)
                if c.act_continue:  # bootstrapped target from a second forward on the new state
                    next_q = self.segment(z_H, z_L, data)[3]
                    next_q_halt, next_q_continue = next_q[:, 0], next_q[:, 1]
                    outputs["target_q_continue"] = torch.sigmoid(
                        torch.where(is_last, next_q_halt, torch.maximum(next_q_halt, next_q_continue)))
        return Carry(z_H.detach(), z_L.detach(), steps, halted, data), outputs

    def wants_to_halt(self, q_logits: torch.Tensor) -> torch.Tensor:
        """HRM halts when q_halt > q_continue; TRM when the halt logit is positive."""
        if self.config.act_continue:
            return q_logits[:, 0] > q_logits[:, 1]
        return q_logits[:, 0] > 0
