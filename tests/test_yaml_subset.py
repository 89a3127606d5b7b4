"""hrm/yaml_subset.py, the all_config.yaml reader: what PyYAML's emitter writes reads back as the same value
(hypothesis), hand-written config files read as PyYAML reads them, and any text either parses or fails with
YAMLSubsetError (never another exception)."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrm.yaml_subset import MAX_DEPTH, YAMLSubsetError, parse_yaml

yaml = pytest.importorskip("yaml", reason="PyYAML (a dev dependency) is the reference these tests compare with")

KEYS = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\u2028\u2029\ufeff"),
               max_size=120)
SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
                      max_leaves=20)


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6), st.sampled_from([80, 30, 1000]))
def test_what_yaml_dump_writes_reads_back(document: dict, width: int) -> None:
    assert parse_yaml(yaml.dump(document, width=width)) == document


@settings(max_examples=400, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.text(st.sampled_from(list(" \n-:#'\"[]{},&*!|>?%@`\\abc01.\t")), max_size=80))
def test_any_text_parses_or_fails_with_one_error_type(text: str) -> None:
    try:
        parse_yaml(text)
    except YAMLSubsetError as exc:
        assert str(exc).startswith("line ")


CONFIG = """\
# ARC training config
defaults:
  - arch: trm
  - _self_

data_paths: ['data/arc-aug-1000', "data/other"]   # a flow list
evaluators:
  - name: arc@ARC
lr: 1e-4
lr_min_ratio: 1.0
epochs: 100_000
ema: False
seed: ~
weird: .inf
folded: a long
  value on two lines
arch:
  puzzle_emb_ndim: ${.hidden_size}
  empty:
"""


def test_hand_written_config_reads_as_pyyaml_reads_it() -> None:
    ours, theirs = parse_yaml(CONFIG), yaml.safe_load(CONFIG)
    assert ours == theirs
    assert ours["lr"] == "1e-4" and math.isinf(ours["weird"]) and ours["epochs"] == 100_000   # YAML 1.1 typing
    assert ours["folded"] == "a long value on two lines"


@pytest.mark.parametrize(("text", "message"), [
    ("a: &anchor 1\nb: *anchor\n", "not supported"),
    ("a: !!python/tuple [1, 2]\n", "not supported"),
    ("a: |\n  block\n", "not supported"),
    ("a: [[1], 2]\n", "nested flow collections"),
    ("a: 'never closed\n", "not closed"),
    ("a: 1\na: 2\n", "duplicate key 'a'"),
    ("a:\n\tb: 1\n", "tabs cannot indent"),
    ("a: 1\n  b: 2\n", "line"),
    ("\n".join(" " * (2 * i) + "- x:" for i in range(MAX_DEPTH + 2)), "nested deeper"),
])
def test_outside_the_subset_is_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(YAMLSubsetError, match="^line [0-9]+: ") as info:
        parse_yaml(text)
    assert message in str(info.value)
