"""Command lines for running one of our modules in a child process, from source or frozen.

Heavy or crash-prone work (probing a model file, training) runs in a child process. From
source the child is `python -m MODULE ARGS...`. A frozen app (PyInstaller) has no `python`
and no `-m`: its executable is the app itself, so the child is started as
`EXECUTABLE --localai-run-module MODULE ARGS...`, and the frozen entry point
(`localai_desktop.launcher.main`) calls `run_module_if_asked()` before anything else, which
runs MODULE as `__main__` with `sys.argv = [EXECUTABLE, *ARGS]` and exits with its code.

Any module can be a child: it needs an `if __name__ == "__main__":` block, and in a frozen app
it must be bundled (the spec collects every `localai_desktop` submodule). Callers build the
command with `module_command()` and pass `child_env()` as the environment:

    subprocess.run(module_command("localai_desktop.core.models.probe", str(path)),
                   env=child_env(), ...)
"""

from __future__ import annotations

import os
import runpy
import sys
from collections.abc import Sequence
from pathlib import Path

RUN_MODULE_FLAG = "--localai-run-module"
# The frozen bundle's console executable: on Windows the windowed app has no usable stdout,
# so children that report on stdout are started through the console one when it is there.
CONSOLE_EXECUTABLE = "localai"


def is_frozen() -> bool:
    """Whether this process runs from a PyInstaller bundle rather than from source."""
    return bool(getattr(sys, "frozen", False))


def child_executable() -> str:
    """The program a child process runs: this Python, or the bundle's console executable."""
    if not is_frozen():
        return sys.executable
    own = Path(sys.executable)
    console = own.with_name(CONSOLE_EXECUTABLE + own.suffix)
    return str(console) if console.is_file() else str(own)


def module_command(module: str, *args: str) -> list[str]:
    """The command line that runs `module` as a script with `args`, from source or frozen."""
    if is_frozen():
        return [child_executable(), RUN_MODULE_FLAG, module, *args]
    return [sys.executable, "-m", module, *args]


def child_env() -> dict[str, str]:
    """This process's environment, plus our package's folder so that `-m` works from any cwd."""
    env = dict(os.environ)
    if not is_frozen():
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    return env


def run_module_if_asked(argv: Sequence[str] | None = None) -> None:
    """For a frozen entry point: if started as `EXE --localai-run-module MODULE ...`, run MODULE.

    Returns without doing anything otherwise. Never returns when it ran a module: the
    module's `sys.exit()` (or a normal end, exit code 0) ends the process.
    """
    args = list(sys.argv if argv is None else argv)
    if len(args) < 3 or args[1] != RUN_MODULE_FLAG:
        return
    module = args[2]
    sys.argv = [args[0], *args[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    sys.exit(0)
