"""Deep-supervision ACT loss and metrics (the reference's models/losses.py).

Per segment: token cross-entropy (stablemax in float64, or softmax) averaged per sequence and summed
over the batch, plus 0.5 x (BCE of q_halt against "sequence exactly right" + BCE of q_continue against
the bootstrapped target). The caller divides by the global batch size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hrm.model import Carry

IGNORE_INDEX = -100


def _stablemax_s(x: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    return torch.where(x < 0, 1 / (1 - x + eps), x + 1)


def log_stablemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    s = _stablemax_s(x)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                            ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Per-token loss [B, S] (0 at ignored positions), computed in float64."""
    logprobs = log_stablemax(logits.to(torch.float64))
    valid = labels != ignore_index
    picked = torch.gather(logprobs, -1, torch.where(valid, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, torch.zeros_like(picked))


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    flat = F.cross_entropy(logits.float().flatten(0, -2), labels.long().flatten(), ignore_index=ignore_index,
                           reduction="none")
    return flat.view(labels.shape)


LOSSES = {"stablemax": stablemax_cross_entropy, "softmax": softmax_cross_entropy}


def act_loss(carry: Carry, outputs: dict, loss_type: str) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total loss (summed over the batch) and metric sums for one segment.

    Metrics (count, accuracy, exact_accuracy, q_halt_accuracy, steps) count only sequences that
    halted at this segment and have at least one label, as in the reference.
    """
    labels = carry.data["labels"]
    logits = outputs["logits"]
    mask = labels != IGNORE_INDEX
    counts = mask.sum(-1)
    divisor = counts.clamp_min(1).unsqueeze(-1)

    with torch.no_grad():
        is_correct = mask & (logits.argmax(-1) == labels)
        seq_correct = is_correct.sum(-1) == counts
        valid = carry.halted & (counts > 0)
        q_halt = outputs["q_halt_logits"]
        metrics = {
            "count": valid.sum(),
            "accuracy": torch.where(valid, (is_correct.float() / divisor).sum(-1), 0).sum(),
            "exact_accuracy": (valid & seq_correct).sum(),
            "q_halt_accuracy": (valid & ((q_halt >= 0) == seq_correct)).sum(),
            "steps": torch.where(valid, carry.steps, 0).sum(),
        }

    lm_loss = (LOSSES[loss_type](logits, labels) / divisor).sum()
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, seq_correct.to(q_halt.dtype), reduction="sum")
    total = lm_loss + 0.5 * q_halt_loss
    metrics.update(lm_loss=lm_loss.detach(), q_halt_loss=q_halt_loss.detach())
    if outputs.get("target_q_continue") is not None:
        q_continue_loss = F.binary_cross_entropy_with_logits(outputs["q_continue_logits"],
                                                             outputs["target_q_continue"], reduction="sum")
        total = total + 0.5 * q_continue_loss
        metrics["q_continue_loss"] = q_continue_loss.detach()
    return total, metrics
