"""WorkerModelOwner: the local server's requests run on the app's own chat and embedding workers.

The desktop app's `ModelOwner` (core/server/owner.py): a chat request becomes a task queued to
the `ChatWorker`, the same object and thread that answer the Chat tab, so the GUI and the API
share one loaded model and take turns (an API request runs between two chat answers, in the
order they were asked). Embeddings go the same way to the `EmbeddingWorker`, which shares its
loaded embedding models with document search.

Which model: a request names one (the Models tab's names). If the chat worker holds another,
the request loads the one it names when its turn comes, as `localai serve` does; the Chat tab
loads its own model again at its next answer. Nothing is refused for naming another model.

At most `max_waiting` requests per worker wait for their turn; one more gets `ServerBusy` (429
with Retry-After). A client that leaves sets its job's cancellation, which stops its generation
at once, or, while it still waits, ends it unanswered and frees its place in the queue.
`close()` stops the running requests and ends the waiting ones at once, so closing the server
never waits behind them.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, SignalInstance

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.server.api_conversations import save_as_conversation
from localai_desktop.core.server.jobs import (
    CANCELLED,
    EmbeddingJob,
    Finished,
    GenerationJob,
    run_embedding,
    run_generation,
)
from localai_desktop.core.server.owner import DEFAULT_MAX_WAITING, MAX_RETRY_AFTER_S, ServerBusy
from localai_desktop.ui.workers.chat import ChatWorker
from localai_desktop.ui.workers.embedding import EmbeddingWorker

log = logging.getLogger(__name__)


class _Lane:
    """One worker's API requests: which wait (closing ends them), which run (closing stops
    them), and how long one takes, smoothed (the basis of Retry-After). Any thread may call."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._waiting: dict[int, Callable[[], None]] = {}  # ticket -> ends the job unanswered
        self._running: dict[int, Cancellation] = {}
        self._average_s = 1.0
        self._closed = False

    def admit(self, end_unanswered: Callable[[], None]) -> int:
        """A ticket for a new request, or ServerBusy when too many wait (or the lane closed)."""
        with self._lock:
            if self._closed:
                raise ServerBusy(MAX_RETRY_AFTER_S)
            if len(self._waiting) >= self.max_waiting:
                wait = self._average_s * (len(self._waiting) + 1)
                raise ServerBusy(max(1, min(MAX_RETRY_AFTER_S, math.ceil(wait))))
            ticket = next(self._tickets)
            self._waiting[ticket] = end_unanswered
            return ticket

    def begin(self, ticket: int, cancel: Cancellation) -> bool:
        """Whether the request may run now (False: closing ended it already)."""
        with self._lock:
            if self._waiting.pop(ticket, None) is None:
                return False
            self._running[ticket] = cancel
            return True

    def end(self, ticket: int, took_s: float) -> None:
        with self._lock:
            self._running.pop(ticket, None)
            self._average_s = 0.8 * self._average_s + 0.2 * took_s

    def withdraw(self, ticket: int) -> None:
        """Forget a request that never reached its worker."""
        with self._lock:
            self._waiting.pop(ticket, None)

    def end_waiting(self, ticket: int) -> bool:
        """End a request still waiting for its turn, unanswered (its client left): whether it
        was waiting. Its place in the queue is free at once."""
        with self._lock:
            end_unanswered = self._waiting.pop(ticket, None)
        if end_unanswered is None:
            return False
        end_unanswered()
        return True

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._waiting) + len(self._running)

    def stop_all(self, *, close: bool) -> None:
        """Stop the running requests, end the waiting ones; with `close`, refuse new ones."""
        with self._lock:
            self._closed = self._closed or close
            waiting = list(self._waiting.values())
            self._waiting.clear()
            running = list(self._running.values())
        for cancel in running:
            cancel.set()
        for end_unanswered in waiting:
            end_unanswered()


class WorkerModelOwner(QObject):
    """Runs the local server's jobs on the chat and embedding workers (see the module's
    docstring). `submit_*` are called by the server's connection threads."""

    in_flight_changed = Signal(int)
    """Requests waiting or running changed: (how many now). Emitted from any thread."""
    conversation_saved = Signal(int)
    """An API chat was kept as a conversation: (conversation_id). Emitted on the chat
    worker's thread."""

    _chat_task_requested = Signal(object)
    """To the chat worker: a task taking its ChatService."""
    _embedding_task_requested = Signal(object)
    """To the embedding worker: a task taking its DocumentLibrary."""

    def __init__(
        self,
        chat: ChatWorker,
        embedding: EmbeddingWorker,
        *,
        max_waiting: int = DEFAULT_MAX_WAITING,
        save_conversations: bool = False,
    ) -> None:
        super().__init__()
        self.save_conversations = save_conversations
        """Keep each finished API chat as a conversation (read on the worker, set anywhere)."""
        self._chat = _Lane(max_waiting)
        self._embedding = _Lane(max_waiting)
        # Queued: each worker lives on its own thread, and runs the tasks in the order sent.
        self._chat_task_requested.connect(chat.run_with_model)
        self._embedding_task_requested.connect(embedding.run_with_library)

    @property
    def in_flight(self) -> int:
        """API requests waiting for a worker or running on one."""
        return self._chat.in_flight + self._embedding.in_flight

    # -- the server's connection threads ------------------------------------------------------

    def submit_generation(self, job: GenerationJob) -> None:
        ticket = self._chat.admit(lambda: job.emit(Finished(CANCELLED, 0, 0)))

        def task(service: ChatService) -> None:
            self._generate(ticket, job, service)

        self._send(self._chat, ticket, self._chat_task_requested, task)
        job.cancel.add_callback(lambda: self._on_cancelled(self._chat, ticket))

    def submit_embedding(self, job: EmbeddingJob) -> None:
        ticket = self._embedding.admit(lambda: job.result.set_result(None))

        def task(library: DocumentLibrary) -> None:
            self._embed(ticket, job, library)

        self._send(self._embedding, ticket, self._embedding_task_requested, task)
        job.cancel.add_callback(lambda: self._on_cancelled(self._embedding, ticket))

    def cancel_all(self) -> None:
        """Stop the running requests and end the waiting ones now (the server is stopping).
        Returns at once: a stopped generation ends within a token."""
        self._chat.stop_all(close=False)
        self._embedding.stop_all(close=False)
        self.in_flight_changed.emit(self.in_flight)

    def close(self) -> None:
        """As `cancel_all`, and refuse every later request (429): the window is closing."""
        self._chat.stop_all(close=True)
        self._embedding.stop_all(close=True)
        self.in_flight_changed.emit(self.in_flight)

    # -- the workers' threads -----------------------------------------------------------------

    def _generate(self, ticket: int, job: GenerationJob, service: ChatService) -> None:
        if not self._chat.begin(ticket, job.cancel):
            return
        started = time.monotonic()
        try:
            run_generation(service, job)
            if self.save_conversations:
                self._save(service, job)
        finally:
            self._chat.end(ticket, time.monotonic() - started)
            self.in_flight_changed.emit(self.in_flight)

    def _save(self, service: ChatService, job: GenerationJob) -> None:
        try:
            conversation_id = save_as_conversation(service.store, job)
        except LocalAIError as error:
            # The client has its answer; keeping a copy is the app's part and must not fail it.
            log.warning("An API chat could not be kept as a conversation: %s", error.message)
            return
        if conversation_id is not None:
            self.conversation_saved.emit(conversation_id)

    def _embed(self, ticket: int, job: EmbeddingJob, library: DocumentLibrary) -> None:
        if not self._embedding.begin(ticket, job.cancel):
            return
        started = time.monotonic()
        try:
            run_embedding(library.embedder_for_model(job.model), job)
        finally:
            self._embedding.end(ticket, time.monotonic() - started)
            self.in_flight_changed.emit(self.in_flight)

    def _on_cancelled(self, lane: _Lane, ticket: int) -> None:
        # A client that left while its request waited (behind a long chat answer, say) frees
        # its place now, not when its turn comes. A running request stops by its own flag.
        if lane.end_waiting(ticket):
            self.in_flight_changed.emit(self.in_flight)

    def _send(
        self, lane: _Lane, ticket: int, signal: SignalInstance, task: Callable[..., None]
    ) -> None:
        try:
            signal.emit(task)
        except BaseException:
            lane.withdraw(ticket)
            raise
        self.in_flight_changed.emit(self.in_flight)
