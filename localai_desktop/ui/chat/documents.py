"""The Chat tab's documents side: the collections a conversation uses, and its source viewer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from localai_desktop.core.chat.attachments import Attachment
from localai_desktop.core.chat.conversation_files import passage_to_open
from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.collections import DocumentLibrary, PassageContext
from localai_desktop.ui.chat.collection_picker import CollectionPicker
from localai_desktop.ui.chat.passage_viewer import PassageViewer

# Where a conversation's attached collections are kept, inside its settings JSON.
SETTINGS_KEY = "collections"


class ChatDocuments(QObject):
    """Keeps the collection picker in step with the library and opens cited passages."""

    attachment_changed = Signal()
    """The user attached or detached a collection for the current conversation."""
    documents_tab_requested = Signal()
    """The user wants to create or manage collections."""

    def __init__(self, library: DocumentLibrary | None, parent: QWidget) -> None:
        super().__init__(parent)
        self._library = library
        self._parent = parent
        self.picker = CollectionPicker()
        self.picker.setVisible(library is not None)
        self.picker.attachment_changed.connect(self.attachment_changed)
        self.picker.documents_tab_requested.connect(self.documents_tab_requested)
        self.viewer: PassageViewer | None = None
        self.refresh()

    def refresh(self) -> None:
        """Read the collections again (after one was created, renamed or deleted)."""
        if self._library is None:
            return
        try:
            self.picker.set_collections(self._library.list())
        except LocalAIError:
            self.picker.set_collections([])

    def attached_ids(self) -> list[int]:
        return self.picker.attached_ids() if self._library is not None else []

    def load(self, settings: Mapping[str, Any]) -> None:
        """Show the collections saved with a conversation."""
        saved = settings.get(SETTINGS_KEY) or []
        self.picker.set_attached(int(i) for i in saved if str(i).isdigit())

    def settings_entry(self) -> dict[str, Any]:
        """What to save in the conversation's settings: the attached collections that exist."""
        return {SETTINGS_KEY: self.attached_ids()}

    @Slot(object)
    def open_source(self, source: Mapping[str, Any]) -> None:
        """Show a cited passage in its surrounding text (as it was quoted, if it is gone)."""
        if self.viewer is None:
            self.viewer = PassageViewer(self._parent)
            if self._library is not None:
                self.viewer.page_panel.loader = self._library.page_image
        self.viewer.show_source(source, self._context_of(source))

    def open_attached(self, attachment: Attachment, answers: Sequence[Message]) -> bool:
        """Open a long attached file in the passage viewer: at the passage of it that one of
        `answers` (those after its question) cites, else at its first passage. False when it
        has no passages here (a short file, or no embedding model): show its text instead."""
        if self._library is None or attachment.whole:
            return False
        try:  # a few rows by their keys: quick, so read here
            source = passage_to_open(self._library, attachment, answers)
        except LocalAIError:
            return False
        if source is None:
            return False
        self.open_source(source)
        return True

    def _context_of(self, source: Mapping[str, Any]) -> PassageContext | None:
        if self._library is None or not str(source.get("chunk_id", "")).isdigit():
            return None
        try:
            context = self._library.passage_context(int(source["chunk_id"]))
        except LocalAIError:
            return None
        # A re-indexed file's passages get new ids, and an old id may be reused: check that
        # the stored passage still is the one the answer quoted.
        if " ".join(context.passage.text.split()) != " ".join(str(source.get("text")).split()):
            return None
        return context
