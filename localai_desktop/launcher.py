"""The frozen app's one entry point: child-process dispatch, then the CLI or the desktop app.

A PyInstaller bundle (see packaging/) has two executables built from this one entry:
`localai-desktop` (windowed on Windows and macOS) and `localai` (console). What runs is
decided in this order, before anything heavy is imported:

1. `EXE --localai-run-module MODULE ARGS...`: run MODULE as a script and exit. This is how
   every child process of the app starts in a frozen build (model probe, fine-tune trainer,
   self-check); see `localai_desktop.core.common.child_process`.
2. `EXE --localai-probe-model PATH`: the model probe's older flag, kept for compatibility.
3. The program's name: `localai` (or `localai.exe`) runs the command line, anything else the
   desktop app. A program renamed by a packager still starts the app, the safe default.

Before any of it, on Linux, the user's LD_LIBRARY_PATH is put back for programs we start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from localai_desktop.core.common.child_process import CONSOLE_EXECUTABLE, run_module_if_asked


def wants_cli(program: str) -> bool:
    """Whether a program of this name (argv[0]) is the `localai` command line."""
    return Path(program).stem.lower() == CONSOLE_EXECUTABLE


def restore_library_path() -> None:
    """Give other programs started from here the user's LD_LIBRARY_PATH, not the bundle's.

    On Linux PyInstaller's bootloader points LD_LIBRARY_PATH at the bundle so that this
    process finds its libraries; every program it starts inherits that, and a browser opened
    for a link, xdg-open or nvidia-smi would then load our libstdc++, OpenSSL or Qt instead of
    its own and may crash. The loader read the variable when this process started, so changing
    it now only affects children; our own children are bundle executables that set it again.
    """
    if not (getattr(sys, "frozen", False) and sys.platform.startswith("linux")):
        return
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is None:
        os.environ.pop("LD_LIBRARY_PATH", None)
    else:
        os.environ["LD_LIBRARY_PATH"] = original


def main(argv: Sequence[str] | None = None) -> int:
    """Run whatever this frozen process was started for; returns the exit code."""
    args = list(sys.argv if argv is None else argv)
    restore_library_path()
    run_module_if_asked(args)
    # Imported here, not at the top: a probe child must not pay for anything else.
    from localai_desktop.core.models.probe import run_probe_child_if_asked

    run_probe_child_if_asked(args)
    if wants_cli(args[0] if args else ""):
        from localai_desktop.cli import main as cli_main

        return cli_main(args[1:])
    from localai_desktop.ui.app import main as app_main

    return app_main(args[1:])
