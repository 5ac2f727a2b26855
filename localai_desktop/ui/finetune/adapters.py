"""The Fine-tune tab's list of finished adapters, with removing one (after a confirmation)."""

from __future__ import annotations

from collections.abc import Sequence

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

from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.adapters import Adapter
from localai_desktop.ui.widgets.adapter_picker import describe_adapter
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.list_actions import ButtonMenu
from localai_desktop.ui.widgets.safe_text import inert_tooltip

_EMPTY = "No adapters yet. When a training finishes, its adapter is listed here."


def adapter_line(adapter: Adapter) -> str:
    """One row: "bluebell, for stories: 2026-11-29 14:05 UTC, 38 KB, validation loss 0.0123"."""
    parts = [f"{adapter.created_at:%Y-%m-%d %H:%M} UTC", format_bytes(adapter.file_size)]
    if adapter.final_val_loss is not None:
        parts.append(f"validation loss {adapter.final_val_loss:.4f}")
    elif adapter.final_loss is not None:
        parts.append(f"training loss {adapter.final_loss:.4f}")
    if not adapter.file_exists:
        parts.append("file missing")
    return f"{adapter.name}, for {adapter.base_model_name}: " + ", ".join(parts)


class AdapterList(QWidget):
    """Every adapter made here; Remove asks first, naming the adapter, then says so."""

    remove_confirmed = Signal(int)
    """The user confirmed removing an adapter and its file: (adapter_id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._adapters: dict[int, Adapter] = {}
        self.empty_label = QLabel(_EMPTY)
        self.empty_label.setWordWrap(True)
        self.list = QListWidget()
        self.list.setAccessibleName("Your adapters")
        self.list.itemSelectionChanged.connect(self._on_list_item_selection_changed)
        self.remove_button = QPushButton("Remove…")
        self.remove_button.setAccessibleName("Remove adapter")
        self.remove_button.setToolTip("Remove the selected adapter and delete its file")
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.list_menu = ButtonMenu(
            self.list, [self.remove_button], "Adapter actions", delete=self.remove_button
        )
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.empty_label)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.set_adapters([])

    def set_adapters(self, adapters: Sequence[Adapter]) -> None:
        """List these adapters, keeping the selection when it is still listed."""
        selected = self.selected_adapter()
        self._adapters = {a.id: a for a in adapters}
        self.list.clear()
        for adapter in adapters:
            item = QListWidgetItem(adapter_line(adapter))
            item.setData(Qt.ItemDataRole.UserRole, adapter.id)
            item.setToolTip(inert_tooltip(describe_adapter(adapter)))
            self.list.addItem(item)
            if selected is not None and adapter.id == selected.id:
                item.setSelected(True)
                self.list.setCurrentItem(item)
        self.empty_label.setVisible(not adapters)
        self.list.setVisible(bool(adapters))
        self._update_buttons()

    def select(self, adapter_id: int) -> None:
        for row in range(self.list.count()):
            item = self.list.item(row)
            if item.data(Qt.ItemDataRole.UserRole) == adapter_id:
                self.list.setCurrentItem(item)
                return

    def selected_adapter(self) -> Adapter | None:
        items = self.list.selectedItems()
        if not items:
            return None
        return self._adapters.get(int(items[0].data(Qt.ItemDataRole.UserRole)))

    def names(self) -> list[str]:
        return [a.name for a in self._adapters.values()]

    def _update_buttons(self) -> None:
        self.remove_button.setEnabled(self.selected_adapter() is not None)

    @Slot()
    def _on_list_item_selection_changed(self) -> None:
        self._update_buttons()

    @Slot()
    def _on_remove_button_clicked(self) -> None:
        adapter = self.selected_adapter()
        if adapter is None:
            return
        if adapter.file_exists:
            where = f"Its file ({format_bytes(adapter.file_size)}) will be deleted:\n{adapter.path}"
        else:
            where = f"Its file is already missing ({adapter.path})."
        adapter_id = adapter.id
        confirm_delete(
            self,
            "Remove adapter",
            f"Remove the adapter “{adapter.name}” and delete its file?",
            f"{where}\n\nAnswers already written with it are kept and still say they used "
            f"“{adapter.name}”.",
            lambda: self.remove_confirmed.emit(adapter_id),
            action="Remove",
        )
