"""The trainer child's stderr kept in memory, for a protected workspace's sealed training log."""

from __future__ import annotations

import collections
import os
import threading
from typing import IO

SEALED_LOG_LIMIT = 2 * 1024 * 1024  # a sealed log is rewritten whole: keep its newest part


class LogTail:
    """Reads a child's stderr on its own thread, keeping the newest SEALED_LOG_LIMIT bytes."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0
        self._thread = threading.Thread(
            target=self._read, args=(stream,), name="trainer-log", daemon=True
        )
        self._thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        with stream:
            while chunk := os.read(stream.fileno(), 64 * 1024):  # what is there, not a full read
                self._chunks.append(chunk)
                self._size += len(chunk)
                while self._size - len(self._chunks[0]) >= SEALED_LOG_LIMIT:
                    self._size -= len(self._chunks.popleft())

    def collected(self) -> bytes:
        """Everything kept, once the child has closed its stderr (it has ended)."""
        self._thread.join(timeout=10)
        return b"".join(self._chunks)
