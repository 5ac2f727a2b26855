"""Measure this computer's speed at the work that bounds token generation (once, cached)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import psutil

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.cpu_load import foreign_share

# A matrix of 128 MiB: far larger than any CPU cache, so it is read from memory each time, as
# a model's weights are when a token is generated.
_ROWS, _COLUMNS = 8192, 2048
MEASURE_SECONDS = 1.5


@dataclass(frozen=True)
class MachineSpeed:
    """What was measured: float32 matrix-vector products streamed at this many bytes a second.

    busy_share: the share of the CPUs other programs used while measuring (0-1); a busy
    computer measures slower than it is, and the app says so.
    """

    bytes_per_second: float
    threads: int
    measured_at: str  # ISO time
    busy_share: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> MachineSpeed | None:
        """The stored measurement, or None when there is none or it cannot be read."""
        if not isinstance(data, dict):
            return None
        try:
            speed = cls(
                bytes_per_second=float(data["bytes_per_second"]),
                threads=int(data["threads"]),
                measured_at=str(data["measured_at"]),
                busy_share=float(data.get("busy_share", 0.0)),
            )
        except (KeyError, TypeError, ValueError):
            return None
        return speed if speed.bytes_per_second > 0 and speed.threads > 0 else None

    @property
    def measured(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.measured_at)
        except ValueError:
            return None


def measure_machine(seconds: float = MEASURE_SECONDS) -> MachineSpeed:
    """Stream a large matrix through matrix-vector products for `seconds`.

    Generating a token reads every weight once and multiplies it by one vector: this is the
    same work in float32 (numpy's BLAS, which spreads it over the cores as llama.cpp does).
    Takes about `seconds` plus the time to fill the matrix.
    """
    import numpy as np

    threads = max(1, psutil.cpu_count(logical=False) or os.cpu_count() or 1)
    matrix = np.ones((_ROWS * 2, _COLUMNS), dtype=np.float32)
    vector = np.ones(_COLUMNS, dtype=np.float32)
    out = np.empty(matrix.shape[0], dtype=np.float32)
    np.dot(matrix, vector, out=out)  # touch every page once before timing
    own_before, cpu_before = psutil.Process().cpu_times(), psutil.cpu_times()
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        np.dot(matrix, vector, out=out)
        count += 1
    busy = foreign_share(cpu_before, own_before, elapsed, psutil.cpu_count() or threads)
    return MachineSpeed(count * matrix.nbytes / elapsed, threads, utcnow().isoformat(), busy)


# From this share of the CPUs taken by other programs an answer is noticeably slower (llama.cpp's
# threads wait for each other when one is preempted): the speed line then says so.
BUSY_SHARE = 0.25
