"""Long work on a thread, so Ctrl-C (which Python delivers to the main thread) can stop it.

`run_interruptibly(work, on_interrupt=...)`: the first Ctrl-C calls `on_interrupt` (which asks
the work to stop at its next safe point: the partial answer, the passages or the answers so
far are kept); a second one gives up at once with KeyboardInterrupt, unless the work must
always stop cleanly (`give_up_on_second=False`, as training does to keep its checkpoint).
Whatever the work raises is raised again on the calling thread.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")


def run_interruptibly(
    work: Callable[[], T],
    *,
    on_interrupt: Callable[[], None],
    name: str,
    give_up_on_second: bool = True,
    poll_seconds: float = 0.1,
) -> T:
    """Run `work` on a thread and return what it returns; Ctrl-C as the module says."""
    outcome: dict[str, Any] = {}
    interrupted = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as error:
            outcome["error"] = error

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if interrupted.is_set() and give_up_on_second:
            raise KeyboardInterrupt
        interrupted.set()
        on_interrupt()

    previous = signal.signal(signal.SIGINT, on_sigint)
    worker = threading.Thread(target=run, name=name, daemon=True)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(poll_seconds)
    finally:
        signal.signal(signal.SIGINT, previous)
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value
