"""Training and evaluation: `train()` runs the loop, `evaluate()` scores a model on a dataset split.

Nothing here imports the CLI (typer, rich); progress reaches the front end through a `Reporter`.
"""

from hrm.train.config import TRAIN_PRESETS, TrainConfig, get_train_preset
from hrm.train.evaluate import EvalResult, evaluate
from hrm.train.loop import Reporter, TrainResult, train

__all__ = ["TRAIN_PRESETS", "EvalResult", "Reporter", "TrainConfig", "TrainResult", "evaluate",
           "get_train_preset", "train"]
