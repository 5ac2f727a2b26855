"""How much of the CPUs other programs use, from the system's and this process's CPU times."""

from __future__ import annotations

import math
import time
from typing import Any

import psutil


def foreign_share(cpu_before: Any, own_before: Any, elapsed: float, cpus: int) -> float:
    """The share of all CPUs (0-1) that other processes used since the two snapshots."""
    cpu_after, own_after = psutil.cpu_times(), psutil.Process().cpu_times()
    busy = sum(
        getattr(cpu_after, f) - getattr(cpu_before, f)
        for f in ("user", "nice", "system")
        if hasattr(cpu_after, f)
    )
    own = (own_after.user - own_before.user) + (own_after.system - own_before.system)
    total = elapsed * cpus
    return min(1.0, max(0.0, (busy - own) / total)) if total > 0 else 0.0


class OtherProgramsLoad:
    """How much of the CPUs other programs used from its creation to `share()` (0-1)."""

    def __init__(self) -> None:
        self._own = psutil.Process().cpu_times()
        self._cpu = psutil.cpu_times()
        self._started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def share(self) -> float:
        return foreign_share(self._cpu, self._own, self.elapsed, psutil.cpu_count() or 1)


def free_core_threads(cores: int, busy_share: float) -> int:
    """Decoding threads for a machine whose other programs use `busy_share` of its CPUs.

    llama.cpp's decoding threads wait for each other at every step: one preempted thread
    stalls them all. Measured on a 2-core machine with other programs using 90%: 421 tokens/s
    with 1 thread, 12 with 2 (stories260K; bench/README.md). So use the cores left free,
    never fewer than one.
    """
    logical = psutil.cpu_count() or cores
    busy_cores = busy_share * logical
    return max(1, min(cores, math.floor(cores - busy_cores + 0.5)))
