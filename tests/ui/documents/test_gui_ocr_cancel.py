"""Cancel in the Documents tab while a scanned page is being recognised stops at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.support import scans
from tests.support.gui_support import OpenWindow, window_opener
from tests.ui.documents.test_gui_documents import (
    INDEXING_TIMEOUT_MS,
    create_collection,
    documents_tab,
    import_models,
    statuses,
)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def test_cancel_during_a_slow_scanned_page_stops_within_a_second(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir)
    dense = scans.render_page(
        "\n".join(scans.REFERRAL_PAGES * 12), dpi=200, points=9, width_chars=95
    )  # about 15 s to recognise on 2 cores
    pages = [scans.render_page(scans.REFERRAL_PAGES[0]), dense]
    scan = scans.save_image_pdf(tmp_path / "long-letter.pdf", pages)
    window = open_window(data_dir)
    tab = documents_tab(window)
    create_collection(qtbot, tab, "Letters")
    tab.add_paths([str(scan)])
    qtbot.waitUntil(
        lambda: "page 2 of 2" in tab.indexing_panel.detail.text(), timeout=INDEXING_TIMEOUT_MS
    )
    qtbot.wait(500)  # well into the slow page
    assert tab.is_indexing()
    pressed = time.perf_counter()
    qtbot.mouseClick(tab.indexing_panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_indexing(), timeout=10_000)
    assert time.perf_counter() - pressed < 1.5  # not the 15 s the page would have taken
    assert "Indexing stopped" in tab.banner.text()
    assert statuses(tab)["long-letter.pdf"][0] == "Stopped part-way"
