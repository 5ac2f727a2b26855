"""Deleting a conversation moves it to the Trash, with Undo; the Trash restores and empties."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.audit.entries import CONVERSATION_DELETED
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, window_opener


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def delete_current(qtbot: QtBot, window: MainWindow) -> None:
    conversations = window.chat_tab.conversations
    qtbot.mouseClick(conversations.delete_button, Qt.MouseButton.LeftButton)
    box = conversations.findChild(QMessageBox)
    assert box is not None and "Trash" in box.informativeText()
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    with qtbot.waitSignal(conversations.delete_requested):
        qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)


def answer_box(qtbot: QtBot, parent: object, button_text: str) -> None:
    box = next(b for b in parent.findChildren(QMessageBox) if b.isVisible())  # type: ignore[attr-defined]
    button = next(b for b in box.buttons() if b.text() == button_text)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_delete_moves_to_the_trash_and_undo_brings_it_back(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    window.tabs.setCurrentWidget(tab)  # without a model the window opens on the Models tab
    lease = window.store.create("Lease")
    window.store.add_message(lease.id, "user", "About the lease")
    tab.refresh_conversations()
    tab.select_conversation(lease.id)
    delete_current(qtbot, window)
    assert tab.conversations.ids() == [] and [c.id for c in window.store.trashed()] == [lease.id]
    assert tab.undo_notice.isVisible() and "“Lease” moved to the Trash" in (
        tab.undo_notice.label.text()
    )
    qtbot.mouseClick(tab.undo_notice.undo_button, Qt.MouseButton.LeftButton)
    assert tab.conversations.ids() == [lease.id] and window.store.trashed() == []
    assert tab.current_conversation_id() == lease.id and not tab.undo_notice.isVisible()


def test_the_trash_restores_and_empties_after_asking(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.chat_tab
    window.tabs.setCurrentWidget(tab)  # without a model the window opens on the Models tab
    keep = window.store.create("Keep me")
    gone = window.store.create("Gone for good")
    window.store.trash(keep.id)
    window.store.trash(gone.id)
    tab.refresh_conversations()
    qtbot.mouseClick(tab.conversations.trash_button, Qt.MouseButton.LeftButton)
    dialog = tab.trash_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.titles() == ["Gone for good", "Keep me"]
    dialog.select_title("Keep me")
    qtbot.mouseClick(dialog.restore_button, Qt.MouseButton.LeftButton)
    assert dialog.titles() == ["Gone for good"] and tab.conversations.ids() == [keep.id]

    qtbot.mouseClick(dialog.empty_button, Qt.MouseButton.LeftButton)
    answer_box(qtbot, dialog, "Keep")  # asked first: keeping changes nothing
    assert dialog.titles() == ["Gone for good"]
    qtbot.mouseClick(dialog.empty_button, Qt.MouseButton.LeftButton)
    answer_box(qtbot, dialog, "Empty trash")
    qtbot.waitUntil(lambda: dialog.titles() == [])
    assert not dialog.empty_button.isEnabled()
    assert window.workspace.audit is not None
    deleted = [e.conversation_id for e in window.workspace.audit.entries()
               if e.kind == CONVERSATION_DELETED]  # fmt: skip
    assert deleted == [gone.id]
    dialog.resize(520, 420)
    dialog.grab().save("/tmp/records-screens/trash-dialog.png")
