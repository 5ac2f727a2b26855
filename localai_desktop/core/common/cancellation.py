"""Cancelling long work: a stop request any thread may set, with hooks run the moment it is."""

from __future__ import annotations

import threading
from collections.abc import Callable


class Cancellation:
    """A stop request that any thread may set; whoever is working can hook into it.

    Like threading.Event, plus callbacks run at the moment it is set (the engine uses one to
    raise the flag llama.cpp polls inside a decode).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []

    def set(self) -> None:
        with self._lock:
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def is_set(self) -> bool:
        return self._event.is_set()

    def add_callback(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run `callback` when cancelled (at once if already); returns a function to remove it."""
        with self._lock:
            self._callbacks.append(callback)
            already = self._event.is_set()
        if already:
            callback()

        def remove() -> None:
            with self._lock:
                if callback in self._callbacks:
                    self._callbacks.remove(callback)

        return remove
