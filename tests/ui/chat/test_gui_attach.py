"""Files attached to a question in the window: the paperclip, drag and drop (file URLs), chips
that take a file off, plain refusals, and the file kept with the question (real stories260K)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.attachments import AttachmentStore
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support import documents_support as docs
from tests.support.gui_support import OpenWindow, window_opener
from tests.ui.chat.test_gui_chat_tab import import_model, send

ANSWER_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def files_mime(*paths: Path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(window: MainWindow, *paths: Path) -> None:
    """Drop files on the chat, as a file manager would."""
    tab = window.chat_tab
    mime = files_mime(*paths)  # kept alive: the event only points at it
    event = QDropEvent(
        QPointF(tab.width() / 2, tab.height() / 3),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    tab.dropEvent(event)
    assert event.isAccepted()


def test_dropped_and_chosen_files_show_as_chips_and_go_with_the_question(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=20, seed=4, context_length=2048))
    bar = tab.composer.attachments
    note = tmp_path / "note.txt"
    note.write_text("The tenant pays the water bill.\n", "utf-8")
    page = tmp_path / "page.md"
    page.write_text("# Repairs\n\nThe landlord pays for repairs.\n", "utf-8")
    odd = tmp_path / "weights.bin"
    odd.write_bytes(b"\0")

    assert not bar.isVisible()
    drop(window, note)
    # Dropped on the message box: attached, never pasted as a file name.
    tab.composer.input.insertFromMimeData(files_mime(note))
    assert tab.composer.text() == ""
    bar.choose_files = lambda _parent: [str(page)]
    bar.paperclip.click()
    assert [p.name for p in bar.paths()] == ["note.txt", "page.md"]
    assert bar.isVisible() and [c.text() for c in bar.chips()] == [
        "note.txt  ✕",
        "page.md  ✕",
    ]
    drop(window, odd)
    assert "weights.bin cannot be attached" in tab.banner.text()
    assert len(bar.paths()) == 2
    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        qtbot.wait(50)
        window.grab().save(f"/tmp/attach-chips-{size[0]}x{size[1]}.png")
        for chip in bar.chips():
            assert chip.geometry().right() <= bar.width()
    bar.chips()[1].click()  # taken off again
    assert [p.name for p in bar.paths()] == ["note.txt"]

    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "Who pays the water bill?")
    assert bar.paths() == [] and not bar.isVisible()
    answer = finished.args[0]
    [used] = answer.provenance["attachments"]
    assert used["name"] == "note.txt" and used["used"] == "whole"
    question = window.store.get(tab.current_conversation_id()).messages[0]
    assert question.content == "Who pays the water bill?"
    [kept] = AttachmentStore(window.workspace.db).for_message(question.id)
    assert kept.name == "note.txt" and "water bill" in kept.text
    # Listed on the question as a chip; a click shows the text the model was given.
    view = tab.transcript.views()[0]
    [chip] = view.attachment_buttons()
    assert chip.text() == "note.txt" and chip.isVisible()
    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        qtbot.wait(50)
        window.grab().save(f"/tmp/attach-question-{size[0]}x{size[1]}.png")
        assert chip.geometry().right() <= view.width()
    chip.click()
    viewer = tab.attachment_viewer
    assert viewer is not None and viewer.isVisible()
    assert "water bill" in viewer.text.toPlainText()
    viewer.close()


def test_a_file_that_cannot_be_read_keeps_the_question_and_the_file_in_the_box(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    drop(window, empty)
    with qtbot.waitSignal(tab.requests.question_not_saved, timeout=30_000):
        send(qtbot, window, "Summarise this")
    assert "empty.txt could not be attached" in tab.banner.text()
    assert tab.composer.text() == "Summarise this"
    assert [p.name for p in tab.composer.attachments.paths()] == ["empty.txt"]
    assert window.store.list() == [] or not window.store.get(window.store.list()[0].id).messages


def test_a_long_file_is_indexed_off_the_gui_thread_and_its_passages_cited(
    open_window: OpenWindow,
    data_dir: Path,
    stories260k: Path,
    models_dir: Path,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    import_model(data_dir, models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", "minilm")
    stories = import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    tab.model_picker.select(stories)
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=20, seed=4, context_length=2048))
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    drop(window, pdf)
    busy: list[str] = []
    tab.requests.attachments_indexing.connect(busy.append)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, "How quickly must antibiotics be given in sepsis?")
        assert tab.requests.is_searching()  # Enter returned at once; indexing runs elsewhere
    assert busy and busy[0] == "Reading guideline.pdf…"
    answer = finished.args[0]
    sources = answer.provenance["sources"]
    assert sources and sources[0]["file_name"] == "guideline.pdf" and sources[0]["page"] == 7
    # The conversation's own collection is not among the person's collections.
    assert window.workspace.documents.list() == []
    view = tab.transcript.views()[0]
    assert [c.text() for c in view.attachment_buttons()] == ["guideline.pdf"]


def test_stop_while_a_long_file_is_indexed_asks_nothing_and_keeps_the_question(
    open_window: OpenWindow,
    data_dir: Path,
    stories260k: Path,
    models_dir: Path,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    import_model(data_dir, models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", "minilm")
    stories = import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = window.chat_tab
    tab.model_picker.select(stories)
    pdf = docs.write_pdf(tmp_path / "big.pdf", docs.GUIDELINE_PAGES * 8, filler=6)
    drop(window, pdf)
    busy: list[str] = []
    tab.requests.attachments_indexing.connect(busy.append)
    answers: list[object] = []
    tab.answer_finished.connect(answers.append)
    send(qtbot, window, "What does it say about sepsis?")
    qtbot.waitUntil(lambda: bool(busy), timeout=30_000)
    tab.stop()
    assert not tab.requests.is_answering() and not tab.requests.is_searching()
    qtbot.wait(500)
    assert answers == []
    [question] = window.store.get(tab.current_conversation_id()).messages
    assert question.attachments and question.attachments[0][1] == "big.pdf"
