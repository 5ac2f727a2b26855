"""The search box over the conversation list: every conversation (Ctrl+K) or the open one (Ctrl+F).

Searching runs on a helper thread (`SearchRunner`), never on the GUI thread; the box waits a
moment after the last key so a fast typist starts one search, not one per letter. Results show
the matching words marked; activating one opens its conversation at that message.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QKeyEvent, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.search import SearchHit
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.ui.chat.conversation_list import describe_time
from localai_desktop.ui.widgets.theme import ACCENT_BORDER, ACCENT_TINT, colours

log = logging.getLogger(__name__)


class Searcher(Protocol):
    def __call__(self, text: str, *, conversation_id: int | None = None) -> list[SearchHit]: ...


TYPING_PAUSE_MS = 150
ALL_CONVERSATIONS, THIS_CONVERSATION = 0, 1
_HIT_ROLE = Qt.ItemDataRole.UserRole


def marked_html(hit: SearchHit) -> str:
    """The snippet as rich text, every match marked; everything else escaped."""
    theme = colours()
    mark = (
        f'<span style="background-color:{theme.marked_background}; '
        f'color:{theme.marked_text}; font-weight:600">'
    )
    parts, last = [], 0
    for start, end in hit.matches:
        parts += [html.escape(hit.snippet[last:start]), mark, html.escape(hit.snippet[start:end])]
        parts.append("</span>")
        last = end
    parts.append(html.escape(hit.snippet[last:]))
    return "".join(parts).replace("\n", " ")


def describe_hit(hit: SearchHit) -> str:
    who = "You" if hit.role == "user" else "Assistant"
    return f"{hit.conversation_title} · {who} · {describe_time(hit.created_at)}"


class SearchRunner(QObject):
    """Runs searches one after another on a helper thread; results come back as a signal."""

    results_ready = Signal(int, object)
    """A search finished: (request_id, list of core.chat.search.SearchHit)."""
    search_failed = Signal(int, str)
    """A search failed: (request_id, message for the user)."""

    def __init__(self, search: Searcher, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._search = search
        self._executor: ThreadPoolExecutor | None = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="conversation-search"
        )
        self._next_id = 0

    def search(self, text: str, conversation_id: int | None) -> int:
        """Start a search; returns its request id."""
        self._next_id += 1
        request_id = self._next_id
        if self._executor is None:
            return request_id

        def run() -> None:
            try:
                hits = self._search(text, conversation_id=conversation_id)
            except LocalAIError as error:
                self.search_failed.emit(request_id, error.message)
            except Exception:
                log.exception("Searching conversations failed unexpectedly")
                self.search_failed.emit(request_id, "The search failed inside the app.")
            else:
                self.results_ready.emit(request_id, hits)

        self._executor.submit(run)
        return request_id

    def wait(self) -> None:
        """Block until the searches asked for are done (tests)."""
        if self._executor is not None:
            self._executor.submit(lambda: None).result()

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class SearchBox(QLineEdit):
    """The search text; Esc clears it, Down moves into the results."""

    escape_pressed = Signal()
    """Esc was pressed in the box."""
    down_pressed = Signal()
    """Down was pressed in the box: move to the results."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            event.accept()
            self.escape_pressed.emit()
            return
        if event.key() == Qt.Key.Key_Down:
            event.accept()
            self.down_pressed.emit()
            return
        super().keyPressEvent(event)


class SearchPanel(QWidget):
    """The search box, where to search, and the results (shown while there is a query)."""

    search_requested = Signal(str, bool)
    """Search for this text: (text, only in the open conversation)."""
    searching_changed = Signal(bool)
    """The results were shown (True: there is a query) or put away (False)."""
    hit_activated = Signal(object)
    """The user opened a result: (core.chat.search.SearchHit)."""
    closed = Signal()
    """The user put the search away with Esc."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = SearchBox()
        self.box.setPlaceholderText("Search conversations (Ctrl+K)")
        self.box.setAccessibleName("Search conversations")
        self.box.setClearButtonEnabled(True)
        for button in self.box.findChildren(QToolButton):  # Qt's clear button, unnamed
            button.setAccessibleName("Clear the search")
        self.scope = QComboBox()
        self.scope.setAccessibleName("Where to search")
        self.scope.addItem("All conversations")
        self.scope.addItem("This conversation")
        self.scope.setToolTip("Ctrl+K searches all conversations, Ctrl+F the open one")
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.summary.setStyleSheet("color: palette(placeholder-text);")
        self.results = QListWidget()
        self.results.setAccessibleName("Search results")
        self.results.setWordWrap(True)
        self.results.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.results.setSpacing(2)
        # A light selection: the labels keep their own text colours, readable on it.
        self.results.setStyleSheet(
            f"QListWidget::item:selected {{ background: {ACCENT_TINT}; "
            f"border: 1px solid {ACCENT_BORDER}; border-radius: 4px; }}"
        )
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_PAUSE_MS)
        self._timer.timeout.connect(self._on_timer_timeout)
        self.box.textChanged.connect(self._on_box_text_changed)
        self.box.escape_pressed.connect(self._on_box_escape_pressed)
        self.box.down_pressed.connect(self._on_box_down_pressed)
        self.box.returnPressed.connect(self._on_box_return_pressed)
        self.scope.currentIndexChanged.connect(self._on_scope_current_index_changed)
        self.results.itemActivated.connect(self._on_results_item_activated)
        self.results.itemClicked.connect(self._on_results_item_activated)

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.scope)
        layout.addWidget(self.summary)
        layout.addWidget(self.results, 1)
        self._started = False  # Ctrl+F or Ctrl+K opened it (until Esc)
        self._hits: list[SearchHit] = []
        self._set_searching(False)

    # -- what the Chat tab calls ----------------------------------------------------------

    def start(self, *, this_conversation: bool) -> None:
        """Put the cursor in the box, searching all conversations or the open one."""
        self.scope.setCurrentIndex(THIS_CONVERSATION if this_conversation else ALL_CONVERSATIONS)
        self._started = True
        self.scope.show()
        self.box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.box.selectAll()
        if self.box.text().strip():
            self._timer.start()

    def only_this_conversation(self) -> bool:
        return self.scope.currentIndex() == THIS_CONVERSATION

    def show_hits(self, hits: Sequence[SearchHit], *, limit: int) -> None:
        """Show the results of the latest search, newest first."""
        self._hits = list(hits)
        self.results.clear()
        quiet = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        for hit in hits:
            item = QListWidgetItem()
            item.setData(_HIT_ROLE, hit)
            # The plain text, for screen readers and keyboard search in the list.
            item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{describe_hit(hit)}: {hit.snippet}")
            label = QLabel(
                f'<div style="color:{quiet}">{html.escape(describe_hit(hit))}'
                f"</div><div>{marked_html(hit)}</div>"
            )
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setContentsMargins(6, 4, 6, 4)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
            item.setSizeHint(label.sizeHint())
        if not hits:
            self.summary.setText("Nothing found. Try fewer or other words.")
        elif len(hits) >= limit:
            self.summary.setText(f"The newest {limit} messages that match.")
        else:
            self.summary.setText(f"{len(hits)} {'message' if len(hits) == 1 else 'messages'}.")
        self._resize_labels()

    def show_error(self, message: str) -> None:
        self.results.clear()
        self.summary.setText(message)

    def hits(self) -> list[SearchHit]:
        return list(self._hits)

    def clear(self) -> None:
        self.box.clear()

    def resizeEvent(self, event: object) -> None:  # type: ignore[override]
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._resize_labels()

    # -- helpers --------------------------------------------------------------------------

    def _resize_labels(self) -> None:
        # A word-wrapped label's height depends on its width, which the list does not pass on.
        width = self.results.viewport().width() - 2 * self.results.spacing()
        if width <= 0:
            return
        for row in range(self.results.count()):
            item = self.results.item(row)
            label = self.results.itemWidget(item)
            if isinstance(label, QLabel):
                item.setSizeHint(QSize(width, label.heightForWidth(width)))

    def _set_searching(self, searching: bool) -> None:
        self.summary.setVisible(searching)
        self.results.setVisible(searching)
        self.scope.setVisible(searching or self._started)
        self.searching_changed.emit(searching)

    # -- slots ----------------------------------------------------------------------------

    @Slot(str)
    def _on_box_text_changed(self, text: str) -> None:
        searching = bool(text.strip())
        if searching != self.results.isVisible():
            self._set_searching(searching)
        if searching:
            self._timer.start()
        else:
            self._timer.stop()
            self._hits = []
            self.results.clear()

    @Slot()
    def _on_timer_timeout(self) -> None:
        text = self.box.text().strip()
        if text:
            self.search_requested.emit(text, self.only_this_conversation())

    @Slot(int)
    def _on_scope_current_index_changed(self, _index: int) -> None:
        if self.box.text().strip():
            self._timer.start()

    @Slot()
    def _on_box_escape_pressed(self) -> None:
        self._started = False
        self.box.clear()
        self.scope.hide()
        self.closed.emit()

    @Slot()
    def _on_box_down_pressed(self) -> None:
        if self.results.count():
            self.results.setFocus()
            self.results.setCurrentRow(0)

    @Slot()
    def _on_box_return_pressed(self) -> None:
        item = self.results.currentItem() or self.results.item(0)
        if item is not None:
            self._on_results_item_activated(item)

    @Slot(QListWidgetItem)
    def _on_results_item_activated(self, item: QListWidgetItem) -> None:
        hit = item.data(_HIT_ROLE)
        if isinstance(hit, SearchHit):
            self.hit_activated.emit(hit)
