"""Engine: parameter counts, the one-step gradient, ACT semantics, optimizers,
stablemax, initialisation and determinism. Tiny configs on CPU."""

from __future__ import annotations

import json
import math
import re

import pytest
import torch

from hrm.config import get_preset
from hrm.layers import trunc_normal_
from hrm.losses import act_loss, log_stablemax, stablemax_cross_entropy
from hrm.model import HRM, Carry
from hrm.optim import AdamATan2, PuzzleEmbeddingSignSGD

torch.set_num_threads(1)


def tiny(name: str = "hrm-sudoku-tiny", **overrides) -> HRM:
    torch.manual_seed(0)
    config = get_preset(name).with_overrides(hidden_size=32, num_heads=2, puzzle_emb_ndim=32, **overrides)
    return HRM(config)


def batch(config, size: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(1, config.vocab_size, (size, config.seq_len), generator=g, dtype=torch.int32)
    labels = torch.randint(1, config.vocab_size, (size, config.seq_len), generator=g).long()
    ids = torch.randint(0, config.num_puzzle_identifiers, (size,), generator=g, dtype=torch.int32)
    return {"inputs": inputs, "labels": labels, "puzzle_identifiers": ids}


# --------------------------------------------------------------------------------------------------
# Parameter counts


@pytest.mark.parametrize("name, expected", [("hrm-sudoku", 27_275_266), ("hrm-maze", 27_270_146),
                                            ("hrm-arc", 27_276_290)])
def test_hrm_parameter_counts_equal_the_reference(name: str, expected: int) -> None:
    assert HRM(get_preset(name)).num_parameters() == expected


def test_trm_parameter_counts(capsys: pytest.CaptureFixture) -> None:
    counts = {name: HRM(get_preset(name)).num_parameters() for name in ("trm-sudoku", "trm-sudoku-att")}
    with capsys.disabled():
        print("\nTRM trainable parameters: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    assert abs(counts["trm-sudoku"] - 5.0e6) < 0.1e6           # TRM paper: 5M (MLP mixer, derived 5.02M)
    assert abs(counts["trm-sudoku-att"] - 6.8e6) < 0.1e6       # TRM paper: ~7M with attention (derived 6.82M)


# --------------------------------------------------------------------------------------------------
# One-step gradient and carry


def _count_grad_calls(model: HRM, module_names: tuple[str, ...]) -> tuple[dict[str, int], list]:
    counts = {name: 0 for name in module_names}
    handles = []
    for name in module_names:
        def hook(module, args, output, name=name):
            if torch.is_grad_enabled():
                counts[name] += 1
        handles.append(getattr(model, name).register_forward_hook(hook))
    return counts, handles


@pytest.mark.parametrize("H_cycles, L_cycles", [(1, 1), (2, 2), (3, 5)])
def test_one_hrm_segment_records_exactly_one_L_and_one_H_call(H_cycles: int, L_cycles: int) -> None:
    model = tiny(H_cycles=H_cycles, L_cycles=L_cycles).train()
    data = batch(model.config)
    counts, handles = _count_grad_calls(model, ("L_level", "H_level"))
    carry, outputs = model(model.initial_carry(data), data)
    for h in handles:
        h.remove()
    assert counts == {"L_level": 1, "H_level": 1}
    loss, _ = act_loss(carry, outputs, model.config.loss_type)
    loss.backward()
    assert model.L_level.layers[0].mlp.down_proj.weight.grad is not None
    assert model.H_level.layers[0].mlp.down_proj.weight.grad is not None


def test_carry_leaving_a_segment_has_no_grad_history() -> None:
    model = tiny().train()
    data = batch(model.config)
    carry, outputs = model(model.initial_carry(data), data)
    assert outputs["logits"].requires_grad
    for tensor in (carry.z_H, carry.z_L):
        assert not tensor.requires_grad and tensor.grad_fn is None


def test_eval_mode_runs_exactly_halt_max_steps_segments() -> None:
    model = tiny(halt_max_steps=5).eval()
    data = batch(model.config)
    with torch.no_grad():
        carry = model.initial_carry(data)
        for segment in range(1, 6):
            carry, _ = model(carry, data)
            assert carry.steps.tolist() == [segment] * 4
            assert carry.halted.all().item() == (segment == 5)


def test_halted_slot_replacement_keeps_unhalted_examples() -> None:
    model = tiny().train()
    old, new = batch(model.config, seed=1), batch(model.config, seed=2)
    carry = model.initial_carry(old)
    with torch.no_grad():
        carry, _ = model(carry, old)
    z_H = carry.z_H.clone()
    # hand-made halting: slots 0 and 2 halted, 1 and 3 still working on their old examples
    carry = Carry(carry.z_H, carry.z_L, carry.steps, torch.tensor([True, False, True, False]), carry.data)
    with torch.no_grad():
        carry, _ = model(carry, new)
    for slot, source in ((0, new), (1, old), (2, new), (3, old)):
        for key in ("inputs", "labels", "puzzle_identifiers"):
            assert torch.equal(carry.data[key][slot], source[key][slot]), (slot, key)
    assert carry.steps.tolist() == [1, 2, 1, 2]
    # halted slots restarted from the initial state; the others continued from theirs
    H0, _ = model.initial_state(4)
    restarted = model.segment(H0[:1], model.initial_state(1)[1], {k: v[:1] for k, v in new.items()})[0]
    assert torch.allclose(carry.z_H[0], restarted[0], atol=1e-5)
    assert not torch.allclose(carry.z_H[1], z_H[1])


# --------------------------------------------------------------------------------------------------
# Optimizers, loss, init


def test_adam_atan2_matches_closed_form_single_step() -> None:
    torch.manual_seed(0)
    p0, grad = torch.randn(7, 5), torch.randn(7, 5)
    lr, wd, (b1, b2) = 1e-2, 0.1, (0.9, 0.95)
    param = torch.nn.Parameter(p0.clone())
    opt = AdamATan2([param], lr=lr, betas=(b1, b2), weight_decay=wd)
    param.grad = grad.clone()
    opt.step()
    m, v = (1 - b1) * grad, (1 - b2) * grad**2
    expected = p0 * (1 - lr * wd) - lr / (1 - b1) * torch.atan2(m, torch.sqrt(v) / math.sqrt(1 - b2))
    assert torch.allclose(param.detach(), expected, atol=1e-6)


def test_stablemax_matches_float64_hand_computation() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.0, -3.5], [0.5, 0.25, -0.25, 4.0]])
    labels = torch.tensor([0, 3])

    def s(x: float) -> float:
        return x + 1 if x >= 0 else 1 / (1 - x + 1e-30)

    for row in range(2):
        values = [s(float(x)) for x in logits[row]]
        for k in range(4):
            assert log_stablemax(logits.double())[row, k].item() == pytest.approx(
                math.log(values[k] / sum(values)), abs=1e-12)
    loss = stablemax_cross_entropy(logits[:, None, :], labels[:, None])   # [B=2, S=1]
    assert loss.dtype == torch.float64
    hand = [-math.log(s(2.0) / sum(s(float(x)) for x in logits[0])),
            -math.log(s(4.0) / sum(s(float(x)) for x in logits[1]))]
    assert loss[:, 0].tolist() == pytest.approx(hand, abs=1e-12)


def test_truncated_normal_has_the_requested_std() -> None:
    for std in (0.02, 1.0, 1 / math.sqrt(512)):
        sample = trunc_normal_(torch.empty(200_000), std=std, generator=torch.Generator().manual_seed(0))
        assert abs(sample.std().item() / std - 1) < 0.02
        assert sample.abs().max().item() <= 2 * std / 0.87962566103423978 + 1e-6


def test_sign_sgd_updates_only_the_batch_rows() -> None:
    model = tiny("hrm-arc-tiny", num_puzzle_identifiers=10).train()
    table = model.puzzle_emb.weights
    with torch.no_grad():
        table.copy_(torch.randn_like(table))
    before = table.clone()
    data = batch(model.config, size=3)
    data["puzzle_identifiers"] = torch.tensor([2, 5, 2], dtype=torch.int32)
    carry, outputs = model(model.initial_carry(data), data)
    act_loss(carry, outputs, model.config.loss_type)[0].backward()
    opt = PuzzleEmbeddingSignSGD(model.puzzle_emb, lr=0.1, weight_decay=0.5)
    grad = model.puzzle_emb.local.grad.clone()
    opt.step()
    changed = (table != before).any(dim=1).nonzero().flatten().tolist()
    assert changed == [2, 5]
    expected_5 = before[5] * (1 - 0.1 * 0.5) - 0.1 * torch.sign(grad[1])
    assert torch.allclose(table[5], expected_5)


# --------------------------------------------------------------------------------------------------
# Determinism


def _twenty_steps() -> list[float]:
    model = tiny(halt_max_steps=4).train()
    torch.manual_seed(1)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = AdamATan2(params, lr=1e-3, weight_decay=0.1)
    sparse = PuzzleEmbeddingSignSGD(model.puzzle_emb, lr=1e-3, weight_decay=0.1)
    losses, carry = [], None
    for step in range(20):
        data = batch(model.config, size=4, seed=step)
        carry = carry or model.initial_carry(data)
        carry, outputs = model(carry, data)
        loss, _ = act_loss(carry, outputs, model.config.loss_type)
        (loss / 4).backward()
        sparse.step()
        sparse.zero_grad()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return losses


def test_same_seed_gives_identical_losses() -> None:
    first, second = _twenty_steps(), _twenty_steps()
    assert first == second
    assert len(set(first)) > 1


def test_trm_segment_backprops_through_the_whole_last_recursion() -> None:
    model = tiny("trm-sudoku-att-tiny", H_cycles=3, L_cycles=2).train()
    data = batch(model.config)
    counts, handles = _count_grad_calls(model, ("L_level",))
    model(model.initial_carry(data), data)
    for h in handles:
        h.remove()
    assert counts["L_level"] == 2 + 1                            # n latent updates + 1 answer update


@pytest.mark.parametrize("grad_cycles", [2, 3])
def test_trm_grad_cycles_backprops_through_more_recursions_with_the_same_forward(grad_cycles: int) -> None:
    paper, deeper = (tiny("trm-sudoku-att-tiny", H_cycles=3, L_cycles=2, grad_cycles=g).train()
                     for g in (1, grad_cycles))
    data = batch(paper.config)
    counts, handles = _count_grad_calls(deeper, ("L_level",))
    outputs = [model(model.initial_carry(data), data)[1] for model in (paper, deeper)]
    for h in handles:
        h.remove()
    assert counts["L_level"] == grad_cycles * (2 + 1)
    assert torch.equal(outputs[0]["logits"], outputs[1]["logits"])
    grads = []
    for model, out in zip((paper, deeper), outputs, strict=True):
        out["logits"].float().square().mean().backward()
        grads.append(model.L_level.layers[0].mlp.down_proj.weight.grad.clone())
    assert not torch.allclose(grads[0], grads[1])               # the earlier recursions now shape the update


def test_grad_cycles_is_bounded_by_the_recursions_and_is_trm_only() -> None:
    from hrm.config import ModelConfig
    from hrm.errors import HRMError

    with pytest.raises(HRMError, match="grad_cycles cannot exceed H_cycles"):
        ModelConfig(arch="trm", H_cycles=2, grad_cycles=3)
    with pytest.raises(HRMError, match="grad_cycles is TRM's"):
        ModelConfig(arch="hrm", H_cycles=2, grad_cycles=2)
    written_before = {k: v for k, v in json.loads(get_preset("trm-maze-tiny").to_json()).items() if k != "grad_cycles"}
    assert ModelConfig.from_dict(written_before).grad_cycles == 1      # weights files from before the option


@pytest.mark.parametrize("field, value, message", [
    ("num_heads", 0, "num_heads = 0 is outside 1..256"),
    ("hidden_size", -5, "hidden_size = -5 is outside"),
    ("expansion", float("nan"), "expansion = nan is outside"),
    ("L_layers", 100_000, "L_layers = 100000 is outside"),
    ("halt_max_steps", 10**9, "halt_max_steps = 1000000000 is outside"),
    ("H_cycles", 10**9, "H_cycles = 1000000000 is outside"),
    ("vocab_size", 10**9, "vocab_size = 1000000000 is outside"),
    ("hidden_size", "512", "hidden_size must be int"),
    ("act_continue", 1, "act_continue must be bool"),
])
def test_a_config_out_of_range_is_one_clear_error_before_anything_is_built(field, value, message) -> None:
    from hrm.config import ModelConfig
    from hrm.errors import HRMError

    with pytest.raises(HRMError, match=re.escape(message)):
        ModelConfig(**{field: value})


def test_every_preset_is_inside_the_ranges() -> None:
    from hrm.config import CONFIG_RANGES, PRESETS

    for config in PRESETS.values():
        for name, (low, high) in CONFIG_RANGES.items():
            assert low <= getattr(config, name) <= high
