"""Named dataset builds: determinism, no evaluation puzzle in any training split, task encodings, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hrm.data import build
from hrm.data.build import BuildOptions, build_dataset, ensure_dataset, sudoku_eval_sets
from hrm.data.format import PuzzleDataset, read_identifiers
from hrm.data.sources import read_maze_csv, read_sudoku_source
from hrm.errors import DataError
from hrm.tasks import Puzzle, get_task
from hrm.tasks.arc import encode_grid, parse_variant_name
from hrm.tasks.maze import PATH, count_shortest_paths, shortest_distance, shortest_path_solution
from tests.cli_helpers import run_cli


def sudoku_strings(tokens: np.ndarray) -> set[str]:
    digits = np.asarray(tokens, dtype=np.int64) - 1
    return {"".join(str(d) if d else "." for d in row) for row in digits}


def first_puzzle_rows(ds: PuzzleDataset, column: str = "inputs") -> np.ndarray:
    """The un-augmented (first) puzzle of every group."""
    first_puzzles = ds.group_indices[:-1]
    return np.asarray(getattr(ds, column))[ds.puzzle_indices[first_puzzles]]


@pytest.fixture(scope="module")
def sudoku_1k(shared_data, tmp_path_factory) -> Path:
    return build_dataset("sudoku-hard-1k", tmp_path_factory.mktemp("s") / "d", BuildOptions(limit=40, num_aug=3))


def test_sudoku_build_is_deterministic(sudoku_1k, tmp_path) -> None:
    again = build_dataset("sudoku-hard-1k", tmp_path / "again", BuildOptions(limit=40, num_aug=3))
    for split in ("train", "test"):
        assert PuzzleDataset.load(again, split).content_hash == PuzzleDataset.load(sudoku_1k, split).content_hash
    other = build_dataset("sudoku-hard-1k", tmp_path / "other", BuildOptions(limit=40, num_aug=3, seed=1))
    assert PuzzleDataset.load(other, "train").content_hash != PuzzleDataset.load(again, "train").content_hash
    assert PuzzleDataset.load(other, "test").content_hash == PuzzleDataset.load(again, "test").content_hash


def test_sudoku_groups_hold_the_original_and_valid_shuffles(sudoku_1k) -> None:
    task = get_task("sudoku")
    train = PuzzleDataset.load(sudoku_1k, "train")
    assert (train.num_groups, train.num_puzzles, train.metadata.num_puzzle_identifiers) == (40, 160, 1)
    assert (train.puzzle_identifiers == 0).all() and train.metadata.vocab_size == 11
    assert not sudoku_strings(first_puzzle_rows(train)) & sudoku_eval_sets().questions
    source = read_sudoku_source("puzzles5")
    by_question = {q: i for i, q in enumerate(source.question_strings())}
    for g in range(0, 40, 9):
        rows = list(train.puzzles_of_group(g))
        original = next(iter(sudoku_strings(train.inputs[rows[:1]])))
        i = by_question[original]
        puzzle = Puzzle("sudoku", source.questions[i].astype(np.int64), source.answers[i].astype(np.int64))
        np.testing.assert_array_equal(train.inputs[rows[0]], task.encode(puzzle))
        np.testing.assert_array_equal(train.labels[rows[0]], task.encode_label(puzzle, puzzle.solution))
        for r in rows[1:]:
            question = task.decode(puzzle, train.inputs[r])
            answer = task.decode(puzzle, train.labels[r])
            assert task.verify(Puzzle("sudoku", question), answer).ok


def test_no_evaluation_puzzle_is_ever_trained_on(shared_data, tmp_path) -> None:
    evals = sudoku_eval_sets()
    assert len(evals.hard_test) == 5000 and len(evals.clue17) == 2000 and len(evals.forum1106) == 244
    full = build_dataset("sudoku-hard-full", tmp_path / "full", BuildOptions())
    train = PuzzleDataset.load(full, "train")
    train_questions = sudoku_strings(first_puzzle_rows(train))
    assert len(train_questions) > 85_000
    assert not train_questions & evals.questions
    test = PuzzleDataset.load(full, "test")
    assert sudoku_strings(test.inputs) == set(evals.hard_test.question_strings())


def test_eval_only_sudoku_sets(shared_data, tmp_path) -> None:
    path = build_dataset("sudoku-forum1106", tmp_path / "f")
    test = PuzzleDataset.load(path, "test")
    puzzles5 = set(read_sudoku_source("puzzles5").question_strings())
    assert test.num_examples == 244 and not sudoku_strings(test.inputs) & puzzles5
    assert not (path / "train").exists()


def test_sudoku_easy_blanks_few_cells_and_keeps_the_solution(shared_data, tmp_path) -> None:
    path = build_dataset("sudoku-easy", tmp_path / "e", BuildOptions(limit=30, num_aug=1))
    train, test = PuzzleDataset.load(path, "train"), PuzzleDataset.load(path, "test")
    assert (train.num_groups, train.num_puzzles, test.num_examples) == (30, 60, 30)
    blanks = (first_puzzle_rows(train) == 1).sum(axis=1)
    assert blanks.min() >= 10 and blanks.max() <= 30
    from hrm.data.sudoku_gen import analyse

    for row, label in zip(test.inputs[:10], test.labels[:10], strict=True):
        result = analyse(row.astype(np.int64) - 1)
        assert result.unique and np.array_equal(result.solutions[0].reshape(81) + 1, label)
    assert not sudoku_strings(first_puzzle_rows(train)) & sudoku_strings(test.inputs)


@pytest.fixture(scope="module")
def maze_small(tmp_path_factory) -> Path:
    return build_dataset("maze-hard", tmp_path_factory.mktemp("m") / "d", BuildOptions(limit=3))


def test_maze_build_labels_layouts_and_csv(maze_small, tmp_path) -> None:
    train, test = PuzzleDataset.load(maze_small, "train"), PuzzleDataset.load(maze_small, "test")
    assert train.num_examples == test.num_examples == 3 and train.metadata.vocab_size == 6
    for ds in (train, test):
        for question, label in zip(ds.inputs, ds.labels, strict=True):
            grid = question.reshape(30, 30).astype(np.int64)
            moves = shortest_distance(grid)
            assert moves > 110 and (label == PATH).sum() == moves - 1
            np.testing.assert_array_equal(label.reshape(30, 30), shortest_path_solution(grid))
    walls = {bytes(ds.inputs[i] == 1) for ds in (train,) for i in range(3)}
    assert not walls & {bytes(test.inputs[i] == 1) for i in range(3)}
    records = read_maze_csv(maze_small / "test.csv")
    assert [r.rating for r in records] == [shortest_distance(r.reshape(30, 30)) for r in test.inputs.astype(int)]
    parsed = get_task("maze").parse((maze_small / "test.csv").read_text(), "test.csv")
    np.testing.assert_array_equal(get_task("maze").encode(parsed[0]), test.inputs[0])
    again = build_dataset("maze-hard", tmp_path / "again", BuildOptions(limit=3))
    assert PuzzleDataset.load(again, "test").content_hash == test.content_hash


def test_maze_dihedral_and_rebuild_from_csv(maze_small, tmp_path) -> None:
    path = build_dataset("maze-hard", tmp_path / "dihedral",
                         BuildOptions(limit=3, dihedral=True, from_csv=str(maze_small)))
    train = PuzzleDataset.load(path, "train")
    assert (train.num_groups, train.num_puzzles) == (3, 24)
    original = PuzzleDataset.load(maze_small, "train")
    np.testing.assert_array_equal(first_puzzle_rows(train), original.inputs)
    assert PuzzleDataset.load(path, "test").content_hash == PuzzleDataset.load(maze_small, "test").content_hash
    for question, label in zip(train.inputs, train.labels, strict=True):   # every variant: the rule, its own frame
        np.testing.assert_array_equal(label.reshape(30, 30), shortest_path_solution(question.reshape(30, 30)))


def test_maze_room_walls_training_cells_off_every_shortest_path(maze_small, tmp_path) -> None:
    path = build_dataset("maze-hard", tmp_path / "room", BuildOptions(limit=3, room=0, from_csv=str(maze_small)))
    train, original = PuzzleDataset.load(path, "train"), PuzzleDataset.load(maze_small, "train")
    assert PuzzleDataset.load(path, "test").content_hash == PuzzleDataset.load(maze_small, "test").content_hash
    assert train.content_hash != original.content_hash
    for question, label, before in zip(train.inputs, train.labels, original.inputs, strict=True):
        grid, unwalled = (q.reshape(30, 30).astype(np.int64) for q in (question, before))
        assert (grid == 2).sum() < (unwalled == 2).sum()                      # room went
        assert shortest_distance(grid) == shortest_distance(unwalled)          # every shortest path stayed
        assert count_shortest_paths(grid) == count_shortest_paths(unwalled)
        np.testing.assert_array_equal(label.reshape(30, 30), shortest_path_solution(grid))   # the same path
    with pytest.raises(DataError, match="--room"):
        build_dataset("sudoku-extreme", tmp_path / "no", BuildOptions(limit=3, room=2))

    mixed = PuzzleDataset.load(build_dataset("maze-hard", tmp_path / "mix", BuildOptions(
        limit=3, room=0, room_mix=True, dihedral=True, from_csv=str(maze_small))), "train")
    assert (mixed.num_groups, mixed.num_puzzles) == (3, 48)               # 8 frames of each, as built and walled
    np.testing.assert_array_equal(mixed.inputs[0::16], original.inputs)
    np.testing.assert_array_equal(mixed.inputs[8::16], train.inputs)
    for question, label in zip(mixed.inputs, mixed.labels, strict=True):
        np.testing.assert_array_equal(label.reshape(30, 30), shortest_path_solution(question.reshape(30, 30)))
    with pytest.raises(DataError, match="--room-mix needs --room"):
        build_dataset("maze-hard", tmp_path / "no-mix", BuildOptions(limit=3, room_mix=True))


def test_maze_room_refuses_a_maze_without_a_reachable_goal() -> None:
    from hrm.data.build import _walled_rows

    grid = np.full((30, 30), 2, dtype=np.uint8)
    grid[0, 0], grid[29, 29], grid[15, :] = 3, 4, 1                           # a wall cuts G off
    rows = grid.reshape(1, -1)
    with pytest.raises(DataError, match="row 1: --room needs one S and one G that it can reach"):
        _walled_rows(rows, rows, 2, "maze train")


@pytest.mark.parametrize(("name", "side", "min_moves"), [("maze-small", 10, 10), ("maze-medium", 16, 20)])
def test_small_canvas_maze_sets_hold_mazes_of_their_side(tmp_path, name: str, side: int, min_moves: int) -> None:
    """The CPU curriculum's sets: mazes on a canvas of their own side, labelled with a shortest path."""
    root = build_dataset(name, tmp_path / name, BuildOptions(limit=4, workers=1))
    for split in ("train", "test"):
        ds = PuzzleDataset.load(root, split)
        assert ds.inputs.shape[1] == side * side
        for question, label in zip(ds.inputs, ds.labels, strict=True):
            grid = question.reshape(side, side).astype(np.int64)
            assert shortest_distance(grid) >= min_moves
            np.testing.assert_array_equal(label.reshape(side, side), shortest_path_solution(grid))


def test_a_label_from_elsewhere_turns_with_its_maze(tmp_path) -> None:
    """A stored shortest path that our rule would not pick (the reference's A* ties) is rotated with
    its maze instead of replaced: the variants keep its choice, as the reference's augmentation does."""
    from hrm.data.build import _dihedral_labels
    from hrm.tasks.grid import dihedral

    grid = np.full((5, 5), 2)
    grid[0, 0], grid[4, 4] = 3, 4
    ours = shortest_path_solution(grid)
    theirs = grid.copy()
    theirs[1:, 0], theirs[4, 1:4] = 5, 5                       # down the left side, then along the bottom row
    assert (theirs == 5).sum() == (ours == 5).sum() and not np.array_equal(theirs, ours)
    labels = _dihedral_labels(np.stack([grid.reshape(25)] * 2), np.stack([ours.reshape(25), theirs.reshape(25)]))
    for t in range(8):
        turned = dihedral(grid, t)
        np.testing.assert_array_equal(labels[t].reshape(5, 5), shortest_path_solution(turned))
        np.testing.assert_array_equal(labels[8 + t].reshape(5, 5), dihedral(theirs, t))


@pytest.fixture(scope="module")
def arc1(shared_data, tmp_path_factory) -> Path:
    return build_dataset("arc1", tmp_path_factory.mktemp("a") / "d", BuildOptions(num_aug=1, workers=2))


def test_arc1_split_follows_the_reference(arc1) -> None:
    train, test = PuzzleDataset.load(arc1, "train"), PuzzleDataset.load(arc1, "test")
    assert train.num_groups == 960 and test.num_groups == 400
    assert train.metadata.mean_puzzle_examples == pytest.approx(4.154, abs=0.01)
    names = read_identifiers(arc1)
    assert names[0] == "<blank>" and len(names) == len(set(names)) == train.metadata.num_puzzle_identifiers
    assert set(test.puzzle_identifiers.tolist()) <= set(train.puzzle_identifiers.tolist())
    for identifier in test.puzzle_identifiers[:50]:
        task_id, transform = parse_variant_name(names[identifier])
        assert names[identifier] == task_id or transform.dihedral in range(8)


def _to_corner(question: np.ndarray, answer: np.ndarray) -> bytes:
    """An (input, output) pair moved back to the canvas's top-left corner (undoing translation)."""
    grid = question.reshape(30, 30)
    rows, cols = np.nonzero(grid)
    shift = (-int(rows.min()), -int(cols.min()))
    return (np.roll(grid, shift, axis=(0, 1)).tobytes()
            + np.roll(answer.reshape(30, 30), shift, axis=(0, 1)).tobytes())


def test_arc_test_pairs_of_evaluation_tasks_never_reach_train(arc1, shared_data) -> None:
    train, test = PuzzleDataset.load(arc1, "train"), PuzzleDataset.load(arc1, "test")
    # Rows of evaluation tasks in train (their demonstrations). Across tasks the sources share one pair
    # (evaluation 070dd51e's test pair is also in training task 40853293), so compare within tasks.
    owner = np.searchsorted(train.puzzle_indices, np.arange(train.num_examples), side="right") - 1
    of_eval_tasks = np.isin(train.puzzle_identifiers[owner], test.puzzle_identifiers)
    train_pairs = {_to_corner(a, b) for a, b in zip(train.inputs[of_eval_tasks], train.labels[of_eval_tasks],
                                                     strict=True)}
    test_pairs = {a.tobytes() + b.tobytes() for a, b in zip(test.inputs, test.labels, strict=True)}
    assert len(train_pairs) > 2_000 and len(test_pairs) > 800
    assert not test_pairs & train_pairs
    first_eval = sorted((shared_data / "arc" / "agi1" / "evaluation").glob("*.json"))[0]
    pair = json.loads(first_eval.read_text())["test"][0]
    tokens = encode_grid(np.array(pair["input"])).tobytes() + encode_grid(np.array(pair["output"])).tobytes()
    assert tokens in test_pairs


def test_arc_build_is_deterministic_whatever_the_workers(arc1, tmp_path) -> None:
    again = build_dataset("arc1", tmp_path / "again", BuildOptions(num_aug=1, workers=1))
    assert PuzzleDataset.load(again, "train").content_hash == PuzzleDataset.load(arc1, "train").content_hash


def test_interrupted_build_leaves_nothing_and_ensure_builds_once(tmp_path, monkeypatch) -> None:
    def interrupt(stage: str, done: int, total: int | None) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        build_dataset("maze-easy", tmp_path / "x", BuildOptions(limit=2), interrupt)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(build, "GRADE_TEST_SIZE", 3)     # a generated set: no source folder needed
    path = ensure_dataset("sudoku-g2", root=tmp_path)
    stamp = (path / "test" / "dataset.json").stat().st_mtime_ns
    assert ensure_dataset("sudoku-g2", root=tmp_path) == path
    assert (path / "test" / "dataset.json").stat().st_mtime_ns == stamp


def test_bad_options_and_missing_sources_are_clear_errors(tmp_path, monkeypatch) -> None:
    with pytest.raises(DataError, match="unknown dataset"):
        build_dataset("sudoku-huge", tmp_path / "x")
    with pytest.raises(DataError, match="--dihedral"):
        build_dataset("arc1", tmp_path / "x", BuildOptions(dihedral=True))
    monkeypatch.setenv("HRM_SOURCE_DATA", str(tmp_path / "absent"))
    with pytest.raises(DataError, match=str(tmp_path / "absent")):
        build_dataset("sudoku-magictour", tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_cli_build_list_and_info(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HRM_DATA", str(tmp_path))
    result = run_cli(capsys, monkeypatch, "data", "build", "maze-easy", "--limit", "2", "--workers", "1")
    assert result.code == 0 and "hash" in result.out
    listing = json.loads(run_cli(capsys, monkeypatch, "data", "list", "--json").out)
    built = {d["name"]: d["built"] for d in listing["datasets"]}
    assert built["maze-easy"] and not built["arc2"]
    info = run_cli(capsys, monkeypatch, "data", "info", str(tmp_path / "maze-easy"), "--verify", "--json")
    report = json.loads(info.out)
    assert report["splits"]["test"]["hash_ok"] and report["splits"]["train"]["name"] == "maze-easy"
    bad = run_cli(capsys, monkeypatch, "data", "build", "nope")
    assert bad.code == 2 and "unknown dataset" in bad.err and "Traceback" not in bad.err


def test_out_dot_is_a_folder_like_any_other(capsys, monkeypatch, tmp_path, examples_dir) -> None:
    """`--out .` names the current folder: refused as not a dataset, in one line, nothing written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "00576224.json").write_bytes((examples_dir / "arc" / "00576224.json").read_bytes())
    result = run_cli(capsys, monkeypatch, "data", "build", "arc-tasks", "--from-json", ".", "--out", ".",
                     "--canvas", "8")
    assert result.code == 2 and "exists and is not a dataset" in result.err and len(result.err.splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["00576224.json"]


def test_arc_tasks_from_json_on_a_small_canvas(examples_dir, tmp_path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    for name in ("00576224", "66e6c45b"):
        (folder / f"{name}.json").write_text((examples_dir / "arc" / f"{name}.json").read_text())
    big = {"train": [{"input": [[1] * 9], "output": [[2] * 9]}], "test": [{"input": [[1] * 9], "output": [[2] * 9]}]}
    (folder / "too_wide.json").write_text(json.dumps(big))
    out = build_dataset("arc-tasks", tmp_path / "d", BuildOptions(from_json=str(folder), canvas=8, num_aug=5))
    train, test = PuzzleDataset.load(out, "train"), PuzzleDataset.load(out, "test")
    assert train.metadata.seq_len == test.metadata.seq_len == 64
    names = read_identifiers(out)
    assert {parse_variant_name(n)[0] for n in names[1:]} == {"00576224", "66e6c45b"}  # the 9-wide task left out
    task = json.loads((folder / "66e6c45b.json").read_text())
    test_output = np.array(task["test"][0]["output"])
    identity = names.index("66e6c45b")
    rows = np.flatnonzero(test.puzzle_identifiers[np.searchsorted(test.puzzle_indices, np.arange(test.num_examples),
                                                                   side="right") - 1] == identity)
    assert np.array_equal(test.labels[rows[0]], encode_grid(test_output, side=8))    # tests evaluate ...
    assert not any(np.array_equal(label, encode_grid(test_output, side=8)) for label in train.labels)  # ... only
    assert train.num_examples == 6 * (2 + 2)                                        # 6 variants x 2 demos each


def test_arc_tasks_options_are_checked(tmp_path) -> None:
    with pytest.raises(DataError, match="needs --from-json"):
        build_dataset("arc-tasks", tmp_path / "x")
    with pytest.raises(DataError, match="only applies to arc-tasks"):
        build_dataset("arc1", tmp_path / "x", BuildOptions(from_json="somewhere"))
    with pytest.raises(DataError, match="--canvas"):
        build_dataset("sudoku-easy", tmp_path / "x", BuildOptions(canvas=8))
    with pytest.raises(DataError, match=str(tmp_path / "absent")):
        build_dataset("arc-tasks", tmp_path / "x", BuildOptions(from_json=str(tmp_path / "absent")))
    (tmp_path / "t").mkdir()
    wide = [{"input": [[1] * 9], "output": [[1] * 9]}]
    (tmp_path / "t" / "wide.json").write_text(json.dumps({"train": wide, "test": wide}))
    with pytest.raises(DataError, match="no ARC task fits a 8x8 canvas"):
        build_dataset("arc-tasks", tmp_path / "x", BuildOptions(from_json=str(tmp_path / "t"), canvas=8))
    assert not (tmp_path / "x").exists()


ONE = [{"input": [[1]], "output": [[1]]}]


@pytest.mark.parametrize("content, message", [
    ({"train": [{"input": [[3.5]], "output": [[1]]}], "test": ONE}, "'3.5', not an integer"),
    ({"train": [{"input": [[True]], "output": [[1]]}], "test": ONE}, "'True', not an int"),
    ({"train": [{"input": [["7"]], "output": [[1]]}], "test": ONE}, "'7', not an integer"),
    ({"train": [], "test": ONE}, "'train' list is empty"),
    ({"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": ONE}, "same length"),
])
def test_task_files_are_read_as_strictly_as_solve_reads_them(tmp_path, content, message) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "task.json").write_text(json.dumps(content))
    with pytest.raises(DataError, match=message):
        build_dataset("arc-tasks", tmp_path / "x", BuildOptions(from_json=str(tmp_path / "t"), canvas=8))


@pytest.mark.parametrize("raw, message", [
    (b"\xff\xfe not utf-8", "cannot read ARC task"),
    (b"[" * 100_000 + b"]" * 100_000, "cannot read ARC task"),
    (b'{"train": [{"input": [[' + b"9" * 100_000 + b']]}]}', "cannot read ARC task"),
])
def test_unreadable_task_files_are_one_clear_error(tmp_path, raw, message) -> None:
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "task.json").write_bytes(raw)
    with pytest.raises(DataError, match=message):
        build_dataset("arc-tasks", tmp_path / "x", BuildOptions(from_json=str(tmp_path / "t"), canvas=8))


def test_task_files_of_one_name_in_two_folders_keep_separate_identifiers(tmp_path) -> None:
    from hrm.data.sources import load_arc_tasks_from

    pair = [{"input": [[1]], "output": [[2]]}]
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.json").write_text(json.dumps({"train": pair, "test": pair}))
    (tmp_path / "a" / "other.json").write_text(json.dumps({"train": pair, "test": pair}))
    assert sorted(t.name for t in load_arc_tasks_from(tmp_path)) == ["a/same", "b/same", "other"]


def test_eval_only_mazes_share_no_layout_with_training_mazes(tmp_path) -> None:
    """maze-short's paths (30-110 moves) overlap maze-easy's (20-60): drawn from the same stream, most of its
    layouts were maze-easy training layouts. Its own stream keeps the two apart."""
    def layouts(name: str, split: str) -> set[bytes]:
        root = build_dataset(name, tmp_path / name, BuildOptions(limit=150, workers=1))
        return {(row == 1).tobytes() for row in PuzzleDataset.load(root, split).inputs}

    trained = layouts("maze-easy", "train") | layouts("maze-mixed", "train")
    assert len(trained) == 150 + 4 * (150 // 4)   # maze-mixed: four bands of 37
    assert not layouts("maze-short", "test") & trained


def test_maze_mixed_takes_every_band_of_path_lengths_in_turn(tmp_path) -> None:
    root = build_dataset("maze-mixed", tmp_path / "mixed", BuildOptions(limit=8, workers=1))
    for split in ("train", "test"):
        labels = PuzzleDataset.load(root, split).labels
        moves = (np.asarray(labels) == PATH).sum(axis=1) + 1
        bands = np.searchsorted([45, 70, 90], moves, side="right")
        assert bands.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
        assert moves.min() >= 20 and moves.max() <= 110
    layouts = [(row == 1).tobytes() for split in ("train", "test") for row in PuzzleDataset.load(root, split).inputs]
    assert len(set(layouts)) == len(layouts) == 16
