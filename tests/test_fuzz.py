"""The fuzz harness of bench/fuzz.py in the suite: malformed puzzles, images, weights and ARC task
files through the real CLI, each case in a child bounded in time and memory, forked by a fresh
single-threaded server process (the suite's own process runs torch's thread pool, which a fork must not
inherit). Every case must exit 0, 1 or 2 with no traceback and no generic "ErrorName: ..." line.
`python bench/fuzz.py --n 10000` runs thousands of the same cases."""

from __future__ import annotations

import random
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

import fuzz  # noqa: E402

CASES_PER_KIND = 100


@pytest.fixture(scope="module")
def server() -> Iterator[fuzz.ForkServer]:
    with fuzz.ForkServer() as forks:
        yield forks


@pytest.mark.parametrize("kind", sorted(fuzz.KINDS))
def test_malformed_input_gets_a_clear_answer_in_bounded_time_and_memory(kind: str, server: fuzz.ForkServer,
                                                                         tmp_path_factory: pytest.TempPathFactory):
    @settings(max_examples=CASES_PER_KIND, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(seed=st.integers(0, 2**63 - 1))
    def case_passes(seed: int) -> None:
        case = fuzz.KINDS[kind](random.Random(seed))
        outcome = server.run(case, tmp_path_factory.mktemp("case"), seconds=10.0)
        assert not outcome.problems, (case.argv, case.name, outcome.problems, outcome.err[-600:])

    case_passes()


def test_the_harness_catches_tracebacks_generic_errors_and_timeouts(tmp_path: Path, server: fuzz.ForkServer):
    """A harness that cannot fail proves nothing: an uncaught error, a hang and a block are reported."""
    slow = fuzz.Outcome(None, signal.SIGPROF, 6.0, 0.0, "", "", cpu_seconds=5.0)
    busy_machine = fuzz.Outcome(0, None, 9.0, 0.0, "", "", cpu_seconds=1.0)
    blocked = fuzz.Outcome(None, signal.SIGALRM, 50.0, 0.0, "", "", cpu_seconds=0.1)
    generic = fuzz.Outcome(2, None, 0.1, 0.0, "", f"error: ValueError: x ({fuzz.GENERIC})\n")
    crashed = fuzz.Outcome(99, None, 0.1, 0.0, "", "Traceback (most recent call last):\n  ...\n")
    fine = fuzz.Outcome(2, None, 0.1, 3.0, "", "error: bad.txt:1:3: unknown character 'x'\n")
    limits = {"seconds": 5.0, "memory": 1 << 30}
    assert fuzz.judge(slow, **limits) == ["over 5 s"]
    assert fuzz.judge(busy_machine, **limits) == []          # the limit counts CPU time, not a busy machine's wall
    assert fuzz.judge(blocked, **limits) == ["blocked over 50 s"]
    assert fuzz.judge(generic, **limits) == ["generic message"]
    assert "traceback" in fuzz.judge(crashed, **limits) and "exit code 99" in fuzz.judge(crashed, **limits)
    assert fuzz.judge(fine, **limits) == []
    real = server.run(fuzz.Case("puzzles", ["solve", "FILE", "--read-only"], b"1 2 3\n", "p.txt"), tmp_path)
    assert real.code == 2 and real.err.startswith("error: ") and not real.problems


def test_cases_fork_from_a_process_with_one_thread(server: fuzz.ForkServer):
    """A child forked from a process running a thread pool inherits its locks and counts its spinning
    workers' CPU time (cases failed their limit on a loaded machine): the server that forks runs alone."""
    status = Path(f"/proc/{server.pid}/status").read_text()
    assert int(status.split("Threads:")[1].split()[0]) == 1
