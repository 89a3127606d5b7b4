"""Named exit codes: 0 all verified, 1 some unsolved, 2 usage or input errors."""

OK = 0
UNSOLVED = 1
USAGE_ERROR = 2
INTERRUPTED = 130
