"""Checkpoints on the HuggingFace hub, named `hf:OWNER/NAME[@REVISION]` wherever weights are asked for.

huggingface_hub (the optional `hub` extra) downloads the reference files of the repository into its own cache
(which it reuses offline); hrm import converts them once, and the converted file is kept in
$HRM_CACHE/hub/OWNER--NAME/COMMIT.safetensors (~/.cache/hrm by default), so a second use reads only that.
The endpoint is read from HF_ENDPOINT at call time (a test points it at a server on 127.0.0.1).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hrm.errors import WeightsError

if TYPE_CHECKING:
    from hrm.importer import Converted

PREFIX = "hf:"
REFERENCE_FILES = ["all_config.yaml", "checkpoint", "step_*", "*.pt", "identifiers.json", "README.md", "LICENSE*"]
_SPEC = re.compile(r"(?P<repo>[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95})"
                   r"(@(?P<revision>[A-Za-z0-9][A-Za-z0-9._/-]{0,99}))?")
_REPORTED = "reported by the authors, not measured by hrm"

# What the authors report for the checkpoints they released (HRM paper, arXiv:2506.21734, Figure 1; the
# released files are the runs of its small-sample setting). Written into the card of the converted file.
KNOWN_RELEASES: dict[str, dict[str, Any]] = {
    "sapientinc/HRM-checkpoint-sudoku-extreme": {
        "reported_accuracy": {"Sudoku-Extreme test set, exact solutions (1,000 training examples)":
                              f"55.0% ({_REPORTED})"},
    },
    "sapientinc/HRM-checkpoint-maze-30x30-hard": {
        "reported_accuracy": {"Maze-Hard 30x30 test set, optimal path (1,000 training examples)":
                              f"74.5% ({_REPORTED})"},
    },
    "sapientinc/HRM-checkpoint-ARC-2": {
        "reported_accuracy": {"ARC-AGI-2 evaluation set, pass@2": f"5.0% ({_REPORTED})"},
        "note": "the puzzle table matches the authors' ARC-AGI-2 dataset build; tasks are named only when its "
                "identifiers.json is beside the checkpoint (hrm import --identifiers)",
    },
}


@dataclass(frozen=True)
class HubSpec:
    repo: str
    revision: str | None

    @property
    def label(self) -> str:
        return f"{PREFIX}{self.repo}" + (f"@{self.revision}" if self.revision else "")


def is_hub_spec(text: str | Path) -> bool:
    return str(text).startswith(PREFIX)


def parse_spec(text: str) -> HubSpec:
    match = _SPEC.fullmatch(text[len(PREFIX):]) if is_hub_spec(text) else None
    if match is None:
        raise WeightsError(f"{text[:80]!r} is not a hub model name",
                           hint="write hf:OWNER/NAME or hf:OWNER/NAME@REVISION")
    return HubSpec(match["repo"], match["revision"])


def hub_weights(text: str, progress: bool = True) -> Path:
    """Our weights file for `hf:OWNER/NAME[@REVISION]`: downloaded and converted on first use, then cached."""
    from hrm.data.download import cache_root

    spec = parse_spec(text)
    folder = download_snapshot(spec, progress)
    out = cache_root() / "hub" / spec.repo.replace("/", "--") / f"{folder.name}.safetensors"
    if not out.is_file():
        convert_snapshot(spec, folder, out)
    return out


def import_from_hub(text: str, out: Path, progress: bool = True, **options: Any) -> Converted:
    """`hrm import hf:...`: download, then convert into `out` with the importer's options (task, config,
    identifiers: a released folder may lack its all_config.yaml or the ARC identifiers)."""
    spec = parse_spec(text)
    return convert_snapshot(spec, download_snapshot(spec, progress), out, **options)


def convert_snapshot(spec: HubSpec, folder: Path, out: Path, **options: Any) -> Converted:
    from hrm.importer import import_checkpoint

    card = {"source": f"https://huggingface.co/{spec.repo} (commit {folder.name})", "hub_id": spec.repo,
            **KNOWN_RELEASES.get(spec.repo, {})}
    return import_checkpoint(folder, out, source=card["source"], card_extra=card, **options)


def download_snapshot(spec: HubSpec, progress: bool = True) -> Path:
    """The repository's reference files in huggingface_hub's cache (its snapshot folder, named by commit)."""
    try:
        import huggingface_hub
        from huggingface_hub import errors
    except ImportError:
        raise WeightsError(f"{spec.label} needs huggingface_hub, which is not installed",
                           hint="pip install 'hrm[hub]'") from None
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    if not progress:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    try:
        folder = huggingface_hub.snapshot_download(spec.repo, revision=spec.revision, allow_patterns=REFERENCE_FILES,
                                                   endpoint=endpoint, cache_dir=_hub_cache())
    except (errors.RepositoryNotFoundError, errors.RevisionNotFoundError, errors.GatedRepoError) as exc:
        raise WeightsError(f"{spec.label}: {_not_found(exc)} on {endpoint}",
                           hint="check the name and revision (a private or gated model needs a token: "
                                "`hf auth login`)") from None
    except (errors.LocalEntryNotFoundError, errors.HfHubHTTPError, OSError) as exc:
        raise WeightsError(f"{spec.label}: cannot download it from {endpoint} and no copy is cached "
                           f"({_cause(exc)})", hint="check the network, or download the folder and run hrm import "
                                                    "on it") from None
    return Path(folder)


def _hub_cache() -> str | None:
    """huggingface_hub's cache, read from the environment now (the library reads it once, at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    return str(Path(os.environ["HF_HOME"]) / "hub") if os.environ.get("HF_HOME") else None


def _not_found(exc: Exception) -> str:
    from huggingface_hub import errors

    if isinstance(exc, errors.RevisionNotFoundError):
        return "no such revision"
    return "gated: access must be requested" if isinstance(exc, errors.GatedRepoError) else "no such model"


def _cause(exc: BaseException) -> str:
    """The first line of what went wrong underneath (connection refused, HTTP 404...), bounded."""
    root = exc
    while root.__cause__ is not None or root.__context__ is not None:
        root = root.__cause__ or root.__context__
    text = " ".join(str(root).split()) or type(root).__name__
    return text[:160]
