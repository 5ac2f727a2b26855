"""The Chat tab: conversations on the left, the transcript and message box in the middle."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

from localai_desktop.core.chat.attachments import AttachmentStore, attached_sizes
from localai_desktop.core.chat.context_use import measure_context_use
from localai_desktop.core.chat.conversations import (
    Conversation,
    ConversationStore,
    Message,
    MessageStatus,
)
from localai_desktop.core.chat.memory_default import (
    MEMORY_CHOSEN,
    keeps_old_default_memory,
    memory_choice_entry,
)
from localai_desktop.core.chat.organise import arrange
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.context_choice import automatic_context
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.prompts.library import PromptLibrary
from localai_desktop.ui.chat.attachment_bar import dropped_files
from localai_desktop.ui.chat.attachment_viewer import AttachmentViewer
from localai_desktop.ui.chat.conversation_writer import ConversationWriter
from localai_desktop.ui.chat.documents import ChatDocuments
from localai_desktop.ui.chat.panes import ChatPanes
from localai_desktop.ui.chat.prompt_format_picker import no_template_notice
from localai_desktop.ui.chat.records import ChatRecords
from localai_desktop.ui.chat.requests import ChatRequests, Question
from localai_desktop.ui.chat.trash import TrashDialog
from localai_desktop.ui.workers.chat import ChatWorker
from localai_desktop.ui.workers.embedding import EmbeddingWorker
from localai_desktop.ui.workers.remotes import RemoteListing

log = logging.getLogger(__name__)

# Edits to the system prompt and settings are saved this long after the last change.
SAVE_DELAY_MS = 600
# The memory estimate under the message box is updated this long after the last key.
METER_DELAY_MS = 150
# The conversation's settings key that remembers a remote engine's model (NAME/MODEL_ID): its
# model_id column names only models of this computer.
REMOTE_MODEL_KEY = "remote_model"


class ChatTab(QWidget):
    """Lets a person chat: saves what they write, asks the worker, shows what comes back."""

    models_tab_requested = Signal()
    """The user wants the Models tab, to import a model."""
    documents_tab_requested = Signal()
    """The user wants the Documents tab, to create or manage collections."""
    generating_changed = Signal(bool)
    """An answer started (True) or stopped (False) being written."""
    answer_finished = Signal(object)
    """An answer ended and is shown with its final status: (conversations.Message)."""
    prompt_library_requested = Signal()
    """The user wants to see or change the prompt library ("Manage prompts…" after "/")."""
    evaluation_reference_requested = Signal(int, int)
    """An answer and its question should become a test question: (message_id, conversation_id)."""

    def __init__(
        self,
        store: ConversationStore,
        registry: ModelRegistry,
        worker: ChatWorker,
        parent: QWidget | None = None,
        adapters: AdapterRegistry | None = None,
        *,
        documents: DocumentLibrary | None = None,
        embedding: EmbeddingWorker | None = None,
        prompts: PromptLibrary | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._prompts = prompts
        self._registry = registry
        self._adapters = adapters
        self._conversation_id: int | None = None
        # The remote model of the conversation shown, until the remotes' models are listed.
        self._awaited_remote: str | None = None
        self._closing = False  # set by stop(): the window is closing
        # Models whose chat format notice was shown: a person is told once per session.
        self._told_about_format: set[int] = set()
        self.writer = ConversationWriter(
            store, self, documents=documents if embedding is not None else None
        )
        self.requests = ChatRequests(worker, self.writer, self, embedding=embedding)
        self.documents = ChatDocuments(documents if embedding is not None else None, self)
        self._build()
        self._connect_requests()
        # Search, the trash and organising the list (ui.chat.records).
        self.records = ChatRecords(self)
        self.refresh_models()
        self.refresh_conversations()
        # What has been in the trash longer than TRASH_DAYS goes for good, off the GUI thread.
        self.writer.empty_expired_trash()
        self.refresh_prompts()

    def _build(self) -> None:
        panes = ChatPanes(self.documents.picker)
        self.conversations = panes.conversations
        self.model_picker = panes.model_picker
        self.status = panes.status
        self.adapter_picker = panes.adapter_picker
        self.no_models = panes.no_models
        self.banner = panes.banner
        self.transcript = panes.transcript
        self.composer = panes.composer
        self.edit_notice = panes.edit_notice
        self.undo_notice = panes.undo_notice
        self._editing: int | None = None  # the question being edited in the message box
        self._attaching: list[Path] = []  # files going with the question being saved
        # Questions shown with files -> (characters read whole, a long one among them).
        self._earlier_files_of: tuple[tuple[int, ...], tuple[int, bool]] = ((), (0, False))
        self.setAcceptDrops(True)  # files dropped anywhere on the chat are attached
        self.composer.attachments.refused.connect(self.banner.show_error)
        self.settings_panel = panes.settings_panel
        self.search = panes.search
        self.organise = panes.organise
        self.export_button = panes.export_button  # its menu: the window's Export and Print
        self.context_meter = panes.context_meter
        self.prompt_format = panes.prompt_format
        self.prompt_format.format_chosen.connect(self._on_prompt_format_format_chosen)
        layout = QVBoxLayout(self)
        layout.addWidget(panes)

        self.conversations.conversation_selected.connect(
            self._on_conversations_conversation_selected
        )
        self.conversations.new_requested.connect(self._on_conversations_new_requested)
        self.conversations.rename_requested.connect(self._on_conversations_rename_requested)
        self.conversations.delete_requested.connect(self._on_conversations_delete_requested)
        self.model_picker.model_chosen.connect(self._on_model_picker_model_chosen)
        self.model_picker.remote_chosen.connect(self._on_model_picker_remote_chosen)
        self.documents.attachment_changed.connect(self._on_settings_panel_settings_changed)
        self.documents.documents_tab_requested.connect(self.documents_tab_requested)
        self.no_models.models_tab_requested.connect(self.models_tab_requested)
        self.transcript.regenerate_requested.connect(self._on_transcript_regenerate_requested)
        self.transcript.source_requested.connect(self.documents.open_source)
        self.transcript.version_requested.connect(self._on_transcript_version_requested)
        self.transcript.edit_requested.connect(self._on_transcript_edit_requested)
        self.transcript.reference_requested.connect(self._on_transcript_reference_requested)
        self.transcript.attachment_requested.connect(self._on_transcript_attachment_requested)
        self.attachment_viewer: AttachmentViewer | None = None
        self.composer.edit_last_requested.connect(self._on_composer_edit_last_requested)
        self.edit_notice.cancel_requested.connect(self._on_edit_notice_cancel_requested)
        self.writer.version_shown.connect(self._on_writer_version_shown)
        self.writer.version_failed.connect(self.banner.show_error)
        self.composer.send_requested.connect(self._on_composer_send_requested)
        self.composer.stop_requested.connect(self._on_composer_stop_requested)
        self.composer.prompt_library_requested.connect(self.prompt_library_requested)
        self.settings_panel.settings_changed.connect(self._on_settings_panel_settings_changed)

        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._on_save_timer_timeout)
        # The memory estimate follows typing a moment later, not on every key.
        self._meter_timer = QTimer(self)
        self._meter_timer.setSingleShot(True)
        self._meter_timer.setInterval(METER_DELAY_MS)
        self._meter_timer.timeout.connect(self._update_context_meter)
        self.composer.input.textChanged.connect(self._meter_timer.start)
        self.composer.attachments.changed.connect(self._meter_timer.start)
        self._stop_shortcut = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        self._stop_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self._stop_shortcut.activated.connect(self._on_stop_shortcut_activated)

    def _connect_requests(self) -> None:
        requests = self.requests
        requests.model_loading.connect(self._on_requests_model_loading)
        requests.model_load_progress.connect(self.status.set_fraction)
        requests.model_loaded.connect(self._on_requests_model_loaded)
        requests.answering_changed.connect(self._on_requests_answering_changed)
        requests.question_saved.connect(self._on_requests_question_saved)
        requests.question_not_saved.connect(self._on_requests_question_not_saved)
        requests.attachments_indexing.connect(self.status.show_busy)
        requests.documents_search_started.connect(self._on_requests_documents_search_started)
        requests.answer_started.connect(self._on_requests_answer_started)
        requests.answer_text_added.connect(self.transcript.append_to_answer)
        requests.answer_finished.connect(self._on_requests_answer_finished)
        requests.request_failed.connect(self._on_requests_request_failed)
        requests.title_suggested.connect(self._on_requests_title_suggested)
        self._enable_controls()

    # -- what the main window calls -------------------------------------------------------

    def refresh_models(self) -> None:
        """Fill the model picker with the chat models, keeping the current choice."""
        models = self._registry.list()
        self.model_picker.set_models(models)
        self._after_models_listed(models)

    @Slot(object)
    def set_remote_models(self, listings: Sequence[RemoteListing]) -> None:
        """List the remote engines' models after this computer's (from the remotes worker)."""
        if self._closing:
            return  # a listing that arrives after the window closed (its workspace may be gone)
        self.model_picker.set_remote_models(listings)
        awaited, self._awaited_remote = self._awaited_remote, None
        if awaited is not None and self.model_picker.has(awaited):
            self.model_picker.select(awaited)  # the conversation shown was answered by it
        self._after_models_listed(self.model_picker.local_models())

    def _after_models_listed(self, models: Sequence[LocalModel]) -> None:
        remote = any(listing.models for listing in self.model_picker.remote_listings())
        self.no_models.update_for(models, remote_models=remote)
        self._show_context_limit()
        self.refresh_adapters()
        self._enable_controls()

    def refresh_adapters(self) -> None:
        """List the fine-tuned adapters of the chosen model, keeping the current choice."""
        model = self._current_model()
        if self._adapters is not None and model is not None:
            self.adapter_picker.set_adapters(self._adapters.list(for_model=model))
        else:
            self.adapter_picker.set_adapters([])

    def select_adapter(self, adapter_id: int | None) -> None:
        self.adapter_picker.select(adapter_id)

    def refresh_conversations(self) -> None:
        """Show the conversations as the filter and order over the list ask."""
        try:
            every = self._store.list()
            self.organise.set_choices(self._store.folders(), self._store.tags())
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        shown = arrange(every, self.organise.list_filter(), self.organise.order())
        self.conversations.set_conversations(shown, self._conversation_id)
        self.organise.set_current(next((c for c in every if c.id == self._conversation_id), None))

    def select_model(self, model_id: int | str | None) -> None:
        self.model_picker.select(model_id)
        self._show_context_limit()
        self.refresh_adapters()
        self._tell_about_chat_format(self._current_model())

    def start_conversation(self, model_id: int, adapter_id: int | None = None) -> None:
        """Open a new, empty conversation with this model (and adapter) and no documents.

        How the app opens the chat for a model chosen elsewhere (the welcome guide, an import,
        Discover, the Fine-tune tab): the conversation that was open keeps its own model.
        """
        self.refresh_models()
        self.save_state()
        try:
            conversation = self._store.create(
                model_id=model_id, settings=self.settings_panel.settings().to_dict()
            )
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self.refresh_conversations()
        self.select_conversation(conversation.id)
        self.select_model(model_id)
        self.select_adapter(adapter_id)
        self.composer.input.setFocus()

    def select_conversation(self, conversation_id: int | None) -> None:
        """Show a conversation (or none, for a fresh start) and mark it in the list."""
        self.conversations.select(conversation_id)
        self._show_conversation(conversation_id)

    def _tell_about_chat_format(self, model: LocalModel | None, note: str = "") -> None:
        """Say, once per model, that its own chat format is not used and why."""
        if model is not None and not note:
            note = model.chat_template_notice or no_template_notice(model)
        if model is None or not note or model.id in self._told_about_format:
            return
        self._told_about_format.add(model.id)
        self.banner.show_info(f"“{model.name}”: {note}.")

    def refresh_prompts(self) -> None:
        """Read the prompt library again for "/" in the message box (a short read)."""
        if self._prompts is None:
            return
        try:
            self.composer.set_prompts(self._prompts.list())
        except LocalAIError as error:
            log.warning("The prompt library could not be read: %s", error.message)

    def current_conversation_id(self) -> int | None:
        return self._conversation_id

    @Slot(int)
    def _on_transcript_reference_requested(self, message_id: int) -> None:
        if self._conversation_id is not None:
            self.evaluation_reference_requested.emit(message_id, self._conversation_id)

    def current_conversation(self) -> tuple[int, str] | None:
        """The conversation shown and its title, or None (for Export and Print)."""
        item = self.conversations.list.item_for(self._conversation_id)
        if self._conversation_id is None or item is None:
            return None
        return self._conversation_id, item.text()

    def current_model_id(self) -> int | None:
        return self.model_picker.current_id()

    def is_generating(self) -> bool:
        return self.requests.is_answering()

    def begin_closing(self) -> None:
        """The window is closing: late news from workers (a remotes listing) is ignored."""
        self._closing = True

    def stop(self) -> None:
        """Stop the answer being written; what it has written so far is kept."""
        if self.requests.is_searching():
            self.requests.stop()
            self.status.show_message("Stopped before answering.")
        elif self.requests.is_answering():
            self.requests.stop()
            self.status.show_busy("Stopping…")

    def save_state(self) -> None:
        """Save edits to the system prompt and settings that are still waiting to be saved."""
        if self._save_timer.isActive():
            self._save_timer.stop()
            self._save_conversation_options()

    def finish_writes(self) -> None:
        """Wait until every question and option asked to be saved is on disk (app closing)."""
        self.save_state()
        self.writer.shutdown()
        self.records.shutdown()

    def start_search(self, *, this_conversation: bool) -> None:
        """Put the cursor in the search box: the open conversation (Ctrl+F) or all (Ctrl+K)."""
        self.records.start_search(this_conversation=this_conversation)

    def open_trash(self) -> None:
        """Show the Trash: deleted conversations to restore or delete for good."""
        self.records.open_trash()

    @property
    def trash_dialog(self) -> TrashDialog | None:
        return self.records.trash_dialog

    @property
    def store(self) -> ConversationStore:
        return self._store

    # -- helpers --------------------------------------------------------------------------

    def _send(self) -> None:
        text = self.composer.text().strip()
        if not text or self.requests.is_answering():
            return
        chosen = self._chosen_model()
        if chosen is None:
            self.banner.show_error("Choose a model first: import one in the Models tab.")
            return
        # Saved off the GUI thread: the message is shown at once and confirmed when committed
        # (a failure puts the text back in the message box).
        self._save_timer.stop()
        if self._conversation_id is None:
            self.transcript.clear()
        self.banner.hide()
        self.composer.clear()
        edit_of = self._editing
        self._stop_editing()
        if edit_of is not None:
            # The edited question and what followed stay saved as the earlier version.
            self.transcript.remove_from(edit_of)
        self.transcript.add_unsaved_question(text)
        self._attaching = self.composer.attachments.take()
        self._ask(chosen, text, edit_of=edit_of, attach=[str(p) for p in self._attaching])

    def edit_question(self, message_id: int) -> None:
        """Put a question in the message box to be asked again as a new version."""
        view = self.transcript.view_for(message_id)
        if view is None or view.message.role != "user" or self.requests.is_answering():
            return
        self._editing = message_id
        self.composer.set_text(view.message.content)
        self.edit_notice.show()
        self.composer.input.setFocus()

    def is_editing(self) -> bool:
        return self._editing is not None

    def _stop_editing(self) -> None:
        self._editing = None
        self.edit_notice.hide()

    def _chosen_model(self) -> tuple[int | str, str] | None:
        """The model to answer with: (its id, or a remote's NAME/MODEL_ID; its name)."""
        model = self._current_model()
        if model is not None:
            return model.id, model.name
        reference = self.model_picker.current_remote()
        return (reference, reference) if reference is not None else None

    def _ask(
        self,
        model: tuple[int | str, str],
        text: str | None,
        *,
        edit_of: int | None = None,
        attach: Sequence[str] = (),
    ) -> None:
        """Ask for an answer to `text` (None: write the last answer again) from `model` (see
        _chosen_model); `edit_of`: the question `text` is a new version of; `attach`: files."""
        self.status.show_busy("Getting ready…")
        self.requests.ask(
            Question(
                conversation_id=self._conversation_id,
                text=text,
                model_id=model[0],
                model_name=model[1],
                system_prompt=self.settings_panel.system_prompt(),
                settings=self.settings_panel.settings(),
                saved_settings=self._conversation_settings(),
                adapter=self.adapter_picker.choice(),
                collection_ids=self.documents.attached_ids(),
                lookup_text=self.transcript.last_question(),
                edit_of=edit_of,
                attach=tuple(attach),
            )
        )

    def _show_conversation(self, conversation_id: int | None) -> None:
        self.save_state()
        if self._editing is not None:
            self._stop_editing()
            self.composer.clear()
        self._conversation_id = None
        self._awaited_remote = None
        if conversation_id is None:
            self.transcript.clear()
            self.settings_panel.set_system_prompt("")
            self.documents.load({})
            self.settings_panel.set_memory_choice(False, offer_automatic=False)
            self._update_context_meter()
            return
        self.writer.wait()  # read back what was just saved, not what was there before
        try:
            conversation = self._store.get(conversation_id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        except Exception:
            self._could_not_show(conversation_id, f"number {conversation_id}")
            return
        self._conversation_id = conversation.id
        self.organise.set_current(conversation)
        try:
            self.settings_panel.set_system_prompt(conversation.system_prompt)
            if conversation.settings:
                settings = GenerationSettings.from_dict(conversation.settings)
                self.settings_panel.set_settings(settings)
            self.settings_panel.set_memory_choice(
                bool(conversation.settings.get(MEMORY_CHOSEN)),
                offer_automatic=keeps_old_default_memory(conversation.settings),
            )
            self.documents.load(conversation.settings)
            remote = conversation.settings.get(REMOTE_MODEL_KEY)
            if isinstance(remote, str) and self.model_picker.has(remote):
                self.select_model(remote)
            else:
                # A remote model is chosen once the remotes have listed theirs (if among them).
                self._awaited_remote = remote if isinstance(remote, str) else None
                if conversation.model_id is not None and self.model_picker.has(
                    conversation.model_id
                ):
                    self.select_model(conversation.model_id)
            self.adapter_picker.follow(conversation.messages)
            self.transcript.show_messages(conversation.messages)
            self._update_context_meter()
        except Exception:
            self._could_not_show(conversation.id, f"“{conversation.title}”")
            return
        answer, text_so_far = self.requests.answer_so_far()
        if answer is not None and answer.conversation_id == conversation.id:
            # Back on the conversation being answered: pick the stream up where it is.
            self.transcript.begin_answer(answer, text_so_far)

    def _could_not_show(self, conversation_id: int, name: str) -> None:
        # Whatever is in it, one conversation must not keep the window from opening (the
        # last one is shown on start) nor the rest of the app from working.
        log.exception("Conversation %s could not be shown", conversation_id)
        self.transcript.clear()
        self.banner.show_error(
            f"The conversation {name} could not be shown. Your other conversations are not "
            "affected; you can delete this one from the list."
        )

    def _save_conversation_options(self) -> None:
        if self._conversation_id is None:
            return
        self.writer.save_options(
            self._conversation_id,
            system_prompt=self.settings_panel.system_prompt(),
            settings=self._conversation_settings(),
        )

    def _conversation_settings(self) -> dict[str, Any]:
        """What a conversation keeps: its generation settings and attached collections (and
        the remote engine's model it is answered by, if one is chosen)."""
        remote = self.model_picker.current_remote()
        return {
            **self.settings_panel.settings().to_dict(),
            **self.documents.settings_entry(),
            **memory_choice_entry(self.settings_panel.memory_chosen()),
            **({REMOTE_MODEL_KEY: remote} if remote is not None else {}),
        }

    def _enable_controls(self) -> None:
        answering = self.requests.is_answering()
        can_send = self._chosen_model() is not None  # not an unavailable remote alone
        self.composer.set_state(generating=answering, can_send=can_send)
        self._stop_shortcut.setEnabled(answering)
        self.transcript.set_regenerate_enabled(not answering)

    def _show_context_limit(self) -> None:
        model = self._current_model()
        self.settings_panel.set_model_context_length(model.context_length if model else None)
        self.settings_panel.set_automatic_choice(
            automatic_context(model.path, model.context_length) if model else None
        )
        self.prompt_format.set_model(model)
        self._update_context_meter()

    @Slot()
    def _update_context_meter(self) -> None:
        """Estimate what sending now would take of the model's memory (see ContextMeter)."""
        if self._current_model() is None:
            self.context_meter.show_use(None)
            return
        settings = self.settings_panel.settings()
        whole, long = attached_sizes(self.composer.attachments.paths())
        earlier_whole, earlier_long = self._earlier_files()
        self.context_meter.show_use(
            measure_context_use(
                n_ctx=self.settings_panel.context_tokens(),
                max_tokens=settings.max_tokens,
                system_prompt=self.settings_panel.system_prompt(),
                messages=self.transcript.texts(),
                draft=self.composer.text(),
                with_documents=bool(self.documents.attached_ids()) or long or earlier_long,
                attached_chars=whole,
                earlier_attached_chars=earlier_whole,
            )
        )

    def _earlier_files(self) -> tuple[int, bool]:
        """(characters of the short files of the questions shown, whether a long one is
        among them): they count on the next turn too (chat.conversation_files). Read once
        per set of questions with files: their sizes only, by key, so quick enough here."""
        questions = tuple(
            view.message.id
            for view in self.transcript.views()
            if view.message.role == "user" and view.message.attachments
        )
        if questions != self._earlier_files_of[0]:
            try:
                sizes = AttachmentStore(self._store.database).sizes(list(questions))
            except LocalAIError:
                sizes = []
            whole = sum(chars for _, chars, read_whole in sizes if read_whole)
            self._earlier_files_of = (questions, (whole, any(not w for _, _, w in sizes)))
        return self._earlier_files_of[1]

    def _current_model(self) -> LocalModel | None:
        return self.model_picker.current_model()

    # -- drag and drop: files to attach ----------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_files(event.mimeData()):
            event.acceptProposedAction()
            return
        super().dragEnterEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        files = dropped_files(event.mimeData())
        if not files:
            super().dropEvent(event)
            return
        event.acceptProposedAction()
        self.composer.attachments.add_paths(files)

    # -- slots: the user ------------------------------------------------------------------

    @Slot()
    def _on_composer_send_requested(self) -> None:
        self._send()

    @Slot()
    def _on_composer_stop_requested(self) -> None:
        if self._editing is not None and not self.requests.is_answering():
            self._on_edit_notice_cancel_requested()
            return
        self.stop()

    @Slot()
    def _on_composer_edit_last_requested(self) -> None:
        message_id = self.transcript.last_question_id()
        if message_id is not None:
            self.edit_question(message_id)

    @Slot()
    def _on_edit_notice_cancel_requested(self) -> None:
        self._stop_editing()
        self.composer.clear()
        self.composer.input.setFocus()

    @Slot(int)
    def _on_transcript_attachment_requested(self, attachment_id: int) -> None:
        try:  # one row by its key: quick, so read here
            attachment = AttachmentStore(self._store.database).get(attachment_id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        # A long file opens where the citations open its passages (at the one cited, if any).
        shown = [view.message for view in self.transcript.views()]
        places = [m.id for m in shown]
        after = (
            shown[places.index(attachment.message_id) + 1 :]
            if attachment.message_id in places
            else []
        )
        if self.documents.open_attached(attachment, [m for m in after if m.role == "assistant"]):
            return
        self.attachment_viewer = AttachmentViewer(attachment, self)
        self.attachment_viewer.open()

    @Slot(int)
    def _on_transcript_edit_requested(self, message_id: int) -> None:
        self.edit_question(message_id)

    @Slot(int)
    def _on_transcript_version_requested(self, message_id: int) -> None:
        if self.requests.is_answering() or self._conversation_id is None:
            return
        self.writer.show_version(message_id)

    @Slot(object, int)
    def _on_writer_version_shown(self, conversation: Conversation, message_id: int) -> None:
        if conversation.id != self._conversation_id or self.requests.is_answering():
            return
        self._stop_editing()
        self.transcript.show_messages(conversation.messages)
        self.transcript.scroll_to(message_id)

    @Slot()
    def _on_stop_shortcut_activated(self) -> None:
        self.stop()

    @Slot(int)
    def _on_conversations_conversation_selected(self, conversation_id: int) -> None:
        self._show_conversation(conversation_id)

    @Slot()
    def _on_conversations_new_requested(self) -> None:
        if self._conversation_id is not None and not self.transcript.views():
            self.composer.input.setFocus()  # the current chat is still empty: use that one
            return
        self.save_state()
        try:
            conversation = self._store.create(
                model_id=self.current_model_id(),
                settings=self.settings_panel.settings().to_dict(),
            )
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self._conversation_id = conversation.id
        self.refresh_conversations()
        self._show_conversation(conversation.id)
        self.composer.input.setFocus()

    @Slot(int, str)
    def _on_conversations_rename_requested(self, conversation_id: int, title: str) -> None:
        try:
            self._store.rename(conversation_id, title)
        except LocalAIError as error:
            self.banner.show_error(error.message)

    @Slot(int)
    def _on_conversations_delete_requested(self, conversation_id: int) -> None:
        if conversation_id == self.requests.answering_conversation():
            self.requests.abandon()  # its answer has nowhere to go
            self.status.clear()
        try:
            title = self._store.get(conversation_id).title
            self._store.trash(conversation_id)  # deleted for good only from the Trash
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self.undo_notice.show_for(conversation_id, title)
        if conversation_id == self._conversation_id:
            self._save_timer.stop()
            self._conversation_id = None
            remaining = self._store.list()
            self.select_conversation(remaining[0].id if remaining else None)
        self.refresh_conversations()

    @Slot(int)
    def _on_model_picker_model_chosen(self, model_id: int) -> None:
        self._awaited_remote = None
        self._show_context_limit()
        self.refresh_adapters()
        self._tell_about_chat_format(self._current_model())
        if self._conversation_id is not None:
            # The settings too: they no longer name a remote model it was answered by.
            self.writer.save_options(
                self._conversation_id, model_id=model_id, settings=self._conversation_settings()
            )
        # Load it now, so the first answer does not wait for it.
        self.requests.load(model_id, self.settings_panel.settings().context_length)

    @Slot(str)
    def _on_model_picker_remote_chosen(self, _reference: str) -> None:
        self._awaited_remote = None
        # Nothing to load here: the remote engine answers. The conversation remembers it.
        self._show_context_limit()
        self.refresh_adapters()
        self._save_conversation_options()

    @Slot()
    def _on_settings_panel_settings_changed(self) -> None:
        self._save_timer.start()
        self._meter_timer.start()

    @Slot(int, object)
    def _on_prompt_format_format_chosen(self, model_id: int, key: str | None) -> None:
        try:
            model = self._registry.set_prompt_format(model_id, key)
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self.refresh_models()  # the picker keeps models as listed: take the new choice
        self.status.show_message(f"“{model.name}”: {model.prompt_format.describe()}")

    @Slot()
    def _on_save_timer_timeout(self) -> None:
        self._save_conversation_options()

    @Slot(int)
    def _on_transcript_regenerate_requested(self, message_id: int) -> None:
        model = self._chosen_model()
        if self.requests.is_answering() or model is None or self._conversation_id is None:
            return
        self._save_timer.stop()
        self.transcript.remove_message(message_id)
        self._ask(model, None)

    # -- slots: the worker, through ChatRequests ------------------------------------------

    @Slot(str)
    def _on_requests_model_loading(self, model_name: str) -> None:
        self.status.show_busy(f"Loading {model_name}… large models can take a minute.")

    @Slot(str, float)
    def _on_requests_model_loaded(self, model_name: str, seconds: float) -> None:
        if not self.requests.is_answering():
            self.status.show_message(f"{model_name} is ready (loaded in {seconds:.1f} s).")

    @Slot(bool)
    def _on_requests_answering_changed(self, answering: bool) -> None:
        self._enable_controls()
        self.generating_changed.emit(answering)

    @Slot(object, object)
    def _on_requests_question_saved(
        self, conversation: Conversation, message: Message | None
    ) -> None:
        if self._conversation_id is None and self.transcript.has_unsaved_question():
            # The new conversation on screen, which had no id until its first question.
            self._conversation_id = conversation.id
        if message is not None:
            if conversation.id == self._conversation_id:
                self.transcript.confirm_message(message)
            self.conversations.put_first(conversation)
        self.conversations.select(self._conversation_id)

    @Slot(str)
    def _on_requests_question_not_saved(self, error_message: str) -> None:
        text = self.transcript.remove_unsaved_question()
        if text and not self.composer.text().strip():
            self.composer.set_text(text)
        if self._attaching and not self.composer.attachments.paths():
            self.composer.attachments.set_paths(self._attaching)  # nothing lost
        self._attaching = []
        self.status.clear()
        self.banner.show_error(error_message)

    @Slot()
    def _on_requests_documents_search_started(self) -> None:
        names = ", ".join(f"“{n}”" for n in self.documents.picker.attached_names())
        self.status.show_busy(f"Searching {names}…")

    @Slot(object)
    def _on_requests_answer_started(self, answer: Message) -> None:
        self.status.show_busy("Writing the answer… (Esc stops it)")
        if answer.conversation_id == self._conversation_id:
            self.transcript.begin_answer(answer)

    @Slot(object)
    def _on_requests_answer_finished(self, message: Message) -> None:
        if message.conversation_id == self._conversation_id:
            self.transcript.finish_answer(message)
        if message.status != MessageStatus.FAILED and self._answers_first_question(message):
            # A title from the first exchange, written in the background (never replacing one
            # a person gave; core.chat.titles).
            self.requests.suggest_title(message.conversation_id)
        self._update_context_meter()
        if message.status != MessageStatus.FAILED:
            self.status.clear()
        note = message.provenance.get("chat_format_note")
        if isinstance(note, str) and note:
            # The model's template was refused while answering (the answer says which format
            # it was written in).
            model_id = message.provenance.get("model_id")
            model = self.model_picker.model(model_id) if isinstance(model_id, int) else None
            self._tell_about_chat_format(model, note)
        self.answer_finished.emit(message)

    def _answers_first_question(self, message: Message) -> bool:
        views = self.transcript.views()
        return (
            message.conversation_id == self._conversation_id
            and len(views) == 2
            and views[1].message_id == message.id
        )

    @Slot(int, str)
    def _on_requests_title_suggested(self, conversation_id: int, title: str) -> None:
        self.refresh_conversations()

    @Slot(str)
    def _on_requests_request_failed(self, error_message: str) -> None:
        self.status.clear()
        self.banner.show_error(error_message)
