"""“Speed here…” in the Models tab: both weight layouts measured off the GUI thread and kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.speed.layout import WEIGHT_LAYOUT_KEY, Work, prefers_plain_layout
from localai_desktop.ui.models.layout_dialog import LayoutDialog
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.gui_support import OpenWindow, window_opener

MEASURE_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def _open_dialog(qtbot: QtBot, window: MainWindow, stories260k: Path) -> LayoutDialog:
    window.registry.import_model(stories260k, name="st", probe=False)
    tab = window.models_tab
    tab.refresh()
    tab.table.selectRow(0)
    assert tab.layout_button.isEnabled()
    qtbot.mouseClick(tab.layout_button, Qt.MouseButton.LeftButton)
    dialog = tab.layout_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_measuring_shows_both_layouts_and_keeps_the_choice(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    dialog = _open_dialog(qtbot, window, stories260k)
    assert "Not measured on this computer yet" in dialog.result_label.text()
    assert dialog.selected_work() is Work.DOCUMENTS

    qtbot.mouseClick(dialog.measure_button, Qt.MouseButton.LeftButton)
    assert dialog.is_measuring() and not dialog.measure_button.isEnabled()
    assert dialog.close_button.text() == "Cancel"
    qtbot.waitUntil(lambda: not dialog.is_measuring(), timeout=MEASURE_TIMEOUT_MS)

    text = dialog.result_label.text()
    assert "Rearranged by llama.cpp: reads a prompt at" in text
    assert "The file's own layout: reads a prompt at" in text
    assert "Used: " in text and "document question" in text
    model = window.registry.get("st")
    assert model.source[WEIGHT_LAYOUT_KEY]["work"] == "documents"
    assert prefers_plain_layout(model) == dialog.choice.plain_is_faster  # type: ignore[union-attr]

    # Choosing the other work re-decides from the same figures, without measuring again.
    dialog.chat_button.setChecked(True)
    assert not dialog.is_measuring()
    assert "chat turn" in dialog.result_label.text()
    assert window.registry.get("st").source[WEIGHT_LAYOUT_KEY]["work"] == "chat"

    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        dialog.grab().save(str(tmp_path / f"layout-{size[0]}.png"))
    assert dialog.result_label.width() <= dialog.width()


def test_cancel_stops_measuring_and_changes_nothing(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    dialog = _open_dialog(qtbot, window, stories260k)
    qtbot.mouseClick(dialog.measure_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)  # "Cancel"
    qtbot.waitUntil(lambda: not dialog.is_measuring(), timeout=MEASURE_TIMEOUT_MS)

    assert "cancelled" in dialog.progress_text.text()
    assert WEIGHT_LAYOUT_KEY not in window.registry.get("st").source
    assert dialog.measure_button.isEnabled()
