"""Fuzz the CLI with malformed puzzles, images, weights and ARC task files.

Every case runs the real entry point (`hrm_cli.main.main`) in a forked child of one warm process, so
a case costs milliseconds instead of an interpreter start, and each child is bounded: --seconds of CPU
time (so the limit means the same on a busy machine as on a quiet one), a wall-clock guard of
WALL_FACTOR times that for a case that blocks without computing (a FIFO, a stalled read), and an
address-space limit of --memory above what the parent had mapped. A case passes when it exits 0, 1
or 2 in time and within memory, printing no traceback and no generic
"ErrorName: ... (run with --debug ...)" line: every failure a user can cause names its problem.

    python bench/fuzz.py --n 10000            # about 2,500 cases per kind; prints the figures
    python bench/fuzz.py --n 400 --kinds weights --show 5

Writes bench/results/fuzz.json (counts per kind and the first failures, with the case to replay).
tests/test_fuzz.py runs a few hundred cases of each kind through the same harness, forked from a fresh
single-threaded server process (`ForkServer`): the test process has torch's OpenMP pool running, and a
child forked from it either counts that pool's spinning workers as its own CPU time (cases failed the
limit on a loaded machine) or hangs on the pool's lock when it resizes it.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import os
import pkgutil
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
EXAMPLES = REPO / "examples"
GENERIC = "run with --debug for the traceback"
ALLOWED_CODES = {0, 1, 2}
WALL_FACTOR = 10


@dataclass
class Case:
    kind: str
    argv: list[str]                       # after "hrm"; FILE stands for the case's file
    content: bytes = b""                  # the file (or stdin when argv has "-")
    name: str = "case"                    # the file's name (its suffix matters to the readers)


@dataclass
class Outcome:
    code: int | None                      # exit code; None when a signal ended the child
    signal: int | None
    seconds: float                        # wall clock
    memory_mb: float                      # peak resident growth over the parent
    out: str
    err: str
    cpu_seconds: float = 0.0              # user + system time of the child: what the limit counts
    problems: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Running one case in a bounded child


def _status_kb(key: str) -> int:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: its peak)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _virtual_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _hide_inherited_cuda() -> None:
    """A forked child cannot use the CUDA context its parent opened (torch refuses to re-initialise it):
    the cases test input handling, so on a GPU machine whose parent touched CUDA they run on the CPU."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        torch.cuda.is_available = lambda: False


def _child(argv: list[str], seconds: float, memory: int, report: Path) -> None:
    """In the forked child: limits, then the CLI; writes its peak memory growth (KiB) to `report`.
    Never returns."""
    code, resident = 99, _status_kb("VmRSS")
    os.environ.update(NO_COLOR="1", COLUMNS="120")   # the child's own environment: plain, fixed-width text
    _hide_inherited_cuda()
    try:
        resource.setrlimit(resource.RLIMIT_AS, (_virtual_bytes() + memory, resource.RLIM_INFINITY))
        signal.setitimer(signal.ITIMER_PROF, seconds)                  # CPU time: SIGPROF ends the child
        signal.setitimer(signal.ITIMER_REAL, seconds * WALL_FACTOR)    # blocked without computing
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)
        sys.argv = ["hrm", *argv]
        from hrm_cli.main import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:   # the finding itself: print it as Python would
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):   # a closed stream is the case's own business
                stream.flush()
        with contextlib.suppress(OSError):
            report.write_text(str(_status_kb("VmHWM") - resident))
        os._exit(code)


def run_case(case: Case, workdir: Path, *, seconds: float = 5.0, memory: int = 1 << 30) -> Outcome:
    path = workdir / case.name
    path.write_bytes(case.content)
    argv = [str(path) if a == "FILE" else a for a in case.argv]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as stdin:
        stdin.write(case.content if "-" in case.argv else b"")
        stdin.seek(0)
        sys.stdout.flush()
        sys.stderr.flush()
        report = workdir / ".peak-kib"
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.chdir(workdir)
            for fd, target in ((0, stdin), (1, out), (2, err)):
                os.dup2(target.fileno(), fd)
            # fresh streams on the new descriptors: a parent (pytest) may have swapped sys.std* for its own
            sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, closefd=False)))
            sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), line_buffering=True)
            sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), line_buffering=True)
            _child(argv, seconds, memory, report)
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        outcome = Outcome(os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
                          os.WTERMSIG(status) if os.WIFSIGNALED(status) else None, elapsed,
                          int(report.read_text()) / 1024 if report.exists() else 0.0,
                          out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                          usage.ru_utime + usage.ru_stime)
    path.unlink(missing_ok=True)
    outcome.problems = judge(outcome, seconds, memory)
    return outcome


def judge(o: Outcome, seconds: float, memory: int) -> list[str]:
    problems = []
    if o.signal == signal.SIGPROF or o.cpu_seconds > seconds:
        problems.append(f"over {seconds:g} s")
    elif o.signal == signal.SIGALRM:
        problems.append(f"blocked over {seconds * WALL_FACTOR:g} s")
    elif o.signal is not None:
        problems.append(f"killed by signal {o.signal}")
    elif o.code not in ALLOWED_CODES:
        problems.append(f"exit code {o.code}")
    if "Traceback (most recent call last)" in o.err + o.out:
        problems.append("traceback")
    if GENERIC in o.err:
        problems.append("generic message")
    if "MemoryError" in o.err or o.memory_mb > memory / 2**20:
        problems.append(f"over {memory / 2**30:g} GiB")
    return problems


class ForkServer:
    """A fresh interpreter with one thread that warms up once and forks every case it is sent.

    Requests and answers are JSON lines over the server's stdin and stdout (a case's bytes in base64);
    the server's own prints go to its stderr, so they cannot corrupt an answer."""

    def __init__(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
        self._process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
        self._receive()   # the server says it is warm

    @property
    def pid(self) -> int:
        return self._process.pid

    def run(self, case: Case, workdir: Path, *, seconds: float = 5.0, memory: int = 1 << 30) -> Outcome:
        request = {"case": {**asdict(case), "content": base64.b64encode(case.content).decode()},
                   "workdir": str(workdir), "seconds": seconds, "memory": memory}
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        return Outcome(**self._receive())

    def _receive(self) -> dict:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fuzz fork server ended (exit code {self._process.wait()}); its stderr says why")
        return json.loads(line)

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=30)

    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def serve() -> None:
    """The server's side of `ForkServer`: warm up, then run each case read from stdin."""
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)                      # stray prints (the warm-up's, a library's) go to stderr
    sys.stdout = sys.stderr
    warm_up()
    channel.write("{}\n")
    channel.flush()
    for line in sys.stdin:
        request = json.loads(line)
        case = Case(**{**request["case"], "content": base64.b64decode(request["case"]["content"])})
        outcome = run_case(case, Path(request["workdir"]), seconds=request["seconds"], memory=request["memory"])
        channel.write(json.dumps(asdict(outcome)) + "\n")
        channel.flush()


# ----------------------------------------------------------------------------------------------
# Mutations


def mutate_bytes(rng: random.Random, data: bytes, rounds: int = 0) -> bytes:
    """A few random edits: flips, inserted junk (control characters, digits, UTF-8, NULs), deletions,
    duplicated or truncated spans."""
    buf = bytearray(data)
    junk = [b"\x00", b"\x1b[2J", b"\r", b"\n", b"\t", b"0", b"9", b".", b"x", b"#", "\u00e9\u200b".encode(),
            b"\xff\xfe", b"[", b"]", b"{", b"}", b",", b"-1", b"1e999", b"NaN", b'"', b"\\"]
    for _ in range(rounds or rng.randint(1, 8)):
        where = rng.randrange(len(buf) + 1)
        op = rng.randrange(6)
        if op == 0 and buf:
            buf[min(where, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            buf[where:where] = rng.choice(junk) * rng.choice([1, 1, 2, 50])
        elif op == 2:
            del buf[where:where + rng.randint(1, 40)]
        elif op == 3:
            span = bytes(buf[where:where + rng.randint(1, 200)])
            buf[where:where] = span * rng.randint(1, 3)
        elif op == 4:
            del buf[where:]
        else:
            buf[where:where] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(buf)


def _puzzle_texts() -> list[tuple[str, bytes]]:
    names = ["sudoku/easy1.txt", "sudoku/easy_batch.txt", "sudoku/newspaper_hard.txt", "maze/hard1.txt",
             "arc/00576224.json"]
    return [(Path(n).name, (EXAMPLES / n).read_bytes()) for n in names]


def puzzle_case(rng: random.Random) -> Case:
    name, text = rng.choice(_puzzle_texts())
    if rng.random() < 0.1:
        text = bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
    content = mutate_bytes(rng, text)
    argv = rng.choice([["solve", "FILE", "-k", "1"], ["solve", "FILE", "--read-only", "--json"],
                       ["solve", "-k", "1", "-"],
                       ["solve", "FILE", "-k", "1", "--task", rng.choice(["sudoku", "maze", "arc"])]])
    return Case("puzzles", argv, content, rng.choice([name, "puzzle.txt", "puzzle.csv", "p"]))


def _small_image(rng: random.Random) -> bytes:
    from PIL import Image

    source = Image.open(EXAMPLES / "sudoku" / rng.choice(["easy2_photo.jpg", "easy_17_clue_screenshot.png"]))
    side = rng.choice([1, 3, 17, 64, 200, 320])
    image = source.convert(rng.choice(["L", "RGB", "RGBA", "P", "1"])).resize((side, max(1, side * 3 // 4)))
    buf = io.BytesIO()
    fmt = rng.choice(["PNG", "JPEG", "BMP", "GIF", "WEBP"])
    if fmt == "JPEG" and image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    image.save(buf, format=fmt if image.mode != "RGBA" or fmt in ("PNG", "WEBP") else "PNG")
    return buf.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming a huge image (a decompression bomb in a few bytes)."""
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + \
        chunk(b"IEND", b"")


def image_case(rng: random.Random) -> Case:
    roll = rng.random()
    if roll < 0.1:
        content = _bomb_png(rng.choice([30000, 100000, 2**31 - 1]), rng.choice([30000, 100000, 1]))
    else:
        content = _small_image(rng)
        if roll < 0.7:
            content = content[:12] + mutate_bytes(rng, content[12:], rounds=rng.randint(1, 3))
    name = rng.choice(["photo.png", "photo.jpg", "photo.bmp", "photo.gif", "photo.webp", "photo"])
    argv = rng.choice([["solve", "FILE", "--read-only"], ["solve", "FILE", "--show-read", "-k", "1"],
                       ["solve", "FILE", "--read-only", "--json", "--task", "sudoku"]])
    return Case("images", argv, content, name)


_WEIGHTS_CACHE: dict[str, bytes] = {}


def _weights_bytes() -> bytes:
    if "tiny" not in _WEIGHTS_CACHE:
        _WEIGHTS_CACHE["tiny"] = (REPO / "weights" / "sudoku-trm-cpu.safetensors").read_bytes()
    return _WEIGHTS_CACHE["tiny"]


def _split(blob: bytes) -> tuple[dict, bytes]:
    (length,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + length]), blob[8 + length:]


def _join(header: object, data: bytes) -> bytes:
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


WILD_VALUES: list[object] = [0, -1, 1, 2, 3.5, 1e9, 10**30, -(10**20), float("nan"), float("inf"), True, None,
                             "x", "", [], {}, [1, 2], "\x1b]0;title\x07", "[bold]markup[/]"]


def _mutate_config(rng: random.Random, header: dict) -> None:
    meta = header.setdefault("__metadata__", {})
    config = json.loads(meta.get("hrm_config", "{}"))
    for _ in range(rng.randint(1, 3)):
        key = rng.choice([*config.keys(), "unknown_field"])
        config[key] = rng.choice(WILD_VALUES)
    meta["hrm_config"] = json.dumps(config) if rng.random() < 0.9 else rng.choice(["{", "[]", "7", "null"])


def _mutate_header(rng: random.Random, header: dict) -> object:
    names = [k for k in header if k != "__metadata__"]
    name = rng.choice(names)
    op = rng.randrange(7)
    if op == 0:
        header[name]["shape"] = rng.choice(WILD_VALUES + [[10**12, 10**12], [-5], [1] * 40])
    elif op == 1:
        header[name]["dtype"] = rng.choice(["F32", "BF16", "I64", "C64", "", 7, None])
    elif op == 2:
        header[name]["data_offsets"] = rng.choice(WILD_VALUES + [[0, 10**15], [5, 1], [0, 0]])
    elif op == 3:
        del header[name]
    elif op == 4:
        meta = header.setdefault("__metadata__", {})
        key = rng.choice(["card", "identifiers", "dtype", "task", "train_step", "hrm_config"])
        meta[key] = rng.choice(["\x1b[2J\x1b]0;pwned\x07", "[red]x[/red]", "{}", "[]", '{"a": -5}', "\udcff",
                                "x" * 10000, '{"<blank>": 0, "t": 999999}'])
    elif op == 5:
        return [header]
    else:
        header[name + rng.choice(["", ".x", "\x00"])] = rng.choice(WILD_VALUES)
    return header


def weights_case(rng: random.Random) -> Case:
    blob = _weights_bytes()
    roll = rng.random()
    if roll < 0.45:
        header, data = _split(blob)
        _mutate_config(rng, header)
        content = _join(header, data)
    elif roll < 0.8:
        header, data = _split(blob)
        content = _join(_mutate_header(rng, header), data)
    else:
        content = mutate_bytes(rng, blob, rounds=rng.randint(1, 3))
    # One view: a mutated but valid config is a legitimate model that may never halt, and 32 views of
    # 16 segments are seconds of honest work; the time limit is for malformed input, not for the
    # model's compute (so every solve in this harness runs one view).
    puzzle = str(EXAMPLES / "sudoku" / "easy1.txt")
    argv = rng.choice([["info", "FILE"], ["solve", puzzle, "-w", "FILE", "-k", "1"],
                       ["solve", puzzle, "-w", "FILE", "-k", "1", "--engine", "torch"],
                       ["export", "FILE", "--format", "safetensors", "--out", "exported.safetensors"]])
    return Case("weights", argv, content, rng.choice(["w.safetensors", "w.bin", "w"]))


def _wild_json(rng: random.Random, depth: int = 0) -> object:
    if depth > 3 or rng.random() < 0.5:
        return rng.choice(WILD_VALUES + [7, 0, 9, 10, -3])
    if rng.random() < 0.5:
        return [_wild_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(["input", "output", "train", "test", "x"]): _wild_json(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


def _replace_somewhere(rng: random.Random, node: object) -> object:
    """A copy of a JSON tree with one randomly chosen value replaced by something wild."""
    if isinstance(node, list) and node and rng.random() < 0.8:
        i = rng.randrange(len(node))
        return node[:i] + [_replace_somewhere(rng, node[i])] + node[i + 1:]
    if isinstance(node, dict) and node and rng.random() < 0.8:
        key = rng.choice(list(node))
        return {**node, key: _replace_somewhere(rng, node[key])}
    return _wild_json(rng)


def arc_case(rng: random.Random) -> Case:
    task = json.loads((EXAMPLES / "arc" / rng.choice(["00576224.json", "66e6c45b.json"])).read_text())
    roll = rng.random()
    if roll < 0.6:
        content = json.dumps(_replace_somewhere(rng, task)).encode()
    elif roll < 0.7:
        content = b"[" * rng.choice([50, 5000, 200000]) + b"]" * rng.choice([0, 50])
    elif roll < 0.8:
        content = json.dumps(task).replace("7", "7" * rng.choice([20, 5000, 100000]), 1).encode()
    else:
        content = mutate_bytes(rng, json.dumps(task).encode())
    argv = rng.choice([["solve", "FILE"], ["solve", "FILE", "--read-only"], ["solve", "FILE", "--json"],
                       ["data", "build", "arc-tasks", "--from-json", ".", "--out", "built", "--canvas", "8"]])
    return Case("arc", argv, content, rng.choice(["task.json", "abc12345.json", "t"]))


KINDS: dict[str, Callable[[random.Random], Case]] = {
    "puzzles": puzzle_case, "images": image_case, "weights": weights_case, "arc": arc_case}


# ----------------------------------------------------------------------------------------------


def warm_up() -> None:
    """Import what the children would import, once, so each fork starts warm."""
    import importlib

    for module in ("torch", "hrm_cli.main", "hrm.imaging.read", "hrm.solver", "hrm.weights", "hrm.checkpoint",
                   "hrm.numpy_engine", "hrm.data.build", "hrm_cli.inputs", "rich.progress", "rich.table"):
        importlib.import_module(module)
    import hrm_cli.commands as commands

    for info in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"hrm_cli.commands.{info.name}")
    from hrm_cli.main import main  # one run here, so typer's command tree is built before the forks

    argv, sys.argv = sys.argv, ["hrm", "solve", str(EXAMPLES / "sudoku" / "easy1.txt"), "--read-only"]
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
            contextlib.suppress(SystemExit):
        main()
    sys.argv = argv


def fuzz(n: int, kinds: list[str], seed: int, *, seconds: float, memory: int,
         progress: Callable[[int], None] | None = None, keep: Path | None = None) -> dict:
    warm_up()
    rng = random.Random(seed)
    report: dict = {kind: {"cases": 0, "failed": 0, "codes": {}, "max_cpu_seconds": 0.0, "max_wall_seconds": 0.0,
                           "max_memory_mb": 0.0}
                    for kind in kinds}
    failures: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(n):
            kind = kinds[i % len(kinds)]
            case = KINDS[kind](rng)
            workdir = Path(tmp) / f"case{i}"
            workdir.mkdir()
            outcome = run_case(case, workdir, seconds=seconds, memory=memory)
            _tally(report[kind], outcome)
            if outcome.problems:
                failures.append({"index": i, **asdict(case), "content": case.content[:2000].decode("latin-1"),
                                 "problems": outcome.problems, "code": outcome.code,
                                 "err": outcome.err[-1500:], "out": outcome.out[-300:]})
                if keep is not None:   # the file itself, to replay: hrm --debug ARGV with FILE = it
                    keep.mkdir(parents=True, exist_ok=True)
                    (keep / f"{i}-{case.name}").write_bytes(case.content)
            shutil.rmtree(workdir, ignore_errors=True)
            if progress:
                progress(i + 1)
    return {"per_kind": report, "failures": failures}


def _tally(row: dict, outcome: Outcome) -> None:
    row["cases"] += 1
    row["failed"] += bool(outcome.problems)
    key = str(outcome.code if outcome.code is not None else f"signal {outcome.signal}")
    row["codes"][key] = row["codes"].get(key, 0) + 1
    row["max_cpu_seconds"] = round(max(row["max_cpu_seconds"], outcome.cpu_seconds), 3)
    row["max_wall_seconds"] = round(max(row["max_wall_seconds"], outcome.seconds), 3)
    row["max_memory_mb"] = round(max(row["max_memory_mb"], outcome.memory_mb), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="cases in all, spread over the kinds")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: " + ", ".join(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU-time limit per case")
    parser.add_argument("--memory-gb", type=float, default=1.0, help="memory limit per case")
    parser.add_argument("--show", type=int, default=3, help="failures printed in full")
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "fuzz.json"))
    parser.add_argument("--keep", default=None, help="folder to keep the files of failing cases in")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)   # ForkServer's process
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")   # before torch loads: forks must not inherit busy OpenMP pools
    if args.serve:
        serve()
        return
    kinds = [k for k in args.kinds.split(",") if k]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        parser.error(f"unknown kinds {unknown}; known: {', '.join(KINDS)}")
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 200 == 0 or done == args.n:
            print(f"\r{done:,}/{args.n:,} cases", end="", file=sys.stderr, flush=True)

    result = fuzz(args.n, kinds, args.seed, seconds=args.seconds, memory=int(args.memory_gb * 2**30),
                  progress=progress, keep=Path(args.keep) if args.keep else None)
    print(file=sys.stderr)
    result.update(n=args.n, seed=args.seed, cpu_seconds_limit=args.seconds, wall_guard_s=args.seconds * WALL_FACTOR,
                  memory_limit_gb=args.memory_gb, wall_s=round(time.perf_counter() - started, 1),
                  load_average=os.getloadavg())
    for kind, row in result["per_kind"].items():
        print(f"{kind:8}  {row['cases']:6,} cases  {row['failed']:4} failed  exit codes {row['codes']}  "
              f"max {row['max_cpu_seconds']:.2f} s CPU ({row['max_wall_seconds']:.2f} s wall)  "
              f"max {row['max_memory_mb']:.0f} MB")
    problems: dict[str, int] = {}
    for failure in result["failures"]:
        for p in failure["problems"]:
            problems[p] = problems.get(p, 0) + 1
    print(f"failures by problem: {problems or 'none'}  ({result['wall_s']} s)")
    for failure in result["failures"][:args.show]:
        print(json.dumps({k: failure[k] for k in ("kind", "argv", "name", "problems", "code", "err")}, indent=1))
    result["failures"] = result["failures"][:200]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
