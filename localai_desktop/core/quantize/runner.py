"""Make a smaller copy of a registered model in a child process, check it, register it."""

from __future__ import annotations

import collections
import json
import logging
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.child_process import child_env, module_command
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.quantization import quantization_from_filename
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.quantize.targets import (
    QuantTarget,
    check_can_quantize,
    expected_file_bytes,
    target_named,
)

log = logging.getLogger(__name__)

CHILD_MODULE = "localai_desktop.core.quantize.child"
PARTIAL_SUFFIX = ".quantizing"
# Held by the process making a copy while its partial file exists: a partial file whose lock
# nobody holds was left by a killed run (the app or `localai` ended mid-way) and is removed.
LOCK_SUFFIX = ".lock"
_DISK_MARGIN = 64 * 1024 * 1024

ProgressCallback = Callable[[str, int, int], None]
"""progress(stage, done, total): "quantizing" (tensors), "checking", then "registering"."""


class QuantizeCancelled(LocalAIError):
    """The person cancelled; the partial file was removed and nothing was registered."""


@dataclass(frozen=True)
class QuantizeResult:
    model: LocalModel
    seconds_quantizing: float  # llama.cpp's quantizer alone, as the child measured it
    seconds_total: float  # from start to registered
    answer: str  # what the copy said (or how many numbers it embedded) in the check


def _no_progress(_stage: str, _done: int, _total: int) -> None:
    pass


def default_copy_name(model: LocalModel, target: QuantTarget) -> str:
    """ "Qwen2 0.5B F16" -> "Qwen2 0.5B Q4_K_M"; otherwise the name with the type added."""
    pattern = re.compile(rf"\b{re.escape(model.quantization)}\b", re.IGNORECASE)
    if model.quantization and pattern.search(model.name):
        return pattern.sub(target.name, model.name)
    return f"{model.name} {target.name}"


def copy_file_name(model: LocalModel, target: QuantTarget) -> str:
    """The copy's file name: the source's, with its type replaced (or added)."""
    stem = model.path.name.removesuffix(".gguf").removesuffix(".GGUF")
    stem = re.sub(r"-\d{5}-of-\d{5}$", "", stem)
    found = quantization_from_filename(model.path.name)
    pattern = re.compile(rf"(?<![A-Za-z0-9]){re.escape(found)}(?![A-Za-z0-9])", re.IGNORECASE)
    if found != "unknown" and pattern.search(stem):
        stem = pattern.sub(target.name, stem)
    else:
        stem = f"{stem}-{target.name}"
    return f"{stem}.gguf"


def quantize_model(
    registry: ModelRegistry,
    model_name: str | int,
    target_type: str,
    *,
    name: str | None = None,
    progress: ProgressCallback = _no_progress,
    cancellation: Cancellation | None = None,
    threads: int = 0,
) -> QuantizeResult:
    """Make a `target_type` copy of a registered model with llama.cpp's quantizer.

    The quantizer runs in a child process (cancel = kill it; the partial file is removed),
    the copy is checked there (it loads and answers a short prompt, or embeds one), then
    registered like an import, with its lineage in the model's source: which model and file
    it was made from, with that file's sha256. Raises QuantizeCancelled when cancelled.
    """
    started = time.perf_counter()
    cancellation = cancellation or Cancellation()
    model = registry.get(model_name)
    target = target_named(target_type)
    check_can_quantize(model.quantization, target)
    if not model.file_exists:
        raise LocalAIError(
            f"The file of '{model.name}' is missing ({model.path}).",
            "Find the file again (or download the model again), then retry.",
        )
    copy_name = (name or default_copy_name(model, target)).strip()
    if not copy_name:
        raise LocalAIError("The copy needs a name.", "Type a name for it, or leave it empty.")
    registry.check_name_free(copy_name)
    remove_abandoned_copies(registry.models_dir)
    final_path = _free_path(registry.models_dir / copy_file_name(model, target))
    _check_disk_space(registry.models_dir, expected_file_bytes(model.parameter_count, target))
    partial = final_path.with_name(final_path.name + PARTIAL_SUFFIX)
    lock = FileLock(_lock_path(partial))
    lock.acquire()  # a fresh name: nobody else holds it
    try:
        seconds, answer = _run_child(model, target, partial, threads, progress, cancellation)
        if cancellation.is_set():
            raise QuantizeCancelled("Making the copy was cancelled.", "Nothing was added.")
        partial.replace(final_path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        lock.release()
        lock.path.unlink(missing_ok=True)
    progress("registering", 0, 1)
    try:
        copy = registry.import_model(
            final_path,
            name=copy_name,
            owns_file=True,
            should_cancel=cancellation.is_set,
        )
        source: dict[str, Any] = {
            "quantized_from": {
                "model": model.name,
                "file": model.path.name,
                "sha256": model.sha256,
                "quantization": model.quantization,
            },
            "quantized_with": "llama.cpp llama_model_quantize",
            "quantized_at": utcnow().isoformat(),
        }
        if model.license or model.source.get("license"):
            source["license"] = model.license or model.source.get("license")
        if model.source.get("repo"):
            source["repo"] = model.source["repo"]
        registry.set_source(copy.id, source)
        copy = registry.get(copy.id)
    except BaseException:
        final_path.unlink(missing_ok=True)
        raise
    progress("registering", 1, 1)
    return QuantizeResult(copy, seconds, time.perf_counter() - started, answer)


def _run_child(
    model: LocalModel,
    target: QuantTarget,
    partial: Path,
    threads: int,
    progress: ProgressCallback,
    cancellation: Cancellation,
) -> tuple[float, str]:
    args = [str(model.path), str(partial), target.ftype_constant, "--threads", str(threads)]
    if model.is_embedding_model:
        args.append("--embedding")
    if cancellation.is_set():
        raise QuantizeCancelled("Making the copy was cancelled.", "Nothing was added.")
    try:
        child = subprocess.Popen(
            module_command(CHILD_MODULE, *args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
        )
    except OSError as error:
        raise LocalAIError(
            f"The quantizer could not be started ({error}).",
            "Try again; if it keeps failing, reinstall the app.",
        ) from None
    stderr_tail: collections.deque[str] = collections.deque(maxlen=20)
    drain = threading.Thread(target=_drain, args=(child.stderr, stderr_tail), daemon=True)
    drain.start()
    remove_hook = cancellation.add_callback(child.kill)
    events: dict[str, dict[str, Any]] = {}
    try:
        assert child.stdout is not None
        for raw in child.stdout:
            event = _parse(raw)
            kind = event.get("event")
            if kind == "tensor":
                progress("quantizing", int(event["done"]), int(event["total"]))
            elif kind == "quantized":
                progress("checking", 0, 1)
            elif kind == "checked":
                progress("checking", 1, 1)
            if isinstance(kind, str):
                events[kind] = event
        child.wait()
    finally:
        remove_hook()
        if child.poll() is None:
            child.kill()
            child.wait()
        drain.join(timeout=5)
    if cancellation.is_set():
        raise QuantizeCancelled("Making the copy was cancelled.", "Nothing was added.")
    _raise_for_failure(model, target, events, child.returncode, stderr_tail)
    return float(events["quantized"]["seconds"]), str(events["checked"]["answer"])


def _raise_for_failure(
    model: LocalModel,
    target: QuantTarget,
    events: dict[str, dict[str, Any]],
    returncode: int,
    stderr_tail: collections.deque[str],
) -> None:
    if "checked" in events and "quantized" in events and returncode == 0:
        return
    log.warning(
        "quantizing %s to %s failed (exit code %s): %s; stderr: %s",
        model.name,
        target.name,
        returncode,
        events.get("failed"),
        "\n".join(stderr_tail),
    )
    failed = events.get("failed", {})
    reason = str(failed.get("error") or "")
    if "quantized" not in events:
        said = f" (llama.cpp said: {reason})" if reason else ""
        raise LocalAIError(
            f"llama.cpp could not make a {target.name} copy of '{model.name}'{said}.",
            "Check that the disk is not full and that the model file is complete; "
            "a model of an unusual architecture may not be supported yet.",
        )
    said = f" ({reason})" if reason else " (the check crashed)"
    raise LocalAIError(
        f"The {target.name} copy of '{model.name}' was made but did not work when tried{said}, "
        "so it was deleted.",
        "Try another type (Q8_0 or Q6_K are the safest), or use the original.",
    )


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        event = json.loads(raw)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def _drain(stream: Any, tail: collections.deque[str]) -> None:
    for raw in stream:
        tail.append(raw.decode("utf-8", errors="replace").rstrip())


def remove_abandoned_copies(models_dir: Path) -> list[Path]:
    """Delete the partial copies (and their lock files) that a killed quantization left in
    `models_dir`; returns the partial files removed. A copy still being made, by this process
    or another (the app beside `localai models quantize`), holds its lock and is left alone."""
    removed: list[Path] = []
    try:
        partials = sorted(Path(models_dir).glob(f"*{PARTIAL_SUFFIX}"))
        locks = sorted(Path(models_dir).glob(f"*{PARTIAL_SUFFIX}{LOCK_SUFFIX}"))
    except OSError:
        return removed
    for partial in partials:
        probe = FileLock(_lock_path(partial))
        try:
            if not probe.acquire():
                continue  # its quantizer is at work right now
            try:
                partial.unlink(missing_ok=True)
            finally:
                probe.release()
                probe.path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("Could not remove the unfinished copy %s: %s", partial, error)
            continue
        log.info("Removed %s, left by a quantization that did not finish", partial)
        removed.append(partial)
    for lock_file in locks:
        if lock_file.exists() and not lock_file.with_suffix("").exists():
            probe = FileLock(lock_file)
            try:
                if probe.acquire():
                    probe.release()
                    lock_file.unlink(missing_ok=True)
            except OSError:
                continue
    return removed


def _lock_path(partial: Path) -> Path:
    return partial.with_name(partial.name + LOCK_SUFFIX)


def _free_path(path: Path) -> Path:
    candidate, counter = path, 1
    while candidate.exists() or candidate.with_name(candidate.name + PARTIAL_SUFFIX).exists():
        candidate = path.with_name(f"{path.stem}-{counter}{path.suffix}")
        counter += 1
    return candidate


def _check_disk_space(folder: Path, needed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed + _DISK_MARGIN:
        raise StorageError(
            f"There is not enough free disk space for the copy ({format_bytes(needed)} "
            f"needed, {format_bytes(free)} free).",
            "Free some space, then try again.",
        )
