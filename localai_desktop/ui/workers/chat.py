"""ChatWorker: the one object that owns the chat model, living on its own QThread."""

from __future__ import annotations

import logging
import time
from typing import Any

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.chat.conversations import ConversationStore, Message
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.grounding import Retrieval
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
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

    thread_name = "chat-worker"

    def __init__(
        self,
        store: ConversationStore,
        registry: ModelRegistry,
        adapters: AdapterRegistry | None = None,
        *,
        engine: LlamaEngine | None = None,
    ) -> None:
        super().__init__()
        self._service = ChatService(store, registry, engine or LlamaEngine(), adapters)

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

    @Slot(int, int, int, object)
    def generate(
        self, request_id: int, conversation_id: int, model_id: int, settings: dict[str, Any]
    ) -> None:
        """Answer the conversation as it stands (its newest message is the user's).

        `settings` holds GenerationSettings fields, plus "adapter": {"adapter": id,
        "scale": strength} to answer with a fine-tuned adapter of the model.
        """
        self._answer(request_id, conversation_id, model_id, settings, regenerate=False)

    @Slot(int, int, int, object)
    def regenerate(
        self, request_id: int, conversation_id: int, model_id: int, settings: dict[str, Any]
    ) -> None:
        """Replace the conversation's last answer with a new one."""
        self._answer(request_id, conversation_id, model_id, settings, regenerate=True)

    @Slot(int, int, int, object, object, bool)
    def answer_from_documents(
        self,
        request_id: int,
        conversation_id: int,
        model_id: int,
        settings: dict[str, Any],
        retrieval: Retrieval,
        regenerate: bool,
    ) -> None:
        """Answer (or answer again) from passages the embedding worker found for the question."""
        self._answer(
            request_id,
            conversation_id,
            model_id,
            settings,
            regenerate=regenerate,
            retrieval=retrieval,
        )

    def _answer(
        self,
        request_id: int,
        conversation_id: int,
        model_id: int,
        settings: dict[str, Any],
        *,
        regenerate: bool,
        retrieval: Retrieval | None = None,
    ) -> None:
        batcher = _TokenBatcher(self, request_id)

        def on_started(message: Message) -> None:
            self.reply_started.emit(request_id, message.id)

        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            try:
                model = self._service.registry.get(model_id)
                loaded = self._service.engine.loaded
                if loaded is None or loaded.path != model.path:
                    self.model_loading.emit(request_id, model.name)
                run = self._service.regenerate if regenerate else self._service.reply
                message = run(
                    conversation_id,
                    model_id=model_id,
                    settings=GenerationSettings.from_dict(settings),
                    on_text=batcher.add,
                    cancel=cancel,
                    on_started=on_started,
                    retrieval=retrieval,
                    adapter=_adapter_choice(settings),
                )
                batcher.flush()
                if message.status == "failed":
                    self.reply_failed.emit(request_id, message.error or _UNEXPECTED)
                self.reply_finished.emit(request_id, message)
            except LocalAIError as error:
                batcher.flush()
                self.reply_failed.emit(request_id, error.message)
            except Exception:
                log.exception("Answering failed unexpectedly")
                batcher.flush()
                self.reply_failed.emit(request_id, _UNEXPECTED)


def _adapter_choice(settings: dict[str, Any]) -> AdapterChoice | None:
    chosen = settings.get("adapter")
    if not isinstance(chosen, dict) or chosen.get("adapter") is None:
        return None
    return AdapterChoice(chosen["adapter"], float(chosen.get("scale", 1.0)))


_UNEXPECTED = (
    "Something went wrong inside the app while answering. Try again; if it keeps happening, "
    "restart the app. Your conversation is saved."
)
