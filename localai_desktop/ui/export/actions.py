"""Export the conversation on screen to a file, or print it; the work runs off the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QWidget

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.export.exporter import (
    FORMATS,
    ConversationExporter,
    ExportResult,
    default_file_name,
)
from localai_desktop.ui.export.message_chooser import MessageChooser
from localai_desktop.ui.workers.export import ExportWorker
from localai_desktop.ui.workers.request_ids import RequestIds

log = logging.getLogger(__name__)

# The file dialog's choices, Word first: what most people put in a client's or patient's file.
_FILTERS = {f"{label} (*{suffix})": name for name, (suffix, label) in FORMATS.items()}
NO_CONVERSATION = "Pick a conversation first (or start one): there is nothing to export yet."

FileChooser = Callable[[QWidget | None, Path], "tuple[Path, str] | None"]
PrinterChooser = Callable[[QWidget | None, QPrinter], bool]


def choose_export_file(parent: QWidget | None, suggested: Path) -> tuple[Path, str] | None:
    """Ask where to save and in which format; None when the person cancels."""
    filters = list(_FILTERS)
    suffix_format = {suffix: name for name, (suffix, _) in FORMATS.items()}
    start_filter = next(f for f, n in _FILTERS.items() if n == suffix_format[suggested.suffix])
    name, chosen_filter = QFileDialog.getSaveFileName(
        parent, "Export the conversation", str(suggested), ";;".join(filters), start_filter
    )
    if not name:
        return None
    path = Path(name)
    file_format = suffix_format.get(path.suffix.lower()) or _FILTERS.get(chosen_filter, "docx")
    if path.suffix.lower() not in suffix_format:
        path = path.with_name(path.name + FORMATS[file_format][0])
    return path, file_format


def choose_printer(parent: QWidget | None, printer: QPrinter) -> bool:
    """The system's print dialog; False when the person cancels."""
    dialog = QPrintDialog(printer, parent)
    dialog.setWindowTitle("Print the conversation")
    return dialog.exec() == QDialog.DialogCode.Accepted


def print_html(printer: QPrinter, html: str) -> None:
    """Lay out the HTML export on the printer's pages (Qt's rich text; it has no images)."""
    document = QTextDocument()
    document.setHtml(html)
    document.print_(printer)


class ConversationExport(QObject):
    """The Export and Print actions for the conversation the Chat tab shows."""

    export_started = Signal(str)
    """An export or print is being prepared: (what, in words)."""
    export_finished = Signal(object, str)
    """A file was written and recorded in the audit trail: (ExportResult, what, in words)."""
    printed = Signal(str)
    """The conversation went to the printer: (what, in words)."""
    export_failed = Signal(str)
    """Nothing was exported or printed: (why, and what to do, in words)."""
    _export_requested = Signal(int, int, str, str, object)
    _print_requested = Signal(int, int)
    _print_finished = Signal(int, bool)

    def __init__(
        self,
        exporter: ConversationExporter,
        current_conversation: Callable[[], tuple[int, str] | None],
        parent: QWidget,
        *,
        store: ConversationStore | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = parent
        self._current_conversation = current_conversation
        self._store = store
        self.chooser: MessageChooser | None = None  # the open "which messages?" dialog
        self._ids = RequestIds()
        self._pending: set[int] = set()
        self._folder = Path(
            QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
            or Path.home()
        )
        self._format = "docx"
        self.choose_file: FileChooser = choose_export_file
        self.choose_printer: PrinterChooser = choose_printer
        self.printer: QPrinter | None = None  # the last one chosen, kept for its settings

        self.export_action = QAction("&Export conversation…", parent)
        self.export_action.setShortcut(QKeySequence("Ctrl+E"))
        self.export_action.setStatusTip("Save this conversation as Word, PDF, Markdown or HTML")
        self.export_action.triggered.connect(self._on_export_action_triggered)
        self.export_selected_action = QAction("Export &selected messages…", parent)
        self.export_selected_action.setStatusTip(
            "Choose which messages of this conversation to export"
        )
        self.export_selected_action.triggered.connect(self._on_export_selected_action_triggered)
        self.export_selected_action.setEnabled(store is not None)
        self.print_action = QAction("&Print conversation…", parent)
        self.print_action.setShortcut(QKeySequence.StandardKey.Print)
        self.print_action.setStatusTip("Print this conversation with its sources and appendix")
        self.print_action.triggered.connect(self._on_print_action_triggered)
        self.menu = QMenu("Export", parent)
        self.menu.addAction(self.export_action)
        self.menu.addAction(self.export_selected_action)
        self.menu.addAction(self.print_action)

        self.worker = ExportWorker.start(exporter)
        self._export_requested.connect(self.worker.export)
        self._print_requested.connect(self.worker.render_for_print)
        self._print_finished.connect(self.worker.finish_print)
        self.worker.exported.connect(self._on_worker_exported)
        self.worker.print_ready.connect(self._on_worker_print_ready)
        self.worker.export_failed.connect(self._on_worker_export_failed)

    # -- what the window (and tests) call -------------------------------------------------

    def export_to(
        self,
        conversation_id: int,
        path: Path,
        file_format: str,
        message_ids: list[int] | None = None,
    ) -> int:
        """Write the conversation to `path` on the worker's thread; returns the request id."""
        request_id = self._ids.next()
        self._pending.add(request_id)
        self._folder, self._format = path.parent, file_format
        self.export_started.emit(f"Exporting the conversation as {FORMATS[file_format][1]}…")
        self._export_requested.emit(
            request_id, conversation_id, str(path), file_format, message_ids
        )
        return request_id

    def print_conversation(self, conversation_id: int) -> int:
        """Prepare the conversation for print on the worker's thread, then ask for a printer."""
        request_id = self._ids.next()
        self._pending.add(request_id)
        self.export_started.emit("Preparing the conversation for print…")
        self._print_requested.emit(request_id, conversation_id)
        return request_id

    def is_busy(self) -> bool:
        return bool(self._pending)

    def shutdown(self) -> None:
        """Finish a file being written (never left half-done), then end the worker's thread."""
        self.worker.shutdown()

    # -- slots ----------------------------------------------------------------------------

    @Slot()
    def _on_export_action_triggered(self) -> None:
        current = self._current_conversation()
        if current is None:
            self.export_failed.emit(NO_CONVERSATION)
            return
        conversation_id, title = current
        suggested = self._folder / default_file_name(title, self._format)
        chosen = self.choose_file(self._window, suggested)
        if chosen is not None:
            self.export_to(conversation_id, *chosen)

    @Slot()
    def _on_export_selected_action_triggered(self) -> None:
        current = self._current_conversation()
        if current is None or self._store is None:
            self.export_failed.emit(NO_CONVERSATION)
            return
        conversation_id, title = current
        try:
            messages = self._store.get(conversation_id).messages
        except LocalAIError as error:
            self.export_failed.emit(error.message)
            return
        if not messages:
            self.export_failed.emit(NO_CONVERSATION)
            return
        chooser = MessageChooser(messages, self._window)
        chooser.setWindowModality(Qt.WindowModality.WindowModal)
        chooser.accepted.connect(lambda: self._on_chooser_accepted(chooser, conversation_id, title))
        self.chooser = chooser
        chooser.open()

    def _on_chooser_accepted(
        self, chooser: MessageChooser, conversation_id: int, title: str
    ) -> None:
        chosen_ids = chooser.chosen_ids()
        self.chooser = None
        chooser.deleteLater()
        suggested = self._folder / default_file_name(title, self._format)
        chosen = self.choose_file(self._window, suggested)
        if chosen is not None and chosen_ids:
            self.export_to(conversation_id, *chosen, message_ids=chosen_ids)

    @Slot()
    def _on_print_action_triggered(self) -> None:
        current = self._current_conversation()
        if current is None:
            self.export_failed.emit(NO_CONVERSATION.replace("export", "print"))
            return
        self.print_conversation(current[0])

    @Slot(int, object)
    def _on_worker_exported(self, request_id: int, result: ExportResult) -> None:
        if request_id not in self._pending:
            return
        self._pending.discard(request_id)
        label = FORMATS[result.format][1]
        self.export_finished.emit(
            result,
            " ".join(
                (
                    f"Saved as a {label} ({format_bytes(result.bytes)}): {result.path}.",
                    "The export is recorded in the audit trail.",
                    *result.notes,
                )
            ),
        )

    @Slot(int, str, str)
    def _on_worker_print_ready(self, request_id: int, title: str, html: str) -> None:
        if request_id not in self._pending:
            return
        self._pending.discard(request_id)
        printer = self.printer or QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(title)
        if not self.choose_printer(self._window, printer):
            self._print_finished.emit(request_id, False)
            self.export_failed.emit("Printing was cancelled; nothing was printed.")
            return
        self.printer = printer
        print_html(printer, html)
        # Recorded in the audit trail on the worker's thread, as an export is.
        self._print_finished.emit(request_id, True)
        self.printed.emit(f"“{title}” was sent to the printer.")

    @Slot(int, str)
    def _on_worker_export_failed(self, request_id: int, message: str) -> None:
        if request_id not in self._pending:
            return
        self._pending.discard(request_id)
        self.export_failed.emit(message)
