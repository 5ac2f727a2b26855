"""The weight layout per machine and model: llama.cpp's repacked weights, or the file's own.

llama.cpp repacks some quantized weights at load time into a layout its CPU kernels read
faster ("extra buffer types": AMX tiles, interleaved Q4_0/Q4_K rows). Which layout is faster
depends on the CPU and on the work: on an AVX-512 machine with AMX, `llama-bench` read a
512-token prompt at 520-550 tokens/s with `--repack 0` but 345-355 with its default repacked
weights, and generated at 60-64 against 82-83 tokens/s. So the app measures both layouts once
per machine and model (`measure_layouts`, at the work's own prompt length, each layout loaded
in a child process, as a crash in a repacked kernel must cost a child, not the app), keeps what it
measured in the model's `source` (`WEIGHT_LAYOUT_KEY`), and loads the model in the layout that
finishes the person's usual work sooner (`prefers_plain_layout`): a document question (a long
prompt, a short answer) or a chat turn (a short prompt, a longer answer).

A measurement belongs to the computer it was made on (`machine_signature`): a data folder
copied to another computer measures again rather than trusting another CPU's figures.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import psutil

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.child_process import child_env, module_command
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.core.speed.measurement import BUSY_SHARE

WEIGHT_LAYOUT_KEY = "weight_layout"


class Work(StrEnum):
    """What the layout is chosen for: the token counts of a typical turn of each kind."""

    DOCUMENTS = "documents"  # a question with retrieved passages: long prompt, short answer
    CHAT = "chat"  # a conversation turn: short prompt, longer answer


# (prompt tokens, answer tokens) of a typical turn; the document question is a
# 2,000-token prompt and a 200-token answer.
WORK_TOKENS: dict[Work, tuple[int, int]] = {Work.DOCUMENTS: (2000, 200), Work.CHAT: (300, 300)}

# What the measuring child reads and writes for each kind of work: the work's own prompt, up to
# 1,024 tokens (a 256-token prompt could not tell layouts 5% apart: the two layouts' prompt
# rates drift apart as the prompt grows), then a short answer at that depth.
MEASURE_PROMPT_LIMIT = 1024
MEASURE_ANSWER_TOKENS = 32
ROUNDS = 2
# Layouts this close (the share of the slower one's time) are measured again, up to
# MAX_ROUNDS rounds each, since one round's noise on a shared computer is about this size.
CLOSE_CALL = 0.04
MAX_ROUNDS = 4


def measured_tokens(work: Work, context_length: int = 0) -> tuple[int, int]:
    """(prompt tokens, answer tokens) the measuring child runs for `work`, within the model's
    trained context (`context_length`, 0 when unknown)."""
    prompt = min(WORK_TOKENS[work][0], MEASURE_PROMPT_LIMIT)
    if context_length > 0:
        prompt = max(16, min(prompt, context_length - MEASURE_ANSWER_TOKENS - 16))
    return prompt, MEASURE_ANSWER_TOKENS


@dataclass(frozen=True)
class LayoutSpeed:
    """Tokens per second one layout reached: reading a prompt, and writing an answer."""

    prompt_tokens_per_second: float
    answer_tokens_per_second: float

    def seconds_for(self, work: Work) -> float:
        prompt, answer = WORK_TOKENS[work]
        return prompt / self.prompt_tokens_per_second + answer / self.answer_tokens_per_second


@dataclass(frozen=True)
class LayoutChoice:
    """Both layouts measured on one machine, and the one chosen for `work`."""

    machine: str
    work: Work
    repacked: LayoutSpeed
    plain: LayoutSpeed
    measured_at: str
    threads: int
    # The share of the CPUs other programs used while measuring (0-1): a busy computer gives
    # noisy figures, and the app says so.
    busy_share: float = 0.0

    @property
    def plain_is_faster(self) -> bool:
        return self.plain.seconds_for(self.work) < self.repacked.seconds_for(self.work)

    def describe(self) -> str:
        chosen, other = (
            ("the file's own layout", "the rearranged one")
            if self.plain_is_faster
            else ("llama.cpp's rearranged layout", "the file's own")
        )
        faster = self.repacked.seconds_for(self.work) / self.plain.seconds_for(self.work)
        if not self.plain_is_faster:
            faster = 1 / faster
        busy = (
            f"; other programs kept the computer {self.busy_share:.0%} busy, so measure again "
            "when it is quieter"
            if self.busy_share >= BUSY_SHARE
            else ""
        )
        return (
            f"{chosen} ({faster:.2f}x faster than {other} for a typical "
            f"{'document question' if self.work is Work.DOCUMENTS else 'chat turn'} here{busy})"
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["work"] = str(self.work)
        data["plain_is_faster"] = self.plain_is_faster
        return data

    @classmethod
    def from_json(cls, data: object) -> LayoutChoice | None:
        """The stored choice, or None when there is none or it cannot be read."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                machine=str(data["machine"]),
                work=Work(str(data["work"])),
                repacked=LayoutSpeed(**data["repacked"]),
                plain=LayoutSpeed(**data["plain"]),
                measured_at=str(data["measured_at"]),
                threads=int(data["threads"]),
                busy_share=float(data.get("busy_share", 0.0)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def for_work(self, work: Work) -> LayoutChoice:
        """The same measurements, chosen for another kind of work (no new measuring)."""
        return replace(self, work=work)


def machine_signature() -> str:
    """This computer's CPU as far as layouts go: its model name, instruction sets and cores."""
    name = platform.processor() or platform.machine()
    flags = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    name = value.strip()
                elif key == "flags":
                    wanted = ("avx2", "avx512f", "avx512_vnni", "amx_int8", "amx_tile", "neon")
                    flags = " ".join(f for f in value.split() if f in wanted)
                if name and flags:
                    break
    except OSError:
        pass  # not Linux: the processor name and architecture say enough
    return f"{name} [{flags}] x{os.cpu_count() or 1}"


def stored_choice(model: LocalModel) -> LayoutChoice | None:
    """The layout measured for this model on this computer, if any."""
    choice = LayoutChoice.from_json(model.source.get(WEIGHT_LAYOUT_KEY))
    if choice is None or choice.machine != machine_signature():
        return None
    return choice


def prefers_plain_layout(model: LocalModel) -> bool:
    """Whether to load `model` without llama.cpp's repacked weights on this computer.

    True where the import check found the repacked kernels crash here (`plain_buffers`), or
    where the measured layouts say the file's own layout is faster for the person's work.
    """
    if model.plain_buffers:
        return True
    choice = stored_choice(model)
    return choice is not None and choice.plain_is_faster


def measure_layouts(
    model: LocalModel,
    *,
    work: Work,
    threads: int,
    on_progress: Callable[[str], None] | None = None,
    cancel: Cancellation | None = None,
    rounds: int = ROUNDS,
) -> LayoutChoice:
    """Measure both layouts (alternating, `rounds` times each, the best run of each kept; a
    close call gets more rounds, up to MAX_ROUNDS).

    Raises LocalAIError when the model cannot be measured; a layout that crashes llama.cpp
    here is recorded as unusable (never chosen).
    """
    if model.is_embedding_model:
        raise LocalAIError(
            f"'{model.name}' is an embedding model; its layout is chosen when it is loaded.",
            "Measure a chat model.",
        )
    best: dict[bool, LayoutSpeed] = {}
    own_before, cpu_before = _own_cpu_seconds(), psutil.cpu_times()
    started = time.perf_counter()
    prompt_tokens, answer_tokens = measured_tokens(work, model.context_length)
    round_number = 0
    while round_number < rounds or (round_number < MAX_ROUNDS and _close_call(best, work)):
        round_number += 1
        for plain in (False, True):
            if cancel is not None and cancel.is_set():
                raise LocalAIError("Measuring was cancelled.", "Measure again when you like.")
            if on_progress is not None:
                label = "the file's own layout" if plain else "llama.cpp's rearranged layout"
                total = f"{rounds}" if round_number <= rounds else f"up to {MAX_ROUNDS}"
                on_progress(f"Round {round_number} of {total}: {label}")
            speed = _measure_in_child(
                model.path,
                plain=plain,
                threads=threads,
                prompt_tokens=prompt_tokens,
                answer_tokens=answer_tokens,
                cancel=cancel,
            )
            previous = best.get(plain)
            if previous is None or speed.seconds_for(work) < previous.seconds_for(work):
                best[plain] = speed
    return LayoutChoice(
        machine=machine_signature(),
        work=work,
        repacked=best[False],
        plain=best[True],
        measured_at=utcnow().isoformat(),
        threads=threads,
        busy_share=_foreign_share(cpu_before, own_before, time.perf_counter() - started),
    )


def _close_call(best: dict[bool, LayoutSpeed], work: Work) -> bool:
    """Whether the layouts measured so far are too close to call for `work`."""
    if len(best) < 2:
        return False
    times = sorted(speed.seconds_for(work) for speed in best.values())
    return times[1] > 0 and (times[1] - times[0]) / times[1] < CLOSE_CALL


def _own_cpu_seconds() -> float:
    """CPU time of this process and of the children it has waited for (the measuring ones)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _foreign_share(cpu_before: Any, own_before: float, elapsed: float) -> float:
    cpu_after = psutil.cpu_times()
    busy = sum(getattr(cpu_after, f) - getattr(cpu_before, f) for f in ("user", "nice", "system"))
    total = elapsed * (psutil.cpu_count() or 1)
    share = (busy - (_own_cpu_seconds() - own_before)) / total if total > 0 else 0.0
    return min(1.0, max(0.0, share))


_UNUSABLE = LayoutSpeed(1e-9, 1e-9)  # a layout that crashed: never the faster one


def _measure_in_child(
    path: Path,
    *,
    plain: bool,
    threads: int,
    prompt_tokens: int,
    answer_tokens: int,
    cancel: Cancellation | None,
) -> LayoutSpeed:
    command = module_command(
        "localai_desktop.core.speed.layout_child",
        str(path),
        "1" if plain else "0",
        str(threads),
        str(prompt_tokens),
        str(answer_tokens),
    )
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=child_env(),
        creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),
    )
    deadline = time.monotonic() + 600
    try:
        while child.poll() is None:
            if cancel is not None and cancel.is_set():
                raise LocalAIError("Measuring was cancelled.", "Measure again when you like.")
            if time.monotonic() > deadline:
                raise LocalAIError(
                    f"Measuring '{path.name}' took more than 10 minutes, so it was stopped.",
                    "Close other programs and try again.",
                )
            time.sleep(0.05)
        assert child.stdout is not None
        output = child.stdout.read().decode("utf-8", "replace")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    if child.returncode < 0 or child.returncode > 128:
        return _UNUSABLE  # llama.cpp crashed in this layout here
    for line in reversed(output.splitlines()):
        try:
            report = json.loads(line)
        except ValueError:
            continue
        if isinstance(report, dict) and "prompt_tokens_per_second" in report:
            return LayoutSpeed(
                float(report["prompt_tokens_per_second"]),
                float(report["answer_tokens_per_second"]),
            )
    raise LocalAIError(
        f"'{path.name}' could not be measured (the measuring program ended with code "
        f"{child.returncode}).",
        "Check that the model loads in the Chat tab, then measure again.",
    )
