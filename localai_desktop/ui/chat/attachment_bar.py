"""The paperclip beside the message box and the files waiting to go with the next question.

Files come from the paperclip's file dialog or are dropped on the chat (PDF, Word, text,
Markdown, HTML). Each shows as a chip with its name; clicking a chip takes it off. The files
are read and kept with the question off the GUI thread (ConversationWriter).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from PySide6.QtCore import QMimeData, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QToolButton, QWidget

from localai_desktop.core.chat.attachments import ATTACHABLE, supported_suffixes

FileChooser = Callable[[QWidget | None], list[str]]


def choose_files(parent: QWidget | None) -> list[str]:
    suffixes = " ".join(f"*{s}" for s in sorted(supported_suffixes()))
    names, _ = QFileDialog.getOpenFileNames(
        parent, "Attach files to your question", "", f"Documents ({suffixes})"
    )
    return names


def dropped_files(mime: QMimeData) -> list[Path]:
    """The local files in a drag (none for text or web links)."""
    if not mime.hasUrls():
        return []
    return [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]


class AttachmentBar(QWidget):
    """Chips of the files to attach; empty (and hidden) until a file is added."""

    refused = Signal(str)
    """Some files cannot be attached: (why, and what to do, in words)."""
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._paths: list[Path] = []
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 2, 0, 2)
        self._layout.addStretch(1)
        self.choose_files: FileChooser = choose_files
        self.paperclip = QToolButton()
        self.paperclip.setText("Attach…")
        self.paperclip.setAccessibleName("Attach files")
        self.paperclip.setToolTip(
            "Attach files to your question (" + ", ".join(ATTACHABLE) + "); or drop them here"
        )
        self.paperclip.clicked.connect(self._on_paperclip_clicked)
        self.setVisible(False)

    def paths(self) -> list[Path]:
        return list(self._paths)

    def chips(self) -> list[QToolButton]:
        found = (self._layout.itemAt(i).widget() for i in range(self._layout.count()))
        return [w for w in found if isinstance(w, QToolButton)]

    def add_paths(self, paths: Iterable[str | Path]) -> None:
        """Add files that can be attached; say plainly which cannot and why."""
        wrong: list[str] = []
        for raw in paths:
            path = Path(raw)
            if path.suffix.lower() not in supported_suffixes() or not path.is_file():
                wrong.append(path.name or str(path))
            elif path not in self._paths:
                self._paths.append(path)
        if wrong:
            self.refused.emit(
                f"{', '.join(wrong)} cannot be attached: attach "
                f"{', '.join(ATTACHABLE[:-1])} or {ATTACHABLE[-1]} files."
            )
        self._show()

    def set_paths(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._show()

    def take(self) -> list[Path]:
        """The files to send with the question; the bar empties."""
        paths, self._paths = self._paths, []
        self._show()
        return paths

    def _show(self) -> None:
        for chip in self.chips():
            self._layout.removeWidget(chip)
            chip.deleteLater()
        for index, path in enumerate(self._paths):
            chip = QToolButton()
            chip.setText(f"{path.name}  ✕")
            chip.setToolTip(f"{path}\nClick to take it off the question")
            chip.setAccessibleName(f"Attached file {path.name} (click to remove)")
            chip.clicked.connect(lambda _checked=False, p=path: self._remove(p))
            self._layout.insertWidget(index, chip)
        self.setVisible(bool(self._paths))
        self.changed.emit()

    def _remove(self, path: Path) -> None:
        if path in self._paths:
            self._paths.remove(path)
        self._show()

    @Slot()
    def _on_paperclip_clicked(self) -> None:
        self.add_paths(self.choose_files(self.window()))
