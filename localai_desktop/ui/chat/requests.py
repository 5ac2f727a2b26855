"""The Chat tab's link to the ChatWorker: numbered requests, late results dropped by id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from localai_desktop.core.chat.attachments import Attachment
from localai_desktop.core.chat.conversations import Conversation, Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.chat.service import AdapterChoice, ChatRequest
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.documents.grounding import Retrieval
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.chat.conversation_writer import ConversationWriter
from localai_desktop.ui.workers.chat import ChatWorker
from localai_desktop.ui.workers.embedding import EmbeddingWorker
from localai_desktop.ui.workers.request_ids import CurrentRequest, RequestIds


@dataclass(frozen=True)
class Question:
    """What the Chat tab asks: a new message (or None to write the last answer again) in a
    conversation (None: a new one), with the options to save with it and answer by."""

    conversation_id: int | None
    text: str | None
    model_id: int | str
    """A model of this computer, or a remote engine's as NAME/MODEL_ID."""
    model_name: str
    system_prompt: str
    settings: GenerationSettings
    """What the answer is written with."""
    saved_settings: dict[str, Any]
    """What the conversation keeps: generation settings and attached collections."""
    adapter: AdapterChoice | None = None
    """A fine-tuned adapter of the model to answer with, and its strength."""
    collection_ids: Sequence[int] = ()
    lookup_text: str = ""
    """The question to look up in the attached collections (the newest one when regenerating)."""
    edit_of: int | None = None
    """The question `text` is a new version of (None: a new question)."""
    attach: Sequence[str] = ()
    """Files attached to the question (read and kept with it by the writer)."""

    @property
    def regenerate(self) -> bool:
        return self.text is None


class ChatRequests(QObject):
    """Sends requests to the worker and passes on only the results of the current ones.

    Lives on the GUI thread, so the worker's signals reach its slots queued; what it emits
    goes straight to the Chat tab. It also keeps the text of the answer being written, so the
    tab can show it again after the user looked at another conversation.
    """

    answer_requested = Signal(int, object)
    """To the worker: answer, or write the last answer again (request_id, ChatRequest)."""
    model_load_requested = Signal(int, int, int)
    """To the worker: load (request_id, model_id, context_length) ahead of time."""
    title_requested = Signal(int, int)
    """To the worker: suggest a title (request_id, conversation_id)."""
    title_suggested = Signal(int, str)
    """The model titled a conversation (already saved): (conversation_id, title)."""

    model_loading = Signal(str)
    """A model started loading for a current request: (model_name)."""
    model_load_progress = Signal(float)
    """The model loading for a current request progressed: (fraction from 0 to 1)."""
    model_loaded = Signal(str, float)
    """A model loaded ahead of time is ready: (model_name, seconds it took)."""
    answering_changed = Signal(bool)
    """An answer started (True) or stopped (False) being written."""
    question_saved = Signal(object, object)
    """A question is committed: (conversations.Conversation without messages,
    conversations.Message, or None when the last answer is being written again)."""
    question_not_saved = Signal(str)
    """Saving the question failed, so nothing is asked: (message for the user)."""
    documents_search_started = Signal()
    """The question is being looked up in the attached collections, before the answer."""
    answer_started = Signal(object)
    """The answer exists, still empty: (conversations.Message)."""
    answer_text_added = Signal(int, str)
    """More text of the answer being written: (message_id, text to append)."""
    answer_finished = Signal(object)
    """The answer is saved with its final status: (conversations.Message)."""
    request_failed = Signal(str)
    """A current request failed: (message for the user)."""
    attachments_indexing = Signal(str)
    """Long attached files are being indexed: (what, in words, with progress)."""

    def __init__(
        self,
        worker: ChatWorker,
        writer: ConversationWriter,
        parent: QObject | None = None,
        *,
        embedding: EmbeddingWorker | None = None,
    ) -> None:
        super().__init__(parent)
        self._worker = worker
        self._writer = writer
        self._embedding = embedding
        self._question: Question | None = None
        self._search = CurrentRequest()  # numbered by the embedding worker
        self._search_request: ChatRequest | None = None  # answered once passages are found
        self._to_index: dict[int, tuple[int, tuple[str, ...]]] = {}  # writer's request id ->
        self._indexing = CurrentRequest()  # long attached files, numbered by the embedding worker
        # What to search once indexing is done: (collection ids, request, lookup text).
        self._indexed_for: tuple[tuple[int, ...], ChatRequest, str] | None = None
        self._then_index: list[tuple[int, tuple[str, ...]]] = []  # after the saved files
        # Writer's request id -> (collections of earlier questions' long files, files whose
        # passages are missing and are indexed again first).
        self._conversation_files: dict[int, tuple[tuple[int, ...], tuple[Attachment, ...]]] = {}
        ids = RequestIds()
        self._reply = CurrentRequest(ids)
        self._load = CurrentRequest(ids)
        self._title = CurrentRequest(ids)
        self._answering = False
        self._conversation_id: int | None = None
        self._model_name = ""
        self._answer: Message | None = None
        self._parts: list[str] = []
        self.answer_requested.connect(worker.answer)
        self.model_load_requested.connect(worker.load_model)
        self.title_requested.connect(worker.suggest_title)
        worker.title_suggested.connect(self._on_worker_title_suggested)
        worker.model_loading.connect(self._on_worker_model_loading)
        worker.model_load_progress.connect(self._on_worker_model_load_progress)
        worker.model_loaded.connect(self._on_worker_model_loaded)
        worker.reply_started.connect(self._on_worker_reply_started)
        worker.token_batch_ready.connect(self._on_worker_token_batch_ready)
        worker.reply_finished.connect(self._on_worker_reply_finished)
        worker.reply_failed.connect(self._on_worker_reply_failed)
        writer.question_saved.connect(self._on_writer_question_saved)
        writer.save_failed.connect(self._on_writer_save_failed)
        writer.attachments_to_index.connect(self._on_writer_attachments_to_index)
        writer.conversation_files.connect(self._on_writer_conversation_files)
        if embedding is not None:
            embedding.indexing_progressed.connect(self._on_embedding_indexing_progressed)
            embedding.indexing_finished.connect(self._on_embedding_indexing_finished)
            embedding.indexing_failed.connect(self._on_embedding_indexing_failed)
            embedding.search_finished.connect(self._on_embedding_search_finished)
            embedding.search_failed.connect(self._on_embedding_search_failed)

    # -- requests -------------------------------------------------------------------------

    def ask(self, question: Question) -> None:
        """Save the question off the GUI thread, then have the worker answer it.

        The answer is asked for only once the question is committed. With attached
        collections, the embedding worker first looks the question up in them, and the
        answer is written from the passages it found.
        """
        if self._title.id is not None:
            self._worker.cancel(self._title.id)  # a question goes before a title
            self._title.forget()
        request_id = self._reply.new()
        self._question = question
        self._conversation_id = question.conversation_id
        self._model_name = question.model_name
        self._answer = None
        self._parts = []
        self._set_answering(True)
        self._writer.save_question(
            request_id,
            question.conversation_id,
            question.text,
            system_prompt=question.system_prompt,
            settings=question.saved_settings,
            # The conversation's model column names models of this computer only.
            model_id=question.model_id if isinstance(question.model_id, int) else None,
            edit_of=question.edit_of,
            attach=question.attach,
        )

    def suggest_title(self, conversation_id: int) -> None:
        """Have the worker title a conversation from its first exchange, in the background."""
        self.title_requested.emit(self._title.new(), conversation_id)

    def load(self, model_id: int, context_length: int) -> None:
        self.model_load_requested.emit(self._load.new(), model_id, context_length)

    def stop(self) -> None:
        """Stop the answer being written; the worker saves what it has."""
        if self._question is not None:
            # The question is still being saved: it will be, but nothing is asked of it.
            self._question = None
            self._reply.forget()
            self._set_answering(False)
        elif self._indexing.is_pending():
            # Indexing long attached files: stop it (what is indexed is kept); nothing asked.
            assert self._embedding is not None
            self._embedding.cancel_indexing()
            self._indexing.forget()
            self._indexed_for = None
            self._then_index = []
            self._reply.forget()
            self._set_answering(False)
        elif self._search.is_pending():
            # Still searching: nothing was asked of the chat worker yet, so simply forget it.
            self._forget_search()
            self._set_answering(False)
        elif self._answering and self._reply.id is not None:
            self._worker.cancel(self._reply.id)

    def abandon(self) -> None:
        """Stop the answer and ignore whatever still comes of it."""
        self.stop()
        self._reply.forget()
        self._answer = None
        self._set_answering(False)

    # -- state ----------------------------------------------------------------------------

    def is_answering(self) -> bool:
        return self._answering

    def is_searching(self) -> bool:
        """Whether the question is still being saved, or looked up in attached collections."""
        return (
            self._question is not None or self._search.is_pending() or self._indexing.is_pending()
        )

    def answering_conversation(self) -> int | None:
        return self._conversation_id if self._answering else None

    def answer_so_far(self) -> tuple[Message | None, str]:
        """The answer being written and its text until now (None before it started)."""
        return (self._answer if self._answering else None), "".join(self._parts)

    def _forget_search(self) -> None:
        """The search and the answer it was for no longer count."""
        self._search.forget()
        self._search_request = None
        self._reply.forget()

    def _set_answering(self, answering: bool) -> None:
        if answering != self._answering:
            self._answering = answering
            self.answering_changed.emit(answering)

    # -- slots: the writer ----------------------------------------------------------------

    @Slot(int, object, object)
    def _on_writer_question_saved(
        self, request_id: int, conversation: Conversation, message: Message | None
    ) -> None:
        self.question_saved.emit(conversation, message)
        question = self._question
        if not self._reply.is_answered_by(request_id) or question is None:
            return  # stopped while it was being saved
        self._question = None
        self._conversation_id = conversation.id
        request = ChatRequest(
            conversation.id,
            question.model_id,
            question.settings,
            adapter=question.adapter,
            regenerate=question.regenerate,
        )
        lookup = question.text if question.text is not None else question.lookup_text
        to_index = self._to_index.pop(request_id, None)
        earlier, missing = self._conversation_files.pop(request_id, ((), ()))
        # The long files of earlier questions are searched with the collections picked.
        searched = tuple(dict.fromkeys([*question.collection_ids, *earlier]))
        if (to_index is not None or missing) and self._embedding is not None:
            if to_index is not None:
                searched = tuple(dict.fromkeys([*searched, to_index[0]]))
            self._indexed_for = (searched, request, lookup)
            if missing:
                # Passages missing (a data import, a restore): read again from the saved text.
                self._then_index = [to_index] if to_index is not None else []
                store = self._writer.attachments
                self._indexing.track(
                    self._embedding.index_saved_files(conversation.id, missing, store)
                )
                names = ", ".join(a.name for a in missing)
                self.attachments_indexing.emit(f"Reading {names} again…")
                return
            assert to_index is not None
            self._start_indexing(*to_index)
            return
        if searched and lookup.strip() and self._embedding is not None:
            self._search_request = request
            self._search.track(self._embedding.search(searched, lookup))
            self.documents_search_started.emit()
            return
        self.answer_requested.emit(request_id, request)

    def _start_indexing(self, collection_id: int, paths: tuple[str, ...]) -> None:
        assert self._embedding is not None
        self._indexing.track(self._embedding.index(collection_id, paths))
        names = ", ".join(Path(p).name for p in paths)
        self.attachments_indexing.emit(f"Reading {names}…")

    @Slot(int, object, object)
    def _on_writer_conversation_files(
        self, request_id: int, earlier: tuple[int, ...], missing: tuple[Attachment, ...]
    ) -> None:
        self._conversation_files[request_id] = (earlier, missing)

    @Slot(int, int, object)
    def _on_writer_attachments_to_index(
        self, request_id: int, collection_id: int, paths: tuple[str, ...]
    ) -> None:
        self._to_index[request_id] = (collection_id, paths)

    # -- slots: indexing long attached files -----------------------------------------------

    @Slot(int, object)
    def _on_embedding_indexing_progressed(self, request_id: int, progress: object) -> None:
        if self._indexing.is_answered_by(request_id):
            done = getattr(progress, "chunks_done", None)
            self.attachments_indexing.emit(
                f"Reading the attached files… ({done} passages)"
                if done
                else "Reading the attached files…"
            )

    @Slot(int, object)
    def _on_embedding_indexing_finished(self, request_id: int, outcome: object) -> None:
        if not self._indexing.is_answered_by(request_id) or self._indexed_for is None:
            return
        self._indexing.forget()
        indexed_in = getattr(outcome, "collection_id", -1)
        searched, request, lookup = self._indexed_for
        if indexed_in >= 0 and indexed_in not in searched:
            self._indexed_for = ((*searched, indexed_in), request, lookup)
        if self._then_index:
            self._start_indexing(*self._then_index.pop(0))
            return
        searched, request, lookup = self._indexed_for
        self._indexed_for = None
        assert self._embedding is not None
        self._search_request = request
        self._search.track(self._embedding.search(searched, lookup))
        self.documents_search_started.emit()

    @Slot(int, int, str)
    def _on_embedding_indexing_failed(
        self, request_id: int, _collection_id: int, error_message: str
    ) -> None:
        if not self._indexing.is_answered_by(request_id):
            return
        self._indexing.forget()
        self._indexed_for = None
        self._then_index = []
        self._reply.forget()
        self._set_answering(False)
        self.request_failed.emit(error_message)

    @Slot(int, str)
    def _on_writer_save_failed(self, request_id: int, error_message: str) -> None:
        if not self._reply.is_answered_by(request_id):
            return
        self._question = None
        self._reply.forget()
        self._set_answering(False)
        self.question_not_saved.emit(error_message)

    # -- slots: the worker ----------------------------------------------------------------

    @Slot(int, str)
    def _on_worker_model_loading(self, request_id: int, model_name: str) -> None:
        if self._reply.is_answered_by(request_id) or self._load.is_answered_by(request_id):
            self.model_loading.emit(model_name)

    @Slot(int, float)
    def _on_worker_model_load_progress(self, request_id: int, fraction: float) -> None:
        if self._reply.is_answered_by(request_id) or self._load.is_answered_by(request_id):
            self.model_load_progress.emit(fraction)

    @Slot(int, str, float)
    def _on_worker_model_loaded(self, request_id: int, model_name: str, seconds: float) -> None:
        if self._load.is_answered_by(request_id):
            self._load.forget()
            self.model_loaded.emit(model_name, seconds)

    @Slot(int, int)
    def _on_worker_reply_started(self, request_id: int, message_id: int) -> None:
        if not self._reply.is_answered_by(request_id) or self._conversation_id is None:
            return
        now = utcnow()
        self._answer = Message(
            id=message_id,
            conversation_id=self._conversation_id,
            role="assistant",
            content="",
            status=MessageStatus.INTERRUPTED,
            error=None,
            provenance=Provenance(model_name=self._model_name),
            created_at=now,
            updated_at=now,
        )
        self.answer_started.emit(self._answer)

    @Slot(int, str)
    def _on_worker_token_batch_ready(self, request_id: int, text: str) -> None:
        if self._reply.is_answered_by(request_id) and self._answer is not None:
            self._parts.append(text)
            self.answer_text_added.emit(self._answer.id, text)

    @Slot(int, object)
    def _on_worker_reply_finished(self, request_id: int, message: Message) -> None:
        if not self._reply.is_answered_by(request_id):
            return
        self._reply.forget()
        self._answer = None
        self._parts = []
        self._set_answering(False)
        self.answer_finished.emit(message)

    @Slot(int, str)
    def _on_worker_reply_failed(self, request_id: int, error_message: str) -> None:
        if self._load.is_answered_by(request_id):
            self._load.forget()
        elif self._reply.is_answered_by(request_id):
            # Keep the id: a failed answer that had started still arrives as reply_finished.
            self._set_answering(False)
        else:
            return
        self.request_failed.emit(error_message)

    @Slot(int, int, str)
    def _on_worker_title_suggested(self, request_id: int, conversation_id: int, title: str) -> None:
        if self._title.is_answered_by(request_id):
            self._title.forget()
            self.title_suggested.emit(conversation_id, title)

    # -- slots: the embedding worker --------------------------------------------------------

    @Slot(int, object)
    def _on_embedding_search_finished(self, request_id: int, retrieval: Retrieval) -> None:
        if not self._search.is_answered_by(request_id) or self._search_request is None:
            return
        request = replace(self._search_request, retrieval=retrieval)
        self._search.forget()
        self._search_request = None
        assert self._reply.id is not None
        self.answer_requested.emit(self._reply.id, request)

    @Slot(int, str)
    def _on_embedding_search_failed(self, request_id: int, error_message: str) -> None:
        if not self._search.is_answered_by(request_id):
            return
        self._forget_search()
        self._set_answering(False)
        self.request_failed.emit(error_message)
