"""Removing documents in the Documents tab: Remove button, context menu and Delete key."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.ui.documents.tab import DocumentsTab
from tests.support import documents_support as docs
from tests.support.gui_support import OpenWindow, window_opener
from tests.ui.documents.test_gui_documents import (
    INDEXING_TIMEOUT_MS,
    documents_tab,
    import_models,
    index_collection,
    screenshot,
    statuses,
    wait_until_indexed,
)

_LEFT = Qt.MouseButton.LeftButton
CODE = "QX77ZB"  # only the wrong patient's letter holds it


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def write_letters(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    wrong = folder / "letter-wrong-patient.txt"
    wrong.write_text(f"Discharge letter for patient {CODE}, who broke a wrist.\n", "utf-8")
    other = folder / "letter-x-ray.txt"
    other.write_text("The x-ray of the left knee shows no fracture.\n", "utf-8")
    return [wrong, other, docs.write_markdown(folder / "asthma.md")]


def keyword_matches(data_dir: Path, query: str) -> int:
    """Passages the FTS5 index of the database file lists for `query`."""
    with sqlite3.connect(data_dir / "localai.db") as raw:
        return int(
            raw.execute(
                "SELECT count(*) FROM doc_chunks_fts WHERE doc_chunks_fts MATCH ?", (query,)
            ).fetchone()[0]
        )


def select_rows(qtbot: QtBot, tab: DocumentsTab, *names: str) -> None:
    """Click the first name, Ctrl+click the others (as a person selects several rows)."""
    table = tab.view.table
    for number, name in enumerate(names):
        row = tab.table_model.row_of(name)
        rect = table.visualRect(tab.table_model.index(row, 0))
        modifier = Qt.KeyboardModifier.ControlModifier if number else Qt.KeyboardModifier.NoModifier
        qtbot.mouseClick(table.viewport(), _LEFT, modifier, rect.center())


def press_delete(qtbot: QtBot, tab: DocumentsTab) -> None:
    """Press Delete in the table, its window active as when a person types."""
    window = tab.window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    tab.view.table.setFocus()
    qtbot.keyClick(tab.view.table, Qt.Key.Key_Delete)


def confirmation(qtbot: QtBot, tab: DocumentsTab) -> QMessageBox:
    qtbot.waitUntil(lambda: any(w.isVisible() for w in tab.findChildren(QMessageBox)))
    return next(w for w in tab.findChildren(QMessageBox) if w.isVisible())


def answer(qtbot: QtBot, box: QMessageBox, choice: str) -> None:
    button = next(b for b in box.buttons() if b.text() == choice)
    qtbot.mouseClick(button, _LEFT)
    qtbot.waitUntil(lambda: not box.isVisible())


# A menu grabs the keyboard while it is open; the offscreen platform cannot, and says so.
@pytest.mark.qt_log_ignore("This plugin does not support grabbing the keyboard")
def test_a_wrong_file_is_removed_after_a_question_naming_it_and_is_found_no_more(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir)
    wrong, other, _ = write_letters(tmp_path / "patient")
    index_collection(data_dir, "Patient 12", [wrong, other, tmp_path / "patient" / "asthma.md"])
    window = open_window(data_dir)
    tab = documents_tab(window)
    assert sorted(statuses(tab)) == ["asthma.md", wrong.name, other.name]
    assert not tab.view.remove_button.isEnabled()  # nothing chosen yet
    assert keyword_matches(data_dir, CODE) == 1

    # The Remove button asks first, naming the file; Keep keeps it.
    select_rows(qtbot, tab, wrong.name)
    assert tab.view.remove_button.isEnabled()
    for size in ((800, 600), (1024, 700)):
        window.resize(*size)
        qtbot.waitUntil(lambda size=size: window.size().width() == size[0])
        assert tab.view.remove_button.isVisible()
        assert tab.view.remove_button.visibleRegion().boundingRect().width() == (
            tab.view.remove_button.width()
        )  # not cut off at the window's edge
        screenshot(window, f"documents-remove-{size[0]}x{size[1]}")
    qtbot.mouseClick(tab.view.remove_button, _LEFT)
    box = confirmation(qtbot, tab)
    assert box.text() == f"Remove “{wrong.name}” from “Patient 12”?"
    assert "The file itself stays where it is on this computer" in box.informativeText()
    assert "keep their quotes" in box.informativeText()
    box.grab().save(str(screenshot(window, "documents-remove-question")))
    answer(qtbot, box, "Keep")
    assert wrong.name in statuses(tab)

    # The Delete key on the table asks the same; Remove takes it out.
    press_delete(qtbot, tab)
    box = confirmation(qtbot, tab)
    assert wrong.name in box.text()
    answer(qtbot, box, "Remove")
    qtbot.waitUntil(lambda: wrong.name not in statuses(tab))
    assert tab.banner.text() == (
        f"Removed “{wrong.name}” from “Patient 12”: searches and chats no longer find it. "
        "The file itself was not touched."
    )
    assert tab.view.summary.text().startswith("2 documents ·")
    assert window.documents.search(["Patient 12"], CODE, mode="bm25") == []
    assert keyword_matches(data_dir, CODE) == 0 and keyword_matches(data_dir, "wrist") == 0
    assert wrong.is_file()

    # The context menu of a row offers the same, and several rows go at once.
    select_rows(qtbot, tab, other.name, "asthma.md")
    table = tab.view.table
    rect = table.visualRect(tab.table_model.index(tab.table_model.row_of("asthma.md"), 0))
    QApplication.sendEvent(
        table.viewport(),
        QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse,
            rect.center(),
            table.viewport().mapToGlobal(rect.center()),
        ),
    )
    menu = tab.view.context_menu
    assert menu is not None
    qtbot.waitUntil(menu.isVisible)
    [action] = menu.actions()
    assert action.text() == "Remove from the collection…"
    qtbot.mouseClick(menu, _LEFT, pos=menu.actionGeometry(action).center())
    box = confirmation(qtbot, tab)
    assert box.text() == "Remove these 2 documents from “Patient 12”?"
    assert f"• {other.name}" in box.informativeText() and "• asthma.md" in box.informativeText()
    answer(qtbot, box, "Remove")
    qtbot.waitUntil(lambda: statuses(tab) == {})
    assert tab.banner.text().startswith("Removed 2 documents from “Patient 12”")
    assert keyword_matches(data_dir, "salbutamol OR fracture") == 0
    assert not tab.view.remove_button.isEnabled()


def test_a_file_removed_while_its_collection_indexes_does_not_come_back(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir)
    index_collection(data_dir, "Patient 12", [])
    long_pdf = docs.write_pdf(tmp_path / "a-wrong-patient.pdf", docs.GUIDELINE_PAGES * 8, filler=3)
    note = docs.write_markdown(tmp_path / "b-asthma.md")
    window = open_window(data_dir)
    tab = documents_tab(window)

    tab.add_paths([str(long_pdf), str(note)])
    qtbot.waitUntil(
        lambda: statuses(tab).get(long_pdf.name, ("",))[0].startswith("Indexing"),
        timeout=INDEXING_TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: keyword_matches(data_dir, "hygiene") > 0, timeout=INDEXING_TIMEOUT_MS)
    select_rows(qtbot, tab, long_pdf.name)
    press_delete(qtbot, tab)
    answer(qtbot, confirmation(qtbot, tab), "Remove")
    assert tab.is_indexing() or statuses(tab)[note.name][0] == "Indexed"

    wait_until_indexed(qtbot, tab)
    assert statuses(tab) == {note.name: ("Indexed", "")}
    assert tab.banner.text() == "Done: 1 of 1 documents are indexed."
    assert keyword_matches(data_dir, "sepsis OR hygiene OR antibiotics") == 0
    assert window.documents.search(["Patient 12"], "hand hygiene", mode="bm25") == []
    assert window.documents.search(["Patient 12"], "salbutamol spacer")[0].file_name == note.name
