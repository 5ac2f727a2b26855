"""The Chat tab's record keeping: search (Ctrl+F, Ctrl+K), the trash, and organising the list.

`ChatRecords` wires the search panel, the organise bar, the Undo notice and the Trash dialog
to the conversation store, and opens what they ask for in the tab it serves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Slot

from localai_desktop.core.chat.search import DEFAULT_LIMIT, SearchHit
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.ui.chat.search_panel import SearchRunner
from localai_desktop.ui.chat.trash import TrashDialog

if TYPE_CHECKING:
    from localai_desktop.ui.chat.tab import ChatTab


class ChatRecords(QObject):
    """Search, trash and organise, for one Chat tab (which owns it)."""

    def __init__(self, tab: ChatTab) -> None:
        super().__init__(tab)
        self._tab = tab
        self._store = tab.store
        self.search_runner = SearchRunner(self._store.search, self)
        self._search_request: int | None = None
        self.trash_dialog: TrashDialog | None = None
        search = tab.search
        search.search_requested.connect(self._on_search_search_requested)
        search.hit_activated.connect(self._on_search_hit_activated)
        search.closed.connect(self._on_search_closed)
        self.search_runner.results_ready.connect(self._on_search_runner_results_ready)
        self.search_runner.search_failed.connect(self._on_search_runner_search_failed)
        tab.conversations.trash_requested.connect(self.open_trash)
        tab.undo_notice.undo_requested.connect(self._on_undo_notice_undo_requested)
        organise = tab.organise
        organise.arrangement_changed.connect(tab.refresh_conversations)
        organise.pin_requested.connect(self._on_organise_pin_requested)
        organise.folder_chosen.connect(self._on_organise_folder_chosen)
        organise.tags_chosen.connect(self._on_organise_tags_chosen)

    def shutdown(self) -> None:
        self.search_runner.shutdown()

    # -- search ---------------------------------------------------------------------------

    def start_search(self, *, this_conversation: bool) -> None:
        """Put the cursor in the search box: the open conversation (Ctrl+F) or all (Ctrl+K)."""
        has_one = self._tab.current_conversation_id() is not None
        self._tab.search.start(this_conversation=this_conversation and has_one)

    def open_message(self, conversation_id: int, message_id: int, words: tuple[str, ...]) -> None:
        """Open a conversation at one of its messages (a search result), `words` marked.

        A message that is an earlier version is shown, with the conversation as it went on
        from it (not while an answer is being written: then it opens as it is).
        """
        tab = self._tab
        answering = tab.requests.is_answering()
        is_open = conversation_id == tab.current_conversation_id()
        shown = is_open and tab.transcript.view_for(message_id) is not None
        if not shown and not answering:
            try:
                self._store.show_version(message_id)
            except LocalAIError as error:
                tab.banner.show_error(error.message)
                return
        if not shown:
            tab.select_conversation(conversation_id)
        tab.transcript.scroll_to(message_id, words)

    @Slot(str, bool)
    def _on_search_search_requested(self, text: str, this_conversation: bool) -> None:
        within = self._tab.current_conversation_id() if this_conversation else None
        if this_conversation and within is None:
            self._tab.search.show_hits([], limit=DEFAULT_LIMIT)
            return
        self._search_request = self.search_runner.search(text, within)

    @Slot(int, object)
    def _on_search_runner_results_ready(self, request_id: int, hits: list[SearchHit]) -> None:
        search = self._tab.search
        if request_id == self._search_request and search.box.text().strip():
            search.show_hits(hits, limit=DEFAULT_LIMIT)

    @Slot(int, str)
    def _on_search_runner_search_failed(self, request_id: int, message: str) -> None:
        if request_id == self._search_request:
            self._tab.search.show_error(message)

    @Slot(object)
    def _on_search_hit_activated(self, hit: SearchHit) -> None:
        self.open_message(hit.conversation_id, hit.message_id, hit.matched_words)

    @Slot()
    def _on_search_closed(self) -> None:
        self._search_request = None
        self._tab.composer.input.setFocus()

    # -- trash ----------------------------------------------------------------------------

    @Slot()
    def open_trash(self) -> None:
        """Show the Trash: deleted conversations to restore or delete for good."""
        if self.trash_dialog is None:
            self.trash_dialog = TrashDialog(self._store, self._tab)
            self.trash_dialog.conversations_changed.connect(self._tab.refresh_conversations)
        else:
            self.trash_dialog.reload()
        self.trash_dialog.show()
        self.trash_dialog.raise_()

    @Slot(int)
    def _on_undo_notice_undo_requested(self, conversation_id: int) -> None:
        try:
            self._store.restore(conversation_id)
        except LocalAIError as error:
            self._tab.banner.show_error(error.message)
            return
        self._tab.refresh_conversations()
        self._tab.select_conversation(conversation_id)

    # -- organise -------------------------------------------------------------------------

    def _organise(self, change: Callable[[int], object]) -> None:
        conversation_id = self._tab.current_conversation_id()
        if conversation_id is None:
            return
        try:
            change(conversation_id)
        except LocalAIError as error:
            self._tab.banner.show_error(error.message)
        self._tab.refresh_conversations()

    @Slot(bool)
    def _on_organise_pin_requested(self, pinned: bool) -> None:
        self._organise(lambda cid: self._store.set_pinned(cid, pinned))

    @Slot(str)
    def _on_organise_folder_chosen(self, folder: str) -> None:
        self._organise(lambda cid: self._store.set_folder(cid, folder))

    @Slot(list)
    def _on_organise_tags_chosen(self, tags: list[str]) -> None:
        self._organise(lambda cid: self._store.set_tags(cid, tags))
