"""`hrm solve` through the real entry point: outputs, JSON schema and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from hrm.checkpoint import save_model
from hrm.config import get_preset
from hrm.model import HRM
from tests.cli_helpers import run_cli

EASY = "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......"


@pytest.fixture(scope="module")
def untrained_weights(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    save_model(path, HRM(get_preset("trm-sudoku-tiny").with_overrides(halt_max_steps=2)))
    return path


def test_json_schema_and_unsolved_exit_code(capsys, monkeypatch, tmp_path, untrained_weights):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY + "\n" + EASY.replace("4", ".", 1) + "\n")
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "--json")
    records = [json.loads(line) for line in result.out.splitlines()]
    assert len(records) == 2
    for record in records:
        assert {"task", "input", "answer", "verified", "segments", "q_halt", "seconds"} <= set(record)
        assert record["task"] == "sudoku" and len(record["input"]) == 81 and len(record["answer"]) == 81
        assert isinstance(record["verified"], bool) and 1 <= record["segments"] <= 2
    assert records[0]["input"] == EASY
    # an untrained model cannot solve it, and says so honestly
    assert result.code == 1 and not any(r["verified"] for r in records)


def test_stdin_is_read(capsys, monkeypatch, untrained_weights):
    result = run_cli(capsys, monkeypatch, "solve", "-", "-w", str(untrained_weights), "--json", stdin=EASY + "\n")
    assert json.loads(result.out)["input"] == EASY


@pytest.mark.parametrize("content, message", [
    ("12345\n", "line 1"),
    ("4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4....x.", "x"),
])
def test_bad_puzzle_text_is_one_line_exit_2(capsys, monkeypatch, tmp_path, untrained_weights, content, message):
    puzzle = tmp_path / "bad.txt"
    puzzle.write_text(content)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "--task", "sudoku")
    assert result.code == 2 and result.out == ""
    assert result.err.strip().count("\n") == 0 and "error" in result.err and "Traceback" not in result.err


def test_missing_file_and_missing_weights(capsys, monkeypatch, tmp_path):
    result = run_cli(capsys, monkeypatch, "solve", str(tmp_path / "nope.txt"))
    assert result.code == 2 and "no such file" in result.err
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(tmp_path / "missing.safetensors"))
    assert result.code == 2 and "not found" in result.err
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), env={"HRM_WEIGHTS_DIR": str(tmp_path)})
    assert result.code == 2 and "manifest" in result.err


def test_corrupted_weights_give_a_clear_error(capsys, monkeypatch, tmp_path, untrained_weights):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(untrained_weights.read_bytes()[: untrained_weights.stat().st_size // 2])
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(broken))
    assert result.code == 2 and "broken.safetensors" in result.err and "Traceback" not in result.err


def test_weights_for_another_task_are_refused(capsys, monkeypatch, tmp_path, examples_dir):
    maze_weights = tmp_path / "maze.safetensors"
    save_model(maze_weights, HRM(get_preset("trm-maze-tiny")))
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(maze_weights))
    assert result.code == 2 and "maze model" in result.err


def test_conflicting_givens_exit_2_before_solving(capsys, monkeypatch, tmp_path, untrained_weights):
    grid = list(EASY)
    grid[1] = "4"  # a second 4 in row 1
    puzzle = tmp_path / "p.txt"
    puzzle.write_text("".join(grid))
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "--json")
    record = json.loads(result.out)
    assert result.code == 2 and record["status"] == "rejected" and record["answer"] is None
    assert any("two 4s" in v for v in record["violations"])


def test_no_gpu_when_cuda_is_asked(capsys, monkeypatch, tmp_path, untrained_weights):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "--device", "cuda")
    assert result.code == 2 and "CUDA" in result.err


def test_read_only_prints_the_parsed_grid(capsys, monkeypatch, tmp_path):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "--read-only", "--json")
    record = json.loads(result.out)
    assert result.code == 0 and record["input"] == EASY and "answer" not in record


def test_help_explains_every_option_and_does_not_import_torch():
    code = ("import sys; from hrm_cli.main import app; import typer.main as m; "
            "cmd = m.get_command(app); "
            "missing = [(n, p.name) for n, c in cmd.commands.items() for p in c.params if not getattr(p, 'help', None)"
            " and p.param_type_name == 'option' and p.name != 'help']; "
            "print(missing); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]", f"options without help: {out[0]}"
    assert out[1] == "False", "building the CLI must not import torch"


def test_every_subcommand_has_help():
    for command in ("solve", "export", "info"):
        result = subprocess.run([sys.executable, "-m", "hrm_cli", command, "--help"], capture_output=True, text=True)
        assert result.returncode == 0 and "Usage" in result.stdout


def test_sudoku_answer_is_printed_with_givens(capsys, monkeypatch, tmp_path, untrained_weights):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights))
    assert "puzzle" in result.out and "UNSOLVED" in result.out and "segment" in result.out
    assert np.sum([c.isdigit() for c in result.out]) > 40


def test_arc_grids_print_their_colour_numbers_without_colour(capsys, monkeypatch, examples_dir):
    result = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "arc" / "66e6c45b.json"), "--read-only")
    assert result.code == 0
    assert "0 2 3 0" in result.out and "0 4 9 0" in result.out   # the test input's middle rows


def test_an_arc_task_the_model_never_saw_is_flagged(capsys, monkeypatch, tmp_path, examples_dir):
    torch.manual_seed(0)
    weights = tmp_path / "arc.safetensors"
    save_model(weights, HRM(get_preset("hrm-arc-tiny").with_overrides(seq_len=64, halt_max_steps=1,
                                                                     num_puzzle_identifiers=2)),
               meta={"identifiers": json.dumps({"<blank>": 0, "00576224": 1})})
    seen = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "arc" / "00576224.json"), "-w", str(weights))
    unseen = run_cli(capsys, monkeypatch, "solve", str(examples_dir / "arc" / "66e6c45b.json"), "-w", str(weights))
    assert "not trained on ARC task" not in seen.err
    assert "not trained on ARC task 66e6c45b" in unseen.err and "arc-tasks --from-json" in unseen.err


def test_weights_by_shipped_name_or_run_folder(capsys, monkeypatch, tmp_path, untrained_weights):
    """-w takes a file, a run folder (its best.safetensors) or the name of a shipped model."""
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    shipped = tmp_path / "shipped"
    run = tmp_path / "run"
    for folder, name in ((shipped, "tiny-model.safetensors"), (run, "best.safetensors")):
        folder.mkdir()
        (folder / name).write_bytes(untrained_weights.read_bytes())
    env = {"HRM_WEIGHTS_DIR": str(shipped)}
    for given in ("tiny-model", "tiny-model.safetensors", str(run)):
        result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", given, "--json", env=env)
        assert result.code in (0, 1), result.err
        expected = shipped / "tiny-model.safetensors" if "tiny" in given else run / "best.safetensors"
        assert json.loads(result.out)["weights"] == str(expected)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", "no-such-model", env=env)
    assert result.code == 2 and "no-such-model" in result.err


def test_an_unsolved_answer_keeps_the_givens_and_counts_every_broken_rule(capsys, monkeypatch, tmp_path,
                                                                          untrained_weights):
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "--json",
                     "--attempts", "1")
    record = json.loads(result.out)
    assert record["status"] == "unsolved" and record["violation_count"] > 8
    answer = record["answer"].replace("\n", "")
    assert all(a == g for a, g in zip(answer, EASY, strict=True) if g != ".")       # givens kept
    assert not any("was given as" in v for v in record["violations"])
    assert all("the given is kept" in note for note in record["notes"])
    text = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "--attempts", "1")
    listed = [line for line in text.out.splitlines() if line.startswith("  - ")]
    assert len(listed) == 8
    assert f"  ... and {record['violation_count'] - 8} more" in text.out


@pytest.mark.parametrize("text, message", [
    ("1" * 80, "found 80 cells, expected 9 (a row) or 81"),
    ("4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4.....x", "unexpected character 'x'"),
    ("53..7....\n6..195...\n.98....6.\n8...6...3\n4..8.3..1\n7...2...6\n.6....28.\n...419..5\n....8..7\n",
     "expected 9"),
])
def test_a_near_sudoku_gets_sudokus_own_message(capsys, monkeypatch, untrained_weights, text, message):
    """A typo in a Sudoku is reported as one, with its line and column, not as an unknown puzzle."""
    result = run_cli(capsys, monkeypatch, "solve", "-", "-w", str(untrained_weights), stdin=text + "\n")
    assert result.code == 2 and message in result.err and "could not tell" not in result.err
    assert result.err.strip().count("\n") == 0


def test_text_like_no_puzzle_still_says_so(capsys, monkeypatch, untrained_weights):
    result = run_cli(capsys, monkeypatch, "solve", "-", "-w", str(untrained_weights), stdin="hello world\n")
    assert result.code == 2 and "could not tell which puzzle this is" in result.err


def test_global_options_work_after_the_command(capsys, monkeypatch, tmp_path, untrained_weights):
    from hrm_cli.main import hoist_global_options

    assert hoist_global_options(["solve", "x.txt", "-q", "--debug", "--color", "never"]) == [
        "-q", "--debug", "--color", "never", "solve", "x.txt"]
    assert hoist_global_options(["train", "lr=1", "--", "-q"]) == ["train", "lr=1", "--", "-q"]
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    quiet = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(untrained_weights), "-qq")
    assert quiet.out == "" and quiet.err == "" and quiet.code == 1


@pytest.mark.parametrize("args, message", [
    (["solve", "--bogus"], "No such option: --bogus (see hrm solve --help)"),
    (["sovle"], "No such command 'sovle'"),
    (["solve", "--attempts", "x"], "'--attempts'"),
])
def test_argument_errors_are_one_line_exit_2(capsys, monkeypatch, args, message):
    result = run_cli(capsys, monkeypatch, *args)
    assert result.code == 2 and message in result.err
    assert result.err.strip().count("\n") == 0 and result.err.startswith("error:")


@pytest.mark.parametrize("command", ["solve", "train", "export", "watch", "eval", "data"])
def test_help_pages_show_no_bool_placeholders_or_braces(capsys, monkeypatch, command):
    result = run_cli(capsys, monkeypatch, command, "--help")
    usage = next(line for line in result.out.splitlines() if "Usage:" in line)
    assert result.code == 0 and "<bool>" not in result.out and "{" not in usage
    if command == "export":
        assert "Usage: hrm export [OPTIONS] WEIGHTS" in result.out


def test_text_from_files_never_reaches_the_terminal_as_codes_or_markup(capsys, monkeypatch, tmp_path):
    """A card or a file name can hold ESC sequences (set the title, clear the screen) or Rich markup:
    printed, they are visible characters."""
    from hrm.checkpoint import read_metadata
    from hrm.export import export_safetensors

    torch.manual_seed(0)
    model = HRM(get_preset("trm-sudoku-tiny").with_overrides(halt_max_steps=2))
    hostile = "\x1b]0;pwned\x07\x1b[2J[bold red]loud[/]"
    weights = tmp_path / "hostile.safetensors"
    export_safetensors(model, {"card": json.dumps({"description": hostile, hostile: "x"})}, weights, torch.float32)
    assert hostile in json.loads(read_metadata(weights)["card"])["description"]
    info = run_cli(capsys, monkeypatch, "info", str(weights))
    assert info.code == 0 and "\x1b" not in info.out and "\x07" not in info.out
    assert "\\x1b]0;pwned\\x07" in info.out and "[bold red]loud[/]" in info.out
    named = tmp_path / "\x1b[2J[red]evil.txt"
    named.write_text(EASY + "\n" + EASY + "\n")
    solved = run_cli(capsys, monkeypatch, "solve", str(named), "-w", str(weights))
    assert "\x1b" not in solved.out + solved.err and "\\x1b[2J[red]evil.txt" in solved.out


def test_endless_inputs_are_bounded(capsys, monkeypatch, tmp_path, untrained_weights):
    """A device, a FIFO or an endless stdin is never read without limit."""
    import io
    import os
    import sys

    result = run_cli(capsys, monkeypatch, "solve", "/dev/zero", "-w", str(untrained_weights))
    assert result.code == 2 and "a device, not a puzzle file" in result.err
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_cli(capsys, monkeypatch, "solve", str(fifo), "-w", str(untrained_weights))
    assert result.code == 2 and "a pipe, not a puzzle file" in result.err
    monkeypatch.setattr("hrm_cli.inputs.MAX_TEXT_BYTES", 1000)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"1" * 5000)))
    result = run_cli(capsys, monkeypatch, "solve", "-", "-w", str(untrained_weights))
    assert result.code == 2 and "more than" in result.err and "too much for puzzles" in result.err


@pytest.mark.parametrize("identifiers, message", [
    ("not json", "identifiers are not JSON"),
    ("[1, 2]", "must map task names to rows"),
    ('{"abc": -5}', "outside the 1 rows"),
    ('{"abc": "3"}', "points at row 3"),
])
def test_bad_identifiers_in_weights_are_one_clear_error(capsys, monkeypatch, tmp_path, identifiers, message):
    from hrm.export import export_safetensors

    torch.manual_seed(0)
    weights = tmp_path / "w.safetensors"
    model = HRM(get_preset("trm-sudoku-tiny").with_overrides(halt_max_steps=2))
    export_safetensors(model, {"identifiers": identifiers}, weights, torch.float32)
    puzzle = tmp_path / "p.txt"
    puzzle.write_text(EASY)
    for engine in ("torch", "numpy"):
        result = run_cli(capsys, monkeypatch, "solve", str(puzzle), "-w", str(weights), "--engine", engine)
        assert result.code == 2 and message in result.err, result.err
