"""The Models tab with real files: import (good and bad), cancel, the table, remove."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from localai_desktop.ui.models.model_import import ImportModelDialog
from localai_desktop.ui.models.model_table import COLUMNS
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, window_opener

IMPORT_TIMEOUT_MS = 60_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def row_texts(window: MainWindow, row: int = 0) -> dict[str, str]:
    table = window.models_tab.table_model
    return {COLUMNS[column][0]: table.index(row, column).data() for column in range(len(COLUMNS))}


def import_through_the_tab(qtbot: QtBot, window: MainWindow, path: Path, *, copy: bool) -> None:
    """Click Import, pick the file, choose in the dialog, click Import; wait for the end."""
    tab = window.models_tab
    qtbot.mouseClick(tab.import_button, Qt.MouseButton.LeftButton)
    file_dialog = tab.findChild(QFileDialog)
    assert file_dialog is not None and file_dialog.isVisible()
    file_dialog.selectFile(str(path))
    file_dialog.accept()
    dialog = tab.findChild(ImportModelDialog)
    assert dialog is not None
    assert dialog.model_name() == path.stem  # prefilled
    assert dialog.in_place.isChecked() and not dialog.copy.isChecked()  # in place by default
    dialog.set_model_name("My stories")
    if copy:
        qtbot.mouseClick(dialog.copy, Qt.MouseButton.LeftButton)
    import_button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Import")
    with qtbot.waitSignal(tab.import_ended, timeout=IMPORT_TIMEOUT_MS):
        qtbot.mouseClick(import_button, Qt.MouseButton.LeftButton)


def answer_remove_box(qtbot: QtBot, window: MainWindow, *, delete_file: bool) -> None:
    box = window.models_tab.findChild(QMessageBox)
    assert box is not None and box.isVisible()
    assert not box.checkBox().isChecked()  # deleting the file is opt-in
    if delete_file:
        box.checkBox().setChecked(True)
    remove = next(b for b in box.buttons() if b.text() == "Remove")
    with qtbot.waitSignal(window.models_tab.models_changed):
        qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)


def test_importing_a_good_file_shows_a_row_with_its_metadata(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    assert window.tabs.currentWidget() is window.models_tab  # no model yet: start here
    assert window.models_tab.empty_label.isVisible()

    import_through_the_tab(qtbot, window, stories260k, copy=True)

    tab = window.models_tab
    assert tab.banner.kind() == "info" and "My stories" in tab.banner.text()
    assert row_texts(window) == {
        "Name": "My stories",
        "Architecture": "llama",
        "Parameters": "293K",
        "Quantization": "F32",
        "Context": "2,048",
        "File size": "1.1 MB",
        "License": "—",
        "Chat template": "No",
        "File": "In the app's folder",
    }
    assert not tab.empty_label.isVisible()
    assert (data_dir / "models" / "stories260K.gguf").is_file()
    # The Chat tab heard about it: the model is there to pick.
    assert window.chat_tab.model_picker.count() == 1
    assert not window.chat_tab.no_models.isVisible()


@pytest.mark.parametrize(
    ("make_file", "expected"),
    [
        (lambda good: os.urandom(100_000), "is not a GGUF model file"),
        (lambda good: good.read_bytes()[: good.stat().st_size // 2], "is incomplete"),
        (lambda good: b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF document"),
        (lambda good: b"", "is empty"),
    ],
    ids=["random-bytes", "truncated", "renamed-pdf", "empty"],
)
def test_importing_a_bad_file_shows_why_and_the_app_keeps_running(
    open_window: OpenWindow,
    data_dir: Path,
    stories260k: Path,
    tmp_path: Path,
    qtbot: QtBot,
    make_file: object,
    expected: str,
) -> None:
    bad = tmp_path / "model.gguf"
    bad.write_bytes(make_file(stories260k))  # type: ignore[operator]
    window = open_window(data_dir)
    tab = window.models_tab

    with qtbot.waitSignal(tab.import_ended, timeout=IMPORT_TIMEOUT_MS) as ended:
        tab.start_import(bad, "Bad", copy=False)

    assert ended.args[0] is False
    assert expected in tab.banner.text() and tab.banner.kind() == "error"
    assert "Traceback" not in tab.banner.text()
    assert tab.table_model.rowCount() == 0
    assert tab.import_button.isEnabled() and not tab.progress.isVisible()
    # Still working: the next, good file goes in.
    with qtbot.waitSignal(tab.import_ended, timeout=IMPORT_TIMEOUT_MS) as ended:
        tab.start_import(stories260k, "Stories", copy=False)
    assert ended.args[0] is True
    assert tab.table_model.rowCount() == 1


def test_a_cancelled_import_adds_nothing(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.models_tab
    with qtbot.waitSignal(tab.import_ended, timeout=IMPORT_TIMEOUT_MS) as ended:
        tab.start_import(stories260k, "Stories", copy=True)
        assert tab.is_importing() and not tab.import_button.isEnabled()
        tab.cancel_button.click()
    assert ended.args == [False, "The import was cancelled. Nothing was added."]
    assert tab.table_model.rowCount() == 0
    assert list((data_dir / "models").iterdir()) == []


def test_removing_a_copied_model_can_delete_its_file(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.models_tab
    import_through_the_tab(qtbot, window, stories260k, copy=True)
    copied = data_dir / "models" / "stories260K.gguf"
    tab.table.selectRow(0)
    assert tab.remove_button.isEnabled()

    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    box = tab.findChild(QMessageBox)
    assert "app's model folder" in box.informativeText()
    answer_remove_box(qtbot, window, delete_file=True)

    assert tab.table_model.rowCount() == 0
    assert not copied.exists()
    assert window.chat_tab.model_picker.count() == 0
    assert not window.chat_tab.no_models.isHidden()


def test_removing_a_model_keeps_its_file_unless_asked(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = window.models_tab
    with qtbot.waitSignal(tab.import_ended, timeout=IMPORT_TIMEOUT_MS):
        tab.start_import(stories260k, "Stories", copy=False)
    tab.table.selectRow(0)
    qtbot.mouseClick(tab.remove_button, Qt.MouseButton.LeftButton)
    answer_remove_box(qtbot, window, delete_file=False)
    assert tab.table_model.rowCount() == 0
    assert stories260k.is_file()


def test_a_model_whose_file_is_gone_is_marked_missing(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    moved = tmp_path / "stories.gguf"
    moved.write_bytes(stories260k.read_bytes())
    window = open_window(data_dir)
    tab = window.models_tab
    with qtbot.waitSignal(tab.import_ended, timeout=IMPORT_TIMEOUT_MS):
        tab.start_import(moved, "Stories", copy=False)
    moved.unlink()
    tab.refresh()

    assert row_texts(window)["File"] == "Missing"
    name = tab.table_model.index(0, 0)
    assert "missing" in name.data(Qt.ItemDataRole.ToolTipRole)
    assert name.data(Qt.ItemDataRole.DecorationRole) is not None
