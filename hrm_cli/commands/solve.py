"""`hrm solve`: puzzles in, verified answers out."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from hrm_cli import exit_codes
from hrm_cli.output import WEIGHTS_HELP, get_printer, visible

if TYPE_CHECKING:
    from hrm.solver import Solution
    from hrm.tasks.base import Puzzle, Task
    from hrm.weights import LoadedModel

SCHEMA_VERSION = 1

SHOWN_VIOLATIONS = 8        # broken rules printed per unsolved answer; the rest are counted


def _record(task: Task, solution: Solution, loaded: LoadedModel | None) -> dict:
    puzzle = solution.puzzle
    record = {
        "schema_version": SCHEMA_VERSION,
        "task": task.name,
        "name": puzzle.name,
        "input": task.text_form(puzzle.grid, puzzle),
        "answer": None if solution.rejected else task.text_form(solution.answer, puzzle),
        "verified": bool(solution.verdict.ok),
        "checkable": bool(solution.verdict.checkable),
        "status": solution.status,
        "violations": solution.verdict.violations,
        "violation_count": solution.verdict.count,
        "notes": solution.verdict.notes,
        "segments": solution.segments,
        "q_halt": round(solution.q_halt, 6),
        "seconds": round(solution.seconds, 6),
        "attempts": len(solution.attempts),
        "winning_attempt": solution.winner if solution.attempts else None,
        "weights": str(loaded.path) if loaded is not None else None,
    }
    if task.submissions > 1:
        record["candidates"] = [task.text_form(c, puzzle) for c in solution.candidates[:task.submissions]]
        record["submission"] = solution.submission   # which candidate `answer` is (ARC scores both)
    return record


def _print_solution(task: Task, solution: Solution, index: int, total: int) -> None:
    from hrm_cli.boards import demonstrations, side_by_side, submissions

    printer = get_printer()
    status = solution.status
    title = {"solved": "answer (verified)", "unsolved": "best attempt (UNSOLVED)",
             "unverified": "answer (no known output)", "rejected": "rejected"}[status]
    if total > 1:
        printer.result(Text(f"# {visible(solution.puzzle.name or index + 1)}", style="bold"))
    demos = demonstrations(task, solution.puzzle) if printer.verbose else None
    if demos is not None:
        printer.result(demos)
    two_submitted = solution.submission is not None and len(solution.candidates) > 1   # ARC's pass@2
    if two_submitted:
        printer.result(submissions(task, solution.puzzle, solution.candidates[:task.submissions],
                                   solution.submission, status))
    else:
        printer.result(side_by_side(task, solution.puzzle, solution.answer, title))
    line = Text()
    if status == "solved" and two_submitted:
        line.append(f"✓ solved: submitted answer {solution.submission + 1} of {task.submissions} matches the known "
                    "output",
                    style="bold green")
    elif status == "solved":
        line.append("✓ solved and verified", style="bold green")
    elif status == "rejected":
        line.append("✗ rejected before solving: the givens cannot be completed", style="bold red")
    elif status == "unverified":
        line.append("? answer given, but there is no known output to check it against", style="bold yellow")
    else:
        line.append("✗ unsolved: the verifier rejects the best attempt", style="bold red")
    if solution.attempts:
        line.append(f"  ·  {solution.segments} segment{'s' if solution.segments != 1 else ''}"
                    f"  ·  q_halt {solution.q_halt:.2f}  ·  {solution.seconds:.2f} s")
        if len(solution.attempts) > 1 and solution.submission is not None:
            distinct = len(solution.candidates)
            line.append(f"  ·  {len(solution.attempts)} views " + ("agreed" if distinct == 1 else
                                                                     f"voted for {distinct} distinct answers"))
        elif len(solution.attempts) > 1:
            line.append(f"  ·  attempt {solution.winner + 1} of {len(solution.attempts)} won"
                        f" ({solution.attempts[solution.winner].description})")
    printer.result(line)
    if status in ("unsolved", "rejected"):
        listed = solution.verdict.violations[:SHOWN_VIOLATIONS]
        for violation in listed:
            printer.result(Text(f"  - {violation}", style="red"))
        if solution.verdict.count > len(listed):
            printer.result(Text(f"  ... and {solution.verdict.count - len(listed)} more", style="red"))
    for note in solution.verdict.notes:
        printer.result(Text(f"  note: {note}", style="dim"))


def _summary(solutions: list[Solution], elapsed: float) -> str:
    counts = {"solved": 0, "unsolved": 0, "unverified": 0, "rejected": 0}
    for s in solutions:
        counts[s.status] += 1
    per = elapsed / max(1, len(solutions))
    parts = [f"{counts['solved']}/{len(solutions)} solved and verified"]
    parts += [f"{n} {k}" for k, n in counts.items() if k != "solved" and n]
    return ", ".join(parts) + f" · {per * 1000:.0f} ms per puzzle"


def _exit_code(solutions: list[Solution]) -> int:
    statuses = {s.status for s in solutions}
    if "rejected" in statuses:
        return exit_codes.USAGE_ERROR
    if "unsolved" in statuses:
        return exit_codes.UNSOLVED
    return exit_codes.OK


def _save_pngs(task: Task, solutions: list[Solution], png: Path) -> None:
    from hrm.imaging.render import save_png

    for i, s in enumerate(solutions):
        path = png if len(solutions) == 1 else png.with_name(f"{png.stem}-{i + 1}{png.suffix or '.png'}")
        save_png(task, s.puzzle, s.answer, path)
        get_printer().info(f"wrote {path}")


def _read_only(task: Task, puzzles: list[Puzzle], as_json: bool) -> None:
    from hrm_cli.boards import board

    printer = get_printer()
    for p in puzzles:
        if as_json:
            printer.json_line(json.dumps({"schema_version": SCHEMA_VERSION, "task": task.name, "name": p.name,
                                          "input": task.text_form(p.grid, p), **_read_notes(task, p)}))
        else:
            printer.result(board(task, p.grid, p))
            printer.result(task.format(p.grid, p))


def _show_read(task: Task, puzzles: list[Puzzle]) -> None:
    from hrm_cli.boards import board

    printer = get_printer()
    for p in puzzles:
        printer.info(Text(f"read from {visible(p.name)}:"))
        printer.info(board(task, p.grid, p))
        notes = _read_notes(task, p)
        checks = [f"{_cells_text(notes[key])} ({why})" for key, why in
                  (("unsure_cells", "read unsure"), ("clashing_cells", "breaking a rule")) if notes.get(key)]
        if checks:
            printer.info(f"check {'; '.join(checks)} in the grid above (row r, column c); fix them in a "
                         "text file and solve that if they are wrong")


def _read_notes(task: Task, p: Puzzle) -> dict:
    """Per-cell confidence of a puzzle read from a picture (a Sudoku photo), and the cells to check (row,
    column from 1)."""
    conf = p.extra.get("read_confidence")
    if conf is None:
        return {}
    import numpy as np

    unsure = [[r + 1, c + 1] for r, c in p.extra.get("read_unsure", [])]
    clashing = [[int(r) + 1, int(c) + 1] for r, c in np.argwhere(task.rule_breaks(p, p.grid))]
    return {"read_confidence": np.round(np.asarray(conf, float), 3).tolist(), "unsure_cells": unsure,
            "clashing_cells": clashing}


def _cells_text(cells: list) -> str:
    return ", ".join(f"r{r}c{c}" for r, c in cells)


def solve(
    files: list[str] = typer.Argument(None, help="Puzzle files, folders or images; '-' or nothing reads stdin."),
    task: str = typer.Option(None, "--task", "-t", help="sudoku, maze or arc (default: detected from the content)."),
    weights: Path = typer.Option(None, "--weights", "-w", help=WEIGHTS_HELP),
    device: str = typer.Option("auto", "--device", "-d", help="auto, cpu, cuda or mps."),
    engine: str = typer.Option("auto", "--engine",
                               help="auto, torch or numpy (auto: numpy for a few puzzles on CPU, no torch start-up)."),
    max_segments: int = typer.Option(None, "--max-segments", "-m", min=1,
                                     help="Segment limit (default: the model's training Mmax; more = more thinking)."),
    adaptive: bool = typer.Option(True, "--adaptive/--fixed",
                                  help="Stop each puzzle when the model halts, or always run max segments."),
    attempts: int = typer.Option(None, "--attempts", "-k", min=1,
                                 help="Views per puzzle (default: Sudoku 32, maze 8, ARC 16); more run only while "
                                      "the verifier rejects every answer; ARC views vote."),
    noise: float = typer.Option(0.0, "--noise", min=0.0, help="Latent noise per segment (e.g. 0.05)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Puzzles per model batch."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per puzzle on stdout."),
    png: Path = typer.Option(None, "--png", help="Also render the solution(s) to this PNG file."),
    show_read: bool = typer.Option(False, "--show-read", help="Print what was read from an image before solving."),
    read_only: bool = typer.Option(False, "--read-only", help="Only read and print the puzzle(s); do not solve."),
) -> None:
    """Solve puzzles and verify the answers."""
    from hrm.solver import solve as solve_puzzles
    from hrm.weights import default_weights, load_model, pick_engine, resolve_weights
    from hrm_cli.inputs import read_puzzles

    printer = get_printer()
    puzzle_task, puzzles = read_puzzles(files or None, task)
    if read_only:
        _read_only(puzzle_task, puzzles, as_json)
        raise typer.Exit(exit_codes.OK)
    if show_read:
        _show_read(puzzle_task, puzzles)
    attempts = attempts or puzzle_task.default_attempts
    weights = resolve_weights(weights, printer.show_progress) if weights else default_weights(puzzle_task.name)
    chosen = pick_engine(engine, device, len(puzzles), weights)
    loaded = load_model(weights, puzzle_task.name, device, engine=chosen)
    printer.debug(f"weights {loaded.path} ({loaded.config.arch}, {loaded.model.num_parameters():,} parameters) "
                  f"on {loaded.device}, {chosen} engine")

    _warn_untrained_tasks(loaded, puzzle_task, puzzles)
    started = time.perf_counter()
    solutions = _solve_with_progress(solve_puzzles, loaded, puzzle_task, puzzles, max_segments=max_segments,
                                     adaptive=adaptive, attempts=attempts, noise=noise, batch_size=batch_size)
    elapsed = time.perf_counter() - started

    for i, s in enumerate(solutions):
        if as_json:
            printer.json_line(json.dumps({**_record(puzzle_task, s, loaded), **_read_notes(puzzle_task, s.puzzle)}))
        elif len(solutions) <= 5 or printer.verbose:
            _print_solution(puzzle_task, s, i, len(solutions))
    if not as_json and len(solutions) > 5 and not printer.verbose:
        for s in solutions:
            printer.result(Text(f"{s.status:<10} {visible(s.puzzle.name)}  {_inline(puzzle_task, s)}"))
    if len(solutions) > 1:
        printer.info(_summary(solutions, elapsed))
    if png is not None:
        _save_pngs(puzzle_task, solutions, png)
    raise typer.Exit(_exit_code(solutions))


def _inline(task: Task, solution: Solution) -> str:
    """The answer's text form when it fits on the summary line (a Sudoku's 81 characters), else nothing."""
    form = task.text_form(solution.answer, solution.puzzle)
    return form if isinstance(form, str) and "\n" not in form else ""


def _warn_untrained_tasks(loaded: LoadedModel, task: Task, puzzles: list[Puzzle]) -> None:
    """A model that knows each puzzle through its own puzzle-embedding rows (ARC), learnt in training,
    answers a puzzle it has no row for with a guess: say so."""
    named = {task.view_name(p, None) for p in puzzles} - {None}
    unknown = sorted(named - set(loaded.identifiers))
    if unknown:
        names = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        get_printer().warn(f"{loaded.path.name} was not trained on {task.puzzle_noun} {names}: its answer is a "
                           f"guess. {task.untrained_hint}")


def _solve_with_progress(solve_puzzles: Callable[..., list[Solution]], loaded: LoadedModel, task: Task,
                         puzzles: list[Puzzle], **kwargs: Any) -> list[Solution]:
    printer = get_printer()
    if not printer.show_progress:
        return solve_puzzles(loaded, task, puzzles, **kwargs)
    if len(puzzles) < 2 * kwargs["batch_size"]:   # a few puzzles: say so when later views run (hard ones)
        with printer.err.status("solving", spinner="dots") as status:
            def on_wave(views: int, count: int) -> None:
                status.update(f"no verified answer yet: {views} more views of {count} puzzle"
                              f"{'s' if count > 1 else ''}")

            return solve_puzzles(loaded, task, puzzles, on_wave=on_wave, **kwargs)
    bar = printer.progress("solving")
    if bar is None:
        return solve_puzzles(loaded, task, puzzles, **kwargs)
    with bar:
        job = bar.add_task("solve", total=len(puzzles))
        return solve_puzzles(loaded, task, puzzles, progress=lambda done, total: bar.update(job, completed=done),
                             **kwargs)


def register(app: typer.Typer) -> None:
    app.command(no_args_is_help=False)(solve)
