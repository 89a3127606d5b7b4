"""The printed-digit classifier for Sudoku cells, at run time: the network in numpy and its weights.

Classes: 0 = empty cell, 1..9 = that digit. Input: one CELL x CELL float "ink" image cut by
hrm.imaging.sudoku_photo.cut_cells (0 = paper, 1 = darkest ink). The network is trained in torch by
hrm.imaging.digits_train (synthetic pages, `python -m hrm.imaging.digits_train`); reading a photo
needs no torch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from hrm.errors import WeightsError
from hrm.imaging.sudoku_photo import CELL
from hrm.safetensors_file import read_safetensors
from hrm.weights import REPO_WEIGHTS

NUM_CLASSES = 10
FORMAT_VERSION = "1"
WEIGHTS_ENV = "HRM_DIGITS_WEIGHTS"
DEFAULT_WEIGHTS = REPO_WEIGHTS / "digits.safetensors"


class NumpyDigitNet:
    """hrm.imaging.digits_train.build_model's network for inference in numpy, batch norm folded into the
    convolutions, so reading a photo needs no torch (whose import alone takes about 2.5 s)."""

    CONVS = ((0, 1, True), (4, 5, False), (7, 8, True), (11, 12, True))  # (conv, batch norm, pool after)
    EPS = 1e-5                                                           # torch's BatchNorm2d default

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.convs = []
        for conv, norm, pool in self.CONVS:
            scale = tensors[f"{norm}.weight"] / np.sqrt(tensors[f"{norm}.running_var"] + self.EPS)
            shift = tensors[f"{norm}.bias"] - tensors[f"{norm}.running_mean"] * scale
            weight = tensors[f"{conv}.weight"] * scale[:, None, None, None]        # [out, in, 3, 3]
            self.convs.append((weight.reshape(len(weight), -1).T.copy(), shift, pool))
        self.hidden = (tensors["17.weight"].T.copy(), tensors["17.bias"])
        self.out = (tensors["19.weight"].T.copy(), tensors["19.bias"])

    def logits(self, x: np.ndarray) -> np.ndarray:
        """[N, 1, H, W] -> [N, 10]."""
        for weight, shift, pool in self.convs:
            x = np.maximum(_conv3x3(x, weight) + shift[None, :, None, None], 0.0)
            if pool:
                n, c, h, w = x.shape
                x = x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))
        x = np.maximum(x.reshape(len(x), -1) @ self.hidden[0] + self.hidden[1], 0.0)
        return x @ self.out[0] + self.out[1]


def _conv3x3(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Same-padded 3x3 convolution as one matrix product. x [N, C, H, W]; weight [C * 9, out]."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))   # [N, C, H, W, 3, 3]
    columns = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * h * w, c * 9)
    return (columns @ weight).reshape(n, h, w, -1).transpose(0, 3, 1, 2)


@dataclass
class DigitClassifier:
    """A loaded digit CNN plus the config stored with its weights."""

    model: NumpyDigitNet
    config: dict[str, Any]

    def predict(self, cells: np.ndarray) -> np.ndarray:
        """[N, CELL, CELL] ink -> [N, 10] class probabilities."""
        logits = self.model.logits(np.asarray(cells, np.float32)[:, None])
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)


def weights_path(path: str | Path | None = None) -> Path:
    """Explicit path, then $HRM_DIGITS_WEIGHTS, then the checkout's weights/digits.safetensors."""
    chosen = Path(path or os.environ.get(WEIGHTS_ENV) or DEFAULT_WEIGHTS)
    if not chosen.is_file():
        raise WeightsError(f"digit-recognition weights not found at {chosen}",
                           hint=f"set {WEIGHTS_ENV} or run: python -m hrm.imaging.digits_train "
                                "--out weights/digits.safetensors --seed 0")
    return chosen


@lru_cache(maxsize=4)
def _load_cached(resolved: str) -> DigitClassifier:
    try:
        tensors, metadata = read_safetensors(resolved)
        config = json.loads(metadata.get("config", "{}"))
        model = NumpyDigitNet(tensors)
    except (WeightsError, KeyError, ValueError) as exc:
        reason = exc.message if isinstance(exc, WeightsError) else f"missing or malformed {exc}"
        raise WeightsError(f"digit-recognition weights at {resolved} are unreadable or do not fit the model: "
                           f"{reason}") from None
    if config.get("format_version") != FORMAT_VERSION or int(config.get("cell", CELL)) != CELL:
        raise WeightsError(f"digit-recognition weights at {resolved} were made for another reader version",
                           hint="retrain with python -m hrm.imaging.digits_train --out weights/digits.safetensors")
    return DigitClassifier(model, config)


def load_classifier(path: str | Path | None = None) -> DigitClassifier:
    """The digit CNN (cached per file)."""
    return _load_cached(str(weights_path(path).resolve()))
