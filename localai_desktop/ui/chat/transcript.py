"""The conversation transcript: one widget per message; a streamed answer grows by appending.

A long conversation shows its last messages only (`PAGE` of them), with "Show earlier
messages" above them: a widget per message costs milliseconds, and more as the page grows,
so building all of a conversation of 20,000 messages took minutes and froze the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from localai_desktop.core.chat.conversations import Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.common.clock import utcnow
from localai_desktop.ui.chat.message_view import MessageView, message_style_sheet
from localai_desktop.ui.widgets.theme import themed_style_sheet

# The id a question has on screen until it is committed (SQLite's ids start at 1).
UNSAVED_ID = 0
# How many messages are built at once: the last ones when a conversation opens, then as many
# earlier ones per click on "Show earlier messages".
PAGE = 60


class Transcript(QScrollArea):
    """The messages of one conversation, top to bottom; follows new text while at the bottom."""

    regenerate_requested = Signal(int)
    """The user asked to regenerate an answer: (message_id)."""
    source_requested = Signal(object)
    """The user clicked a source card under an answer: (source dict from its provenance)."""
    version_requested = Signal(int)
    """The user moved to another version of a message: (message_id of that version)."""
    edit_requested = Signal(int)
    """The user wants to edit one of their questions: (message_id)."""
    attachment_requested = Signal(int)
    """A file attached to a question was clicked: (attachment id)."""
    reference_requested = Signal(int)
    """The user wants an answer and its question in a test set: (message_id of the answer)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Conversation")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._page = QWidget()
        themed_style_sheet(self._page, message_style_sheet)
        self._layout = QVBoxLayout(self._page)
        self._layout.setContentsMargins(8, 8, 8, 8)
        self._layout.setSpacing(10)
        self._empty = QLabel("Type a message below to start the conversation.")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty.setWordWrap(True)  # at large text sizes it would widen the transcript
        self._empty.setStyleSheet("color: palette(placeholder-text); padding: 40px;")
        self._layout.addWidget(self._empty)
        self.earlier_button = QPushButton()
        self.earlier_button.setObjectName("show-earlier-messages")
        self.earlier_button.setAccessibleName("Show earlier messages")
        self.earlier_button.clicked.connect(self._on_earlier_button_clicked)
        self.earlier_button.hide()
        self._layout.addWidget(self.earlier_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._layout.addStretch(1)
        self.setWidget(self._page)
        self._views: list[MessageView] = []
        self._earlier: list[Message] = []  # the messages above the first view, not built yet
        self._follow = True
        self._regenerate_enabled = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_scrollbar_range_changed)
        bar.valueChanged.connect(self._on_scrollbar_value_changed)

    # -- content --------------------------------------------------------------------------

    def show_messages(self, messages: Sequence[Message]) -> None:
        """Replace the transcript with these messages (the last `PAGE` of them built)."""
        self.clear()
        cut = max(0, len(messages) - PAGE)
        self._earlier = list(messages[:cut])
        for message in messages[cut:]:
            self._add_view(message)
        self._update_earlier_button()
        self._follow = True
        self._refresh_regenerate()

    def clear(self) -> None:
        for view in self._views:
            self._layout.removeWidget(view)
            view.deleteLater()
        self._views.clear()
        self._earlier.clear()
        self._update_earlier_button()
        self._empty.show()

    def earlier_count(self) -> int:
        """How many earlier messages are not shown yet ("Show earlier messages")."""
        return len(self._earlier)

    def texts(self) -> list[str]:
        """The text of every message of the conversation, shown or not, oldest first."""
        return [m.content for m in self._earlier] + [v.text() for v in self._views]

    def show_earlier(self, until_id: int | None = None) -> None:
        """Build the next `PAGE` earlier messages (or, with `until_id`, down to that one)."""
        if not self._earlier:
            return
        ids = [m.id for m in self._earlier]
        cut = max(0, len(ids) - PAGE)
        if until_id is not None and until_id in ids:
            cut = min(cut, ids.index(until_id))
        newer, self._earlier = self._earlier[cut:], self._earlier[:cut]
        anchor = self._views[0] if self._views else None
        self._follow = False
        for message in reversed(newer):
            self._add_view(message, first=True)
        self._update_earlier_button()
        if anchor is not None:  # keep what was read in place, not jump to the new top
            QTimer.singleShot(0, self, lambda: self._scroll_to_view(anchor))

    @Slot()
    def _on_earlier_button_clicked(self) -> None:
        self.show_earlier()

    def _update_earlier_button(self) -> None:
        count = len(self._earlier)
        self.earlier_button.setText(
            f"Show earlier messages ({count} more)" if count != 1 else "Show 1 earlier message"
        )
        self.earlier_button.setVisible(count > 0)

    def add_message(self, message: Message) -> MessageView:
        view = self._add_view(message)
        self._follow = True
        self._refresh_regenerate()
        return view

    def add_unsaved_question(self, text: str) -> MessageView:
        """Show the user's question at once, while it is being saved."""
        now = utcnow()
        question = Message(
            id=UNSAVED_ID,
            conversation_id=UNSAVED_ID,
            role="user",
            content=text,
            status=MessageStatus.COMPLETE,
            error=None,
            provenance=Provenance(),
            created_at=now,
            updated_at=now,
        )
        return self.add_message(question)

    def confirm_message(self, message: Message) -> None:
        """The question shown unsaved is committed as `message` (added if it is not shown)."""
        view = self.view_for(UNSAVED_ID)
        if view is not None:
            view.set_message(message)  # same text; the id, times and versions are new
        elif self.view_for(message.id) is None:
            self.add_message(message)

    def has_unsaved_question(self) -> bool:
        return self.view_for(UNSAVED_ID) is not None

    def remove_unsaved_question(self) -> str:
        """Take back the question that could not be saved; returns its text ("" if none)."""
        view = self.view_for(UNSAVED_ID)
        if view is None:
            return ""
        self.remove_message(UNSAVED_ID)
        return view.message.content

    def remove_from(self, message_id: int) -> None:
        """Take this message and every one after it off the screen (an edit replaces them)."""
        view = self.view_for(message_id)
        if view is None:
            return
        for later in self._views[self._views.index(view) :]:
            self.remove_message(later.message_id)

    def last_question_id(self) -> int | None:
        """The id of the newest saved question shown (None if none)."""
        return next(
            (
                v.message_id
                for v in reversed(self._views)
                if v.message.role == "user" and v.message_id != UNSAVED_ID
            ),
            None,
        )

    def last_question(self) -> str:
        """The newest message the user wrote in this transcript ("" if none)."""
        return next(
            (v.message.content for v in reversed(self._views) if v.message.role == "user"), ""
        )

    def begin_answer(self, message: Message, text_so_far: str = "") -> MessageView:
        """Show an answer that streams in from now on."""
        view = self.view_for(message.id) or self._add_view(message)
        view.begin_streaming(text_so_far)
        self._follow = True
        self._refresh_regenerate()
        return view

    def append_to_answer(self, message_id: int, text: str) -> None:
        view = self.view_for(message_id)
        if view is not None and view.streaming:
            view.append_text(text)

    def finish_answer(self, message: Message) -> None:
        """Show an answer as saved; adds it when it was not on screen yet."""
        view = self.view_for(message.id)
        if view is None:
            view = self._add_view(message)
        view.set_message(message)
        self._refresh_regenerate()

    def remove_message(self, message_id: int) -> None:
        view = self.view_for(message_id)
        if view is not None:
            self._views.remove(view)
            self._layout.removeWidget(view)
            view.deleteLater()
        self._empty.setVisible(not self._views and not self._earlier)
        self._refresh_regenerate()

    def scroll_to(self, message_id: int, words: Sequence[str] = ()) -> bool:
        """Bring a message into view (and mark `words` in it, showing earlier messages down
        to it if needed); False if it is not in the transcript."""
        if self.view_for(message_id) is None and any(m.id == message_id for m in self._earlier):
            self.show_earlier(until_id=message_id)
        view = self.view_for(message_id)
        if view is None:
            return False
        self._follow = False
        view.mark_words(words)
        # After the layout has placed the views just made.
        QTimer.singleShot(0, self, lambda: self._scroll_to_view(view))
        return True

    def _scroll_to_view(self, view: MessageView) -> None:
        if view in self._views:
            self._follow = False
            self.ensureWidgetVisible(view, 0, 40)

    def set_regenerate_enabled(self, enabled: bool) -> None:
        """Offer Regenerate on the last answer, Edit and other versions, only while nothing
        else is being written."""
        self._regenerate_enabled = enabled
        for view in self._views:
            view.set_versions_enabled(enabled)
        self._refresh_regenerate()

    def views(self) -> list[MessageView]:
        return list(self._views)

    def view_for(self, message_id: int) -> MessageView | None:
        return next((v for v in self._views if v.message_id == message_id), None)

    # -- helpers --------------------------------------------------------------------------

    def _add_view(self, message: Message, *, first: bool = False) -> MessageView:
        view = MessageView(message, self._page)
        view.regenerate_requested.connect(self.regenerate_requested)
        view.source_requested.connect(self.source_requested)
        view.version_requested.connect(self.version_requested)
        view.edit_requested.connect(self.edit_requested)
        view.reference_requested.connect(self.reference_requested)
        view.attachment_requested.connect(self.attachment_requested)
        view.set_versions_enabled(self._regenerate_enabled)
        if first:  # an earlier message: under the empty label and "Show earlier messages"
            self._layout.insertWidget(2, view)
            self._views.insert(0, view)
        else:  # before the trailing stretch, so messages stack from the top
            self._layout.insertWidget(self._layout.count() - 1, view)
            self._views.append(view)
        self._empty.hide()
        return view

    def _refresh_regenerate(self) -> None:
        for view in self._views:
            view.set_regenerate_available(False)
        if self._views and self._regenerate_enabled:
            last = self._views[-1]
            last.set_regenerate_available(not last.streaming and last.message.role == "assistant")

    @Slot(int, int)
    def _on_scrollbar_range_changed(self, _minimum: int, maximum: int) -> None:
        if self._follow:
            self.verticalScrollBar().setValue(maximum)

    @Slot(int)
    def _on_scrollbar_value_changed(self, value: int) -> None:
        # Someone scrolled up to read: stop following until they come back to the bottom.
        self._follow = value >= self.verticalScrollBar().maximum() - 24
