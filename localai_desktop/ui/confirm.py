"""Asking before something is deleted: the one confirmation box the lists share."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def confirm_delete(
    parent: QWidget,
    title: str,
    question: str,
    details: str,
    on_confirmed: Callable[[], None],
) -> QMessageBox:
    """Ask `question` in a box with Delete and Keep (the default); call on_confirmed on Delete.

    The box is a child of `parent`, opened window-modal with open() (no nested event loop),
    and deletes itself when closed. Closing it any other way keeps the thing.
    """
    box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=parent)
    box.setInformativeText(details)
    delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
    delete.setAccessibleName("Delete")
    keep = box.addButton("Keep", QMessageBox.ButtonRole.RejectRole)
    keep.setAccessibleName("Keep")
    box.setDefaultButton(keep)

    def on_box_finished(_result: int) -> None:
        clicked = box.clickedButton()
        if (
            clicked is not None
            and box.buttonRole(clicked) == QMessageBox.ButtonRole.DestructiveRole
        ):
            on_confirmed()

    box.finished.connect(on_box_finished)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()
    return box
