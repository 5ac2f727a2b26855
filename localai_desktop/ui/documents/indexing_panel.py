"""The Documents tab's progress strip: what is being indexed, how far, time left, and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from localai_desktop.core.common.units import format_duration
from localai_desktop.core.documents.indexer import IndexProgress
from localai_desktop.ui.widgets.theme import ACCENT_TINT

_STEPS = 1000  # the bar's resolution


def describe_indexing_progress(progress: IndexProgress) -> str:
    """ "report.pdf, page 40 of 120 · file 3 of 10 · 1,204 pages so far · about 2 min left"."""
    parts: list[str] = []
    if progress.current_file:
        where = progress.current_file
        if progress.current_page and progress.current_file_pages:
            where += f", page {progress.current_page} of {progress.current_file_pages}"
        parts.append(where)
    if progress.files_total and progress.current_file:
        number = min(progress.files_done + 1, progress.files_total)
        parts.append(f"file {number} of {progress.files_total}")
    elif progress.files_total:
        parts.append(f"{progress.files_done} of {progress.files_total} files done")
    if progress.pages_done:
        parts.append(f"{progress.pages_done:,} pages so far")
    elif progress.words_done:
        parts.append(f"{progress.words_done:,} words so far")
    if progress.eta_s is not None:
        parts.append(f"{format_duration(progress.eta_s)} left")
    elif progress.files_done < progress.files_total:
        parts.append("working out the time left…")
    return " · ".join(parts) if parts else "Getting ready…"


class IndexingPanel(QFrame):
    """Shown while a collection is indexed; the window stays usable the whole time."""

    cancel_requested = Signal()
    """The user pressed Cancel (indexing stops after the current batch; nothing is lost)."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("indexingPanel")
        self.setStyleSheet(
            f"QFrame#indexingPanel {{ background: {ACCENT_TINT}; border-radius: 6px; }}"
        )
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: 600;")
        self.detail = QLabel()
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, _STEPS)
        self.bar.setAccessibleName("Indexing progress")
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel indexing")
        self.cancel_button.setToolTip(
            "Stop indexing. Everything indexed so far is kept, and you can resume later."
        )
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(3)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addLayout(row)
        self.hide()

    def show_started(self, collection_name: str, waiting: int) -> None:
        self.title.setText(f"Indexing “{collection_name}”{_waiting(waiting)}")
        self.detail.setText("Loading the embedding model…")
        self.bar.setRange(0, 0)  # busy until the first progress arrives
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.show()

    def show_progress(self, progress: IndexProgress) -> None:
        self.bar.setRange(0, _STEPS)
        self.bar.setValue(round(progress.fraction * _STEPS))
        self.bar.setFormat(f"{progress.fraction:.0%}")
        self.detail.setText(describe_indexing_progress(progress))

    def show_cancelling(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.detail.setText("Stopping after the current passages; nothing indexed is lost…")

    @Slot()
    def _on_cancel_button_clicked(self) -> None:
        self.cancel_requested.emit()


def _waiting(count: int) -> str:
    if count <= 0:
        return ""
    return " (then 1 more collection)" if count == 1 else f" (then {count} more collections)"
