"""Pictures in and out: read puzzles from images; render puzzles, answers and solve traces.

    read_image(path, task=None) -> list[Puzzle]      hrm.imaging.read
    render_puzzle / save_png / save_gif              hrm.imaging.render

Names are resolved lazily so that importing hrm.imaging costs nothing until a picture is used.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "read_image": "hrm.imaging.read",
    "read_picture": "hrm.imaging.read",
    "load_image": "hrm.imaging.read",
    "is_image_path": "hrm.imaging.read",
    "render_puzzle": "hrm.imaging.render",
    "save_png": "hrm.imaging.render",
    "save_gif": "hrm.imaging.render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hrm.imaging' has no attribute '{name}'")
