"""Small helpers shared by the benchmark scripts: paths, machine facts, statistics, tables."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import platform
import statistics
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = REPO_ROOT / "bench"
RESULTS_DIR = BENCH_DIR / "results"  # gitignored
SHARED_MODELS = Path(
    os.environ.get("LOCALAI_TEST_MODELS_DIR", REPO_ROOT.parent / "shared" / "models")
)
STORIES_260K = SHARED_MODELS / "stories260K.gguf"

if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def machine_line() -> str:
    """One line saying where and when the numbers were taken."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        import llama_cpp

        llama_version = llama_cpp.__version__
    except ImportError:
        llama_version = "?"
    try:
        import PySide6

        pyside_version = PySide6.__version__
    except ImportError:
        pyside_version = "?"
    return (
        f"{datetime.date.today().isoformat()}, {cpu}, {os.cpu_count()} logical cores, "
        f"Python {platform.python_version()}, llama-cpp-python {llama_version}, "
        f"PySide6 {pyside_version}, {platform.system()}"
    )


def median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def spread(values: Iterable[float | None]) -> tuple[float, float] | None:
    present = [v for v in values if v is not None]
    return (min(present), max(present)) if present else None


def fmt(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def save_json(name: str, data: Any) -> Path:
    """Raw numbers of a run, for a later look (bench/results/ is gitignored)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = RESULTS_DIR / f"{name}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    return path


@contextlib.contextmanager
def quiet_stderr() -> Any:
    """Capture Python-level prints to stderr (llama-cpp-python's, while a model loads)."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


_llama_log_callback: Any = None


def quiet_llama_logs() -> None:
    """Keep llama.cpp's info lines (one per tensor while quantizing) off the terminal."""
    global _llama_log_callback
    import ctypes

    import llama_cpp

    @llama_cpp.llama_log_callback
    def _on_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
        message = text.decode("utf-8", errors="replace")
        # Warnings and errors, less the expected one per tensor whose rows K-quants cannot take.
        if level in (3, 4) and "falling back to" not in message:
            sys.stderr.write(message)

    llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))
    _llama_log_callback = _on_log  # keep it alive


def batch_decode_crashes(model: Path) -> bool:
    """Whether decoding a 3-token batch of `model` kills the process (checked in a child).

    On virtual machines whose CPU advertises Intel AMX without the kernel granting its tile
    state (seen on a Firecracker VM, Xeon with amx_int8), llama.cpp built with GGML_NATIVE
    runs K-quant and Q8_0/Q4_0 matrix products in its AMX kernel, whose first `ldtilecfg`
    faults (SIGSEGV or SIGILL) on the first multi-token batch: in the app as in a plain loop.
    """
    import subprocess

    code = (
        "import sys, llama_cpp\n"
        "llm = llama_cpp.Llama(sys.argv[1], n_ctx=256, n_threads=1, verbose=False)\n"
        "llm.eval([100, 101, 102])\n"
    )
    child = subprocess.run(
        [sys.executable, "-c", code, str(model)], capture_output=True, timeout=300, check=False
    )
    return child.returncode < 0 or child.returncode > 128  # killed by a signal


def disable_extra_buffer_types() -> None:
    """Load every model of this process with `use_extra_bufts = False` (no AMX, no repacking).

    Benchmark-only workaround for batch_decode_crashes(): llama-cpp-python builds its model
    params from llama_model_default_params() at load time, so patching that function reaches
    the app's LlamaEngine and the plain loops alike, keeping the comparison fair. (The engine
    patches the same function for one load to add its progress callback; it calls whatever
    is installed, so both patches apply.)
    """
    import llama_cpp

    low_level = llama_cpp.llama_cpp
    original = low_level.llama_model_default_params

    def params_without_extra_buffer_types() -> Any:
        params = original()
        params.use_extra_bufts = False
        return params

    low_level.llama_model_default_params = params_without_extra_buffer_types


class ForeignLoad:
    """How busy other processes kept this machine while a run measured (0 = idle, 1 = all cores).

    Other people's test suites share the machine; a 2-thread llama.cpp decode slows down many
    times over when one of its threads is preempted, so every run records this figure.
    """

    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._cores = psutil.cpu_count() or 1
        self.start()

    def _busy(self) -> tuple[float, float, float]:
        total = self._psutil.cpu_times()
        busy = sum(
            getattr(total, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq")
        )
        own = self._me.cpu_times()  # children: the processes this one started and waited for
        mine = own.user + own.system + own.children_user + own.children_system
        return busy, mine, getattr(total, "steal", 0.0)

    def start(self) -> None:
        import time

        self._t0 = time.perf_counter()
        self._busy0 = self._busy()

    def stop(self) -> float:
        import time

        wall = time.perf_counter() - self._t0
        busy, own, _steal = self._busy()
        foreign = (busy - self._busy0[0]) - (own - self._busy0[1])
        return max(0.0, foreign / (wall * self._cores)) if wall > 0 else 0.0


def wait_for_quiet(threshold: float = 0.10, max_wait_s: float = 120.0) -> float:
    """Wait until other processes use under `threshold` of the machine for two 0.5 s windows.

    Returns the seconds waited (max_wait_s when the machine never got quiet; the run then
    goes ahead and its ForeignLoad figure says how noisy it was).
    """
    import time

    started = time.perf_counter()
    load = ForeignLoad()
    quiet_windows = 0
    while time.perf_counter() - started < max_wait_s:
        load.start()
        time.sleep(0.5)
        quiet_windows = quiet_windows + 1 if load.stop() < threshold else 0
        if quiet_windows >= 2:
            break
    return time.perf_counter() - started
