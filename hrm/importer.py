"""Checkpoints written by the reference code (sapientinc/HRM, SamsungSAILMontreal/TinyRecursiveModels) converted
to our weights file.

The reference layout: a folder holding the weights (`checkpoint`, `step_N` or `*.pt`: torch.save of the
state_dict of the ACTLossHead wrapper, keys `_orig_mod.model.inner.*` from a compiled run, `model.inner.*`
otherwise) beside `all_config.yaml` (the run config: its `arch` section is the model), and for ARC the
dataset build's `identifiers.json` (puzzle-table row -> augmented task name) when the user puts it there.

What maps to what (the models compute the same function; tests/test_reference_import.py holds it to the
reference code's own outputs):
- every tensor keeps its name, except CastedEmbedding's `embedding_weight`, which is our `weight`;
- TRM's Q head has two outputs where ours has one when `no_ACT_continue` (TRM's default): output 0 is
  q_halt, the only one the reference reads then (it halts on q_halt > 0 in training and runs every segment
  in evaluation); the continue row is dropped. HRM, and TRM trained with the continue loss, keep both;
- vocabulary size and puzzle-table rows come from the tensors, the sequence length from the task;
- tensors keep their stored dtype (fp32 parameters, bf16 H_init/L_init in the released checkpoints).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrm.config import ModelConfig, task_shape
from hrm.errors import HRMError, WeightsError
from hrm.yaml_subset import YAMLSubsetError, parse_yaml

if TYPE_CHECKING:
    import torch

ARCHS = {   # the reference's `arch.name` -> our arch
    "hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1": "hrm",
    "recursive_reasoning.hrm@HierarchicalReasoningModel_ACTV1": "hrm",     # TRM repository's copy of HRM
    "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1": "trm",
}
KEY_PREFIXES = ("_orig_mod.model.inner.", "model.inner.")
RENAMED = {"embed_tokens.embedding_weight": "embed_tokens.weight", "embed_pos.embedding_weight": "embed_pos.weight"}
NOT_PERSISTENT = ("puzzle_emb.local_weights", "puzzle_emb.local_ids", "rotary_emb.cos_cached",
                  "rotary_emb.sin_cached")   # written only by old torch versions; never part of the model
CONFIG_LIMIT = 1 << 20           # bytes of YAML: a run config is a few KB
IDENTIFIERS_LIMIT = 256 << 20    # ARC-1's table names about a million augmented tasks
IDENTIFIER_CHARS = 200
LOSS_TYPES = {"stablemax_cross_entropy": "stablemax", "softmax_cross_entropy": "softmax"}
_STEP_FILE = re.compile(r"step_(\d+)")
_INTERPOLATION = re.compile(r"\$\{\.([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class ReferenceFolder:
    weights: Path
    config: Path
    identifiers: Path | None

    @property
    def train_step(self) -> int | None:
        match = _STEP_FILE.fullmatch(self.weights.name)
        return int(match[1]) if match else None


@dataclass
class Converted:
    config: ModelConfig
    tensors: dict[str, torch.Tensor]
    identifiers: dict[str, int]
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Finding and reading the files


def locate(src: Path, config: Path | None = None, identifiers: Path | None = None) -> ReferenceFolder:
    """The weights file and config of a reference checkpoint: SRC is the folder or the weights file in it."""
    if not src.exists():
        raise WeightsError(f"{src}: no such file or folder")
    weights = src if src.is_file() else _weights_in(src)
    config = config or weights.parent / "all_config.yaml"
    if not config.is_file():
        raise WeightsError(f"no all_config.yaml beside {weights}",
                           hint="pass --config with the run's all_config.yaml, or an arch file such as the "
                                "reference's config/arch/hrm_v1.yaml")
    if identifiers is None and (weights.parent / "identifiers.json").is_file():
        identifiers = weights.parent / "identifiers.json"
    if identifiers is not None and not identifiers.is_file():
        raise WeightsError(f"{identifiers}: no such file")
    return ReferenceFolder(weights, config, identifiers)


def _weights_in(folder: Path) -> Path:
    """`checkpoint`, else the highest `step_N`, else the one `*.pt` file."""
    if (folder / "checkpoint").is_file():
        return folder / "checkpoint"
    steps = [p for p in folder.iterdir() if _STEP_FILE.fullmatch(p.name) and p.is_file()]
    if steps:
        return max(steps, key=lambda p: int(p.name[5:]))
    pts = sorted(p for p in folder.glob("*.pt") if p.is_file())
    if len(pts) == 1:
        return pts[0]
    if pts:
        names = ", ".join(p.name for p in pts[:4])
        raise WeightsError(f"{folder} holds several weights files ({names})", hint="pass the file to import")
    raise WeightsError(f"{folder} holds no reference weights file (checkpoint, step_N or *.pt)",
                       hint="point at the folder a reference run or a released checkpoint wrote")


def read_arch(path: Path) -> dict[str, Any]:
    """The `arch` section of a run config (or an arch config file itself), interpolations resolved."""
    document = _parse_config(path)
    arch = document.get("arch", document) if isinstance(document, dict) else None
    if not isinstance(arch, dict) or not isinstance(arch.get("name"), str):
        raise WeightsError(f"{path}: no `arch` section with a `name`",
                           hint="is it the all_config.yaml of an HRM or TRM run?")
    return {key: _interpolated(arch, key, value, path) for key, value in arch.items()}


def _parse_config(path: Path) -> Any:
    try:
        if path.stat().st_size > CONFIG_LIMIT:
            raise WeightsError(f"{path}: {path.stat().st_size:,} bytes is too large for a run config")
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read it ({str(exc)[:120]})") from None
    try:
        return parse_yaml(text)
    except YAMLSubsetError as exc:
        raise WeightsError(f"{path}: {str(exc)[:160]}") from None


def _interpolated(arch: dict, key: str, value: Any, path: Path) -> Any:
    """OmegaConf's `${.key}` (a sibling's value), as the reference's arch files use for puzzle_emb_ndim."""
    if not isinstance(value, str) or "${" not in value:
        return value
    match = _INTERPOLATION.fullmatch(value)
    if match is None or match[1] not in arch or isinstance(arch[match[1]], (dict, list)):
        raise WeightsError(f"{path}: arch.{key} = {value[:40]!r} is an interpolation hrm import cannot resolve")
    return arch[match[1]]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A torch.save'd state_dict, read with weights_only=True (no Python object is ever unpickled)."""
    import pickle
    import zipfile

    import torch

    try:
        try:
            state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:      # files in torch's legacy (non-zip) format cannot be mapped
            if "mmap" not in str(exc):
                raise
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(f"{path}: refused: it holds Python objects a weights-only load does not run "
                           f"({_first_line(exc)})", hint="hrm import reads state_dicts saved with torch.save") from None
    except (RuntimeError, OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"{path}: not a readable torch checkpoint ({_first_line(exc)})",
                           hint="the file may be truncated or not a checkpoint") from None
    if not isinstance(state, dict) or not state or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                           for k, v in state.items()):
        raise WeightsError(f"{path}: not a state_dict (a mapping of tensor names to tensors)")
    return state


def _first_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160]


def read_identifiers(path: Path, rows: int) -> dict[str, int]:
    """identifiers.json of a reference dataset build: a list, row -> name, `<blank>` at row 0."""
    try:
        if path.stat().st_size > IDENTIFIERS_LIMIT:
            raise WeightsError(f"{path}: too large for an identifiers list")
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WeightsError(f"{path}: not a readable JSON list ({_first_line(exc)})") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise WeightsError(f"{path}: expected a JSON list of names, one per puzzle-table row")
    if len(names) != rows:
        raise WeightsError(f"{path} names {len(names):,} puzzles but the checkpoint's puzzle table has {rows:,} "
                           "rows", hint="use the identifiers.json of the dataset build the run trained on")
    for name in names:
        if len(name) > IDENTIFIER_CHARS or not name.isprintable():
            raise WeightsError(f"{path}: identifier {name[:40]!r} is not a short printable name")
    return {name: row for row, name in enumerate(names) if name != "<blank>"}


# --------------------------------------------------------------------------------------------------
# Mapping


def strip_prefixes(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """Our names for the reference's keys (both prefixes; embedding renames; leftovers dropped)."""
    prefix = next((p for p in KEY_PREFIXES if next(iter(state)).startswith(p)), None)
    stray = next((k for k in state if prefix is None or not k.startswith(prefix)), None)
    if stray is not None:
        raise WeightsError(f"{path}: key {stray[:80]!r} is not a reference model key",
                           hint=f"expected every key to start with {' or '.join(KEY_PREFIXES)}")
    mapped = {}
    for key, tensor in state.items():
        name = key[len(prefix):]
        if name not in NOT_PERSISTENT:
            mapped[RENAMED.get(name, name)] = tensor
    return mapped


def model_config(arch: dict[str, Any], tensors: dict[str, torch.Tensor], task: str | None,
                 config_path: Path) -> ModelConfig:
    """Our ModelConfig for the reference `arch` section and the checkpoint's tensors."""
    name = arch["name"]
    if name not in ARCHS:
        raise WeightsError(f"{config_path}: unknown architecture {name[:80]!r}",
                           hint="hrm import reads " + ", ".join(sorted(ARCHS)))
    kind = ARCHS[name]
    if "embed_tokens.weight" not in tensors:
        raise WeightsError(f"{config_path.parent}: the checkpoint has no token embedding (embed_tokens)")
    task = _task_for_vocab(tensors["embed_tokens.weight"].shape[0], task)
    vocab_size, seq_len = task_shape(task)
    field_of = _ArchFields(arch, config_path)
    trm = kind == "trm"
    puzzle_table = tensors.get("puzzle_emb.weights")
    values = dict(
        arch=kind, task=task, vocab_size=vocab_size, seq_len=seq_len,
        num_puzzle_identifiers=int(puzzle_table.shape[0]) if puzzle_table is not None else 1,
        puzzle_emb_ndim=field_of.integer("puzzle_emb_ndim", 0),
        puzzle_emb_len=field_of.integer("puzzle_emb_len", 16) if trm else 0,
        hidden_size=field_of.integer("hidden_size"), num_heads=field_of.integer("num_heads"),
        expansion=field_of.number("expansion"),
        H_layers=0 if trm else field_of.integer("H_layers"), L_layers=field_of.integer("L_layers"),
        H_cycles=field_of.integer("H_cycles"), L_cycles=field_of.integer("L_cycles"),
        halt_max_steps=field_of.integer("halt_max_steps"),
        halt_exploration_prob=field_of.number("halt_exploration_prob", 0.1),
        pos_encodings=_positions(field_of.text("pos_encodings"), name, config_path),
        mixer="mlp" if field_of.flag("mlp_t", False) else "attention",
        rms_norm_eps=field_of.number("rms_norm_eps", 1e-5), rope_theta=field_of.number("rope_theta", 10000.0),
        forward_dtype=field_of.text("forward_dtype", "bfloat16"),
        loss_type=_loss_type(arch, config_path),
        act_continue=not (trm and field_of.flag("no_ACT_continue", True)),
    )
    try:
        return ModelConfig(**values)
    except HRMError as exc:   # the config's own validation, with the file named
        raise WeightsError(f"{config_path}: {exc.message[:200]}") from None


def _task_for_vocab(vocab_size: int, task: str | None) -> str:
    """The task whose token vocabulary the embedding table has (each task's vocabulary size is its own)."""
    from hrm.tasks import BUILTIN_TASKS

    matching = [name for name in BUILTIN_TASKS if task_shape(name)[0] == vocab_size]
    if task is not None:
        if task_shape(task)[0] != vocab_size:
            found = f"a {matching[0]} model's" if matching else "no task's"
            raise WeightsError(f"the checkpoint has a {vocab_size}-token vocabulary ({found}), not {task}'s "
                               f"{task_shape(task)[0]}", hint=f"pass --task {matching[0]}" if matching else None)
        return task
    if len(matching) != 1:
        raise WeightsError(f"no single task has a {vocab_size}-token vocabulary", hint="pass --task")
    return matching[0]


def _positions(value: str, arch_name: str, path: Path) -> str:
    if value in ("rope", "learned"):
        return value
    if arch_name.startswith("recursive_reasoning."):   # the TRM repository's models take any other value as none
        return "none"
    raise WeightsError(f"{path}: arch.pos_encodings {value[:20]!r} is neither rope nor learned")


def _loss_type(arch: dict[str, Any], path: Path) -> str:
    loss = arch.get("loss")
    name = loss.get("loss_type", "stablemax_cross_entropy") if isinstance(loss, dict) else "stablemax_cross_entropy"
    if name not in LOSS_TYPES:
        raise WeightsError(f"{path}: arch.loss.loss_type {str(name)[:40]!r} is not one hrm knows",
                           hint=f"known: {', '.join(LOSS_TYPES)}")
    return LOSS_TYPES[name]


class _ArchFields:
    """Typed reads of the arch section, each failure one line naming the field."""

    _REQUIRED = object()

    def __init__(self, arch: dict[str, Any], path: Path) -> None:
        self.arch, self.path = arch, path

    def _get(self, key: str, default: Any) -> Any:
        if key in self.arch and self.arch[key] is not None:
            return self.arch[key]
        if default is self._REQUIRED:
            raise WeightsError(f"{self.path}: arch.{key} is missing")
        return default

    def _bad(self, key: str, value: Any, kind: str) -> WeightsError:
        return WeightsError(f"{self.path}: arch.{key} must be {kind}, not {str(value)[:40]!r}")

    def integer(self, key: str, default: Any = _REQUIRED) -> int:
        value = self._get(key, default)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if type(value) is not int:
            raise self._bad(key, value, "an integer")
        return value

    def number(self, key: str, default: Any = _REQUIRED) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._bad(key, value, "a number")
        return float(value)

    def text(self, key: str, default: Any = _REQUIRED) -> str:
        value = self._get(key, default)
        if not isinstance(value, str):
            raise self._bad(key, value, "text")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, value, "true or false")
        return value


def map_tensors(tensors: dict[str, torch.Tensor], config: ModelConfig, path: Path) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under our names and shapes, checked against what the config implies."""
    from hrm.numpy_engine import expected_shapes

    mapped = dict(tensors)
    if not config.act_continue and "q_head.weight" in mapped and mapped["q_head.weight"].shape[0] == 2:
        mapped["q_head.weight"] = mapped["q_head.weight"][:1]     # row 0 is q_halt; q_continue is never read
        mapped["q_head.bias"] = mapped["q_head.bias"][:1]
    expected = expected_shapes(config)
    missing = sorted(set(expected) - set(mapped))
    unexpected = sorted(set(mapped) - set(expected))
    wrong = [k for k in sorted(expected) if k in mapped and tuple(mapped[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        detail = (f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}" if unexpected else
                  f"{wrong[0]} is {list(mapped[wrong[0]].shape)}, the config implies {list(expected[wrong[0]])}")
        raise WeightsError(f"{path}: the tensors do not match its all_config.yaml ({detail})",
                           hint="is the config the one this checkpoint was trained with?")
    return {k: mapped[k].contiguous() for k in expected}


def convert(folder: ReferenceFolder, task: str | None = None) -> Converted:
    arch = read_arch(folder.config)
    tensors = strip_prefixes(read_state_dict(folder.weights), folder.weights)
    config = model_config(arch, tensors, task, folder.config)
    mapped = map_tensors(tensors, config, folder.weights)
    converted = Converted(config, mapped, {})
    if folder.identifiers is not None:
        converted.identifiers = read_identifiers(folder.identifiers, config.num_puzzle_identifiers)
    elif config.num_puzzle_identifiers > 1:
        converted.warnings.append(
            f"no identifiers.json beside {folder.weights.name}: the {config.num_puzzle_identifiers:,} puzzle-table "
            "rows cannot be matched to task names, so every puzzle uses the blank row (put the identifiers.json "
            "of the run's dataset build there, or pass --identifiers)")
    return converted


# --------------------------------------------------------------------------------------------------
# Writing our weights file


def import_checkpoint(src: Path, out: Path, task: str | None = None, config: Path | None = None,
                      identifiers: Path | None = None, source: str | None = None,
                      card_extra: dict[str, Any] | None = None) -> Converted:
    """Convert the reference checkpoint at `src` into the weights file `out` (config and card in its metadata)."""
    folder = locate(src, config, identifiers)
    converted = convert(folder, task)
    card = reference_card(folder, converted, out, source, card_extra or {})
    write_weights(converted, out, card, folder.train_step)
    return converted


def reference_card(folder: ReferenceFolder, converted: Converted, out: Path, source: str | None,
                   extra: dict[str, Any]) -> dict[str, Any]:
    c = converted.config
    model = "HRM" if c.arch == "hrm" else f"TRM ({'MLP' if c.mixer == 'mlp' else 'attention'} token mixer)"
    card: dict[str, Any] = {
        "name": out.name.removesuffix(".safetensors"),
        "description": f"{model} checkpoint written by the reference code, converted by hrm import: {c.task}, hidden "
                       f"{c.hidden_size}, {c.num_heads} heads, H/L cycles {c.H_cycles}/{c.L_cycles}, "
                       f"L layers {c.L_layers}" + (f", H layers {c.H_layers}" if c.arch == "hrm" else "")
                       + f", Mmax {c.halt_max_steps}.",
        "source": source or str(folder.weights.parent.resolve()),
        "source_files": [p.name for p in (folder.weights, folder.config, folder.identifiers) if p is not None],
        "licence": _stated_licence(folder.weights.parent) or "not stated in the source",
        "stored_dtypes": _dtype_summary(converted.tensors),
    }
    if folder.train_step is not None:
        card["source_train_step"] = folder.train_step
    card.update(extra)
    return card


def _dtype_name(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


def main_dtype(tensors: dict[str, torch.Tensor]) -> str:
    """The dtype holding most of the values."""
    counts: dict[str, int] = {}
    for tensor in tensors.values():
        counts[_dtype_name(tensor)] = counts.get(_dtype_name(tensor), 0) + tensor.numel()
    return max(counts, key=counts.__getitem__)


def _dtype_summary(tensors: dict[str, torch.Tensor]) -> str:
    """'float32 (H_init, L_init bfloat16), as in the source'."""
    main = main_dtype(tensors)
    others = sorted({_dtype_name(t) for t in tensors.values()} - {main})
    exceptions = [f"{', '.join(k for k, t in tensors.items() if _dtype_name(t) == d)} {d}" for d in others]
    return main + (f" ({'; '.join(exceptions)}), as in the source" if exceptions else ", as in the source")


def _stated_licence(folder: Path) -> str | None:
    """The licence a hub model card (README.md front matter) or a LICENSE file in the folder states."""
    readme = folder / "README.md"
    if readme.is_file() and readme.stat().st_size < CONFIG_LIMIT:
        text = readme.read_text(encoding="utf-8", errors="replace")
        if text.startswith("---"):
            front = text[3:].split("\n---", 1)[0]
            try:
                meta = parse_yaml(front)
            except YAMLSubsetError:
                meta = None
            if isinstance(meta, dict) and isinstance(meta.get("license"), str):
                return _printable(meta["license"])
    for name in ("LICENSE", "LICENSE.txt", "LICENSE.md"):
        path = folder / name
        if path.is_file():
            with path.open(encoding="utf-8", errors="replace") as handle:
                first = next((line.strip() for line in handle.read(4096).splitlines() if line.strip()), "")
            return _printable(first) or None
    return None


def _printable(text: str) -> str:
    return "".join(ch for ch in text if ch.isprintable())[:80]


def write_weights(converted: Converted, out: Path, card: dict[str, Any], train_step: int | None) -> None:
    from safetensors.torch import save_file

    from hrm.checkpoint import FORMAT_VERSION, atomic_write

    metadata = {"format_version": FORMAT_VERSION, "hrm_config": converted.config.to_json(),
                "task": converted.config.task, "dtype": main_dtype(converted.tensors),
                "card": json.dumps(card)}
    if converted.identifiers:
        metadata["identifiers"] = json.dumps(converted.identifiers)
    if train_step is not None:
        metadata["train_step"] = str(train_step)
    atomic_write(out, lambda tmp: save_file(converted.tensors, str(tmp), metadata=metadata))
