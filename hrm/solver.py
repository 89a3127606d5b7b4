"""One streaming solve core: every consumer (CLI, TUI, exporters, tests) reads these iterators.

`iter_steps` runs the ACT loop on a batch of token sequences and yields a `Step` after every
deep-supervision segment. `frames` turns that stream into per-puzzle `Frame`s in task-native form.
`solve` collects results for many puzzles, with optional test-time attempts chosen by the verifier.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from hrm.numpy_engine import NumpyHRM
from hrm.tasks.base import Puzzle, Task, Verdict

if TYPE_CHECKING:
    from hrm.model import HRM
    from hrm.segment_model import SegmentModel
    from hrm.weights import LoadedModel


@dataclass
class Step:
    """State of a batch after one deep-supervision segment."""

    segment: int                      # 1-based index of the segment just finished
    tokens: np.ndarray                # [B, seq_len] argmax token predictions
    confidence: np.ndarray            # [B, seq_len] probability of the predicted token
    q_halt: np.ndarray                # [B] sigmoid(q_halt logit)
    q_continue: np.ndarray | None     # [B] sigmoid(q_continue logit) (HRM), None for TRM
    halted: np.ndarray                # [B] bool: this sample has halted at or before this segment
    seconds: float                    # wall time of the segment
    l_residuals: np.ndarray | None = None  # [B, n_calls] ||dz_L|| / ||z_L|| per inner low-level call
    wants_halt: np.ndarray | None = None   # [B] bool: the model's halt rule fired at this segment


@dataclass
class Frame:
    """One puzzle's view after one segment, in task-native form (what the TUI and GIFs draw)."""

    segment: int
    max_segments: int
    answer: np.ndarray                # decoded answer grid
    confidence: np.ndarray            # same shape as `answer`, values in [0, 1]
    changed: np.ndarray               # bool, same shape: differs from the previous frame's answer
    q_halt: float
    halted: bool
    verdict: Verdict
    accuracy: float | None            # fraction of cells equal to the known solution, if any
    seconds: float
    l_residuals: list[float] | None = None
    q_continue: float | None = None   # HRM's continue value (its halt rule compares the two); None for TRM
    wants_halt: bool | None = None    # the model's halt rule fired at this segment
    halted_at: int | None = None      # the segment where adaptive halting stops (rule or Mmax), once known


@dataclass
class Attempt:
    answer: np.ndarray
    verdict: Verdict
    segments: int
    q_halt: float
    description: str                  # e.g. "identity", "dihedral 3", "noise 0.1 seed 2"


# solved: the verifier accepts the answer given; unsolved: it rejects it; unverified: there is nothing to check it
# against (an ARC test input without its output); rejected: the givens break a rule, so the model never ran
SolveStatus = Literal["solved", "unsolved", "unverified", "rejected"]


@dataclass
class Solution:
    puzzle: Puzzle
    answer: np.ndarray                # the chosen attempt's answer
    verdict: Verdict
    segments: int
    q_halt: float
    seconds: float
    attempts: list[Attempt] = field(default_factory=list)
    winner: int = 0                   # index into attempts
    candidates: list[np.ndarray] = field(default_factory=list)  # ranked distinct answers (ARC's pass@K)
    submission: int | None = None     # which submitted candidate `answer` is (a task submitting several: ARC)
    rejected: bool = False            # the givens break a rule: `answer` is the puzzle itself

    @property
    def verified(self) -> bool:
        return self.verdict.ok

    @property
    def status(self) -> SolveStatus:
        if self.rejected:
            return "rejected"
        if self.verdict.ok:
            return "solved"
        return "unsolved" if self.verdict.checkable else "unverified"


# --------------------------------------------------------------------------------------------------
# The streaming core


def iter_steps(model: SegmentModel, inputs: np.ndarray, puzzle_identifiers: np.ndarray | None = None, *,
               max_segments: int | None = None, adaptive: bool = True, noise: float = 0.0, seed: int = 0,
               record_inner: bool = False) -> Iterator[Step]:
    """Run ACT segments on a batch of token sequences [B, seq_len] and yield a Step after each.

    model: hrm.model.HRM (torch, any device) or hrm.numpy_engine.NumpyHRM (CPU, no torch import).
    adaptive: a sample stops costing compute once the model's halt rule fires (HRM: q_halt >
    q_continue; TRM: q_halt > 0), but not before the config's halt_min_steps; fixed: every sample
    runs max_segments (the papers' evaluation).
    noise: standard deviation of Gaussian noise added to the low-level state before each segment
    (test-time trajectory sampling); seed fixes it (each engine draws its own stream).
    """
    max_segments = max_segments or model.config.halt_max_steps
    min_segments = model.config.halt_min_steps    # a halt the model calls earlier is not taken
    inputs = np.asarray(inputs)
    batch_size = inputs.shape[0]
    if puzzle_identifiers is None:
        puzzle_identifiers = np.zeros(batch_size, dtype=np.int32)
    run = _NumpyRun(model, inputs, puzzle_identifiers, seed) if isinstance(model, NumpyHRM) \
        else _TorchRun(cast("HRM", model), inputs, puzzle_identifiers, seed)   # the other engine is torch's
    predicted = np.zeros(inputs.shape, dtype=np.int64)
    confidence = np.zeros(inputs.shape, dtype=np.float32)
    q_halt = np.zeros(batch_size, dtype=np.float32)
    q_continue = np.zeros(batch_size, dtype=np.float32) if model.config.act_continue else None
    halted = np.zeros(batch_size, dtype=bool)
    wants = np.zeros(batch_size, dtype=bool)

    for segment in range(1, max_segments + 1):
        started = time.perf_counter()
        rows = np.flatnonzero(~halted) if adaptive else np.arange(batch_size)
        out = run.segment(rows, noise, record_inner)
        predicted[rows], confidence[rows] = out.tokens, out.confidence
        q_halt[rows] = _sigmoid(out.q_logits[:, 0])
        if q_continue is not None:
            q_continue[rows] = _sigmoid(out.q_logits[:, 1])
        wants[rows] = out.wants_halt
        halted[rows] |= (out.wants_halt & (segment >= min_segments)) | (segment >= max_segments)
        residuals = None
        if out.residuals is not None:
            residuals = np.full((batch_size, out.residuals.shape[1]), np.nan, dtype=np.float32)
            residuals[rows] = out.residuals
        yield Step(segment=segment, tokens=predicted.copy(), confidence=confidence.copy(), q_halt=q_halt.copy(),
                   q_continue=None if q_continue is None else q_continue.copy(), halted=halted.copy(),
                   seconds=time.perf_counter() - started, l_residuals=residuals, wants_halt=wants.copy())
        if adaptive and halted.all():
            return


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))).astype(np.float32)


@dataclass
class _SegmentOut:
    tokens: np.ndarray                # [n, S] argmax predictions of the rows that ran
    confidence: np.ndarray            # [n, S] their probabilities
    q_logits: np.ndarray              # [n, 1|2] float32
    wants_halt: np.ndarray            # [n] bool: the model's halt rule
    residuals: np.ndarray | None      # [n, calls] relative change of z_L per low-level call


class _TorchRun:
    """The carry of iter_steps on hrm.model.HRM: rows of the batch run one segment at a time."""

    def __init__(self, model: HRM, inputs: np.ndarray, ids: np.ndarray, seed: int) -> None:
        import torch

        self.torch, self.model = torch, model.eval()
        device = model.device
        self.data = {"inputs": torch.as_tensor(inputs, dtype=torch.int32, device=device),
                     "puzzle_identifiers": torch.as_tensor(np.asarray(ids), dtype=torch.int32, device=device)}
        self.generator = torch.Generator(device=device).manual_seed(seed)
        with torch.inference_mode():
            self.z_H, self.z_L = model.initial_state(len(inputs))

    def segment(self, rows: np.ndarray, noise: float, record_inner: bool) -> _SegmentOut:
        torch, model = self.torch, self.model
        with torch.inference_mode():
            index = torch.as_tensor(rows, device=model.device)
            sub = {k: v[index] for k, v in self.data.items()}
            zH, zL = self.z_H[index], self.z_L[index]
            if noise > 0:
                zL = zL + noise * torch.randn(zL.shape, generator=self.generator, device=model.device, dtype=zL.dtype)
            trace: list | None = [] if record_inner else None
            zH, zL, logits, q_logits = model.segment(zH, zL, sub, trace)
            self.z_H[index], self.z_L[index] = zH, zL
            conf, pred = torch.softmax(logits.float(), dim=-1).max(dim=-1)
            return _SegmentOut(pred.cpu().numpy(), conf.cpu().numpy(), q_logits.float().cpu().numpy(),
                               model.wants_to_halt(q_logits).cpu().numpy(),
                               None if trace is None else torch.stack(trace, dim=1).float().cpu().numpy())


class _NumpyRun:
    """The same carry on hrm.numpy_engine.NumpyHRM."""

    def __init__(self, model: NumpyHRM, inputs: np.ndarray, ids: np.ndarray, seed: int) -> None:
        self.model, self.inputs, self.ids = model, inputs, np.asarray(ids)
        self.rng = np.random.default_rng(seed)
        self.z_H, self.z_L = model.initial_state(len(inputs))

    def segment(self, rows: np.ndarray, noise: float, record_inner: bool) -> _SegmentOut:
        zH, zL = self.z_H[rows], self.z_L[rows]
        if noise > 0:
            zL = zL + np.float32(noise) * self.rng.standard_normal(zL.shape, dtype=np.float32)
        trace: list | None = [] if record_inner else None
        with np.errstate(over="ignore"):  # silu's exp(-x) overflows harmlessly to inf for very negative x
            zH, zL, logits, q_logits = self.model.segment(zH, zL, self.inputs[rows], self.ids[rows], trace)
        self.z_H[rows], self.z_L[rows] = zH, zL
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
        pred = probs.argmax(axis=-1)
        conf = np.take_along_axis(probs, pred[..., None], axis=-1)[..., 0] / probs.sum(axis=-1)
        return _SegmentOut(pred, conf.astype(np.float32), q_logits.astype(np.float32),
                           self.model.wants_to_halt(q_logits),
                           None if trace is None else np.stack(trace, axis=1).astype(np.float32))


def _grid_confidence(conf_tokens: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Token confidences laid out on the task's square canvas, cropped to the answer's shape."""
    side = int(round(len(conf_tokens) ** 0.5))
    canvas = conf_tokens.reshape(side, side)
    out = np.ones(shape, dtype=np.float32)
    rows, cols = min(shape[0], side), min(shape[1], side) if len(shape) > 1 else side
    out[:rows, :cols] = canvas[:rows, :cols]
    return out


def _accuracy(answer: np.ndarray, solution: np.ndarray | None) -> float | None:
    if solution is None:
        return None
    if answer.shape != solution.shape:
        return 0.0
    return float((answer == solution).mean())


def frames(loaded: LoadedModel, task: Task, puzzle: Puzzle, *, max_segments: int | None = None, noise: float = 0.0,
           seed: int = 0, record_inner: bool = True) -> Iterator[Frame]:
    """One puzzle, one Frame per segment (fixed Mmax: the whole trajectory is shown; `halted`
    marks where adaptive halting would have stopped)."""
    loaded = loaded.on_canvas(task.canvas_side([puzzle]))
    model = loaded.model
    task = task.for_model(model.config)
    inputs = task.encode(puzzle)[None]
    ids = np.array([puzzle_identifier(loaded, task, puzzle)], dtype=np.int32)
    max_segments = max_segments or model.config.halt_max_steps
    previous: np.ndarray | None = None
    halted_at: int | None = None
    for step in iter_steps(model, inputs, ids, max_segments=max_segments, adaptive=False, noise=noise,
                           seed=seed, record_inner=record_inner):
        if halted_at is None and step.halted[0]:
            halted_at = step.segment
        answer = task.decode(puzzle, step.tokens[0])
        changed = (np.ones(answer.shape, dtype=bool) if previous is None or previous.shape != answer.shape
                   else answer != previous)
        previous = answer
        residuals = None if step.l_residuals is None else [float(x) for x in step.l_residuals[0]]
        yield Frame(segment=step.segment, max_segments=max_segments, answer=answer,
                    confidence=_grid_confidence(step.confidence[0], answer.shape), changed=changed,
                    q_halt=float(step.q_halt[0]), halted=bool(step.halted[0]), verdict=task.verify(puzzle, answer),
                    accuracy=_accuracy(answer, puzzle.solution), seconds=step.seconds, l_residuals=residuals,
                    q_continue=None if step.q_continue is None else float(step.q_continue[0]),
                    wants_halt=None if step.wants_halt is None else bool(step.wants_halt[0]), halted_at=halted_at)


def puzzle_identifier(loaded: LoadedModel, task: Task, puzzle: Puzzle, transform: object | None = None) -> int:
    """The puzzle-embedding row for this view of the puzzle (the task names it: an ARC variant the
    model happens to know), else 0 = the blank row."""
    if not loaded.identifiers:
        return 0
    name = task.view_name(puzzle, transform)
    return 0 if name is None else int(loaded.identifiers.get(name, 0))


# --------------------------------------------------------------------------------------------------
# Solving many puzzles, with test-time attempts


@dataclass
class _View:
    puzzle_index: int
    attempt: int
    puzzle: Puzzle            # the (possibly transformed) puzzle the model sees
    transform: object | None  # None = identity
    description: str
    puzzle_id: int


def _attempt_view(loaded: LoadedModel, task: Task, puzzle: Puzzle, index: int, attempt: int) -> _View:
    """Attempt 0 is the puzzle itself; attempt k > 0 a symmetry view (Sudoku: digit relabelling +
    band/stack permutations + transpose; Maze: the seven other dihedral views in turn; ARC: dihedral +
    colours). When the model's puzzle table holds views of this puzzle (ARC's trained variants) they are
    taken in order, as the reference evaluates them: each has its own row. Otherwise view k comes from
    `task.view_transform`, seeded by k."""
    if attempt == 0:
        return _View(index, 0, puzzle, None, "identity", puzzle_identifier(loaded, task, puzzle))
    trained = task.trained_views(puzzle, loaded) if loaded.identifiers else []
    if trained:
        name, transform = trained[(attempt - 1) % len(trained)]
        return _View(index, attempt, task.transform(transform, puzzle), transform, f"trained view {attempt}",
                     int(loaded.identifiers[name]))
    transform = task.view_transform(attempt, np.random.default_rng([attempt, index]))
    return _View(index, attempt, task.transform(transform, puzzle), transform, f"view {attempt}",
                 puzzle_identifier(loaded, task, puzzle, transform))


def _run_views(loaded: LoadedModel, task: Task, views: list[_View], *, max_segments: int | None, adaptive: bool,
               noise: float, batch_size: int) -> list[tuple[np.ndarray, float, int]]:
    """(answer in the original frame, q_halt, segments used) for every view."""
    results = []
    for start in range(0, len(views), batch_size):
        chunk = views[start:start + batch_size]
        inputs = np.stack([task.encode(v.puzzle) for v in chunk])
        ids = np.array([v.puzzle_id for v in chunk], dtype=np.int32)
        halted_at = np.zeros(len(chunk), dtype=np.int64)
        last: Step | None = None
        for step in iter_steps(loaded.model, inputs, ids, max_segments=max_segments, adaptive=adaptive,
                               noise=noise, seed=start):
            halted_at[step.halted & (halted_at == 0)] = step.segment
            last = step
        assert last is not None
        segments_used = halted_at if adaptive else np.full(len(chunk), last.segment)
        for row, view in enumerate(chunk):
            answer = task.decode(view.puzzle, last.tokens[row])
            if view.transform is not None:
                answer = task.inverse_answer(view.transform, answer)
            results.append((answer, float(last.q_halt[row]), int(segments_used[row])))
    return results


def _rank_candidates(attempts: list[Attempt]) -> list[np.ndarray]:
    """Distinct answers ranked by votes, then mean q_halt (the reference's ARC voting)."""
    groups: dict[bytes, list[Attempt]] = {}
    for attempt in attempts:
        key = np.asarray(attempt.answer).tobytes() + str(np.shape(attempt.answer)).encode()
        groups.setdefault(key, []).append(attempt)
    ranked = sorted(groups.values(), key=lambda g: (len(g), float(np.mean([a.q_halt for a in g]))), reverse=True)
    return [g[0].answer for g in ranked]


def _submission(task: Task, puzzle: Puzzle, candidates: list[np.ndarray]) -> tuple[np.ndarray, Verdict, int]:
    """The task's `submissions` top-voted answers are submitted (chosen without the answer key); the one
    shown is the first that matches the known output, else the top one."""
    verdicts = [task.verify(puzzle, c) for c in candidates[:task.submissions]]
    shown = next((k for k, v in enumerate(verdicts) if v.ok), 0)
    return candidates[shown], verdicts[shown], shown


def _choose(task: Task, attempts: list[Attempt]) -> int:
    """Verified answers first, then the most votes, then the highest q_halt.

    A task whose check is an answer key (ARC) never lets it choose: votes and q_halt only."""
    votes: dict[bytes, int] = {}
    for a in attempts:
        key = np.asarray(a.answer).tobytes()
        votes[key] = votes.get(key, 0) + 1
    return max(range(len(attempts)), key=lambda i: (task.uses_verifier and attempts[i].verdict.ok,
                                                      votes[np.asarray(attempts[i].answer).tobytes()],
                                                      attempts[i].q_halt))


def attempt_waves(attempts: int, *, everyone: bool = False) -> list[list[int]]:
    """Attempt numbers grouped into waves that run as one batch: 0, then 1-3, 4-15, 16-63, ...

    Between waves only the puzzles with no verified answer go on, so an easy puzzle costs one pass
    and a hard one a few batched passes instead of `attempts` sequential ones. With `everyone`
    (no verifier to stop early: ARC votes over every view) all attempts form one wave.
    """
    if everyone:
        return [list(range(attempts))]
    waves, start = [], 0
    while start < attempts:
        end = min(attempts, max(1, start * 4))
        waves.append(list(range(start, end)))
        start = end
    return waves


def solve(loaded: LoadedModel, task: Task, puzzles: list[Puzzle], *, max_segments: int | None = None,
          adaptive: bool = True, attempts: int = 1, noise: float = 0.0, batch_size: int = 64,
          progress: Callable[[int, int], object] | None = None,
          on_wave: Callable[[int, int], object] | None = None) -> list[Solution]:
    """Solve puzzles in batches. Puzzles whose givens conflict are rejected without running the model.

    With attempts > 1, unverified puzzles get further views (attempt k: random symmetry view k mapped
    back through the inverse transform); the verifier chooses first, then votes, then q_halt. A task
    with no verifier runs every view for every puzzle and they vote; it submits `task.submissions`
    answers.
    `progress(done, total)` is called after each batch of first attempts, `on_wave(views, puzzles)`
    before each later wave of views (hrm.solver.attempt_waves).
    """
    loaded = loaded.on_canvas(task.canvas_side(puzzles))
    task = task.for_model(loaded.config)
    solutions: list[Solution | None] = [None] * len(puzzles)
    pending: list[int] = []
    for i, puzzle in enumerate(puzzles):
        conflicts = task.check_givens(puzzle)
        if conflicts:
            solutions[i] = Solution(puzzle, np.asarray(puzzle.grid), Verdict(False, conflicts), 0, 0.0, 0.0,
                                    rejected=True)
        else:
            pending.append(i)

    tried: dict[int, list[Attempt]] = {i: [] for i in pending}
    seconds: dict[int, float] = dict.fromkeys(pending, 0.0)
    everyone = not task.uses_verifier
    for wave in attempt_waves(attempts, everyone=everyone):
        todo = [i for i in pending if wave[0] == 0 or everyone or not any(a.verdict.ok for a in tried[i])]
        views = [_attempt_view(loaded, task, puzzles[i], i, attempt) for i in todo for attempt in wave]
        if on_wave is not None and wave[0] > 0 and views:
            on_wave(len(views), len(todo))
        for start in range(0, len(views), batch_size):
            chunk = views[start:start + batch_size]
            started = time.perf_counter()
            outcomes = _run_views(loaded, task, chunk, max_segments=max_segments, adaptive=adaptive,
                                  noise=noise, batch_size=batch_size)
            elapsed = (time.perf_counter() - started) / max(1, len(chunk))
            for view, (answer, q, segs) in zip(chunk, outcomes, strict=True):
                answer, notes = task.keep_givens(puzzles[view.puzzle_index], answer)
                verdict = task.verify(puzzles[view.puzzle_index], answer)
                verdict.notes = notes
                tried[view.puzzle_index].append(Attempt(answer, verdict, segs, q, view.description))
                seconds[view.puzzle_index] += elapsed
            if progress is not None and wave[0] == 0:
                progress(min(start + batch_size, len(views)), len(views))

    for i in pending:
        winner = _choose(task, tried[i])
        best = tried[i][winner]
        candidates = _rank_candidates(tried[i])
        answer, verdict, submission = best.answer, best.verdict, None
        if task.submissions > 1:
            answer, verdict, submission = _submission(task, puzzles[i], candidates)
        solutions[i] = Solution(puzzles[i], answer, verdict, best.segments, best.q_halt, seconds[i],
                                attempts=tried[i], winner=winner, candidates=candidates, submission=submission)
    return [s for s in solutions if s is not None]
