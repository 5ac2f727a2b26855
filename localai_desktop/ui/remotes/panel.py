"""The remote engines of the workspace, each with where it sends text; add and remove."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.remotes.store import Remote
from localai_desktop.ui.remotes.add_dialog import AddRemoteDialog
from localai_desktop.ui.widgets.confirm import confirm_delete

INTRO = (
    "Use a stronger engine on another computer, such as your practice's GPU server. Its models "
    "are named REMOTE/MODEL_ID (for example in 'localai chat --model gpu-server/llama-70b'); "
    "what you send them leaves this computer."
)


def remote_label(remote: Remote) -> str:
    """One line of the list: name, address, and the badge saying where text goes."""
    offline = " · allowed offline" if remote.allow_offline else ""
    return (
        f"{remote.name} — {remote.base_url}{offline}\n{remote.where[0].upper()}{remote.where[1:]}"
    )


class RemotesPanel(QWidget):
    """Lists the remote engines; "Add a remote engine…" and "Remove"."""

    remotes_changed = Signal()
    """A remote engine was added or removed."""

    def __init__(self, remotes: Remotes, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._remotes = remotes
        self.dialog: AddRemoteDialog | None = None
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        self.add_button = QPushButton("Add a remote engine…")
        self.add_button.setAccessibleName("Add a remote engine")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setAccessibleName("Remove remote engine")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        self.list = QListWidget()
        self.list.setAccessibleName("Remote engines")
        self.list.setWordWrap(True)
        self.list.setSpacing(4)
        self.list.currentRowChanged.connect(self._on_list_current_row_changed)
        self.empty_label = QLabel("No remote engines. Everything runs on this computer.")
        self.empty_label.setStyleSheet("color: palette(placeholder-text); padding: 24px;")
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(buttons)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for remote in self._remotes.list():
            item = QListWidgetItem(remote_label(remote))
            item.setData(Qt.ItemDataRole.UserRole, remote.name)
            self.list.addItem(item)
        empty = self.list.count() == 0
        self.empty_label.setVisible(empty)
        self.list.setVisible(not empty)
        self.remove_button.setEnabled(self.list.currentRow() >= 0)

    def names(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    @Slot()
    def _on_add_button_clicked(self) -> None:
        self.dialog = AddRemoteDialog(self._remotes, self)
        self.dialog.remote_added.connect(self._on_dialog_remote_added)
        self.dialog.open()

    @Slot(object)
    def _on_dialog_remote_added(self, _remote: object) -> None:
        self.refresh()
        self.remotes_changed.emit()

    @Slot(int)
    def _on_list_current_row_changed(self, row: int) -> None:
        self.remove_button.setEnabled(row >= 0)

    @Slot()
    def _on_remove_button_clicked(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name = str(item.data(Qt.ItemDataRole.UserRole))

        def remove() -> None:
            self._remotes.remove(name)
            self.refresh()
            self.remotes_changed.emit()

        confirm_delete(
            self,
            "Remove remote engine",
            f"Remove the remote engine “{name}”?",
            "Its address and API key are forgotten. Answers it wrote are kept.",
            remove,
            action="Remove",
        )
