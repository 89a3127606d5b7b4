"""Smoke test of the benchmark helpers: a tiny training step is timed, its FLOPs counted (and equal to the
analytic count) and its memory measured, in a few seconds on CPU."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread():
    """One thread: tiny ops on a shared CPU are slower with two (OpenMP spin-waiting)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_train_step_timing_flops_and_memory():
    import common
    from bench_train_throughput import TrainStep, analytic_flops

    from hrm.config import get_preset

    config = get_preset("trm-sudoku-att-tiny").with_overrides(L_cycles=2, H_cycles=2)
    step = TrainStep(config, batch_size=2)
    timing = common.time_runs(step, repeats=1, warmup=1)
    assert timing["runs"] == 1 and timing["median_s"] > 0

    counted = common.count_flops(step)
    expected = analytic_flops(config, 2)["total"]
    assert abs(counted - expected) / expected < 0.1   # attention and heads included, elementwise ops not

    saved = common.saved_activation_bytes(step.forward_only, exclude=list(step.model.parameters()))
    assert saved > 0
    assert common.profiler_peak_bytes(step) > 0


def test_one_step_gradient_keeps_saved_activations_flat():
    import common
    from bench_train_throughput import TrainStep

    from hrm.config import get_preset

    def saved(**cycles) -> int:
        step = TrainStep(get_preset("hrm-sudoku-tiny").with_overrides(**cycles), batch_size=2)
        return common.saved_activation_bytes(step.forward_only, exclude=list(step.model.parameters()))

    def saved_trm(**cycles) -> int:
        step = TrainStep(get_preset("trm-sudoku-att-tiny").with_overrides(**cycles), batch_size=2)
        return common.saved_activation_bytes(step.forward_only, exclude=list(step.model.parameters()))

    assert saved(H_cycles=1, L_cycles=1) == saved(H_cycles=3, L_cycles=3)
    assert saved_trm(H_cycles=2, L_cycles=4) > saved_trm(H_cycles=2, L_cycles=1)


@pytest.mark.parametrize("window", [0, 3])
def test_the_memory_estimate_of_a_30x30_maze_trm_holds_with_grad_cycles(window: int):
    import common
    from bench_train_throughput import TrainStep

    from hrm.config import get_preset
    from hrm.train.memory import training_memory

    def measured_and_estimated(grad_cycles: int) -> tuple[int, int]:
        config = get_preset("trm-maze-tiny").with_overrides(attention_window=window, pos_encodings="rope2d",
                                                            grad_cycles=grad_cycles)
        step = TrainStep(config, batch_size=2)
        saved = common.saved_activation_bytes(step.forward_only, exclude=list(step.model.parameters()))
        return saved, training_memory(config, 2, step.model.num_parameters(), ema=False).saved_bytes

    (one, one_estimate), (three, three_estimate) = measured_and_estimated(1), measured_and_estimated(3)
    assert one_estimate == pytest.approx(one, rel=0.15)
    assert three_estimate == pytest.approx(three, rel=0.15)
    assert three / one == pytest.approx(3, rel=0.1)


def test_results_carry_machine_and_load(tmp_path, monkeypatch):
    import json

    import common

    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    path = common.write_results("smoke", {"rows": []}, started_load=common.load_average())
    doc = json.loads(path.read_text())
    assert len(doc["load_average_end"]) == 3 and doc["machine"]["torch"]
    assert common.bf16_peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert common.bf16_peak_tflops("NVIDIA H100 PCIe") == 756.0


def test_gemm_floor_records_every_matmul_of_the_step():
    """The floor times exactly the step's GEMMs: their FLOPs equal FlopCounterMode's count for a model
    whose every FLOP is a matmul (TRM's MLP mixer), and the floor is positive and finite."""
    import common
    from bench_train_throughput import TrainStep

    from hrm.config import get_preset

    config = get_preset("trm-sudoku-tiny").with_overrides(L_cycles=2, H_cycles=2)
    step = TrainStep(config, batch_size=2)
    floor = common.gemm_floor(step, repeats=1)
    assert floor["gemm_flops"] == common.count_flops(step)
    assert floor["gemm_calls"] > floor["distinct_shapes"] > 0
    assert 0 < floor["floor_s"] <= min(floor["torch_mkl_s"], floor["numpy_openblas_s"])


def test_accuracy_bench_reads_mazes_of_a_small_canvas(tmp_path):
    """maze-small stores 10x10 canvases: its mazes become Puzzles that sit top-left on the 30x30 frame,
    and the stored label is a solution the verifier accepts."""
    import bench_accuracy

    from hrm.data.build import BuildOptions, build_dataset
    from hrm.data.format import PuzzleDataset
    from hrm.tasks import get_task

    root = build_dataset("maze-small", tmp_path / "d", BuildOptions(limit=4, workers=1))
    task = get_task("maze")
    puzzles = bench_accuracy.puzzles_from_split(PuzzleDataset.load(root, "test"), task, 3)
    assert len(puzzles) == 3
    for puzzle in puzzles:
        assert puzzle.grid.shape == (30, 30) and puzzle.extra["shape"] == (10, 10)
        assert (puzzle.grid[10:] == 1).all() and task.verify(puzzle, puzzle.solution).ok


@given(cells=st.lists(st.tuples(st.integers(0, 29), st.integers(0, 29)), min_size=1, max_size=12),
       moves=st.integers(0, 999))
def test_failure_kinds_count_one_kind_of_violation_together(cells: list[tuple[int, int]], moves: int):
    """bench_accuracy's failure breakdown: the same violation at other cells or counts is one kind."""
    import bench_accuracy

    from hrm.tasks.grid import cell_list, cell_name

    kind = bench_accuracy.failure_kind
    assert kind(f"the path breaks at {cell_name(*cells[0])}") == "the path breaks at CELL"
    assert kind(f"{len(cells)} path cells are off the route from S to G ({cell_list(cells)})") == \
        "N path cells are off the route from S to G (CELLS)"
    assert kind(f"the path is {moves} moves but the shortest is {moves + 2}") == \
        "the path is N moves but the shortest is N"
    assert kind("the path breaks at r1c1") != kind("the path branches at r1c1")


def test_mazes_count_in_the_band_of_their_shortest_path(tmp_path):
    """bench_accuracy's length breakdown: each maze lands in the band of its label's moves (path cells + 1),
    and a band counts the solved flags of its own mazes."""
    import bench_accuracy

    from hrm.data.build import BuildOptions, build_dataset
    from hrm.data.format import PuzzleDataset
    from hrm.tasks import get_task
    from hrm.tasks.maze import PATH

    root = build_dataset("maze-small", tmp_path / "d", BuildOptions(limit=8, workers=1))
    puzzles = bench_accuracy.puzzles_from_split(PuzzleDataset.load(root, "test"), get_task("maze"), None)
    solved = [i % 3 == 0 for i in range(len(puzzles))]
    expected: dict[str, dict[str, int]] = {}
    for puzzle, ok in zip(puzzles, solved, strict=True):
        (band,) = bench_accuracy.solved_by_length([puzzle], [ok])
        low, _, high = band.rstrip("+").partition("-")
        moves = int((puzzle.solution == PATH).sum()) + 1
        assert int(low) <= moves and (not high or moves <= int(high))
        counts = expected.setdefault(band, {"solved": 0, "mazes": 0})
        counts["solved"], counts["mazes"] = counts["solved"] + ok, counts["mazes"] + 1
    assert bench_accuracy.solved_by_length(puzzles, solved) == expected


def test_the_marked_share_falls_where_an_answer_leaves_the_middle_of_the_path_out():
    from bench_maze_failures import marked_by_end_distance, marked_share_by_band

    from hrm.tasks.maze import GOAL, OPEN, PATH, START, WALL

    grid = np.full((3, 26), WALL)
    grid[1, 1:25] = OPEN
    grid[1, 0], grid[1, 25] = START, GOAL               # one corridor: 24 cells, 1-12 moves from the nearer end
    near_the_ends = grid.copy()
    near_the_ends[1, 1:6] = near_the_ends[1, 20:25] = PATH
    bands = marked_share_by_band([marked_by_end_distance(grid, near_the_ends)])
    shares = {band["from"]: band["marked"] for band in bands}
    assert shares == {1: 1.0, 6: 0.0, 11: 0.0}


def test_an_answer_on_one_of_several_shortest_paths_is_marked_everywhere():
    from bench_maze_failures import marked_by_end_distance

    from hrm.tasks.maze import GOAL, OPEN, PATH, START

    grid = np.full((5, 5), OPEN)
    grid[0, 0], grid[4, 4] = START, GOAL                # 70 shortest paths across an open room
    answer = grid.copy()
    answer[1:5, 0] = PATH                               # down the left side, then along the bottom
    answer[4, 1:4] = PATH
    nearer, marked = marked_by_end_distance(grid, answer)
    assert marked.all() and len(marked) == 7 and sorted(nearer.tolist()) == [1, 1, 2, 2, 3, 3, 4]
