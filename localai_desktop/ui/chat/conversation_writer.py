"""ConversationWriter: the Chat tab's database writes, done in order off the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal

from localai_desktop.core.chat.attachments import AttachmentStore, read_attachment
from localai_desktop.core.chat.conversation_files import files_to_index, shown_attachments
from localai_desktop.core.chat.conversations import ConversationStore, Message
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary

log = logging.getLogger(__name__)


class ConversationWriter(QObject):
    """Saves questions and conversation options on one helper thread, one write after another.

    A commit waits for the disk (fsync), which on a busy or sleepy machine takes from a few to a
    few hundred milliseconds; on the GUI thread that would freeze the window each time a person
    presses Enter. Writes run in the order they were asked for; results come back as signals,
    delivered on the GUI thread because this object lives there. `shutdown` waits for every
    write asked for, so nothing typed is lost when the app closes.
    """

    question_saved = Signal(int, object, object)
    """A question is committed: (request_id, conversations.Conversation without messages,
    conversations.Message, or None when only the options were saved for a regeneration)."""
    save_failed = Signal(int, str)
    """A write failed and nothing of it was saved: (request_id, message for the user)."""
    version_shown = Signal(object, int)
    """Another version of a message is shown now: (conversations.Conversation as shown,
    message_id of that version)."""
    version_failed = Signal(str)
    """Showing another version failed: (message for the user)."""
    attachments_to_index = Signal(int, int, object)
    """Long attached files wait in the conversation's own collection to be indexed, emitted
    just before question_saved: (request_id, collection_id, tuple of paths)."""
    conversation_files = Signal(int, object, object)
    """The files of the conversation's questions as shown, emitted just before question_saved
    when there are any: (request_id, tuple of collection ids whose passages are searched on
    this turn, tuple of attachments.Attachment whose passages are missing and must be indexed
    again from their saved text, as after a data import)."""

    def __init__(
        self,
        store: ConversationStore,
        parent: QObject | None = None,
        *,
        documents: DocumentLibrary | None = None,
    ) -> None:
        super().__init__(parent)
        self._store = store
        self._documents = documents  # for the conversation's own collection of long files
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="conversation-writer"
        )

    def save_question(
        self,
        request_id: int,
        conversation_id: int | None,
        text: str | None,
        *,
        system_prompt: str,
        settings: dict[str, Any],
        model_id: int | None,
        edit_of: int | None = None,
        attach: Sequence[str] = (),
    ) -> None:
        """Save the question (and the options it is asked with); see ConversationStore.
        Files in `attach` are read first (one that cannot be read saves nothing) and kept
        with the question."""

        def write() -> None:
            try:
                files = [read_attachment(path) for path in attach]
                long = [f for f in files if not f.whole]
                if long and self._documents is None:
                    raise LocalAIError(
                        f"{', '.join(f.name for f in long)} is too long to read whole, and "
                        "long files are indexed with an embedding model, which is not set up.",
                        "Import an embedding model in the Models tab, or attach a shorter file.",
                    )
                # The question and its files' text are saved in one transaction.
                conversation, message = self._store.save_question(
                    conversation_id,
                    text,
                    system_prompt=system_prompt,
                    settings=settings,
                    model_id=model_id,
                    edit_of=edit_of,
                    attachments=files,
                )
                if message is not None and files:
                    store = AttachmentStore(self._store.database)
                    added = store.for_message(message.id)
                    message = replace(message, attachments=tuple((a.id, a.name) for a in added))
                    if long and self._documents is not None:
                        collection = self._documents.conversation_collection(conversation.id)
                        for attachment in added:
                            if not attachment.whole:
                                store.set_collection(attachment.id, collection.id)
                        paths = tuple(str(f.path) for f in long)
                        self.attachments_to_index.emit(request_id, collection.id, paths)
                if self._documents is not None:
                    self._tell_conversation_files(request_id, conversation.id, message)
            except LocalAIError as error:
                self.save_failed.emit(request_id, error.message)
            except Exception:
                log.exception("Saving a question failed unexpectedly")
                self.save_failed.emit(request_id, _UNEXPECTED)
            else:
                self.question_saved.emit(request_id, conversation, message)

        self._submit(write)

    @property
    def attachments(self) -> AttachmentStore:
        """The files attached to questions, in the conversations' database."""
        return AttachmentStore(self._store.database)

    def _tell_conversation_files(
        self, request_id: int, conversation_id: int, message: Message | None
    ) -> None:
        """Which long files of earlier questions are searched on this turn, and which must be
        indexed again first (their passages are missing); see chat.conversation_files."""
        assert self._documents is not None
        shown = self._store.get(conversation_id).messages
        earlier = [
            a
            for a in shown_attachments(self.attachments, shown)
            if not a.whole and (message is None or a.message_id != message.id)
        ]
        if not earlier:
            return
        missing = files_to_index(self._documents, earlier)
        searched = sorted(
            {a.collection_id for a in earlier if a not in missing and a.collection_id is not None}
        )
        self.conversation_files.emit(request_id, tuple(searched), tuple(missing))

    def save_options(
        self,
        conversation_id: int,
        *,
        system_prompt: str | None = None,
        settings: dict[str, Any] | None = None,
        model_id: int | None = None,
    ) -> None:
        """Save a conversation's system prompt, settings or model (None: leave as is).

        A failure is logged, not shown: options are saved again with the next question, which
        reports a failure to the user.
        """

        def write() -> None:
            try:
                self._store.update(
                    conversation_id,
                    system_prompt=system_prompt,
                    settings=settings,
                    model_id=model_id,
                )
            except LocalAIError as error:
                log.warning(
                    "Saving the options of conversation %s failed: %s", conversation_id, error
                )

        self._submit(write)

    def show_version(self, message_id: int) -> None:
        """Make this version of a message the one shown; `version_shown` says when it is."""

        def write() -> None:
            try:
                conversation = self._store.show_version(message_id)
            except LocalAIError as error:
                self.version_failed.emit(error.message)
            else:
                self.version_shown.emit(conversation, message_id)

        self._submit(write)

    def empty_expired_trash(self) -> None:
        """Delete for good what has been in the trash too long (core.chat.organise)."""

        def write() -> None:
            try:
                self._store.empty_expired_trash()
            except LocalAIError as error:
                log.warning("Emptying the trash of old conversations failed: %s", error)

        self._submit(write)

    def wait(self) -> None:
        """Block until every write asked for so far is done (tests, and before reading back)."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result()

    def shutdown(self) -> None:
        """Finish every write asked for, then stop the helper thread."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _submit(self, write: Any) -> None:
        if self._executor is None:
            write()  # after shutdown (the app is closing): save right here rather than not at all
        else:
            self._executor.submit(write)


_UNEXPECTED = (
    "Something went wrong inside the app while saving your message. It was not sent; try again."
)
