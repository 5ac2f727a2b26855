"""EmbeddingWorker: indexes document collections and searches them, off the GUI thread."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from localai_desktop.core.chat.attachments import Attachment, AttachmentStore
from localai_desktop.core.chat.conversation_files import index_saved_files
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import AddResult, DocumentLibrary
from localai_desktop.core.documents.grounding import retrieve
from localai_desktop.core.documents.indexer import IndexingState, IndexProgress, IndexReport
from localai_desktop.core.documents.records import DocumentFile
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)

# Progress reaches the view at most this often (a file's end always gets through at once), so
# a folder of thousands of tiny files cannot flood the event loop.
PROGRESS_SECONDS = 0.1

UNEXPECTED_INDEXING_ERROR = (
    "Something went wrong inside the app while indexing. What was indexed is kept; try again, "
    "and if it keeps happening, the log file in the app's data folder says more."
)
UNEXPECTED_SEARCH_ERROR = (
    "Something went wrong inside the app while searching your documents. Try again; if it "
    "keeps happening, the log file in the app's data folder says more."
)


@dataclass(frozen=True)
class IndexingOutcome:
    """How one indexing request ended (plain data): what adding found and what indexing did."""

    collection_id: int
    report: IndexReport | None
    added: AddResult | None = None
    cancelled: bool = False


class _Reporter:
    """Turns the indexer's callbacks into throttled signals carrying batches of finished files."""

    def __init__(self, worker: EmbeddingWorker, request_id: int, collection_id: int) -> None:
        self._worker = worker
        self._request_id = request_id
        self._collection_id = collection_id
        self._files: list[DocumentFile] = []
        self._last = 0.0
        self._where: tuple[int, str | None] = (-1, None)

    def on_progress(self, progress: IndexProgress) -> None:
        now = time.monotonic()
        # A new file always gets through, so the view names the file being read.
        where = (progress.files_done, progress.current_file)
        if now - self._last < PROGRESS_SECONDS and where == self._where:
            return
        self._last, self._where = now, where
        self.flush()
        self._worker.indexing_progressed.emit(self._request_id, progress)

    def on_file(self, file: DocumentFile) -> None:
        self._files.append(file)

    def flush(self) -> None:
        if self._files:
            files, self._files = tuple(self._files), []
            self._worker.files_changed.emit(self._request_id, self._collection_id, files)


class _IndexingRunner(QObject):
    """Runs indexing requests one after another on the indexing thread."""

    def __init__(self, worker: EmbeddingWorker) -> None:
        super().__init__()
        self._worker = worker

    @Slot(int, int, object)
    def run_saved(self, request_id: int, conversation_id: int, what: object) -> None:
        attachments, store = what  # type: ignore[misc]
        _index_saved(self._worker, request_id, conversation_id, attachments, store)

    @Slot(int, int, object, bool)
    def run(self, request_id: int, collection_id: int, paths: object, refresh: bool) -> None:
        worker = self._worker
        with worker._requests.running(request_id) as cancel:
            if cancel.is_set():  # cancelled while it waited its turn
                worker.indexing_finished.emit(
                    request_id, IndexingOutcome(collection_id, None, cancelled=True)
                )
                return
            reporter = _Reporter(worker, request_id, collection_id)
            state = IndexingState(reporter.on_progress, reporter.on_file, cancel)
            worker.indexing_started.emit(request_id, collection_id)
            library = worker.library
            try:
                added: AddResult | None = None
                if refresh:
                    added = library.refresh(collection_id)
                elif paths:
                    added = library.add_paths(collection_id, list(paths))  # type: ignore[call-overload]
                if added is not None and added.pending:
                    worker.files_changed.emit(request_id, collection_id, added.pending)
                report = library.index(collection_id, state)
                reporter.flush()
                worker.indexing_finished.emit(
                    request_id, IndexingOutcome(collection_id, report, added, report.cancelled)
                )
            except LocalAIError as error:
                reporter.flush()
                worker.indexing_failed.emit(request_id, collection_id, error.message)
            except Exception:
                log.exception("Indexing failed unexpectedly")
                reporter.flush()
                worker.indexing_failed.emit(request_id, collection_id, UNEXPECTED_INDEXING_ERROR)


def _index_saved(
    worker: EmbeddingWorker,
    request_id: int,
    conversation_id: int,
    attachments: Sequence[Attachment],
    store: AttachmentStore,
) -> None:
    """Index again, from their saved text, attached files whose passages are missing."""
    with worker._requests.running(request_id) as cancel:
        if cancel.is_set():
            worker.indexing_finished.emit(request_id, IndexingOutcome(-1, None, cancelled=True))
            return
        reporter = _Reporter(worker, request_id, -1)
        state = IndexingState(reporter.on_progress, reporter.on_file, cancel)
        try:
            index_saved_files(worker.library, store, conversation_id, attachments, state)
        except LocalAIError as error:
            # Not a reason to refuse the question: it is answered without those files, and
            # the answer says they were not searched (context_use.left_out_notes).
            log.warning("Attached files could not be indexed again: %s", error)
            worker.indexing_finished.emit(request_id, IndexingOutcome(-1, None))
            return
        except Exception:
            log.exception("Indexing attached files again failed unexpectedly")
            worker.indexing_failed.emit(request_id, -1, UNEXPECTED_INDEXING_ERROR)
        else:
            # The collection the files are in now, to be searched.
            collection = worker.library.conversation_collection(conversation_id)
            worker.indexing_finished.emit(
                request_id, IndexingOutcome(collection.id, None, cancelled=cancel.is_set())
            )


class EmbeddingWorker(ThreadWorker):
    """Owns the document library's embedding models; indexes and searches off the GUI thread.

    Searches run on this object's thread and indexing on a second one, so a long indexing run
    never holds up a chat's question: the Embedder's lock lets both share one loaded model, and
    a search waits at most for one batch of the indexer. Neither is the chat worker's thread,
    so a chat model and an embedding model work at the same time. Requests get ids from the
    methods below (call them from the GUI thread); every signal repeats the id.
    """

    indexing_started = Signal(int, int)
    """An indexing request began its work: (request_id, collection_id)."""
    indexing_progressed = Signal(int, object)
    """Indexing went on: (request_id, indexer.IndexProgress)."""
    files_changed = Signal(int, int, object)
    """Files were added or reached a status: (request_id, collection_id, tuple of DocumentFile)."""
    indexing_finished = Signal(int, object)
    """An indexing request ended, done or cancelled: (request_id, IndexingOutcome)."""
    indexing_failed = Signal(int, int, str)
    """An indexing request failed: (request_id, collection_id, message for the user)."""
    search_finished = Signal(int, object)
    """Passages were found for a question: (request_id, grounding.Retrieval)."""
    search_failed = Signal(int, str)
    """A search failed: (request_id, message for the user)."""

    _indexing_requested = Signal(int, int, object, bool)
    """To the indexing thread: (request_id, collection_id, paths to add, refresh first)."""
    _saved_files_requested = Signal(int, int, object)
    """To the indexing thread: (request_id, conversation_id, (attachments, AttachmentStore))."""
    _search_requested = Signal(int, object, str)
    """To this object's thread: (request_id, collection ids, question)."""

    thread_name = "embedding-worker"
    shutdown_wait_ms = 30_000

    def __init__(self, library: DocumentLibrary) -> None:
        super().__init__()
        self.library = library
        self._runner = _IndexingRunner(self)
        self._indexing_requested.connect(self._runner.run)
        self._saved_files_requested.connect(self._runner.run_saved)
        self._search_requested.connect(self._on_self_search_requested)

    # -- called from the GUI thread -----------------------------------------------------------

    def index(self, collection_id: int, paths: Sequence[str] = (), *, refresh: bool = False) -> int:
        """Add `paths` (files and folders) and index what is pending; returns the request id.

        With `refresh`, first look again at every file: changed ones are indexed again and
        deleted ones dropped. Requests run one after another, in order.
        """
        request_id = self._requests.next_id()
        self._indexing_requested.emit(request_id, collection_id, tuple(paths), refresh)
        return request_id

    def index_saved_files(
        self, conversation_id: int, attachments: Sequence[Attachment], store: AttachmentStore
    ) -> int:
        """Index again, from the text kept with their question, long attached files whose
        passages are missing (chat.conversation_files); returns the request id. Reports as
        `index` does; the outcome names the conversation's collection they are in."""
        request_id = self._requests.next_id()
        self._saved_files_requested.emit(request_id, conversation_id, (tuple(attachments), store))
        return request_id

    def search(self, collection_ids: Sequence[int], question: str) -> int:
        """Find the passages that may answer `question`; returns the request id."""
        request_id = self._requests.next_id()
        self._search_requested.emit(request_id, tuple(collection_ids), question)
        return request_id

    def cancel_indexing(self) -> None:
        """Stop the indexing run and drop the queued ones; what was indexed is kept."""
        self._requests.cancel_all()

    def _start_threads(self) -> None:
        super()._start_threads()
        self._run_on_own_thread(self._runner, "document-indexing")

    def _release(self) -> None:
        # Both threads have ended, so nothing else touches the models now.
        self.library.close()

    # -- this object's thread -----------------------------------------------------------------

    @Slot(object)
    def run_with_library(self, task: Callable[[DocumentLibrary], None]) -> None:
        """Run other work that needs the embedding models (the local server's requests, see
        api_owner.py) on this object's thread, in turn with the searches."""
        try:
            task(self.library)
        except Exception:  # the task reports its own outcome; this is a bug
            log.exception("Work on the embedding models failed unexpectedly")

    @Slot(int, object, str)
    def _on_self_search_requested(
        self, request_id: int, collection_ids: Sequence[int], question: str
    ) -> None:
        try:
            retrieval = retrieve(self.library, question, list(collection_ids))
        except LocalAIError as error:
            self.search_failed.emit(request_id, error.message)
        except Exception:
            log.exception("Searching documents failed unexpectedly")
            self.search_failed.emit(request_id, UNEXPECTED_SEARCH_ERROR)
        else:
            self.search_finished.emit(request_id, retrieval)
