"""Optimizers and schedule (the reference's pretrain.py and its config): AdamATan2 in plain PyTorch,
sign-SGD for the sparse puzzle table, linear warmup then constant or cosine, and a weight EMA (TRM)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.distributed as dist

from hrm.model import PuzzleEmbedding


class AdamATan2(torch.optim.Optimizer):
    """Adam with atan2 in place of the epsilon-guarded division (Everett et al. 2024), decoupled wd.

    p <- p * (1 - lr * wd);  m, v as Adam;  p <- p - lr / (1 - b1^t) * atan2(m, sqrt(v) / sqrt(1 - b2^t))
    """

    def __init__(self, params: Iterable, lr: float = 1e-4, betas: tuple[float, float] = (0.9, 0.95),
                 weight_decay: float = 0.1) -> None:
        super().__init__(params, dict(lr=lr, betas=betas, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure: None = None) -> None:   # no closure: the loss is computed before the step
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            beta1, beta2 = group["betas"]
            lr, wd = group["lr"], group["weight_decay"]
            for p in params:
                state = self.state[p]
                if not state:
                    state["step"] = torch.zeros((), dtype=torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            states = [self.state[p] for p in params]
            grads = [p.grad for p in params]
            exp_avgs = [s["exp_avg"] for s in states]
            exp_avg_sqs = [s["exp_avg_sq"] for s in states]
            for s in states:
                s["step"] += 1
            t = float(states[0]["step"])
            torch._foreach_mul_(params, 1 - lr * wd)
            torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
            torch._foreach_mul_(exp_avg_sqs, beta2)
            torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1 - beta2)
            step_size = lr / (1 - beta1**t)
            denoms = torch._foreach_sqrt(exp_avg_sqs)
            torch._foreach_div_(denoms, math.sqrt(1 - beta2**t))
            updates = [torch.atan2(m, d) for m, d in zip(exp_avgs, denoms, strict=True)]
            torch._foreach_add_(params, updates, alpha=-step_size)


class PuzzleEmbeddingSignSGD:
    """Sign-SGD with decoupled weight decay on the rows of the puzzle table seen in this step.

    Under torch.distributed the per-rank row gradients and ids are all-gathered and summed per id, so
    every rank applies the same update.
    """

    def __init__(self, module: PuzzleEmbedding, lr: float, weight_decay: float) -> None:
        self.module = module
        self.param_groups = [dict(lr=lr, weight_decay=weight_decay)]  # same interface as torch optimizers

    @torch.no_grad()
    def step(self) -> None:
        local, ids = self.module.local, self.module.local_ids
        if local is None or local.grad is None:
            return
        grad, ids = local.grad, ids
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            grads_all = [torch.empty_like(grad) for _ in range(dist.get_world_size())]
            ids_all = [torch.empty_like(ids) for _ in range(dist.get_world_size())]
            dist.all_gather(grads_all, grad.contiguous())
            dist.all_gather(ids_all, ids.contiguous())
            grad, ids = torch.cat(grads_all), torch.cat(ids_all)
        unique_ids, inverse = ids.unique(return_inverse=True)
        summed = torch.zeros(len(unique_ids), grad.shape[1], dtype=grad.dtype, device=grad.device)
        summed.index_add_(0, inverse, grad)
        lr, wd = self.param_groups[0]["lr"], self.param_groups[0]["weight_decay"]
        table = self.module.weights
        rows = table[unique_ids] * (1 - lr * wd) - lr * torch.sign(summed)
        table[unique_ids] = rows.to(table.dtype)

    def zero_grad(self) -> None:
        self.module.local = None
        self.module.local_ids = None

    def state_dict(self) -> dict:
        return {"param_groups": [dict(g) for g in self.param_groups]}

    def load_state_dict(self, state: dict) -> None:
        self.param_groups = [dict(g) for g in state["param_groups"]]


def lr_at(step: int, base_lr: float, warmup_steps: int, total_steps: int, min_ratio: float = 1.0,
          decay_steps: int = 0) -> float:
    """Linear warmup from 0, then cosine decay to min_ratio * base (min_ratio 1.0 = constant).

    With decay_steps > 0 the rate stays at base until the last decay_steps steps and the cosine runs
    over those alone (warmup-stable-decay), so a long constant-rate run can be cooled down at its end.
    """
    if step < warmup_steps:
        return base_lr * step / max(1, warmup_steps)
    decay_from = max(warmup_steps, total_steps - decay_steps) if decay_steps > 0 else warmup_steps
    progress = min(1.0, max(0.0, (step - decay_from) / max(1, total_steps - decay_from)))
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class EMA:
    """Exponential moving average of the trainable parameters (TRM uses decay 0.999)."""

    def __init__(self, model: torch.nn.Module, decay: float = 0.999) -> None:
        self.decay = decay
        self.shadow = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        names = [n for n, p in model.named_parameters() if n in self.shadow]
        params = dict(model.named_parameters())
        torch._foreach_lerp_([self.shadow[n] for n in names], [params[n].detach() for n in names], 1 - self.decay)

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module) -> None:
        for name, param in model.named_parameters():
            if name in self.shadow:
                param.copy_(self.shadow[name])

    def state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.shadow)

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        for name, tensor in state.items():
            self.shadow[name].copy_(tensor)
