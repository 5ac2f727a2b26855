"""A list's actions on a right click and on the keyboard, taken from the buttons beside it.

The buttons stay the one place an action lives (with its confirmation box, its enabled state
and its accessible name); the context menu offers the same buttons as menu entries, and the
Delete key (Backspace on a Mac keyboard) presses the delete or remove button, which asks first.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QPoint, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QMenu, QWidget

DELETE_KEYS = (QKeySequence(Qt.Key.Key_Delete), QKeySequence(Qt.Key.Key_Backspace))


class ButtonMenu(QObject):
    """Offers `buttons` as a context menu on `owner` (a list, a table or a row)."""

    def __init__(
        self,
        owner: QWidget,
        buttons: Sequence[QAbstractButton],
        name: str,
        *,
        delete: QAbstractButton | None = None,
    ) -> None:
        super().__init__(owner)
        self._owner = owner
        self._buttons = list(buttons)
        self._name = name
        self.menu: QMenu | None = None  # the menu shown last (tests trigger its actions)
        owner.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        owner.customContextMenuRequested.connect(self._on_owner_custom_context_menu_requested)
        self.delete_action: QAction | None = None
        self._delete_button = delete
        if delete is not None:
            # A widget shortcut: only while the list itself has the focus, never while a
            # name is being edited in it or text typed elsewhere.
            # Named as the button is for screen readers: "Delete conversation", "Remove model".
            action = QAction(delete.accessibleName() or delete.text(), owner)
            action.setShortcuts(list(DELETE_KEYS))
            action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
            action.setToolTip(delete.toolTip())
            action.triggered.connect(self._on_delete_action_triggered)
            owner.addAction(action)
            self.delete_action = action

    def popup(self, position: QPoint) -> QMenu | None:
        """Show the menu at `position` (in the owner's coordinates); None when it is empty."""
        view = self._owner if isinstance(self._owner, QAbstractItemView) else None
        if view is not None:
            index = view.indexAt(position)
            if not index.isValid():
                return None
            view.setCurrentIndex(index)  # the row under the pointer is the one acted on
        menu = QMenu(self._owner)
        menu.setAccessibleName(self._name)
        for button in self._buttons:
            if button.isHidden() or not button.text():
                continue
            action = menu.addAction(button.text())
            action.setEnabled(button.isEnabled())
            action.setToolTip(button.toolTip())
            if button is self._delete_button and self.delete_action is not None:
                action.setShortcuts(self.delete_action.shortcuts())
            action.triggered.connect(button.click)
        if menu.isEmpty():
            menu.deleteLater()
            return None
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.menu = menu
        where = view.viewport() if view is not None else self._owner
        menu.popup(where.mapToGlobal(position))
        return menu

    @Slot(QPoint)
    def _on_owner_custom_context_menu_requested(self, position: QPoint) -> None:
        self.popup(position)

    @Slot()
    def _on_delete_action_triggered(self) -> None:
        button = self._delete_button
        if button is not None and button.isEnabled() and not button.isHidden():
            button.click()
