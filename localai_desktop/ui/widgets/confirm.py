"""Asking before something is deleted or removed: the one confirmation box the app uses."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QMessageBox, QWidget


def confirm_delete(
    parent: QWidget,
    title: str,
    question: str,
    details: str,
    on_confirmed: Callable[[], None],
    *,
    action: str = "Delete",
    check_box_text: str = "",
) -> QMessageBox:
    """Ask `question` in a box with `action` and Keep (the default); on `action`, call
    on_confirmed.

    With `check_box_text`, the box shows an unticked check box (box.checkBox()), which
    on_confirmed may read. The box is a child of `parent`, opened window-modal with open() (no
    nested event loop), and deletes itself when closed. Closing it any other way keeps the
    thing.
    """
    box = QMessageBox(QMessageBox.Icon.Question, title, question, parent=parent)
    # Questions name things people and files named: shown as written, never as rich text.
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setInformativeText(details)
    if check_box_text:
        # Parented to the box: setCheckBox() does not take ownership of a Python-made widget.
        check_box = QCheckBox(check_box_text, box)
        check_box.setAccessibleName(check_box_text.split(" (")[0])
        box.setCheckBox(check_box)
    delete = box.addButton(action, QMessageBox.ButtonRole.DestructiveRole)
    delete.setAccessibleName(action)
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
