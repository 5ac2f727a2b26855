"""Where `localai` gets a protected workspace's passphrase, never from a command-line value.

In order: the OS keychain when it was remembered (core/datafolder/workspace.unlock tries it
first), else $LOCALAI_PASSPHRASE, else standard input with --passphrase-stdin (one line per
passphrase asked for), else a prompt on the terminal. A value on the command line would show
in `ps` and the shell's history, so there is no option for one.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys

from localai_desktop.core.datafolder.workspace import PassphraseSource
from localai_desktop.core.datafolder.workspaces import WorkspaceInfo

PASSPHRASE_ENV = "LOCALAI_PASSPHRASE"
# For `workspace rekey` and `workspace create --encrypt` from a script: the new passphrase.
NEW_PASSPHRASE_ENV = "LOCALAI_NEW_PASSPHRASE"
RECOVERY_CODE_ENV = "LOCALAI_RECOVERY_CODE"


class StdinLines:
    """Standard input read one line per passphrase, so a script can pipe several."""

    def __init__(self) -> None:
        self._lines: list[str] | None = None

    def next(self) -> str | None:
        if self._lines is None:
            self._lines = [line.rstrip("\r\n") for line in sys.stdin.readlines()]
        return self._lines.pop(0) if self._lines else None


_STDIN = StdinLines()


def _from_terminal(prompt: str) -> str | None:
    if not sys.stdin.isatty():
        return None
    try:
        return getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        return None


def existing_passphrase(args: argparse.Namespace) -> PassphraseSource:
    """The passphrase that unlocks a workspace."""

    def source(info: WorkspaceInfo) -> str | None:
        if os.environ.get(PASSPHRASE_ENV):
            return os.environ[PASSPHRASE_ENV]
        if getattr(args, "passphrase_stdin", False):
            return _STDIN.next()
        return _from_terminal(f"Passphrase for the workspace '{info.name}': ")

    return source


def new_passphrase(args: argparse.Namespace, name: str, *, replacing: bool = False) -> str | None:
    """A new passphrase: $LOCALAI_NEW_PASSPHRASE, stdin, or typed twice on a terminal; when
    not `replacing` one (rekey), $LOCALAI_PASSPHRASE is the one meant too."""
    if os.environ.get(NEW_PASSPHRASE_ENV):
        return os.environ[NEW_PASSPHRASE_ENV]
    if not replacing and os.environ.get(PASSPHRASE_ENV):
        return os.environ[PASSPHRASE_ENV]
    if getattr(args, "passphrase_stdin", False):
        return _STDIN.next()
    if not sys.stdin.isatty():
        return None
    print(
        "A forgotten passphrase cannot be recovered: without it (or a recovery file) the "
        "workspace's data is lost. Use at least 8 characters; a few unrelated words are "
        "strong and easy to remember.",
        file=sys.stderr,
    )
    first = _from_terminal(f"New passphrase for '{name}': ")
    if first is None:
        return None
    again = _from_terminal("The same passphrase again: ")
    return first if again == first else ""


def recovery_code(args: argparse.Namespace) -> str | None:
    """A recovery code: $LOCALAI_RECOVERY_CODE, stdin, or typed on a terminal."""
    if os.environ.get(RECOVERY_CODE_ENV):
        return os.environ[RECOVERY_CODE_ENV]
    if getattr(args, "passphrase_stdin", False):
        return _STDIN.next()
    return _from_terminal("Recovery code: ")
