"""What the GUI benchmarks share: a probe that times the GUI thread's event loop, ways to run
that loop until something happens, and the real MainWindow on a temporary data folder."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.shell.main_window import MainWindow

TICK_MS = 2
"""The probe's timer interval: a gap much longer than this is a moment the window froze."""


def thread_schedstat() -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting) of the calling thread; zeros off Linux."""
    try:
        with open(f"/proc/self/task/{threading.get_native_id()}/schedstat") as f:
            on_cpu, waiting, _ = f.read().split()
    except OSError:
        return 0.0, 0.0
    return int(on_cpu) / 1e9, int(waiting) / 1e9


class TickProbe(QObject):
    """A precise TICK_MS timer on the GUI thread that stamps every tick.

    `stop()` gives the gaps between ticks in ms (the last one up to the stop): the longest gap
    is the longest time the event loop could not run, which a person sees as a frozen window.
    Subclasses can look at every tick in `_on_tick`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ticks: list[float] = []
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        self.ticks = [time.perf_counter()]
        self._timer.start()

    def stop(self) -> list[float]:
        self._timer.stop()
        self.ticks.append(time.perf_counter())
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:], strict=False)]

    def _on_tick(self, now: float) -> None:
        """Called on every tick, after it is stamped."""

    @Slot()
    def _on_timer_timeout(self) -> None:
        now = time.perf_counter()
        self.ticks.append(now)
        self._on_tick(now)


def run_until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Run the GUI event loop until `condition()` holds (checked every 10 ms).

    An event loop, not a processEvents() loop: that one spins a core while nothing happens,
    which on 2 cores would take a CPU away from the work being measured.
    """
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(10)

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    timer.timeout.connect(check)
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    if not condition():
        raise TimeoutError("the GUI did not get there in time")


def idle(seconds: float) -> None:
    """Run the GUI event loop for this long."""
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def open_window(data_dir: Path, model: Path, model_name: str) -> tuple[MainWindow, Workspace]:
    """The app's MainWindow, shown, on a new data folder that already holds `model`."""
    workspace = Workspace.open(data_dir)
    workspace.registry.import_model(model, name=model_name, probe=False)
    window = MainWindow(workspace)
    window.resize(1180, 760)
    window.show()
    return window, workspace
