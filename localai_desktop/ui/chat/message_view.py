"""One message on screen: who wrote it, its text (Markdown for answers), speed and actions."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QMimeData, QPoint, QSizeF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QGuiApplication,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
    QTextOption,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QSizePolicy,
    QTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.busy import busy_note
from localai_desktop.core.chat.context_use import left_out_notes
from localai_desktop.core.chat.conversations import Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.inference.generation import CutOff
from localai_desktop.ui.chat.source_cards import SourceCards
from localai_desktop.ui.chat.unsupported_marks import mark_unsupported
from localai_desktop.ui.widgets.elided_label import ElidedLabel
from localai_desktop.ui.widgets.safe_text import SafeTextBrowser, inert_tooltip
from localai_desktop.ui.widgets.theme import (
    ACCENT_TINT,
    CODE_TINT,
    NEUTRAL_TINT,
    ThemeColours,
    colours,
)
from localai_desktop.ui.widgets.wrapping import (
    BREAK_EVERY,
    LONG_WORD,
    ZERO_WIDTH_SPACE,
    breakable,
    unbroken,
)

INTERRUPTED_TEXT = "Interrupted — the app closed before this answer finished"
# Qt's Markdown headings are sized for documents; a chat answer wants them closer to the text.
_HEADING_SCALE = {1: 1.35, 2: 1.2, 3: 1.1}


# The look of every message, set on the transcript that holds them (again when the theme
# changes): a style sheet set on each new message (and re-set on each status change) costs
# milliseconds of re-styling on the GUI thread, just when a person presses Enter or an answer
# begins.
def message_style_sheet(colours: ThemeColours) -> str:
    """The style sheet of the transcript's page, in the current theme's colours."""
    return f"""
QFrame#userMessage {{ background: {ACCENT_TINT}; border-radius: 8px; }}
QFrame#assistantMessage {{ background: {NEUTRAL_TINT}; border-radius: 8px; }}
QTextBrowser#messageBody {{ background: transparent; }}
QLabel#messageHeader {{ font-weight: 600; }}
QLabel#messageStats {{ color: palette(placeholder-text); }}
QLabel#messageStatus {{ color: {colours.warning_text}; }}
QLabel#messageStatus[kind="failed"] {{ color: {colours.error_text}; }}
QLabel#messageStatus[kind="writing"] {{ color: palette(placeholder-text); }}
"""


# -- plain-language descriptions (no Qt) --------------------------------------------------------


def describe_speed(provenance: Provenance) -> str:
    """How fast an answer came and where: "42.1 tokens/s · 0.12 s to first token · 230 tokens
    · on the CPU" (or "on the GPU (CUDA)"), and "the computer was busy: ..." when other
    programs slowed it."""
    parts = []
    stats = provenance.stats
    if stats is not None:
        if stats.tokens_per_second:
            parts.append(f"{stats.tokens_per_second:.1f} tokens/s")
        if stats.time_to_first_token_s is not None:
            parts.append(f"{stats.time_to_first_token_s:.2f} s to first token")
        tokens = stats.completion_tokens
        parts.append("1 token" if tokens == 1 else f"{tokens:,} tokens")
    backend = provenance.backend
    remote = _remote_facts(provenance)
    if remote is not None:
        parts.append(f"on {remote.get('host') or remote.get('name')} (remote engine)")
    elif backend:
        parts.append("on the CPU" if backend == "CPU" else f"on the GPU ({backend})")
    busy = busy_note(provenance)
    if busy and parts:
        parts.append(busy)
    return " · ".join(parts)


def _remote_facts(provenance: Provenance) -> dict[str, Any] | None:
    """Where a remote engine's answer was made (core.remotes.engine), or None."""
    remote = provenance.get("remote") if provenance.backend == "remote" else None
    return remote if isinstance(remote, dict) else None


def describe_adapter_use(provenance: Provenance) -> str:
    """Which fine-tuned adapter wrote an answer: "Adapter “bluebell” at 0.80"; "" for none."""
    adapter = provenance.adapter
    if adapter is None:
        return ""
    if adapter.scale != 1.0:
        return f"Adapter “{adapter.name}” at {adapter.scale:.2f}"
    return f"Adapter “{adapter.name}”"


def describe_status(message: Message) -> str:
    """What happened to an answer that did not finish normally; "" when it did."""
    if message.status == MessageStatus.STOPPED:
        return "Stopped"
    if message.status == MessageStatus.INTERRUPTED:
        return INTERRUPTED_TEXT
    if message.status == MessageStatus.FAILED:
        return f"Failed: {message.error}" if message.error else "Failed"
    provenance = message.provenance
    cut = provenance.cut_off
    if cut is CutOff.LONGEST_ANSWER:
        limit = provenance.settings.max_tokens if provenance.settings is not None else None
        limit_text = f" ({limit:,} tokens)" if limit is not None else ""
        return (
            f"Cut off at the longest-answer limit{limit_text}. For longer answers, raise "
            "“Longest answer” in the chat's settings, then Regenerate."
        )
    if cut is CutOff.MEMORY:
        n_ctx = provenance.n_ctx
        memory = f" ({n_ctx:,} tokens)" if n_ctx else ""
        return (
            f"Cut off: the conversation filled the model's memory{memory}. Start a new chat, "
            "or raise “Memory” in the chat's settings if the model allows more."
        )
    return ""


def describe_provenance(provenance: Provenance) -> str:
    """How an answer was made, for its tooltip: model, file, settings and seed."""
    lines = []
    if provenance.model_name:
        lines.append(f"Model: {provenance.model_name}")
    remote = _remote_facts(provenance)
    if remote is not None:
        lines.append(
            f"Ran on the remote engine “{remote.get('name')}” at {remote.get('address')}: "
            "the conversation was sent there"
        )
    if provenance.model_file:
        lines.append(f"File: {Path(provenance.model_file).name}")
    if provenance.model_sha256:
        lines.append(f"File fingerprint (SHA-256): {provenance.model_sha256[:16]}…")
    adapter = provenance.adapter
    if adapter is not None:
        lines.append(f"Fine-tuned adapter: {adapter.name}, strength {adapter.scale}")
        if adapter.sha256:
            lines.append(f"Adapter fingerprint: {adapter.sha256[:16]}…")
    settings = provenance.settings
    if settings is not None:
        memory = f"{provenance.n_ctx or settings.context_length:,} tokens"
        if settings.context_length <= 0:
            memory += " (automatic)"
        lines.append(
            f"Settings: creativity {settings.temperature}, longest answer "
            f"{settings.max_tokens} tokens, memory {memory}"
        )
    if provenance.seed is not None:
        lines.append(f"Seed: {provenance.seed}")
    if provenance.stats is not None:
        lines.append(f"Tokens read: {provenance.stats.prompt_tokens:,}")
    return "\n".join(lines)


# -- widgets -------------------------------------------------------------------------------------


class MessageBody(SafeTextBrowser):
    """Read-only message text that is exactly as tall as its content (the page scrolls).

    A SafeTextBrowser: images and links in an answer are shown as their addresses, and
    nothing they name is loaded.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setObjectName("messageBody")
        # Long words, addresses, code and table cells break where they must: the answer is
        # never wider than the transcript, which has no horizontal scroll bar.
        self.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.viewport().setAutoFillBackground(False)
        self.document().setDocumentMargin(2)
        self.document().documentLayout().documentSizeChanged.connect(
            self._on_layout_document_size_changed
        )
        self.setFixedHeight(self._height_for(self.document().size()))

    def append_plain_text(self, text: str) -> None:
        """Add text at the end without touching the selection or re-laying out the rest."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    def show_markdown(self, text: str) -> None:
        super().show_markdown(text)
        self._restyle_blocks()
        self._add_break_points()

    def _add_break_points(self) -> None:
        # Qt breaks a line inside a word only outside tables, and lays out a table cell broken
        # that way shorter than it paints it (over the text below); a long word or address in
        # a table also makes its column wider than the answer. Invisible break points every
        # few characters of a long word solve both; copying leaves them out.
        document = self.document()
        cursor = QTextCursor(document)
        block = document.lastBlock()
        while block.isValid():
            for match in reversed(list(LONG_WORD.finditer(block.text()))):
                for offset in range(match.end() - BREAK_EVERY, match.start(), -BREAK_EVERY):
                    cursor.setPosition(block.position() + offset)
                    cursor.insertText(ZERO_WIDTH_SPACE)
            block = block.previous()

    def toPlainText(self) -> str:
        """The text as shown, without the invisible break points."""
        return unbroken(super().toPlainText())

    def createMimeDataFromSelection(self) -> QMimeData:
        data = QMimeData()
        data.setText(unbroken(self.textCursor().selection().toPlainText()))
        return data

    def _restyle_blocks(self) -> None:
        # Qt's Markdown gives code blocks a monospace font but no background, and keeps long
        # lines unbroken, which a chat view then cuts off: shade them and let them wrap.
        base_size = self.font().pointSizeF()
        block = self.document().begin()
        cursor = QTextCursor(self.document())
        while block.isValid():
            block_format = block.blockFormat()
            if block_format.hasProperty(QTextFormat.Property.BlockCodeLanguage):
                shaded = QTextBlockFormat(block_format)
                shaded.setBackground(CODE_TINT)
                shaded.setNonBreakableLines(False)
                shaded.setLeftMargin(6)
                cursor.setPosition(block.position())
                cursor.setBlockFormat(shaded)
            elif block_format.headingLevel() and base_size > 0:
                scale = _HEADING_SCALE.get(block_format.headingLevel(), 1.0)
                # Markdown sizes headings with a relative adjustment that wins over a point
                # size, so each run of the heading gets its format replaced, not merged.
                runs = []
                fragments = block.begin()
                while not fragments.atEnd():
                    fragment = fragments.fragment()
                    runs.append((fragment.position(), fragment.length(), fragment.charFormat()))
                    fragments += 1
                for position, length, char_format in runs:
                    heading = QTextCharFormat(char_format)
                    heading.clearProperty(QTextFormat.Property.FontSizeAdjustment)
                    heading.setFontPointSize(base_size * scale)
                    cursor.setPosition(position)
                    cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
                    cursor.setCharFormat(heading)
                spaced = QTextBlockFormat(block_format)
                spaced.setTopMargin(6)
                spaced.setBottomMargin(2)
                cursor.setPosition(block.position())
                cursor.setBlockFormat(spaced)
            if base_size > 0 and not block_format.headingLevel():
                self._size_code_runs(block, cursor, base_size)
            block = block.next()

    @staticmethod
    def _size_code_runs(block: QTextBlock, cursor: QTextCursor, size: float) -> None:
        # Markdown code (a block or `inline`) keeps the system's fixed font at that font's own
        # size, however big the text is: give it the text's size.
        runs = []
        fragments = block.begin()
        while not fragments.atEnd():
            fragment = fragments.fragment()
            if fragment.charFormat().fontPointSize() not in (0, size):
                runs.append((fragment.position(), fragment.length()))
            fragments += 1
        sized = QTextCharFormat()
        sized.setFontPointSize(size)
        for position, length in runs:
            cursor.setPosition(position)
            cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
            cursor.mergeCharFormat(sized)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._restyle_blocks()  # headings are sized from the text size, which changed

    def _height_for(self, size: QSizeF) -> int:
        margins = self.contentsMargins()
        return math.ceil(size.height()) + margins.top() + margins.bottom()

    @Slot(QSizeF)
    def _on_layout_document_size_changed(self, size: QSizeF) -> None:
        height = self._height_for(size)
        if height != self.height():
            self.setFixedHeight(height)


class MessageView(QFrame):
    """One message: who wrote it, its text, and (for answers) speed, status and actions."""

    regenerate_requested = Signal(int)
    """The user asked for a new version of this answer: (message_id)."""
    source_requested = Signal(object)
    """The user clicked one of the answer's source cards: (source dict from its provenance)."""
    version_requested = Signal(int)
    """The user moved to another version of this message: (message_id of that version)."""
    edit_requested = Signal(int)
    """The user wants to edit this question: (message_id)."""
    reference_requested = Signal(int)
    """The user wants this answer, with its question, in a test set: (message_id)."""
    attachment_requested = Signal(int)
    """The user clicked a file attached to this question: (attachment id)."""

    def __init__(self, message: Message, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = message
        self.streaming = False
        self._parts: list[str] = []
        self._versions_enabled = True
        is_user = message.role == "user"
        self.setObjectName("userMessage" if is_user else "assistantMessage")
        # A long model name is shortened (whole in the tooltip), never widening the answer.
        self._header = ElidedLabel(mode=Qt.TextElideMode.ElideRight)
        self._header.setObjectName("messageHeader")
        self.body = MessageBody()
        self.body.setAccessibleName("Your message" if is_user else "Answer")
        self.marked_sentences: list[str] = []
        # Right click on an answer: the text's own actions, and "Add to a test set…".
        self.reference_action = QAction("Add to a test set as the reference answer…", self)
        self.reference_action.setStatusTip(
            "Make a test question from this answer and the question before it (Evaluate tab)"
        )
        self.reference_action.triggered.connect(self._on_reference_action_triggered)
        self.body.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.body.customContextMenuRequested.connect(self._on_body_custom_context_menu_requested)
        self.sources = SourceCards()
        self.sources.source_opened.connect(self.source_requested)

        self._stats = QLabel()
        self._stats.setObjectName("messageStats")
        self._stats.setTextFormat(Qt.TextFormat.PlainText)
        # Wraps beside Copy and Regenerate rather than pushing them past the window's edge.
        self._stats.setWordWrap(True)
        self._status = QLabel()
        self._status.setObjectName("messageStatus")
        self._status.setTextFormat(Qt.TextFormat.PlainText)
        self._status.setWordWrap(True)
        # What did not fit the model's memory for this answer (core.chat.context_use).
        self._left_out = QLabel()
        self._left_out.setObjectName("messageStatus")
        self._left_out.setAccessibleName("Left out of this answer")
        self._left_out.setTextFormat(Qt.TextFormat.PlainText)
        self._left_out.setWordWrap(True)
        self._left_out.hide()
        self._copy = QToolButton()
        self._copy.setText("Copy")
        self._copy.setAccessibleName("Copy answer" if not is_user else "Copy message")
        self._copy.setToolTip("Copy this text to the clipboard")
        self._copy.setAutoRaise(True)
        self._copy.clicked.connect(self._on_copy_clicked)
        self._regenerate = QToolButton()
        self._regenerate.setText("Regenerate")
        self._regenerate.setAccessibleName("Regenerate answer")
        self._regenerate.setToolTip("Write this answer again")
        self._regenerate.setAutoRaise(True)
        self._regenerate.clicked.connect(self._on_regenerate_clicked)
        self._regenerate.hide()
        self._edit = QToolButton()
        self._edit.setText("Edit")
        self._edit.setAccessibleName("Edit question")
        self._edit.setToolTip("Ask this question differently; this version and its answer are kept")
        self._edit.setAutoRaise(True)
        self._edit.clicked.connect(self._on_edit_clicked)
        self._edit.setVisible(is_user)
        # "< 2/3 >": the versions of an edited question or a regenerated answer.
        self._previous = QToolButton()
        self._previous.setText("<")
        self._previous.setAccessibleName("Previous version")
        self._previous.setAutoRaise(True)
        self._previous.clicked.connect(self._on_previous_clicked)
        self._version = QLabel()
        self._version.setObjectName("messageStats")
        self._version.setTextFormat(Qt.TextFormat.PlainText)
        self._next = QToolButton()
        self._next.setText(">")
        self._next.setAccessibleName("Next version")
        self._next.setAutoRaise(True)
        self._next.clicked.connect(self._on_next_clicked)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(2)
        top.addWidget(self._header)
        top.addStretch(1)
        top.addWidget(self._previous)
        top.addWidget(self._version)
        top.addWidget(self._next)
        top.addWidget(self._edit)
        footer = QHBoxLayout()
        footer.setContentsMargins(0, 0, 0, 0)
        footer.addWidget(self._stats, 1)
        footer.addWidget(self._copy)
        footer.addWidget(self._regenerate)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        # The files attached to a question, as chips (click: read the file's text).
        self.attachment_chips = QWidget()
        self._chips = QHBoxLayout(self.attachment_chips)
        self._chips.setContentsMargins(0, 0, 0, 0)
        self._chips.addStretch(1)
        layout.addWidget(self.attachment_chips)
        layout.addWidget(self.body)
        layout.addWidget(self.sources)
        # On a line of its own: a status can be a sentence or two (why an answer was cut off,
        # why it failed), too long to share the line with the speed and the buttons.
        layout.addWidget(self._status)
        layout.addWidget(self._left_out)
        layout.addLayout(footer)
        self.set_message(message)

    @property
    def message_id(self) -> int:
        return self.message.id

    def text(self) -> str:
        """The message as written (Markdown source for answers)."""
        return "".join(self._parts) if self.streaming else self.message.content

    def begin_streaming(self, text_so_far: str = "") -> None:
        """Show the answer as plain text that grows as batches are appended."""
        self.streaming = True
        self._parts = [text_so_far]
        self.body.setPlainText(text_so_far)
        self.body.show()
        self._status.setText("Writing…")
        self._set_status_kind("writing")
        self._status.show()
        self._left_out.hide()
        self._stats.clear()
        self._stats.hide()
        self._copy.setEnabled(False)
        self._regenerate.hide()

    def append_text(self, text: str) -> None:
        self._parts.append(text)
        self.body.append_plain_text(text)

    def set_message(self, message: Message) -> None:
        """Show the message as saved: answers as Markdown, with their speed and status."""
        self.message = message
        self.streaming = False
        self._parts = []
        provenance = message.provenance
        if message.role == "user":
            self._header.set_full_text("You")
            self.body.setPlainText(message.content)
        else:
            model = provenance.get("model_name")
            self._header.set_full_text(f"Assistant · {model}" if model else "Assistant")
            self.body.show_markdown(message.content)
            self.marked_sentences = mark_unsupported(self.body.document(), provenance.support)
        self.body.setVisible(bool(message.content) or message.role == "user")
        # The passages an answer cites, saved with it, so they come back after a restart too.
        if message.role == "assistant":
            self.sources.set_provenance(provenance, message.content)
        else:
            self.sources.set_provenance({})
        made_by = (describe_adapter_use(provenance), describe_speed(provenance))
        self._stats.setText(" · ".join(part for part in made_by if part))
        self._stats.setToolTip(inert_tooltip(describe_provenance(provenance)))
        self._stats.setVisible(bool(self._stats.text()))
        left_out = left_out_notes(provenance) if message.role == "assistant" else []
        self._left_out.setText(breakable("\n".join(left_out)))
        self._left_out.setVisible(bool(left_out))
        status = describe_status(message)
        self._status.setText(breakable(status))
        self._status.setVisible(bool(status))
        self._set_status_kind("failed" if message.status == MessageStatus.FAILED else "")
        self._copy.setEnabled(bool(message.content))
        # People copy answers; their own words they still have.
        self._copy.setVisible(message.role != "user")
        self._show_attachments()
        self._show_versions()

    def attachment_buttons(self) -> list[QToolButton]:
        found = (self._chips.itemAt(i).widget() for i in range(self._chips.count()))
        return [w for w in found if isinstance(w, QToolButton)]

    def _show_attachments(self) -> None:
        for chip in self.attachment_buttons():
            self._chips.removeWidget(chip)
            chip.deleteLater()
        for index, (attachment_id, name) in enumerate(self.message.attachments):
            chip = QToolButton()
            chip.setText(name)
            chip.setToolTip(f"Attached file {name}: click to read the text the model was given")
            chip.setAccessibleName(f"Attached file {name}")
            chip.clicked.connect(
                lambda _checked=False, a=attachment_id: self.attachment_requested.emit(a)
            )
            self._chips.insertWidget(index, chip)
        self.attachment_chips.setVisible(bool(self.message.attachments))

    def _show_versions(self) -> None:
        message = self.message
        several = message.version_count > 1
        for widget in (self._previous, self._version, self._next):
            widget.setVisible(several)
        self._version.setText(f"{message.version}/{message.version_count}")
        self._version.setAccessibleName(f"Version {message.version} of {message.version_count}")
        enabled = self._versions_enabled
        self._edit.setEnabled(enabled and message.id != 0)  # 0: not saved yet
        self._previous.setEnabled(enabled and several and message.version > 1)
        self._next.setEnabled(enabled and several and message.version < message.version_count)

    def set_versions_enabled(self, enabled: bool) -> None:
        """Offer Edit and the version switcher only while no answer is being written."""
        self._versions_enabled = enabled
        self._show_versions()

    def version_text(self) -> str:
        """ "2/3", or "" when the message has one version."""
        return self._version.text() if self.message.version_count > 1 else ""

    def previous_button(self) -> QToolButton:
        return self._previous

    def next_button(self) -> QToolButton:
        return self._next

    def edit_button(self) -> QToolButton:
        return self._edit

    def mark_words(self, words: Sequence[str]) -> None:
        """Mark every place these words appear in the text (a search result); () clears."""
        marks = []
        theme = colours()
        document = self.body.document()
        for word in words:
            cursor = QTextCursor(document)
            while True:
                cursor = document.find(word, cursor)
                if cursor.isNull():
                    break
                mark = QTextEdit.ExtraSelection()
                mark.cursor = cursor  # type: ignore[misc]
                mark.format.setBackground(theme.qcolor("marked_background"))  # type: ignore[attr-defined]
                mark.format.setForeground(theme.qcolor("marked_text"))  # type: ignore[attr-defined]
                marks.append(mark)
        self.body.setExtraSelections(marks)

    def marked_words_count(self) -> int:
        return len(self.body.extraSelections())

    def _set_status_kind(self, kind: str) -> None:
        if self._status.property("kind") != kind:
            self._status.setProperty("kind", kind)
            self._status.style().unpolish(self._status)
            self._status.style().polish(self._status)

    def set_regenerate_available(self, available: bool) -> None:
        self._regenerate.setVisible(available and self.message.role == "assistant")

    def regenerate_button(self) -> QToolButton:
        return self._regenerate

    def copy_button(self) -> QToolButton:
        return self._copy

    def status_text(self) -> str:
        return unbroken(self._status.text())

    def left_out_text(self) -> str:
        """What the answer says did not fit the model's memory ("" when everything did)."""
        return unbroken(self._left_out.text())

    def stats_text(self) -> str:
        return self._stats.text()

    def context_menu(self, position: QPoint) -> QMenu:
        """The body's menu at `position`: copy and select, and for a saved answer, the
        action that makes a test question of it."""
        menu = self.body.createStandardContextMenu(position)
        message = self.message
        offer = (
            message.role == "assistant"
            and message.id != 0
            and not self.streaming
            and bool(message.content.strip())
        )
        if offer:
            menu.addSeparator()
            menu.addAction(self.reference_action)
        return menu

    @Slot(QPoint)
    def _on_body_custom_context_menu_requested(self, position: QPoint) -> None:
        menu = self.context_menu(position)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.body.mapToGlobal(position))

    @Slot()
    def _on_reference_action_triggered(self) -> None:
        self.reference_requested.emit(self.message.id)

    @Slot()
    def _on_copy_clicked(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self._copy.setText("Copied")
        QTimer.singleShot(1500, self._copy, lambda: self._copy.setText("Copy"))

    @Slot()
    def _on_regenerate_clicked(self) -> None:
        self.regenerate_requested.emit(self.message.id)

    @Slot()
    def _on_edit_clicked(self) -> None:
        self.edit_requested.emit(self.message.id)

    @Slot()
    def _on_previous_clicked(self) -> None:
        self._request_version(self.message.version - 1)

    @Slot()
    def _on_next_clicked(self) -> None:
        self._request_version(self.message.version + 1)

    def _request_version(self, number: int) -> None:
        ids = self.message.version_ids
        if 1 <= number <= len(ids):
            self.version_requested.emit(ids[number - 1])
