"""The command line's exit codes besides 0 (done) and 2 (argparse: a usage error)."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2  # as argparse: what was asked is incomplete (a prompt's field left empty)
EXIT_INTERRUPTED = 130
