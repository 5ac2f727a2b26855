"""ChatWorker: the one object that owns the chat model, living on its own QThread."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.chat.conversations import ConversationStore, Message, MessageStatus
from localai_desktop.core.chat.service import ChatRequest, ChatService
from localai_desktop.core.chat.titles import suggest_title
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)

# Tokens are handed to the view in batches: often enough to look live, rarely enough that a
# model streaming thousands of tokens a second cannot flood the GUI's event loop.
FLUSH_SECONDS = 0.04


class _TokenBatcher:
    """Collects streamed text and emits it at most every FLUSH_SECONDS."""

    def __init__(self, worker: ChatWorker, request_id: int) -> None:
        self._worker = worker
        self._request_id = request_id
        self._parts: list[str] = []
        self._last_flush = 0.0

    def add(self, text: str) -> None:
        self._parts.append(text)
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_SECONDS:
            self._last_flush = now
            self.flush()

    def flush(self) -> None:
        if self._parts:
            text = "".join(self._parts)
            self._parts.clear()
            self._worker.token_batch_ready.emit(self._request_id, text)


class ChatWorker(ThreadWorker):
    """Loads models and answers conversations off the GUI thread; plain data in and out.

    Requests arrive through queued calls of the slots below and carry an id chosen by the
    view; every signal repeats that id so the view can drop results of requests it gave up on.
    """

    model_loading = Signal(int, str)
    """A model started loading: (request_id, model_name)."""
    model_load_progress = Signal(int, float)
    """Loading progressed: (request_id, fraction from 0 to 1)."""
    model_loaded = Signal(int, str, float)
    """A model is ready: (request_id, model_name, seconds the load took)."""
    reply_started = Signal(int, int)
    """The answer row exists and tokens will follow: (request_id, message_id)."""
    token_batch_ready = Signal(int, str)
    """New text of the answer, to append: (request_id, text)."""
    reply_finished = Signal(int, object)
    """The answer is saved with its final status: (request_id, conversations.Message)."""
    reply_failed = Signal(int, str)
    """The request failed before or while answering: (request_id, message for the user)."""
    title_suggested = Signal(int, int, str)
    """The model suggested a title, saved: (request_id, conversation_id, title)."""

    thread_name = "chat-worker"

    def __init__(
        self,
        store: ConversationStore,
        registry: ModelRegistry,
        adapters: AdapterRegistry | None = None,
        *,
        engine: LlamaEngine | None = None,
        remotes: Remotes | None = None,
    ) -> None:
        super().__init__()
        self._service = ChatService(
            store, registry, engine or LlamaEngine(), adapters, remotes=remotes
        )

    # -- called from the GUI thread -----------------------------------------------------------

    def cancel(self, request_id: int | None = None) -> None:
        """Stop a request (or, with None, every request so far). Safe from any thread."""
        if request_id is None:
            self._requests.cancel_all()
        else:
            self._requests.cancel(request_id)

    def _release(self) -> None:
        # What ran was stopped (its partial answer saved) and the thread has ended, so nothing
        # else touches the engine now.
        self._service.engine.unload()

    # -- slots, run on the worker's thread ------------------------------------------------------

    @Slot(int, int, int)
    def load_model(self, request_id: int, model_id: int, context_length: int) -> None:
        """Load a model ahead of the first message, so the first answer starts at once."""
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            try:
                model = self._service.registry.get(model_id)
                self.model_loading.emit(request_id, model.name)
                settings = GenerationSettings(context_length=context_length)
                loaded = self._service.load_model(
                    model,
                    self._service.context_length_for(model, settings),
                    progress=lambda f: self.model_load_progress.emit(request_id, f),
                    cancel=cancel,
                )
                self.model_loaded.emit(request_id, model.name, loaded.load_seconds)
            except LocalAIError as error:
                self.reply_failed.emit(request_id, error.message)
            except Exception:
                log.exception("Loading a model failed unexpectedly")
                self.reply_failed.emit(request_id, _UNEXPECTED)

    @Slot(int, object)
    def answer(self, request_id: int, request: ChatRequest) -> None:
        """Answer the conversation as it stands (its newest message is the user's), or write
        its last answer again: what `request` asks, with its settings, adapter and passages."""
        batcher = _TokenBatcher(self, request_id)

        def on_started(message: Message) -> None:
            self.reply_started.emit(request_id, message.id)

        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            try:
                if isinstance(request.model_id, int):  # a remote model has nothing to load
                    model = self._service.registry.get(request.model_id)
                    loaded = self._service.engine.loaded
                    if loaded is None or loaded.path != model.path:
                        self.model_loading.emit(request_id, model.name)
                message = self._service.answer(
                    request, on_text=batcher.add, cancel=cancel, on_started=on_started
                )
                batcher.flush()
                if message.status is MessageStatus.FAILED:
                    self.reply_failed.emit(request_id, message.error or _UNEXPECTED)
                self.reply_finished.emit(request_id, message)
            except LocalAIError as error:
                batcher.flush()
                self.reply_failed.emit(request_id, error.message)
            except Exception:
                log.exception("Answering failed unexpectedly")
                batcher.flush()
                self.reply_failed.emit(request_id, _UNEXPECTED)

    @Slot(int, int)
    def suggest_title(self, request_id: int, conversation_id: int) -> None:
        """Title a conversation from its first exchange with the model loaded now (if any).

        Best effort: a failure is logged, never shown; a person can always rename.
        """
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            try:
                title = suggest_title(
                    self._service.store, self._service.engine, conversation_id, cancel=cancel
                )
            except Exception:
                log.warning("Suggesting a title failed", exc_info=True)
                return
            if title:
                self.title_suggested.emit(request_id, conversation_id, title)

    @Slot(object)
    def run_with_model(self, task: Callable[[ChatService], None]) -> None:
        """Run other work that needs the chat model (the local server's requests, see
        api_owner.py) on this thread, in turn with the chat's: between two answers."""
        try:
            task(self._service)
        except Exception:  # the task reports its own outcome; this is a bug
            log.exception("Work on the chat model failed unexpectedly")


_UNEXPECTED = (
    "Something went wrong inside the app while answering. Try again; if it keeps happening, "
    "restart the app. Your conversation is saved."
)
