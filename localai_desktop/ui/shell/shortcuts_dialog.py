"""Help > Keyboard shortcuts: every shortcut of the window, read from its actions when opened."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMainWindow,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.ui.chat.message_input import MessageInput
from localai_desktop.ui.widgets.named_list import NamedList

Row = tuple[str, str]  # (keys, what they do)


def keys_text(sequences: list[QKeySequence]) -> str:
    """ "Ctrl+N" or "Del or Backspace", as this platform writes them (⌘ on a Mac)."""
    seen: list[str] = []
    for sequence in sequences:
        text = sequence.toString(QKeySequence.SequenceFormat.NativeText)
        if text and text not in seen:
            seen.append(text)
    return " or ".join(seen)


def _action_name(action: QAction) -> str:
    return action.text().replace("&", "").rstrip("…").strip()


def shortcut_sections(window: QMainWindow) -> list[tuple[str, list[Row]]]:
    """The window's shortcuts by where they work: each menu, then the lists, then typing.

    Read from the actions themselves (menus, and those the lists carry), so a new shortcut
    shows up here without anyone editing a table.
    """
    sections: list[tuple[str, list[Row]]] = []
    in_menus: set[int] = set()
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        if menu is None:
            continue
        rows = []
        for action in menu.actions():
            in_menus.add(id(action))
            if action.shortcuts() and not action.isSeparator():
                rows.append((keys_text(action.shortcuts()), _action_name(action)))
        if rows:
            sections.append((f"{menu.title().replace('&', '')} menu", rows))
    in_lists: list[Row] = [(keys, what) for keys, what in NamedList.KEYS]
    for action in window.findChildren(QAction):
        if id(action) in in_menus or not action.shortcuts():
            continue
        if action.shortcutContext() != Qt.ShortcutContext.WidgetShortcut:
            continue
        row = (keys_text(action.shortcuts()), f"{_action_name(action)} (asks first)")
        if row not in in_lists:
            in_lists.append(row)
    sections.append(("In a list (when it has the focus)", in_lists))
    sections.append(("In the message box", list(MessageInput.KEYS)))
    return sections


class ShortcutsDialog(QDialog):
    """A two-column list of keys and what they do, grouped by where they work."""

    def __init__(self, window: QMainWindow, parent: QWidget | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setWindowTitle("Keyboard shortcuts")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Keyboard shortcuts")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Keys", "What they do"])
        self.tree.header().setAccessibleName("Column headings")
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        self.tree.setUniformRowHeights(True)
        self.sections = shortcut_sections(window)
        for title, rows in self.sections:
            heading = QTreeWidgetItem([title])
            font = heading.font(0)
            font.setBold(True)
            heading.setFont(0, font)
            heading.setFirstColumnSpanned(True)
            self.tree.addTopLevelItem(heading)
            for keys, what in rows:
                heading.addChild(QTreeWidgetItem([keys, what]))
            heading.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, self.tree.columnWidth(0) + 24)
        hint = QLabel("Menus also open with Alt and the underlined letter.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close = buttons.button(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close keyboard shortcuts")
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree, 1)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(560, 560)

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, keys, what) for every shortcut listed."""
        return [(title, keys, what) for title, rows in self.sections for keys, what in rows]
