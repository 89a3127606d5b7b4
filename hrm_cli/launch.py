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
        # rank 0 says why when it fails; others may only have lost their link to it first
        rank, failure = (0, exc.failures[0]) if 0 in exc.failures else exc.get_first_failure()
        print(f"error: training stopped: process {rank} exited with code {failure.exitcode} (the reason is above)",
              file=sys.stderr)
        sys.exit(failure.exitcode if failure.exitcode > 0 else 1)


if __name__ == "__main__":
    main()
