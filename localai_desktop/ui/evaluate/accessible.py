"""Names for the Evaluate tab's buttons and table headings, as screen readers announce them."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QTableWidget, QWidget


def name_controls(root: QWidget) -> None:
    """Give each push button under `root` its text as its name ("Export HTML…" is "Export
    HTML"), and each table's headings a name, where none was set."""
    for button in root.findChildren(QPushButton):
        if not button.accessibleName():
            button.setAccessibleName(button.text().replace("&", "").rstrip("…").strip())
    for table in root.findChildren(QTableWidget):
        table.horizontalHeader().setAccessibleName("Column headings")
        table.verticalHeader().setAccessibleName("Row numbers")
