"""Helpers for the training tests: tiny on-disk datasets and tiny training configs (no tests here)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from hrm.data.format import DatasetMetadata, DatasetWriter
from hrm.train.config import TrainConfig, get_train_preset


def make_copy_dataset(root: Path, n_train: int = 64, n_test: int = 32, seq_len: int = 81, vocab: int = 11,
                      seed: int = 0, task: str = "sudoku") -> Path:
    """A sudoku-shaped dataset whose answer is a fixed digit permutation of the input (learnable fast).

    Tokens as the sudoku builder: 1 = blank, 2..10 digits; labels never 0, so every cell is scored.
    """
    rng = np.random.default_rng(seed)
    perm = np.concatenate([[0, 1], rng.permutation(vocab - 2) + 2])
    with DatasetWriter(root) as writer:
        for split, n in (("train", n_train), ("test", n_test)):
            inputs = rng.integers(2, vocab, size=(n, seq_len)).astype(np.uint8)
            labels = perm[inputs].astype(np.uint8)
            w = writer.split(split, seq_len)
            w.add_single_example_groups(inputs, labels, np.ones(n, dtype=np.int64), identifier=1)
            w.finish(DatasetMetadata(vocab_size=vocab, seq_len=seq_len, num_puzzle_identifiers=2,
                                     total_groups=0, mean_puzzle_examples=1.0, task=task, name="copy-test",
                                     seed=seed))
        writer.write_identifiers(["<blank>", "all"])
    return root


def tiny_config(**overrides) -> TrainConfig:
    """A very small HRM that trains a step in milliseconds on one CPU thread."""
    base = get_train_preset("sudoku", "cpu")
    model = {"hidden_size": 32, "num_heads": 2, "puzzle_emb_ndim": 32, "expansion": 2.0, "halt_max_steps": 3}
    model.update(overrides.pop("model_overrides", {}))
    fields = dict(model="hrm-sudoku-tiny", model_overrides=model, global_batch_size=8, total_steps=12,
                  eval_every=6, eval_limit=None, eval_batch_size=16, lr=1e-3, lr_warmup_steps=2, log_every=3,
                  data="unused", compile=False)
    fields.update(overrides)
    return replace(base, **fields)
