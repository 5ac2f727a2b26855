"""What an indexing run reports and how it is stopped: plain data and callbacks, no Qt.

The GUI wraps ``IndexingState`` (its callbacks emit signals; its cancel is set by the Stop
button); the CLI prints from the same callbacks. Callbacks run on the indexing thread.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.documents.records import DocumentFile


@dataclass(frozen=True)
class IndexProgress:
    """Where a run is; plain data, safe to hand to another thread."""

    collection_id: int
    files_done: int
    files_total: int
    current_file: str | None
    current_page: int | None
    current_file_pages: int | None
    pages_done: int
    chunks_done: int
    words_done: int
    elapsed_s: float
    fraction: float  # 0..1 of the run, estimated from file sizes and pages
    eta_s: float | None  # None until there is enough to estimate from


@dataclass(frozen=True)
class IndexReport:
    """What a run did."""

    collection_id: int
    indexed: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    pages: int = 0
    chunks: int = 0
    words: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    cancelled: bool = False
    files: tuple[DocumentFile, ...] = field(default=())


class IndexingState:
    """The run's link to whoever watches it: progress out, stop requests in. No Qt."""

    def __init__(
        self,
        on_progress: Callable[[IndexProgress], None] | None = None,
        on_file: Callable[[DocumentFile], None] | None = None,
        cancel: Cancellation | None = None,
    ) -> None:
        self._on_progress = on_progress
        self._on_file = on_file
        self.cancel = cancel or Cancellation()

    def set_progress(self, progress: IndexProgress) -> None:
        if self._on_progress is not None:
            self._on_progress(progress)

    def file_finished(self, file: DocumentFile) -> None:
        """A file reached indexed, skipped or failed (or stayed indexing when stopped)."""
        if self._on_file is not None:
            self._on_file(file)

    def request_interruption(self) -> None:
        self.cancel.set()

    def is_interruption_requested(self) -> bool:
        return self.cancel.is_set()
