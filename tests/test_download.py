"""Sources from their public origins, for real, against the loopback hub and GitHub on 127.0.0.1: fetching,
resuming, refusing a wrong checksum, no network, and the builds that download (hrm data build)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import lzma
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hrm.data import origins, sources
from hrm.data.build import BuildOptions, build_dataset, maze_tokens, sudoku_tokens
from hrm.data.download import download
from hrm.data.format import PuzzleDataset
from hrm.errors import DataError
from tests.cli_helpers import run_cli
from tests.loopback_hub import LoopbackHub, closed_port_url

PUZZLE = "697.2154.4837596.212563.98785694.371.1.583..63.21678..5742961.8.683.57.4931.78.65"   # examples/sudoku/easy2
ANSWER = "697821543483759612125634987856942371719583426342167859574296138268315794931478265"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def downloading(monkeypatch, tmp_path) -> Path:
    """No local copy: sources come from the origins into a fresh cache, which is returned."""
    monkeypatch.delenv("HRM_SOURCE_DATA", raising=False)
    monkeypatch.setenv("HRM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def hub(loopback_hub: LoopbackHub, monkeypatch) -> LoopbackHub:
    monkeypatch.setenv("HF_ENDPOINT", loopback_hub.url)
    monkeypatch.setenv("HRM_GITHUB_ENDPOINT", loopback_hub.url)
    return loopback_hub


def served_file(hub: LoopbackHub, body: bytes) -> str:
    hub.add_dataset("someone/files", {"blob.bin": body})
    return f"{hub.url}/datasets/someone/files/resolve/main/blob.bin"


# ----------------------------------------------------------------------------------------------------
# The downloader


def test_a_file_is_fetched_checked_and_then_only_read_from_disk(hub, tmp_path) -> None:
    body = np.random.default_rng(0).bytes(300_000)
    url = served_file(hub, body)
    dest = tmp_path / "d" / "blob.bin"
    assert download(url, dest, sha256(body)) == dest
    assert dest.read_bytes() == body and sorted(p.name for p in dest.parent.iterdir()) == ["blob.bin"]
    asked = len(hub.requests)
    download(url, dest, sha256(body))
    assert len(hub.requests) == asked


def test_a_dropped_download_resumes_where_it_stopped(hub, tmp_path) -> None:
    body = np.random.default_rng(1).bytes(3_000_000)
    url = served_file(hub, body)
    dest = tmp_path / "blob.bin"
    hub.truncate_next(1_234_567)
    with pytest.raises(DataError, match="cannot download .*closed early"):
        download(url, dest, sha256(body))
    part = tmp_path / "blob.bin.part"
    assert not dest.exists() and part.stat().st_size == 1_234_567
    download(url, dest, sha256(body))
    assert dest.read_bytes() == body and not part.exists()
    assert hub.range_requests() == ["bytes=1234567-"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(min_size=1, max_size=5000), cut=st.integers(0, 5000), honour_range=st.booleans())
def test_any_partial_file_completes_to_the_same_bytes(loopback_hub, tmp_path_factory, body, cut, honour_range) -> None:
    """Whatever the .part holds (a prefix, or nothing), and whether or not the server honours Range."""
    loopback_hub.ignore_range = not honour_range
    url = served_file(loopback_hub, body)
    dest = tmp_path_factory.mktemp("resume") / "blob.bin"
    dest.with_name("blob.bin.part").write_bytes(body[:cut])
    download(url, dest, sha256(body))
    assert dest.read_bytes() == body


def test_a_wrong_checksum_is_refused_and_the_file_removed(hub, tmp_path) -> None:
    url = served_file(hub, b"not what was pinned")
    dest = tmp_path / "blob.bin"
    with pytest.raises(DataError, match=f"checksum mismatch for {url}.*removed"):
        download(url, dest, sha256(b"the pinned content"))
    assert list(tmp_path.iterdir()) == []
    dest.write_bytes(b"tampered with on disk")
    with pytest.raises(DataError, match="checksum mismatch"):
        download(url, dest, sha256(b"the pinned content"))
    assert not dest.exists()


def test_a_missing_file_is_one_line_with_the_status(hub, tmp_path) -> None:
    with pytest.raises(DataError, match=r"cannot download .*/nothing/here/resolve/main/x.csv: HTTP 404") as error:
        download(f"{hub.url}/datasets/nothing/here/resolve/main/x.csv", tmp_path / "x.csv")
    assert str(tmp_path / "x.csv") in str(error.value) and not list(tmp_path.iterdir())


def test_without_network_the_build_says_what_to_download_and_where(capsys, monkeypatch, downloading) -> None:
    dead = closed_port_url()
    result = run_cli(capsys, monkeypatch, "data", "build", "sudoku-magictour", "--out", str(downloading.parent / "o"),
                     env={"HRM_GITHUB_ENDPOINT": dead})
    assert result.code == 2 and result.out == "" and "Traceback" not in result.err
    line = " ".join(result.err.split())       # one message, however the console wraps it
    raw = downloading / "sudoku" / "raw" / "puzzles5_forum_hardest_1905_11+"
    assert f"cannot download {dead}/balmerdx/sudoku_pytorch/raw/" in line and "refused" in line
    assert f"download it to {raw}" in line and "--source DIR with sudoku/ in it" in line
    assert not (downloading.parent / "o").exists()


# ----------------------------------------------------------------------------------------------------
# Hub datasets: sudoku-extreme and maze-30x30-hard in the reference layout


def sudoku_extreme_csv(count: int, seed: int) -> tuple[bytes, list[tuple[str, str]]]:
    """`count` shuffled variants of one puzzle in the Sudoku-Extreme CSV layout, and the (question, answer)."""
    from hrm.data import sudoku_gen

    rng = np.random.default_rng(seed)
    cells, digits = sudoku_gen.random_shuffle_maps(rng, count)
    grids = [np.tile(digits_of([text]), (count, 1)) for text in (PUZZLE, ANSWER)]
    questions, answers = (sudoku_gen.apply_shuffles(g, cells, digits).reshape(count, 81) for g in grids)
    rows = [("".join(str(d) if d else "." for d in q), "".join(map(str, a))) for q, a in zip(questions, answers,
                                                                                           strict=True)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(("source", "question", "answer", "rating"))
    writer.writerows(("puzzles3_magictour_top1465", q, a, 7) for q, a in rows)
    return text.getvalue().encode(), rows


def digits_of(strings: list[str]) -> np.ndarray:
    return np.array([[0 if c == "." else int(c) for c in s] for s in strings])


def test_sudoku_extreme_is_built_from_the_hub_in_the_reference_layout(hub, downloading, capsys, monkeypatch) -> None:
    train_csv, _ = sudoku_extreme_csv(40, seed=1)
    test_csv, test_rows = sudoku_extreme_csv(12, seed=2)
    hub.add_dataset("sapientinc/sudoku-extreme", {"train.csv": train_csv, "test.csv": test_csv},
                    commit="58942f96" + "1" * 32)
    out = downloading.parent / "sx"
    result = run_cli(capsys, monkeypatch, "data", "build", "sudoku-extreme", "--out", str(out), "--num-aug", "2",
                     "--limit", "30")
    assert result.code == 0, result.err
    train, test = PuzzleDataset.load(out, "train"), PuzzleDataset.load(out, "test")
    assert (train.num_groups, train.num_puzzles, train.num_examples) == (30, 90, 90)
    assert train.metadata.vocab_size == test.metadata.vocab_size == 11 and train.metadata.seq_len == 81
    assert (train.metadata.num_puzzle_identifiers, train.metadata.name) == (1, "sudoku-extreme")
    np.testing.assert_array_equal(test.inputs, sudoku_tokens(digits_of([q for q, _ in test_rows])))
    np.testing.assert_array_equal(test.labels, sudoku_tokens(digits_of([a for _, a in test_rows])))
    assert all("/datasets/sapientinc/sudoku-extreme/resolve/58942f96/" in path for _, path, _ in hub.requests)
    assert (downloading / "sudoku-extreme" / "train.csv").read_bytes() == train_csv
    asked = len(hub.requests)
    again = run_cli(capsys, monkeypatch, "data", "build", "sudoku-extreme", "--out", str(out.with_name("again")),
                    "--num-aug", "2", "--limit", "30")
    assert again.code == 0 and len(hub.requests) == asked               # the cache answers
    assert PuzzleDataset.load(out.with_name("again"), "train").content_hash == train.content_hash


def test_sudoku_extreme_from_a_local_copy_equals_the_hub_build(hub, downloading, tmp_path) -> None:
    train_csv, _ = sudoku_extreme_csv(25, seed=3)
    test_csv, _ = sudoku_extreme_csv(5, seed=4)
    hub.add_dataset("sapientinc/sudoku-extreme", {"train.csv": train_csv, "test.csv": test_csv},
                    commit="58942f96" + "2" * 32)
    options = BuildOptions(num_aug=1, limit=10)
    from_hub = build_dataset("sudoku-extreme", tmp_path / "hub", options)
    asked = len(hub.requests)
    for copy in (tmp_path / "copy" / "sudoku-extreme", tmp_path / "hf-download"):    # DIR/<name>/ or the folder
        copy.mkdir(parents=True)
        (copy / "train.csv").write_bytes(train_csv)
        (copy / "test.csv").write_bytes(test_csv)
    for source in (tmp_path / "copy", tmp_path / "hf-download"):
        local = build_dataset("sudoku-extreme", tmp_path / f"local-{source.name}",
                              dataclasses.replace(options, source=str(source)))
        for split in ("train", "test"):
            assert PuzzleDataset.load(local, split).content_hash == PuzzleDataset.load(from_hub, split).content_hash
    assert len(hub.requests) == asked
    with pytest.raises(DataError, match="source data missing: .*sudoku-extreme/train.csv"):
        build_dataset("sudoku-extreme", tmp_path / "x", dataclasses.replace(options, source=str(tmp_path)))


def maze_csv(count: int) -> tuple[bytes, list[str]]:
    """`count` 30x30 mazes: S top-left, G bottom-right, one wall column with a gap, the shortest path marked."""
    rows, questions = [("source", "question", "answer", "rating")], []
    for k in range(count):
        grid = np.full((30, 30), " ")
        grid[: 25 - k, 15] = "#"
        grid[0, 0], grid[29, 29] = "S", "G"
        answer = grid.copy()
        path = [(0, c) for c in range(1, 15)] + [(r, 14) for r in range(1, 30)] + [(29, c) for c in range(15, 29)]
        for r, c in path:
            answer[r, c] = "o"
        questions.append("".join(grid.reshape(-1)))
        rows.append(("", questions[-1], "".join(answer.reshape(-1)), str(len(path) + 1)))
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    return text.getvalue().encode(), questions


def test_maze_30x30_hard_is_built_from_the_hub_at_its_pinned_revision(hub, downloading, capsys, monkeypatch) -> None:
    train_csv, _ = maze_csv(4)
    test_csv, test_questions = maze_csv(3)
    hub.add_dataset("sapientinc/maze-30x30-hard-1k", {"train.csv": train_csv, "test.csv": test_csv},
                    commit="549754de" + "3" * 32)
    out = downloading.parent / "maze"
    result = run_cli(capsys, monkeypatch, "data", "build", "maze-30x30-hard", "--out", str(out))
    assert result.code == 0, result.err
    train, test = PuzzleDataset.load(out, "train"), PuzzleDataset.load(out, "test")
    assert (train.num_examples, test.num_examples, train.metadata.seq_len, train.metadata.vocab_size) == (4, 3, 900, 6)
    np.testing.assert_array_equal(test.inputs, maze_tokens(test_questions, "test"))
    assert (test.labels == 5).sum(axis=1).tolist() == [57] * 3          # the 'o' cells
    assert {path.split("/resolve/")[1] for _, path, _ in hub.requests} == {"549754de/train.csv", "549754de/test.csv"}


def test_a_hub_dataset_missing_from_the_hub_is_one_line(hub, downloading, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "data", "build", "maze-30x30-hard", "--out", str(downloading.parent / "m"))
    line = " ".join(result.err.split())
    assert result.code == 2 and "HTTP 404" in line and "--source DIR with maze-30x30-hard/ in it" in line
    assert "Traceback" not in result.err


# ----------------------------------------------------------------------------------------------------
# GitHub origins: ARC archives and the Sudoku collections, with miniature pins


ARC_COMMIT = origins.ORIGINS["arc-agi-1"].commit
CONCEPT_COMMIT = origins.ORIGINS["conceptarc"].commit


def arc_task(colour: int) -> bytes:
    pair = {"input": [[colour, 0], [0, colour]], "output": [[0, colour], [colour, 0]]}
    return json.dumps({"train": [pair, pair], "test": [pair]}).encode()


def pin_tree(monkeypatch, name: str, files: dict[str, bytes], strip: str) -> None:
    """Point an origin's tree pin at the digest of these miniature files (what tree_sha256 computes)."""
    lines = sorted(f"{path.removeprefix(strip)}\t{sha256(body)}\n" for path, body in files.items())
    origin = dataclasses.replace(origins.ORIGINS[name], tree_sha256=sha256("".join(lines).encode()))
    monkeypatch.setitem(origins.ORIGINS, name, origin)


def serve_mini_arc(hub: LoopbackHub, monkeypatch, tamper: bool = False) -> None:
    agi1 = {"data/training/aaaa0001.json": arc_task(1), "data/training/aaaa0002.json": arc_task(2),
            "data/evaluation/bbbb0001.json": arc_task(3)}
    concept = {"corpus/Copy/Copy1.json": arc_task(4), "MinimalTasks/CopyMinimal.json": arc_task(5)}
    pin_tree(monkeypatch, "arc-agi-1", agi1, "data/")
    pin_tree(monkeypatch, "conceptarc", concept, "")
    if tamper:
        agi1["data/training/aaaa0002.json"] = arc_task(6)
    hub.add_github_archive("fchollet/ARC-AGI", ARC_COMMIT, {**agi1, "README.md": b"not kept", "apps/x.js": b"1"})
    hub.add_github_archive("victorvikram/ConceptARC", CONCEPT_COMMIT, {**concept, "data.xlsx": b"not kept"})


def test_arc_archives_are_unpacked_checked_and_built(hub, downloading, monkeypatch, tmp_path) -> None:
    serve_mini_arc(hub, monkeypatch)
    out = build_dataset("arc1", tmp_path / "arc1", BuildOptions(num_aug=1, canvas=8))
    train, test = PuzzleDataset.load(out, "train"), PuzzleDataset.load(out, "test")
    assert (train.num_groups, test.num_groups) == (4, 1)
    files = downloading / "arc-agi-1" / "files"
    assert sorted(p.relative_to(files).as_posix() for p in files.rglob("*.json")) == [
        "evaluation/bbbb0001.json", "training/aaaa0001.json", "training/aaaa0002.json"]
    assert sorted(p.name for p in (downloading / "arc-agi-1").iterdir()) == ["files"]     # the archive is gone
    assert (downloading / "conceptarc" / "files" / "MinimalTasks" / "CopyMinimal.json").exists()


def test_an_arc_archive_whose_files_differ_from_the_pin_is_refused(hub, downloading, monkeypatch, tmp_path) -> None:
    serve_mini_arc(hub, monkeypatch, tamper=True)
    with pytest.raises(DataError, match=r"checksum mismatch for .*/fchollet/ARC-AGI/archive/.*download was removed"):
        build_dataset("arc1", tmp_path / "arc1", BuildOptions(num_aug=1, canvas=8))
    assert list((downloading / "arc-agi-1").iterdir()) == [] and not (tmp_path / "arc1").exists()


def test_sudoku_collections_are_downloaded_pinned_and_solved(hub, downloading, monkeypatch, tmp_path) -> None:
    raw = b"# a comment line\r\n" + PUZZLE.encode() + b"\r\n" + ANSWER[:80].encode() + b".\r\n"
    origin = origins.ORIGINS["sudoku"]
    file = origin.files["puzzles6_forum_hardest_1106.csv.xz"]
    pinned = dataclasses.replace(file, sha256=sha256(raw))
    monkeypatch.setitem(origin.files, "puzzles6_forum_hardest_1106.csv.xz", pinned)
    hub.add_github_file(origin.repo, origin.commit, file.path, raw)
    with sources.using_sources(workers=1):
        records = sources.read_sudoku_source("forum1106")
    assert records.question_strings() == [PUZZLE, ANSWER[:80] + "."]
    assert ["".join(map(str, a.reshape(-1))) for a in records.answers] == [ANSWER, ANSWER]
    assert records.source == "puzzles6_forum_hardest_1106"
    csv_path = downloading / "sudoku" / "puzzles6_forum_hardest_1106.csv.xz"
    assert lzma.decompress(csv_path.read_bytes()).decode().startswith("source,question,answer,rating\n")


# ----------------------------------------------------------------------------------------------------
# The real pins, checked against the development mirror (a verbatim copy of the origins)


def test_the_arc_pins_match_the_mirror_served_as_github_archives(shared_data, hub, downloading) -> None:
    for name, strip in (("arc-agi-1", "data/"), ("arc-agi-2", "data/"), ("conceptarc", "")):
        origin = origins.ORIGINS[name]
        folder = shared_data / origin.local
        files = {strip + p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
                 if p.is_file() and p.name != "SOURCE.md"}
        hub.add_github_archive(origin.repo, origin.commit, files)
    with sources.using_sources():
        assert len(sources.arc_task_files("arc1")) == 960 and len(sources.arc_task_files("arc2")) == 1120


def test_the_sudoku_pins_match_the_mirror_and_solving_gives_its_answers(shared_data, hub, downloading) -> None:
    origin = origins.ORIGINS["sudoku"]
    for csv_name, file in origin.files.items():
        raw_copy = shared_data / "sudoku" / "raw" / csv_name.replace(".csv.xz", ".txt.xz")
        hub.add_github_file(origin.repo, origin.commit, file.path, lzma.decompress(raw_copy.read_bytes()))
        download(origin.url(file), downloading / "check" / Path(file.path).name, file.sha256)     # the pin holds
    raw = downloading / "check" / "puzzles6_forum_hardest_1106"
    questions = [line for line in raw.read_text().splitlines() if line and not line.startswith("#")][:60]
    mirror = sources.read_sudoku_csv(shared_data / "sudoku" / "puzzles6_forum_hardest_1106.csv.xz", limit=60)
    assert questions == mirror.question_strings()
    assert [origins.solve_line(q)[0] for q in questions] == ["".join(map(str, a.reshape(-1))) for a in mirror.answers]


def test_an_archive_put_in_the_cache_by_hand_is_used_offline(hub, downloading, monkeypatch, tmp_path) -> None:
    """What the offline message says to do: download the archive elsewhere and put it where it names."""
    serve_mini_arc(hub, monkeypatch)
    for name, repo in (("arc-agi-1", "fchollet/ARC-AGI"), ("conceptarc", "victorvikram/ConceptARC")):
        commit = origins.ORIGINS[name].commit
        (downloading / name).mkdir(parents=True)
        (downloading / name / f"{commit}.tar.gz").write_bytes(hub.github[f"/{repo}/archive/{commit}.tar.gz"])
    monkeypatch.setenv("HRM_GITHUB_ENDPOINT", closed_port_url())
    out = build_dataset("arc1", tmp_path / "arc1", BuildOptions(num_aug=0, canvas=8))
    assert PuzzleDataset.load(out, "train").num_groups == 4


def test_source_option_reads_a_local_copy_before_the_environment(shared_data, capsys, monkeypatch, tmp_path) -> None:
    out = tmp_path / "forum"
    result = run_cli(capsys, monkeypatch, "data", "build", "sudoku-forum1106", "--out", str(out),
                     "--source", str(shared_data), env={"HRM_SOURCE_DATA": str(tmp_path / "absent")})
    assert result.code == 0, result.err
    assert PuzzleDataset.load(out, "test").num_examples == 244
    assert "source" not in PuzzleDataset.load(out, "test").metadata.build_args


HF_CLIENT = """
import sys
from pathlib import Path
import huggingface_hub as hf
cache = sys.argv[1]
path = hf.hf_hub_download("owner/model", "sub/w.bin", cache_dir=cache)
assert Path(path).read_bytes() == b"w" * 5000 and "a" * 40 in path, path
path = hf.hf_hub_download("sapientinc/sudoku-extreme", "test.csv", repo_type="dataset", revision="58942f96",
                          cache_dir=cache)
assert Path(path).read_bytes() == b"source,question\\n", path
snapshot = Path(hf.snapshot_download("owner/model", cache_dir=cache))
print(sorted(p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()))
"""


def test_the_loopback_hub_answers_huggingface_hub_itself(loopback_hub, tmp_path) -> None:
    """The helper is shared with `--weights hf:` (huggingface_hub, which reads HF_ENDPOINT once, at import:
    hence a fresh process)."""
    import os
    import subprocess
    import sys

    pytest.importorskip("huggingface_hub")
    loopback_hub.add_model("owner/model", {"config.json": b"{}", "sub/w.bin": b"w" * 5000}, commit="a" * 40)
    loopback_hub.add_dataset("sapientinc/sudoku-extreme", {"test.csv": b"source,question\n"},
                             commit="58942f96" + "b" * 32)
    env = {**os.environ, "HF_ENDPOINT": loopback_hub.url, "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_OFFLINE": "0"}
    run = subprocess.run([sys.executable, "-c", HF_CLIENT, str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "['config.json', 'sub/w.bin']"


def test_build_bars_count_downloads_in_bytes_and_other_stages_in_items() -> None:
    from rich.progress import Progress

    from hrm_cli.progress import build_count_column

    column = build_count_column()
    with Progress(column, disable=True) as bars:
        download_stage = bars.add_task("download train.csv", total=10_000_000, completed=5_000_000)
        puzzles = bars.add_task("train puzzles", total=100, completed=30)
        by_id = {task.id: task for task in bars.tasks}
        assert str(column.render(by_id[download_stage])).startswith("5.0/10.0 MB")
        assert str(column.render(by_id[puzzles])).strip() == "30/100"
