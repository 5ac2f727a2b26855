"""“Make a smaller copy…” in the Models tab: the table of types, progress, the copy, Cancel."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from localai_desktop.ui.models.quantize_dialog import COLUMNS, QuantizeDialog
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support import gguf_factory
from tests.support.gui_support import OpenWindow, window_opener

QUANTIZE_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def open_dialog_on_f16_model(
    qtbot: QtBot, window: MainWindow, stories260k: Path, folder: Path, *, n_embd: int = 256
) -> QuantizeDialog:
    path = gguf_factory.write_random_llama(
        folder / f"tiny-{n_embd}-F16.gguf",
        tokenizer_from=stories260k,
        n_embd=n_embd,
        n_layers=2 if n_embd == 256 else 8,
        n_head=4,
        n_head_kv=2,
        n_ff=2 * n_embd,
        dtype="f16",
        name=f"Tiny {n_embd} F16",
    )
    window.registry.import_model(path)
    tab = window.models_tab
    tab.refresh()
    tab.table.selectRow(0)
    assert tab.quantize_button.isEnabled()
    qtbot.mouseClick(tab.quantize_button, Qt.MouseButton.LeftButton)
    dialog = tab.quantize_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def cell(dialog: QuantizeDialog, row: int, heading: str) -> str:
    column = [c[0] for c in COLUMNS].index(heading)
    return str(dialog.options_model.index(row, column).data())


def test_the_table_shows_size_memory_speed_and_quality_per_type(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    dialog = open_dialog_on_f16_model(qtbot, window, stories260k, tmp_path)

    types = [cell(dialog, row, "Type") for row in range(dialog.options_model.rowCount())]
    assert types == ["Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "IQ4_XS"]
    q4 = types.index("Q4_K_M")
    assert dialog.selected_option() is not None
    assert dialog.selected_option().target.name == "Q4_K_M"  # type: ignore[union-attr]
    assert dialog.name_edit.text() == "Tiny 256 Q4_K_M"
    assert cell(dialog, q4, "Size").startswith("about ")
    assert "tokens/s" in cell(dialog, q4, "Speed here")
    assert cell(dialog, q4, "Quality loss") == "noticeable on hard tasks (+0.1754 perplexity)"
    assert "no published figure" in cell(dialog, types.index("IQ4_XS"), "Quality loss")
    assert "llama.cpp's quantize tool" in " ".join(
        label.text() for label in dialog.findChildren(type(dialog.progress_text))
    )
    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        dialog.grab().save(str(tmp_path / f"quantize-{size[0]}.png"))


def test_making_a_copy_adds_it_to_the_list(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    dialog = open_dialog_on_f16_model(qtbot, window, stories260k, tmp_path)
    dialog.select_type("Q8_0")

    with qtbot.waitSignal(dialog.copy_made, timeout=QUANTIZE_TIMEOUT_MS):
        qtbot.mouseClick(dialog.make_button, Qt.MouseButton.LeftButton)
        assert dialog.progress_bar.isVisible() and not dialog.make_button.isEnabled()

    tab = window.models_tab
    qtbot.waitUntil(lambda: tab.quantize_dialog is None)
    names = [tab.table_model.model_at(r).name for r in range(tab.table_model.rowCount())]
    assert names == ["Tiny 256 F16", "Tiny 256 Q8_0"]
    assert tab.selected_model().name == "Tiny 256 Q8_0"  # type: ignore[union-attr]
    assert "loaded and answered" in tab.banner.text()


def test_cancel_stops_the_copy_and_leaves_no_file(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    dialog = open_dialog_on_f16_model(qtbot, window, stories260k, tmp_path, n_embd=1024)
    dialog.select_type("IQ4_XS")
    worker_started = dialog.make_button.clicked

    with qtbot.waitSignal(worker_started):
        qtbot.mouseClick(dialog.make_button, Qt.MouseButton.LeftButton)
    worker = dialog._worker
    assert worker is not None
    qtbot.waitUntil(lambda: dialog.progress_bar.maximum() > 0, timeout=QUANTIZE_TIMEOUT_MS)
    with qtbot.waitSignal(worker.finished, timeout=30_000):
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)

    assert dialog.isVisible()  # stays open to say what happened
    assert "Cancelled" in dialog.error_label.text()
    assert list(window.registry.models_dir.glob("*")) == []
    assert [m.name for m in window.registry.list()] == ["Tiny 1024 F16"]
