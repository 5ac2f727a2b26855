"""Load a model once in a child process, so a file that crashes llama.cpp cannot crash the app."""

from __future__ import annotations

import ctypes
import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from localai_desktop.core.common.child_process import child_env, module_command
from localai_desktop.core.common.errors import ModelLoadError
from localai_desktop.core.models.chat_template import (
    CHECK_MEMORY_BYTES,
    CHECK_TIMEOUT_SECONDS,
    MAX_TEMPLATE_CHARS,
    TEMPLATE_BROKEN,
    TEMPLATE_TOO_LARGE,
    TEMPLATE_TOO_MUCH_MEMORY,
    TEMPLATE_TOO_SLOW,
)
from localai_desktop.core.models.gguf_info import EMBEDDING_ARCHITECTURES

logger = logging.getLogger(__name__)

# The probe's own child flag, from before core.child_process; frozen entry points still honour it.
PROBE_CHILD_FLAG = "--localai-probe-model"
PLAIN_BUFFERS_FLAG = "--plain-buffers"
_TODO = (
    "Download the model again or choose another one. "
    "A newer version of LocalAI Desktop may support it."
)


@dataclass(frozen=True)
class ProbeReport:
    """How the model must be loaded on this computer.

    plain_buffers: load without llama.cpp's extra (repacked, AMX) weight buffers. Some CPUs
    advertise Intel AMX but fault in llama.cpp's AMX kernel on the first prompt (seen on
    virtual machines with Xeon CPUs; quantized models only), which kills the whole process.
    """

    plain_buffers: bool = False


def probe_load(path: Path, timeout_s: float = 120) -> ProbeReport:
    """Load the model and run a short prompt in a child process; say how it loads safely.

    llama.cpp calls abort() on some malformed files (for example a vocabulary with a repeated
    token), and on some CPUs crashes on the first prompt of a quantized model; in a child
    process that costs a child, not the app and the user's unsaved work. When the prompt
    crashes but works with plain weight buffers, the report says so and the engine loads the
    model that way. Raises ModelLoadError when the model cannot be used at all.
    """
    path = Path(path)
    report, child = _run_child(path, timeout_s, plain_buffers=False)
    if report.get("ok") is True and child.returncode == 0:
        return ProbeReport()
    if report.get("stage") == "loaded" and _killed_by_signal(child.returncode):
        # The load worked and the first prompt crashed: try once more without extra buffers.
        logger.warning(
            "model probe of %s crashed on its first prompt (exit code %s); retrying with plain "
            "weight buffers; stderr: %s",
            path,
            child.returncode,
            _tail(child.stderr),
        )
        report, child = _run_child(path, timeout_s, plain_buffers=True)
        if report.get("ok") is True and child.returncode == 0:
            return ProbeReport(plain_buffers=True)
    _raise_for(path, report, child)


_SIGKILL = -9  # POSIX: killed outright, which is what the out-of-memory killer does


def _killed_by_signal(returncode: int) -> bool:
    # POSIX: a negative signal number; Windows: an NTSTATUS such as 0xC0000005 (access violation).
    return returncode < 0 or returncode > 255


def _run_child(
    path: Path, timeout_s: float, *, plain_buffers: bool
) -> tuple[dict[str, object], subprocess.CompletedProcess[bytes]]:
    try:
        child = subprocess.run(
            _child_command(path, plain_buffers=plain_buffers),
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
            f"Checking {path.name} was too slow: loading it took longer than "
            f"{timeout_s:.0f} seconds, so the check was stopped.",
            "Close other programs and try again, or choose a smaller model.",
        ) from None
    except OSError as exc:
        raise ModelLoadError(f"The model check could not be started ({exc}).", _TODO) from None
    return _last_json_line(child.stdout), child


def check_chat_template_in_child(
    template: str,
    *,
    bos_token: str = "<s>",
    eos_token: str = "</s>",
    timeout_s: float = CHECK_TIMEOUT_SECONDS,
    memory_bytes: int = CHECK_MEMORY_BYTES,
) -> str | None:
    """The verdict on a model's chat template (core.models.chat_template), from a child process.

    The child renders a long conversation with the same limits as chat, under a memory limit
    (its address space on Linux; here, its resident memory is watched on every system) and a
    timeout: what the in-process limits could miss costs a child, not the app. Returns None
    when the check could not run at all (it is then tried again at the model's first load).
    """
    if len(template) > MAX_TEMPLATE_CHARS:
        return TEMPLATE_TOO_LARGE
    import psutil

    request = json.dumps({"template": template, "bos_token": bos_token, "eos_token": eos_token})
    try:
        child = subprocess.Popen(
            module_command("localai_desktop.core.models.chat_template"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_env(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except OSError as error:
        logger.warning("The chat template check could not be started: %s", error)
        return None
    verdict: str | None = None
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(request.encode("utf-8"))
        child.stdin.close()
        watched = psutil.Process(child.pid)
        deadline = time.monotonic() + timeout_s
        while child.poll() is None:
            if time.monotonic() > deadline:
                verdict = TEMPLATE_TOO_SLOW
                break
            try:
                if watched.memory_info().rss > memory_bytes:
                    verdict = TEMPLATE_TOO_MUCH_MEMORY
                    break
            except psutil.Error:
                pass
            time.sleep(0.02)
        if verdict is not None:
            child.kill()
            child.wait()
            logger.warning("The chat template check was stopped: %s", verdict)
            return verdict
        report = _last_json_line(child.stdout.read())
    except OSError as error:  # the child died before reading its request
        child.kill()
        child.wait()
        logger.warning("The chat template check failed: %s", error)
        report = {}
    finally:
        if child.stdout is not None:
            child.stdout.close()
    reported = report.get("verdict")
    if isinstance(reported, str):
        return reported
    # No verdict: the child died, most often for want of memory (killed outright on POSIX).
    return TEMPLATE_TOO_MUCH_MEMORY if _killed_by_signal(child.returncode) else TEMPLATE_BROKEN


def _raise_for(
    path: Path, report: dict[str, object], child: subprocess.CompletedProcess[bytes]
) -> NoReturn:
    logger.warning(
        "model probe of %s failed (exit code %s): %s; stderr: %s",
        path,
        child.returncode,
        report,
        _tail(child.stderr),
    )
    if report.get("kind") == "memory" or child.returncode == _SIGKILL:
        # The child ran out of memory (a MemoryError it reported, or the system's out-of-memory
        # killer): say so, not whichever warning llama.cpp logged last.
        raise ModelLoadError(
            f"Checking {path.name} needed more memory than this computer could give it, so "
            "the check was stopped.",
            "Close other programs and try again, or choose a smaller model or quantization.",
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


def _child_command(path: Path, *, plain_buffers: bool = False) -> list[str]:
    # `python -m` from source; the frozen app's own executable with its run-module flag.
    extra = [PLAIN_BUFFERS_FLAG] if plain_buffers else []
    return module_command("localai_desktop.core.models.probe", str(path), *extra)


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


def _load(path: str, *, plain_buffers: bool = False) -> dict[str, object]:
    """The child's work: load the model, run a short prompt, report what llama.cpp said.

    Prints {"stage": "loaded"} between the two, so the parent can tell a crash on the first
    prompt (see ProbeReport) from a crash while reading the file.
    """
    import llama_cpp

    from localai_desktop.core.models.chat_template import disarm_llama_cpp_templates

    # The chat template is checked apart, within limits (check_chat_template_in_child).
    disarm_llama_cpp_templates()
    if plain_buffers:
        use_plain_weight_buffers(llama_cpp)

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
        return _failure(exc, errors)
    print(json.dumps({"stage": "loaded"}), flush=True)
    try:
        # Embedding models (BERT and kin) are not prompted; the embedder loads them with
        # plain buffers anyway (core.documents.embedder).
        if not _is_embedding_model(model.metadata):
            model.eval(model.tokenize(b"Hello, how are you?", add_bos=True)[:8])
    except Exception as exc:
        return _failure(exc, errors)
    finally:
        model.close()
    return {"ok": True}


def _failure(exc: Exception, errors: list[str]) -> dict[str, object]:
    if isinstance(exc, MemoryError):
        return {"ok": False, "error": "out of memory", "kind": "memory"}
    return {"ok": False, "error": _reason(errors) or str(exc)}


def _is_embedding_model(metadata: dict[str, str]) -> bool:
    # The same rule as gguf_info.read_gguf_info, on the metadata llama.cpp read.
    arch = metadata.get("general.architecture", "")
    pooling = metadata.get(f"{arch}.pooling_type", "0")
    return arch in EMBEDDING_ARCHITECTURES or (pooling.isdigit() and int(pooling) > 0)


def use_plain_weight_buffers(llama_cpp: ModuleType) -> None:
    """Make every later load in this process skip llama.cpp's extra weight buffers.

    llama-cpp-python builds its params from `llama_model_default_params()`; for the child,
    which loads one model and exits, replacing that function for good is enough.
    """
    low_level = llama_cpp.llama_cpp
    original = low_level.llama_model_default_params

    def params_without_extra_buffers() -> object:
        params = original()
        params.use_extra_bufts = False
        return params

    low_level.llama_model_default_params = params_without_extra_buffers


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
    plain_buffers = PLAIN_BUFFERS_FLAG in args
    args = [a for a in args if a != PLAIN_BUFFERS_FLAG]
    if len(args) != 1:
        print(json.dumps({"ok": False, "error": "usage: model_probe PATH"}), flush=True)
        return 2
    try:
        report = _load(args[0], plain_buffers=plain_buffers)
    except MemoryError:
        report = {"ok": False, "error": "out of memory", "kind": "memory"}
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
