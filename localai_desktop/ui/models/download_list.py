"""The downloads list: one row per download with progress, speed, time left and its buttons."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.common.units import format_bytes, format_duration
from localai_desktop.core.hub.download_store import DownloadProgress, DownloadState
from localai_desktop.core.hub.downloads import DownloadManager
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.ui.widgets.list_actions import ButtonMenu
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.widgets.theme import themed_style_sheet

log = logging.getLogger(__name__)


def describe_progress(progress: DownloadProgress, *, offline: bool) -> str:
    """The line under a download's progress bar, in words."""
    amount = f"{format_bytes(progress.bytes_done)} of {format_bytes(progress.bytes_total)}"
    if progress.state == DownloadState.DOWNLOADING:
        parts = [amount]
        if progress.bytes_per_second:
            parts.append(f"{format_bytes(int(progress.bytes_per_second))}/s")
        if progress.seconds_left is not None and progress.bytes_per_second:
            parts.append(f"{format_duration(progress.seconds_left)} left")
        return " · ".join(parts)
    if progress.state == DownloadState.QUEUED:
        return f"Waiting for another download to finish · {amount}"
    if progress.state == DownloadState.PAUSED:
        why = " (offline mode is on)" if offline else ""
        return f"Paused{why} · {amount}"
    if progress.state == DownloadState.REGISTERING:
        return "Checking the model and adding it to your models…"
    if progress.state == DownloadState.FAILED:
        return progress.error or "The download failed. Try again."
    if progress.state == DownloadState.DONE:
        return "Downloaded, verified and added to your models."
    return amount


class _DownloadRow(QFrame):
    """One download: name, bar, words, and the buttons that fit its state."""

    def __init__(self, progress: DownloadProgress, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.download_id = progress.download_id
        self.progress: DownloadProgress = progress
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.name = QLabel(f"<b>{_escape(progress.name)}</b> · {_escape(progress.quantization)}")
        self.name.setToolTip(inert_tooltip(f"From {progress.repo_id}"))
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setAccessibleName(f"Progress of {progress.name}")
        self.bar.setMinimumWidth(220)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.primary = QPushButton()
        self.secondary = QPushButton()
        top = QHBoxLayout()
        top.addWidget(self.name, 1)
        top.addWidget(self.bar, 1)
        top.addWidget(self.primary)
        top.addWidget(self.secondary)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.text)
        self.row_menu = ButtonMenu(self, [self.primary, self.secondary], "Download actions")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_text()

    def _fit_text(self) -> None:
        # A scroll area does not ask for height-for-width: without this, a long error message
        # would be cut after its first line.
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        self.text.setMinimumHeight(self.text.heightForWidth(width) if self.text.text() else 0)

    def show_progress(self, progress: DownloadProgress, *, offline: bool) -> None:
        self.progress = progress
        state = progress.state
        if (
            state
            in (
                DownloadState.QUEUED,
                DownloadState.DOWNLOADING,
                DownloadState.PAUSED,
                DownloadState.FAILED,
            )
            and progress.bytes_total
        ):
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * progress.fraction))
        elif state == DownloadState.REGISTERING:
            self.bar.setRange(0, 0)  # busy: hashing and checking take a moment
        elif state == DownloadState.DONE:
            self.bar.setRange(0, 1000)
            self.bar.setValue(1000)
        self.set_text(describe_progress(progress, offline=offline))
        failed = state == DownloadState.FAILED
        themed_style_sheet(self.text, lambda theme: f"color: {theme.error_text};" if failed else "")
        buttons = {
            DownloadState.QUEUED: ("Pause", "Cancel"),
            DownloadState.DOWNLOADING: ("Pause", "Cancel"),
            DownloadState.PAUSED: ("Resume", "Cancel"),
            DownloadState.FAILED: ("Try again", "Remove"),
            DownloadState.REGISTERING: ("", ""),
            DownloadState.DONE: ("Chat with it", "Dismiss"),
        }.get(state, ("", ""))
        for button, text in zip((self.primary, self.secondary), buttons, strict=True):
            button.setText(text)
            button.setAccessibleName(f"{text} {progress.name}" if text else "")
            button.setVisible(bool(text))
        self.primary.setEnabled(
            not (offline and state in (DownloadState.PAUSED, DownloadState.FAILED))
        )
        self.primary.setToolTip("Turn offline mode off to continue the download" if offline else "")

    def set_text(self, text: str) -> None:
        self.text.setText(text)
        self._fit_text()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _ProgressBridge(QObject):
    """Carries DownloadManager progress from download threads to the GUI thread (queued)."""

    progress_changed = Signal(object)
    """A download changed: (download_store.DownloadProgress). Emitted on download threads."""


class DownloadList(QWidget):
    """The downloads of this app, running or not; drives the DownloadManager's buttons."""

    model_downloaded = Signal(int)
    """A download was verified and registered: (model_id)."""
    chat_requested = Signal(int)
    """The user wants to chat with a downloaded model: (model_id)."""
    progress_shown = Signal(object)
    """A download's row was updated on screen: (download_store.DownloadProgress)."""

    def __init__(
        self,
        downloads: DownloadManager,
        registry: ModelRegistry,
        *,
        offline: bool,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._downloads = downloads
        self._registry = registry
        self._offline = offline
        self._rows: dict[int, _DownloadRow] = {}
        self._bridge = _ProgressBridge(self)
        self._bridge.progress_changed.connect(self._on_bridge_progress_changed)
        self._remove_listener: Callable[[], None] | None = downloads.add_listener(
            self._bridge.progress_changed.emit
        )

        self.heading = QLabel("<b>Downloads</b>")
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setStyleSheet("color: palette(placeholder-text);")
        self.banner = Banner()
        self.empty_label = QLabel(
            "Nothing is downloading. Pick a model above and click Download; downloads "
            "continue where they stopped if the app is closed."
        )
        self.empty_label.setWordWrap(True)
        self.empty_label.setStyleSheet("color: palette(placeholder-text);")
        self._rows_box = QWidget()
        self._rows_layout = QVBoxLayout(self._rows_box)
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(4)
        self._rows_layout.addWidget(self.empty_label)
        self._rows_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self._rows_box)
        header = QHBoxLayout()
        header.addWidget(self.heading)
        header.addWidget(self.summary, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.banner)
        layout.addWidget(scroll, 1)

        try:
            unfinished = downloads.list()
        except LocalAIError as error:
            self.banner.show_error(error.message)
            unfinished = []
        for progress in unfinished:
            self._show(progress)
        self._update_summary()

    # -- what the Discover panel and tests call -----------------------------------------------

    def set_offline(self, offline: bool) -> None:
        self._offline = offline
        for row in self._rows.values():
            row.show_progress(row.progress, offline=offline)

    def row_for(self, download_id: int) -> _DownloadRow | None:
        return self._rows.get(download_id)

    def rows(self) -> list[_DownloadRow]:
        return [self._rows[i] for i in sorted(self._rows)]

    def detach(self) -> None:
        """Stop listening to the manager (the window is closing)."""
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    # -- slots ------------------------------------------------------------------------------------

    @Slot(object)
    def _on_bridge_progress_changed(self, progress: DownloadProgress) -> None:
        self._show(progress)
        self._update_summary()
        if progress.state == DownloadState.DONE and progress.model_id is not None:
            self.model_downloaded.emit(progress.model_id)
        self.progress_shown.emit(progress)

    @Slot()
    def _on_row_primary_clicked(self) -> None:
        row = self._row_of_sender()
        if row is None:
            return
        state = row.progress.state
        if state == DownloadState.DONE and row.progress.model_id is not None:
            self.chat_requested.emit(row.progress.model_id)
        elif state in (DownloadState.QUEUED, DownloadState.DOWNLOADING):
            self._call(self._downloads.pause, row.download_id)
        elif state in (DownloadState.PAUSED, DownloadState.FAILED):
            self._call(self._downloads.resume, row.download_id)

    @Slot()
    def _on_row_secondary_clicked(self) -> None:
        row = self._row_of_sender()
        if row is None:
            return
        state = row.progress.state
        if state == DownloadState.DONE:
            self._remove_row(row.download_id)
        elif state == DownloadState.FAILED or row.progress.bytes_done == 0:
            self._call(self._downloads.cancel, row.download_id)
        else:
            self._confirm_cancel(row)

    @Slot(int)
    def _on_cancel_box_finished(self, _result: int) -> None:
        box = self.sender()
        if not isinstance(box, QMessageBox):
            return
        clicked = box.clickedButton()
        if (
            clicked is not None
            and box.buttonRole(clicked) == QMessageBox.ButtonRole.DestructiveRole
        ):
            self._call(self._downloads.cancel, int(box.property("download_id")))

    # -- helpers ----------------------------------------------------------------------------------

    def _show(self, progress: DownloadProgress) -> None:
        if progress.state == DownloadState.CANCELLED:
            self._remove_row(progress.download_id)
            return
        row = self._rows.get(progress.download_id)
        if row is None:
            row = _DownloadRow(progress)
            row.primary.clicked.connect(self._on_row_primary_clicked)
            row.secondary.clicked.connect(self._on_row_secondary_clicked)
            self._rows[progress.download_id] = row
            position = sorted(self._rows).index(progress.download_id) + 1  # after empty_label
            self._rows_layout.insertWidget(position, row)
        row.show_progress(progress, offline=self._offline)
        if progress.state == DownloadState.DONE and progress.model_id is not None:
            self._describe_done(row, progress.model_id)
        self.empty_label.setVisible(not self._rows)

    def _describe_done(self, row: _DownloadRow, model_id: int) -> None:
        try:
            model = self._registry.get(model_id)
        except NotFoundError:
            return
        if model.is_embedding_model:
            row.set_text(
                f"Downloaded, verified and added as “{model.name}”. It is an embedding model "
                "for the Documents feature; it cannot chat."
            )
            row.primary.hide()
        else:
            row.set_text(f"Downloaded, verified and added as “{model.name}”. Ready to chat.")

    def _remove_row(self, download_id: int) -> None:
        row = self._rows.pop(download_id, None)
        if row is not None:
            self._rows_layout.removeWidget(row)
            row.deleteLater()
        self.empty_label.setVisible(not self._rows)
        self._update_summary()

    def _update_summary(self) -> None:
        states = [r.progress.state for r in self._rows.values()]
        parts = []
        for state, word in (
            (DownloadState.DOWNLOADING, "downloading"),
            (DownloadState.QUEUED, "waiting"),
            (DownloadState.PAUSED, "paused"),
        ):
            count = states.count(state)
            if count:
                parts.append(f"{count} {word}")
        if states.count(DownloadState.FAILED):
            parts.append(f"{states.count(DownloadState.FAILED)} failed")
        self.summary.setText(" · ".join(parts))

    def _confirm_cancel(self, row: _DownloadRow) -> None:
        progress = row.progress
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Cancel download",
            f"Cancel the download of “{progress.name}”?",
            parent=self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)  # a model's name, shown as written
        box.setInformativeText(
            f"The {format_bytes(progress.bytes_done)} downloaded so far will be deleted. "
            "Pause keeps them, so the download can continue later."
        )
        cancel = box.addButton("Cancel download", QMessageBox.ButtonRole.DestructiveRole)
        cancel.setAccessibleName("Cancel download")
        keep = box.addButton("Keep downloading", QMessageBox.ButtonRole.RejectRole)
        keep.setAccessibleName("Keep downloading")
        box.setDefaultButton(keep)
        box.setProperty("download_id", row.download_id)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(self._on_cancel_box_finished)
        box.open()

    def _call(self, action: Callable[[int], None], download_id: int) -> None:
        try:
            action(download_id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
        else:
            self.banner.hide()

    def _row_of_sender(self) -> _DownloadRow | None:
        button = self.sender()
        return next((r for r in self._rows.values() if button in (r.primary, r.secondary)), None)
