"""The command line's exit codes besides 0 (done) and 2 (argparse: a usage error)."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2  # as argparse: what was asked is incomplete (a prompt's field left empty)
# A protected workspace's passphrase was wrong or missing (like a usage error: ask again).
EXIT_PASSPHRASE = 2
EXIT_INTERRUPTED = 130
