"""The bounded queue in front of a model's thread, shared by the server's two kinds of owner.

`OwnerThread` is what `owner.WorkQueue` (one task at a time) and `batching.GenerationBatcher`
(several generation jobs at once) have in common: a thread of their own, a queue that refuses
with `ServerBusy` (429, Retry-After from the smoothed duration of past work) once `max_waiting`
items wait, and a `close()` that cancels what waits and what runs, then waits for the thread.
A subclass says what its thread does (`_run`) and what to cancel on close (`_cancels`).
"""

from __future__ import annotations

import logging
import math
import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, TypeVar

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.server.errors import MAX_RETRY_AFTER_S, ServerBusy

log = logging.getLogger(__name__)

Item = TypeVar("Item")
_CLOSE_WAIT_S = 30.0


class OwnerThread(Generic[Item]):
    """A daemon thread fed by a bounded queue of `Item`s (see the module docstring).

    Subclasses set up their own state, then call `_start_thread()`; their `_run` waits on
    `_lock` (a Condition) for `_waiting` items or `_closed`, and reports each finished item's
    duration with `_took` (under the lock).
    """

    def __init__(self, name: str, *, max_waiting: int, at_once: int = 1) -> None:
        self.max_waiting = max_waiting
        self._at_once = at_once  # items answered together: Retry-After shrinks with it
        self._lock = threading.Condition()
        self._waiting: deque[Item] = deque()
        self._closed = False
        self._average_s = 1.0  # one item's duration, smoothed: the basis of Retry-After
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _start_thread(self) -> None:
        self._thread.start()

    def _enqueue(self, item: Item, *, force: bool = False) -> None:
        """Queue an item; ServerBusy when closed, or when `max_waiting` wait (unless `force`)."""
        with self._lock:
            if self._closed:
                raise ServerBusy(MAX_RETRY_AFTER_S)
            if len(self._waiting) >= self.max_waiting and not force:
                raise ServerBusy(self._retry_after())
            self._waiting.append(item)
            self._lock.notify()

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def close(self) -> None:
        """Cancel what waits and what runs, let that end (at once), stop the thread."""
        with self._lock:
            self._closed = True
            for cancel in self._cancels():
                cancel.set()
            self._lock.notify()
        self._thread.join(_CLOSE_WAIT_S)
        if self._thread.is_alive():
            log.warning("%s did not stop within %.0f s", self._thread.name, _CLOSE_WAIT_S)

    def _retry_after(self) -> int:
        wait = self._average_s * (len(self._waiting) + 1) / self._at_once
        return max(1, min(MAX_RETRY_AFTER_S, math.ceil(wait)))

    def _took(self, seconds: float) -> None:
        """An item ended after `seconds` (call it holding `_lock`)."""
        self._average_s = 0.8 * self._average_s + 0.2 * seconds

    def _cancels(self) -> Iterable[Cancellation]:
        """What `close` sets (it holds `_lock`): every waiting and running item's cancel."""
        raise NotImplementedError

    def _run(self) -> None:
        raise NotImplementedError
