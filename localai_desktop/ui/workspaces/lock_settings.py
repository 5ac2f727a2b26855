"""The workspace's part of Settings: whether it is protected, and when it locks by itself."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QWidget

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.passphrase_form import wrapped_label

# (minutes, what the list shows); 0 is never.
IDLE_CHOICES = (
    (1, "After 1 minute"),
    (5, "After 5 minutes"),
    (15, "After 15 minutes"),
    (30, "After 30 minutes"),
    (60, "After 1 hour"),
    (240, "After 4 hours"),
    (0, "Never"),
)


def protection_text(workspace: Workspace) -> str:
    name = workspace.info.name
    if workspace.protected:
        return (
            f"“{name}” is protected with a passphrase: its conversations, documents and "
            "fine-tuning data are encrypted on this computer. Ctrl+L locks it now."
        )
    return (
        f"“{name}” is not protected: anyone who can read this computer's disk can read its "
        "conversations. File > Workspace > Protect with a passphrase encrypts it."
    )


class LockSettings(QGroupBox):
    """Shows the open workspace's protection and sets the idle time before it locks."""

    idle_minutes_changed = Signal(int)
    """The idle time was changed and saved: (minutes; 0 means never)."""

    def __init__(self, workspace: Workspace, banner: Banner, parent: QWidget | None = None):
        super().__init__("Workspace", parent)
        self._workspace = workspace
        self._banner = banner
        self.protection = wrapped_label(protection_text(workspace), "Workspace protection")
        self.idle_combo = QComboBox()
        self.idle_combo.setAccessibleName("Lock when idle")
        self.idle_combo.setToolTip(
            "A protected workspace locks itself when nobody has used the app for this long; "
            "its passphrase opens it again."
        )
        saved = workspace.settings.load().idle_lock_minutes
        for minutes, text in IDLE_CHOICES:
            self.idle_combo.addItem(text, minutes)
        if self.idle_combo.findData(saved) < 0:
            self.idle_combo.insertItem(0, f"After {saved} minutes", saved)
        self.idle_combo.setCurrentIndex(self.idle_combo.findData(saved))
        self.idle_combo.currentIndexChanged.connect(self._on_idle_combo_current_index_changed)
        layout = QFormLayout(self)
        layout.addRow(self.protection)
        layout.addRow("Lock when idle:", self.idle_combo)

    def idle_minutes(self) -> int:
        return int(self.idle_combo.currentData())

    @Slot(int)
    def _on_idle_combo_current_index_changed(self, _index: int) -> None:
        minutes = self.idle_minutes()
        try:
            self._workspace.settings.update(idle_lock_minutes=minutes)
        except LocalAIError as error:
            self._banner.show_error(error.message)
            return
        self.idle_minutes_changed.emit(minutes)
