"""Load a model once in a child process, so a file that crashes llama.cpp cannot crash the app."""

from __future__ import annotations

import ctypes
import json
import logging
import subprocess
import sys
from pathlib import Path

from localai_desktop.core.child_process import child_env, module_command
from localai_desktop.core.errors import ModelLoadError

logger = logging.getLogger(__name__)

# The probe's own child flag, from before core.child_process; frozen entry points still honour it.
PROBE_CHILD_FLAG = "--localai-probe-model"
_TODO = (
    "Download the model again or choose another one. "
    "A newer version of LocalAI Desktop may support it."
)


def probe_load(path: Path, timeout_s: float = 120) -> None:
    """Load the model with llama.cpp in a child process; raise ModelLoadError if that fails.

    llama.cpp calls abort() on some malformed files (for example a vocabulary with a repeated
    token); in a child process that costs a child, not the app and the user's unsaved work.
    """
    path = Path(path)
    try:
        child = subprocess.run(
            _child_command(path),
            capture_output=True,
            timeout=timeout_s,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            check=False,
            # A windowed app on Windows would otherwise flash a console window for the child.
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except subprocess.TimeoutExpired as exc:
        # subprocess.run has already killed the child.
        logger.warning("model probe of %s timed out; stderr: %s", path, _tail(exc.stderr))
        raise ModelLoadError(
            f"Loading {path.name} took longer than {timeout_s:.0f} seconds, so it was stopped.",
            "Close other programs and try again, or choose a smaller model.",
        ) from None
    except OSError as exc:
        raise ModelLoadError(f"The model check could not be started ({exc}).", _TODO) from None

    report = _last_json_line(child.stdout)
    if report.get("ok") is True and child.returncode == 0:
        return
    logger.warning(
        "model probe of %s failed (exit code %s): %s; stderr: %s",
        path,
        child.returncode,
        report,
        _tail(child.stderr),
    )
    if "ok" in report:
        reason = str(report.get("error") or "unknown error")
        raise ModelLoadError(
            f"This model could not be loaded: the file is damaged or uses a feature this "
            f"version does not support (llama.cpp said: {reason}).",
            _TODO,
        )
    # No report at all: the child died (a signal on POSIX, an NTSTATUS or 3 on Windows).
    raise ModelLoadError(
        "llama.cpp crashed while reading this file, so it is damaged or uses a feature this "
        "version does not support.",
        _TODO,
    )


def _child_command(path: Path) -> list[str]:
    # `python -m` from source; the frozen app's own executable with its run-module flag.
    return module_command("localai_desktop.core.model_probe", str(path))


def _last_json_line(stdout: bytes) -> dict[str, object]:
    for line in reversed(stdout.decode("utf-8", errors="replace").splitlines()):
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict):
            return report
    return {}


def _tail(output: bytes | str | None, lines: int = 20) -> str:
    if not output:
        return ""
    text = output.decode("utf-8", errors="replace") if isinstance(output, bytes) else output
    return "\n".join(text.splitlines()[-lines:])


def _load(path: str) -> dict[str, object]:
    """The child's work: load the model and a small context, report what llama.cpp said."""
    import llama_cpp

    errors: list[str] = []

    # llama.cpp's own log is the only place that says why a load failed; Llama() raises just
    # "Failed to load model". Keep warnings and errors: ggml's levels are 3 and 4 today (the
    # llama-cpp-python 0.3.36 logger still maps them as in older ggml, where 3 was ERROR).
    @llama_cpp.llama_log_callback
    def collect(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        if level in (3, 4):
            errors.append(text.decode("utf-8", errors="replace").strip())

    llama_cpp.llama_log_set(collect, ctypes.c_void_p(0))
    try:
        model = llama_cpp.Llama(
            model_path=path,
            n_ctx=256,
            n_gpu_layers=0,
            use_mmap=True,
            vocab_only=False,
            verbose=True,  # stderr goes to the parent, which logs it after a crash
        )
    except Exception as exc:
        return {"ok": False, "error": _reason(errors) or str(exc)}
    model.close()
    return {"ok": True}


def _reason(errors: list[str]) -> str:
    """The most telling llama.cpp error line, without the C function name in front."""
    for line in errors:
        if "error loading model:" in line:
            return line.split("error loading model:", 1)[1].strip()
    lines = [line for line in errors if "error" in line.lower()] or errors
    return lines[0].split(": ", 1)[-1] if lines else ""


def main(argv: list[str] | None = None) -> int:
    """Child entry: load argv[0] and print one JSON line {"ok": ...}; exit code 0 or 1."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(json.dumps({"ok": False, "error": "usage: model_probe PATH"}), flush=True)
        return 2
    try:
        report = _load(args[0])
    except Exception as exc:  # the report must always be written; the parent logs the details
        report = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


def run_probe_child_if_asked(argv: list[str] | None = None) -> None:
    """For a frozen app's entry point: when started as a probe child, probe and exit."""
    args = sys.argv if argv is None else argv
    if len(args) >= 2 and args[1] == PROBE_CHILD_FLAG:
        sys.exit(main(args[2:]))


if __name__ == "__main__":
    sys.exit(main())
