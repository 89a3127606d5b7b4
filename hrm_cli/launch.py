"""What `hrm train --nproc N` runs: torch.distributed.run itself, minus its noise on failure.

When a worker fails, the worker has already said why in one line; the launcher would add its own
warning lines and a ChildFailedError traceback. Here its log is kept to critical messages and the
traceback becomes one line naming the process that failed first, with that process's exit code.
"""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    os.environ.setdefault("LOGLEVEL", "CRITICAL")   # read when torch's elastic loggers are made
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import main as run

    for name in ("torch.distributed.elastic", "torch.distributed.run", "torch.distributed.launcher"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    try:
        run(sys.argv[1:])
    except ChildFailedError as exc:
        # The process that failed for a reason has said it; the others were stopped by the launcher
        # (negative codes: signals) or lost their link to it, in whatever order the race ran.
        codes = [failure.exitcode for failure in exc.failures.values()]
        code = min((c for c in codes if c > 0), default=1)
        print(f"error: training stopped: a process exited with code {code} (the reason is above)", file=sys.stderr)
        sys.exit(code)


if __name__ == "__main__":
    main()
