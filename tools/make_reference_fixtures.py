"""Fidelity fixtures made by the reference code itself: sapientinc/HRM and SamsungSAILMontreal/TinyRecursiveModels.

    python tools/make_reference_fixtures.py --hrm PATH/TO/HRM --trm PATH/TO/TinyRecursiveModels \
        --out tests/fixtures/reference [--size tiny|paper] [--seed 0] [--models hrm,trm-mlp,trm-att]

For each model it imports the reference's own model code from the checkout (nothing of it is copied here):
flash-attn is replaced by PyTorch SDPA through a shim module put into sys.modules, and einops by a shim when
it is not installed. It builds the model as pretrain.py does (the ACTLossHead wrapper around the ACT model,
forward_dtype bfloat16, so H_init/L_init are bf16 buffers), seeds it, and gives the Q head and the puzzle
table random values (the reference starts them at a constant and at zeros, which would test nothing). It then
writes a checkpoint folder in the reference layout:

    <name>/all_config.yaml          yaml.dump of the run config, `arch` section as the reference's configs
    <name>/checkpoint | step_N | *.pt   torch.save of the wrapper's state_dict (keys `_orig_mod.model.inner.`
                                    as a compiled model saves them, or `model.inner.`)
    <name>/identifiers.json         (when the puzzle table has several rows) row -> name, as the ARC builder
    <name>/reference_outputs.npz    inputs, puzzle_identifiers and, per segment, the ACT wrapper's logits,
                                    q_halt and q_continue logits

The outputs are the reference's eval-mode semantics: a fresh carry (every slot halted), then the wrapper called
halt_max_steps times on the same batch; nothing halts before the last segment. They are computed in fp32 on the
CPU by a second reference model (forward_dtype float32) loaded from the saved state_dict.

`--size paper` builds the papers' sizes (HRM 27M on Sudoku; TRM-MLP on Sudoku, TRM-attention on Maze, as their
README commands); those files are large and not for the repository.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HRM_NAME = "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1"
TRM_NAME = "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"
LOSS = {"name": "losses@ACTLossHead", "loss_type": "stablemax_cross_entropy"}
TASKS = {"sudoku": (11, 81, "data/sudoku-extreme-1k-aug-1000"), "maze": (6, 900, "data/maze-30x30-hard-1k")}
SUDOKU_PUZZLES = [  # examples/sudoku/easy1.txt and the first line of magictour_top1465.txt
    ".12936.7467.5..93.9..87.156.6.7..34..95..47.8743.9821...94.75814.71.9..3.862.3.97",
    "4...3.......6..8..........1....5..9..8....6...7.2........1.27..5.3....4.9........",
]


@dataclass
class Spec:
    name: str
    repo: str                      # "hrm" or "trm": which checkout holds the model code
    arch_name: str
    arch: dict
    task: str = "sudoku"
    weights_file: str = "checkpoint"
    compiled_prefix: bool = True   # keys `_orig_mod.model.inner.` (a torch.compile'd run) or `model.inner.`
    save_dtype: torch.dtype = torch.float32
    identifiers: list[str] = field(default_factory=lambda: ["<blank>"])
    puzzle_ids: list[int] = field(default_factory=lambda: [0, 0])


def tiny_specs() -> list[Spec]:
    # expansion 2: SwiGLU widths round up to 256 anyway at hidden 64; TRM's sequence mixer stays at 256 too
    common = dict(hidden_size=64, num_heads=4, expansion=2, puzzle_emb_ndim=64, halt_max_steps=16,
                  halt_exploration_prob=0.1)
    return [
        Spec("hrm", "hrm", HRM_NAME, dict(common, H_cycles=2, L_cycles=2, H_layers=1, L_layers=1,
                                           pos_encodings="rope")),
        Spec("trm-mlp", "trm", TRM_NAME, dict(common, H_cycles=3, L_cycles=2, H_layers=0, L_layers=1,
                                               pos_encodings="none", forward_dtype="bfloat16", mlp_t=True,
                                               puzzle_emb_len=16, no_ACT_continue=True),
             weights_file="step_2000", save_dtype=torch.bfloat16),
        Spec("trm-att", "trm", TRM_NAME, dict(common, H_cycles=3, L_cycles=2, H_layers=0, L_layers=1,
                                               pos_encodings="rope", forward_dtype="bfloat16", mlp_t=False,
                                               puzzle_emb_len=16, no_ACT_continue=False),
             weights_file="model.pt", compiled_prefix=False, save_dtype=torch.bfloat16,
             identifiers=["<blank>", "fixture-a", "fixture-b"], puzzle_ids=[2, 1]),
    ]


def paper_specs() -> list[Spec]:
    common = dict(hidden_size=512, num_heads=8, expansion=4, puzzle_emb_ndim=512, halt_max_steps=16,
                  halt_exploration_prob=0.1)
    trm = dict(common, H_layers=0, L_layers=2, H_cycles=3, forward_dtype="bfloat16", puzzle_emb_len=16,
               no_ACT_continue=True)
    return [
        Spec("hrm", "hrm", HRM_NAME, dict(common, H_cycles=2, L_cycles=2, H_layers=4, L_layers=4,
                                           pos_encodings="rope")),
        Spec("trm-mlp", "trm", TRM_NAME, dict(trm, L_cycles=6, mlp_t=True, pos_encodings="none"),
             weights_file="step_1000"),
        Spec("trm-att", "trm", TRM_NAME, dict(trm, L_cycles=4, mlp_t=False, pos_encodings="rope"),
             task="maze", weights_file="step_1000", puzzle_ids=[0]),
    ]


# --------------------------------------------------------------------------------------------------
# The reference's code, imported from a checkout with the CUDA-only pieces replaced


def _flash_attn_shim() -> types.ModuleType:
    """flash_attn_func(q, k, v, causal) on [B, S, H, D] tensors, computed by SDPA."""
    def flash_attn_func(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = False,
                        **_: object) -> torch.Tensor:
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                             is_causal=causal)
        return out.transpose(1, 2)

    module = types.ModuleType("flash_attn_interface")
    module.flash_attn_func = flash_attn_func
    return module


def _einops_shim() -> types.ModuleType:
    """The one pattern pair the TRM code uses: 'B S H D -> B H S D' and back."""
    def rearrange(t: torch.Tensor, pattern: str) -> torch.Tensor:
        if pattern.replace(" ", "") not in ("BSHD->BHSD", "BHSD->BSHD"):
            raise NotImplementedError(f"einops shim: pattern {pattern!r}")
        return t.transpose(1, 2)

    module = types.ModuleType("einops")
    module.rearrange = rearrange
    return module


def import_reference(checkout: Path, module_name: str) -> types.ModuleType:
    """Import `models.<module_name>` from a checkout. Both repositories call their package `models`, so the
    previous one's modules are dropped from sys.modules first (classes already imported keep working)."""
    sys.modules["flash_attn_interface"] = sys.modules["flash_attn"] = _flash_attn_shim()
    try:
        import einops  # noqa: F401
    except ImportError:
        sys.modules["einops"] = _einops_shim()
    for name in [n for n in sys.modules if n == "models" or n.startswith("models.")]:
        del sys.modules[name]
    sys.path.insert(0, str(checkout))
    try:
        return importlib.import_module(f"models.{module_name}")
    finally:
        sys.path.remove(str(checkout))


def model_classes(spec: Spec, checkouts: dict[str, Path]) -> tuple[type, type]:
    module_path, class_name = spec.arch_name.split("@")
    model_module = import_reference(checkouts[spec.repo], module_path)
    loss_module = import_reference(checkouts[spec.repo], "losses")
    return getattr(model_module, class_name), loss_module.ACTLossHead


# --------------------------------------------------------------------------------------------------
# Building, seeding, saving, running


def model_config(spec: Spec, batch_size: int, forward_dtype: str) -> dict:
    vocab_size, seq_len, _ = TASKS[spec.task]
    return dict(spec.arch, batch_size=batch_size, vocab_size=vocab_size, seq_len=seq_len,
                num_puzzle_identifiers=len(spec.identifiers), causal=False, forward_dtype=forward_dtype)


def randomise_untrained(wrapper: torch.nn.Module, hidden_size: int, generator: torch.Generator) -> None:
    """Random Q head and puzzle table (the reference initialises them to -5 and zeros)."""
    inner = wrapper.model.inner
    with torch.no_grad():
        std = 1.0 / math.sqrt(hidden_size)
        inner.q_head.weight.copy_(torch.randn(inner.q_head.weight.shape, generator=generator) * std)
        inner.q_head.bias.copy_(torch.randn(inner.q_head.bias.shape, generator=generator))
        if hasattr(inner, "puzzle_emb"):
            table = inner.puzzle_emb.weights
            table.copy_(torch.randn(table.shape, generator=generator) * std)


def saved_state(wrapper: torch.nn.Module, spec: Spec) -> dict[str, torch.Tensor]:
    prefix = "_orig_mod." if spec.compiled_prefix else ""
    state = {}
    for key, value in wrapper.state_dict().items():
        is_buffer_init = key.endswith(("H_init", "L_init"))   # bf16 buffers stay as the reference made them
        if value.is_floating_point() and not is_buffer_init:
            value = value.to(spec.save_dtype)
        state[prefix + key] = value.clone()
    return state


def run_reference(model_cls: type, loss_cls: type, spec: Spec, state: dict[str, torch.Tensor],
                  batch: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """The ACT wrapper in eval mode, fp32 on the CPU, for halt_max_steps segments on one batch."""
    wrapper = loss_cls(model_cls(model_config(spec, len(batch["inputs"]), "float32")), **_loss_args())
    prefix = "_orig_mod." if spec.compiled_prefix else ""
    wrapper.load_state_dict({k.removeprefix(prefix): v for k, v in state.items()}, strict=True)
    act = wrapper.model.eval()
    logits, q_halt, q_continue = [], [], []
    with torch.inference_mode():
        carry = act.initial_carry(batch)
        for segment in range(spec.arch["halt_max_steps"]):
            carry, outputs = act(carry=carry, batch=batch)
            last = segment == spec.arch["halt_max_steps"] - 1
            assert bool(carry.halted.all()) == last, "eval mode halts at the last segment only"
            logits.append(outputs["logits"].float().numpy())
            q_halt.append(outputs["q_halt_logits"].float().numpy())
            q_continue.append(outputs["q_continue_logits"].float().numpy())
    return {"logits": np.stack(logits), "q_halt_logits": np.stack(q_halt), "q_continue_logits": np.stack(q_continue)}


def _loss_args() -> dict:
    return {"loss_type": LOSS["loss_type"]}


def fixed_inputs(spec: Spec, seed: int) -> dict[str, torch.Tensor]:
    vocab_size, seq_len, _ = TASKS[spec.task]
    count = len(spec.puzzle_ids)
    if spec.task == "sudoku":
        rows = [[1 if ch == "." else int(ch) + 1 for ch in puzzle] for puzzle in SUDOKU_PUZZLES[:count]]
        inputs = torch.tensor(rows, dtype=torch.int32)
    else:   # any tokens of the vocabulary: the forward does not care whether the maze is solvable
        generator = torch.Generator().manual_seed(seed + 1)
        inputs = torch.randint(1, vocab_size, (count, seq_len), generator=generator, dtype=torch.int32)
    return {"inputs": inputs, "labels": torch.zeros_like(inputs),
            "puzzle_identifiers": torch.tensor(spec.puzzle_ids, dtype=torch.int32)}


def all_config(spec: Spec, seed: int, out: Path) -> dict:
    """The run config as pretrain.py dumps it (PretrainConfig.model_dump()); only `arch` matters to models."""
    data_path = TASKS[spec.task][2]
    arch = dict(spec.arch, name=spec.arch_name, loss=dict(LOSS))
    config = {"arch": arch, "global_batch_size": 768, "epochs": 20000, "eval_interval": 2000,
              "checkpoint_every_eval": True, "lr": 1e-4, "lr_min_ratio": 1.0, "lr_warmup_steps": 2000,
              "beta1": 0.9, "beta2": 0.95, "weight_decay": 1.0, "puzzle_emb_weight_decay": 1.0,
              "puzzle_emb_lr": 1e-4, "seed": seed, "project_name": f"{Path(data_path).name} ACT-torch",
              "run_name": f"{spec.arch_name.split('@')[1]} fixture-{spec.name}",
              "checkpoint_path": f"checkpoints/{out.name}",
              "eval_save_outputs": []}
    if spec.repo == "trm":
        config.update(data_paths=[data_path], data_paths_test=[], evaluators=[{"name": "arc@ARC"}], ema=True,
                      ema_rate=0.999, freeze_weights=False, min_eval_interval=0, load_checkpoint=None)
    else:
        config.update(data_path=data_path)
    return config


def make_fixture(spec: Spec, checkouts: dict[str, Path], out_root: Path, seed: int) -> dict:
    import yaml

    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model_cls, loss_cls = model_classes(spec, checkouts)
    batch = fixed_inputs(spec, seed)
    wrapper = loss_cls(model_cls(model_config(spec, len(batch["inputs"]), "bfloat16")), **_loss_args())
    randomise_untrained(wrapper, spec.arch["hidden_size"], generator)
    state = saved_state(wrapper, spec)
    outputs = run_reference(model_cls, loss_cls, spec, state, batch)

    out = out_root / spec.name
    out.mkdir(parents=True, exist_ok=True)
    torch.save(state, out / spec.weights_file)
    (out / "all_config.yaml").write_text(yaml.dump(all_config(spec, seed, out)))
    if len(spec.identifiers) > 1:
        (out / "identifiers.json").write_text(json.dumps(spec.identifiers))
    np.savez(out / "reference_outputs.npz", inputs=batch["inputs"].numpy(),
             puzzle_identifiers=batch["puzzle_identifiers"].numpy(), **outputs)
    parameters = sum(v.numel() for k, v in state.items() if "puzzle_emb" not in k and "_init" not in k)
    return {"name": spec.name, "parameters": parameters, "folder": str(out),
            "q_halt_range": [float(outputs["q_halt_logits"].min()), float(outputs["q_halt_logits"].max())]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hrm", type=Path, required=True, help="checkout of sapientinc/HRM")
    parser.add_argument("--trm", type=Path, required=True, help="checkout of SamsungSAILMontreal/TinyRecursiveModels")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--size", choices=("tiny", "paper"), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", default="hrm,trm-mlp,trm-att")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (results differ in the last bits between thread counts)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    checkouts = {"hrm": args.hrm.resolve(), "trm": args.trm.resolve()}
    wanted = set(args.models.split(","))
    for spec in tiny_specs() if args.size == "tiny" else paper_specs():
        if spec.name in wanted:
            print(json.dumps(make_fixture(spec, checkouts, args.out, args.seed)), flush=True)


if __name__ == "__main__":
    main()
