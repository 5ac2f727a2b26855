"""Screen readers and keyboards: every control is named in the accessibility tree of each tab,
the Chat tab is usable without a mouse, and large text still fits the window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible, QAccessibleInterface
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.settings import SYSTEM_TEXT_SIZE
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.widgets.text_size import apply_text_size
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.layout_checks import cut_texts, sticking_out
from tests.support.session_support import import_model

Role = QAccessible.Role
# Roles a person acts on; each must have a name a screen reader can say.
INTERACTIVE = {
    Role.PushButton, Role.CheckBox, Role.RadioButton, Role.ComboBox, Role.EditableText,
    Role.SpinBox, Role.Slider, Role.PageTab, Role.ButtonMenu, Role.ButtonDropDown,
    Role.List, Role.Table, Role.Tree, Role.ScrollBar,
}  # fmt: skip
# Inside lists and tables the rows and cells are named by their own text.
_ITEMS = {Role.ListItem, Role.Cell, Role.Row, Role.TreeItem, Role.ColumnHeader, Role.RowHeader}
ANSWER_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener
    apply_text_size(SYSTEM_TEXT_SIZE)  # later tests start at the usual size


def unnamed_in_tree(window: QWidget) -> list[str]:
    """Focusable, shown controls in the window's accessibility tree that have no name."""
    root = QAccessible.queryAccessibleInterface(window)
    assert root is not None and root.isValid()
    missing: list[str] = []
    seen = 0

    def walk(node: QAccessibleInterface, path: str) -> None:
        nonlocal seen
        seen += 1
        state = node.state()
        role = node.role()
        widget = node.object()
        # Qt's own "invisible" flag is unreliable off screen: ask the widget behind the node.
        hidden = isinstance(widget, QWidget) and not widget.isVisibleTo(window)
        if role in _ITEMS or hidden:
            return
        name = node.text(QAccessible.Text.Name).strip()
        if role in INTERACTIVE and state.focusable and not state.disabled and not name:
            missing.append(f"{path}/{role.name}")
        for index in range(node.childCount()):
            child = node.child(index)
            if child is not None and child.isValid():
                walk(child, f"{path}/{name or role.name}")

    walk(root, "window")
    assert seen > 20  # the tree was really walked
    return missing


def chat_window(open_window: OpenWindow, data_dir: Path, stories260k: Path) -> MainWindow:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    window.resize(1024, 768)
    window.chat_tab.settings_panel.set_settings(GenerationSettings(max_tokens=20, seed=4))
    return window


def test_every_tab_names_each_control_in_the_accessibility_tree(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = chat_window(open_window, data_dir, stories260k)
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        qtbot.wait(50)
        assert unnamed_in_tree(window) == [], window.tabs.tabText(index)


def test_the_chat_tab_is_usable_with_the_keyboard_alone(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = chat_window(open_window, data_dir, stories260k)
    tab = window.chat_tab
    window.activateWindow()
    tab.conversations.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)
    reached: list[QWidget] = []
    for _ in range(80):
        focused = QApplication.focusWidget()
        assert focused is not None
        if focused in reached:
            break
        reached.append(focused)
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
    # Every control of the Chat tab a person may need is on the Tab path.
    expected = {
        "conversation list": tab.conversations.list,
        "new chat": tab.conversations.new_button,
        "model": tab.model_picker.combo,
        "documents": tab.documents.picker,
        "message box": tab.composer.input,
        "send": tab.composer.send_button,
        "system prompt": tab.settings_panel.system_prompt_edit,
        "prompt format": tab.prompt_format,
    }
    missed = [
        name
        for name, widget in expected.items()
        if not any(w is widget or widget.isAncestorOf(w) for w in reached)
    ]
    assert missed == []

    # Tab to the message box, type, press Enter: the answer comes without the mouse.
    focused = QApplication.focusWidget()
    for _ in range(80):
        if focused is tab.composer.input:
            break
        qtbot.keyClick(focused, Qt.Key.Key_Tab)
        focused = QApplication.focusWidget()
    assert focused is tab.composer.input
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        qtbot.keyClicks(focused, "Once upon a time")
        qtbot.keyClick(focused, Qt.Key.Key_Return)
    assert [v.message.role for v in tab.transcript.views()] == ["user", "assistant"]


def test_the_chat_tab_fits_1024_by_768_at_large_text_sizes(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = chat_window(open_window, data_dir, stories260k)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    start = QApplication.font().pointSize()
    for _ in range(5):
        qtbot.keyClick(
            QApplication.focusWidget() or window,
            Qt.Key.Key_Plus,
            Qt.KeyboardModifier.ControlModifier,
        )
    assert QApplication.font().pointSize() >= start + 4
    qtbot.wait(200)
    window.grab().save("/tmp/chat_large_text_1024.png")
    assert window.width() <= 1024 and window.height() <= 768
    assert sticking_out(window) == []
    assert cut_texts(window) == []
