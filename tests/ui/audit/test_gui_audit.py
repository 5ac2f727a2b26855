"""The Audit trail dialog on a real window: opened from the File menu, verified, exported."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from localai_desktop.ui.audit.dialog import AuditDialog
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.session_support import chat, import_model

STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_menu_action(window: MainWindow, text: str) -> QAction:
    file_menu = window.menuBar().actions()[0].menu()
    return next(a for a in file_menu.actions() if a.text().replace("&", "") == text)


def open_audit_trail(window: MainWindow, qtbot: QtBot, entries: int) -> AuditDialog:
    file_menu_action(window, "Audit trail…").trigger()
    dialog = window.audit_dialog
    assert dialog is not None
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: dialog.table_model.rowCount() == entries)
    return dialog


def delete_current_conversation(window: MainWindow, qtbot: QtBot) -> None:
    panel = window.chat_tab.conversations
    qtbot.mouseClick(panel.delete_button, Qt.MouseButton.LeftButton)
    box = panel.findChild(QMessageBox)
    assert box is not None
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    with qtbot.waitSignal(panel.delete_requested):
        qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)


def cell(dialog: AuditDialog, row: int, column: int) -> str:
    return str(dialog.table_model.index(row, column).data())


def test_the_audit_trail_lists_verifies_and_exports_what_happened_in_the_window(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    kept_question = "Once upon a time"
    kept = chat(qtbot, window, kept_question)
    qtbot.mouseClick(window.chat_tab.conversations.new_button, Qt.MouseButton.LeftButton)
    gone = chat(qtbot, window, "The cat sat")
    delete_current_conversation(window, qtbot)  # to the Trash: not deleted yet
    window.workspace.conversations.delete(gone.conversation_id)  # emptied from the Trash

    dialog = open_audit_trail(window, qtbot, entries=3)
    assert dialog.count_label.text() == "3 entries"
    # Newest first: the deletion, then the two answers, each with its model and short hashes.
    assert cell(dialog, 0, 0) == "3"
    assert cell(dialog, 0, 2) == "Conversation deleted (2 messages)"
    assert cell(dialog, 0, 3) == str(gone.conversation_id)
    assert cell(dialog, 2, 2) == "Answer, complete"
    assert cell(dialog, 2, 3) == f"{kept.conversation_id} / {kept.id}"
    assert cell(dialog, 2, 4) == "Stories"
    tooltip = dialog.table_model.index(2, 4).data(Qt.ItemDataRole.ToolTipRole)
    assert tooltip == "Model file sha256: " + STORIES_SHA256
    question, answer = sha256(kept_question), sha256(kept.content)
    assert cell(dialog, 2, 5) == f"Q {question[:8]} A {answer[:8]}"

    with qtbot.waitSignal(dialog.verified) as verified:
        qtbot.mouseClick(dialog.verify_button, Qt.MouseButton.LeftButton)
    assert verified.args[0].ok
    assert dialog.banner.text() == "All 3 entries check out."

    dialog.choose_file = lambda _parent, _suggested: tmp_path / "trail.csv"
    with qtbot.waitSignal(dialog.exported):
        qtbot.mouseClick(dialog.export_button, Qt.MouseButton.LeftButton)
    assert dialog.banner.text().startswith(
        f"Saved the audit trail (3 entries, CSV) to {tmp_path / 'trail.csv'}."
    )
    with (tmp_path / "trail.csv").open(newline="", encoding="utf-8") as f:
        kinds = [row["kind"] for row in csv.DictReader(f)]
    assert kinds == ["answer", "answer", "conversation_deleted"]
    qtbot.waitUntil(lambda: dialog.table_model.rowCount() == 4)  # the export is on the trail
    assert cell(dialog, 0, 2) == "Audit trail exported as CSV (3 entries)"


def test_verify_names_an_answer_changed_behind_the_apps_back(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    changed = chat(qtbot, window, "Once upon a time")
    chat(qtbot, window, "And then?")
    raw = sqlite3.connect(data_dir / "localai.db")
    raw.execute("UPDATE messages SET content = 'The end.' WHERE id = ?", (changed.id,))
    raw.commit()
    raw.close()

    dialog = open_audit_trail(window, qtbot, entries=2)
    with qtbot.waitSignal(dialog.verified) as verified:
        qtbot.mouseClick(dialog.verify_button, Qt.MouseButton.LeftButton)
    assert verified.args[0].first_bad_entry == 1
    assert dialog.banner.kind() == "error"
    assert dialog.banner.text().startswith(
        f"Entry 1 does not match: the answer of message {changed.id} was changed after it was "
        "written. What is stored no longer matches what was recorded"
    )
    [selected] = dialog.table.selectionModel().selectedRows()
    assert cell(dialog, selected.row(), 0) == "1"  # the entry is shown, not just named

    # Closed and opened again, it reads the trail again and forgets the old verdict.
    dialog.close()
    reopened = open_audit_trail(window, qtbot, entries=2)
    assert reopened is dialog and dialog.banner.text() == ""
    controls = (QAbstractButton, QAbstractItemView)
    unnamed = [
        type(w).__name__
        for w in dialog.findChildren(QWidget)
        if isinstance(w, controls) and not w.accessibleName()
        and not w.objectName().startswith("qt_") and type(w).__name__ != "QAbstractButton"
    ]  # fmt: skip
    assert unnamed == []  # a screen reader can name every control
