"""Attached files follow the conversation in the window: a follow-up is answered from a long
file attached to an earlier question (searched on the embedding worker), a conversation brought
back by a data import has its long files indexed again in the background, and a long file's
chip opens the passage viewer the citations use (real stories260K and MiniLM)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.datafolder.backup import export_backup, import_backup
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support import documents_support as docs
from tests.support.gui_support import OpenWindow, window_opener
from tests.ui.chat.test_gui_attach import ANSWER_TIMEOUT_MS, drop
from tests.ui.chat.test_gui_chat_tab import import_model, send

SEPSIS = "How quickly must antibiotics be given in sepsis?"
SETTINGS = GenerationSettings(max_tokens=20, seed=4, context_length=2048)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def ready_window(open_window: OpenWindow, data_dir: Path, models_dir: Path) -> MainWindow:
    import_model(data_dir, models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", "minilm")
    stories = import_model(data_dir, models_dir / "stories260K.gguf", "Stories")
    window = open_window(data_dir)
    window.chat_tab.model_picker.select(stories)
    window.chat_tab.settings_panel.set_settings(SETTINGS)
    return window


def test_a_follow_up_is_answered_from_a_long_file_of_an_earlier_question(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = ready_window(open_window, data_dir, models_dir)
    tab = window.chat_tab
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    note = tmp_path / "note.txt"
    note.write_text("The ward round starts at eight.\n", "utf-8")
    drop(window, pdf, note)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "What is this guideline about?")
    searches: list[bool] = []
    tab.requests.documents_search_started.connect(lambda: searches.append(True))
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, SEPSIS)  # nothing attached this time
    assert searches  # looked up on the embedding worker, before the answer
    answer = finished.args[0]
    sources = answer.provenance["sources"]
    assert sources and sources[0]["file_name"] == "guideline.pdf" and sources[0]["page"] == 7
    used = {a["name"]: a["used"] for a in answer.provenance["attachments"]}
    assert used == {"guideline.pdf": "best passages", "note.txt": "whole"}

    # The long file's chip opens the passage viewer at the passage an answer cited; the short
    # file's chip shows its text, as before.
    question = tab.transcript.views()[0]
    pdf_chip, note_chip = question.attachment_buttons()
    assert (pdf_chip.text(), note_chip.text()) == ("guideline.pdf", "note.txt")
    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        qtbot.wait(50)
        tab.transcript.ensureWidgetVisible(question, 0, 0)
        qtbot.wait(50)
        window.grab().save(f"/tmp/attach2-two-chips-{size[0]}x{size[1]}.png")
        assert note_chip.geometry().right() <= question.width()
    pdf_chip.click()
    viewer = tab.documents.viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.heading.text() == "[1] guideline.pdf, page 7"
    assert "Sepsis" in viewer.browser.toPlainText()
    viewer.close()
    note_chip.click()
    assert tab.attachment_viewer is not None and tab.attachment_viewer.isVisible()
    assert "ward round" in tab.attachment_viewer.text.toPlainText()
    tab.attachment_viewer.close()


def test_a_long_file_s_chip_opens_its_first_passage_when_no_answer_cites_it(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = ready_window(open_window, data_dir, models_dir)
    tab = window.chat_tab
    drop(window, docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4))
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Tell me a story about a dragon.")  # not about the file
    [chip] = tab.transcript.views()[0].attachment_buttons()
    chip.click()
    viewer = tab.documents.viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.heading.text() == "guideline.pdf, page 1"
    viewer.grab().save("/tmp/attach2-chip-viewer.png")


def test_long_files_of_an_imported_conversation_are_indexed_again_in_the_background(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    # The conversation is made in another data folder and comes here through a backup, with
    # its files' text but without their passages (and without the file itself).
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    backup = tmp_path / "backup.json"
    with Workspace.open(tmp_path / "elsewhere") as elsewhere:
        elsewhere.registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="m")
        elsewhere.registry.import_model(models_dir / "stories260K.gguf", name="st")
        service = ChatService(
            elsewhere.conversations,
            elsewhere.registry,
            LlamaEngine(),
            documents=elsewhere.documents,
        )
        conversation = elsewhere.conversations.create("Guideline")
        service.send(conversation.id, "Read this.", model_id="st", settings=SETTINGS, attach=[pdf])
        service.engine.unload()
        export_backup(elsewhere.db, elsewhere.settings, backup)
    pdf.unlink()
    window = ready_window(open_window, data_dir, models_dir)
    import_backup(window.workspace.db, window.workspace.settings, backup)
    tab = window.chat_tab
    tab.refresh_conversations()
    [summary] = window.store.list()
    tab.select_conversation(summary.id)
    busy: list[str] = []
    tab.requests.attachments_indexing.connect(busy.append)
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        send(qtbot, window, SEPSIS)
        assert tab.requests.is_searching()  # Enter returned at once; indexing runs elsewhere
    assert busy and busy[0] == "Reading guideline.pdf again…"
    sources = finished.args[0].provenance["sources"]
    assert sources and sources[0]["file_name"] == "guideline.pdf" and sources[0]["page"] == 7


def test_earlier_files_that_did_not_fit_are_said_on_the_answer(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = ready_window(open_window, data_dir, models_dir)
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=16, seed=4, context_length=512))
    for number in (1, 2):
        letter = tmp_path / f"letter{number}.txt"
        letter.write_text(
            f"Letter {number}. " + "The patient walked in the garden every day. " * 10, "utf-8"
        )
        drop(window, letter)
        with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS):
            send(qtbot, window, f"Read letter {number}.")
    # The memory estimate counts the letters, read again with the next question (at most
    # their share of the memory: about 450 tokens of letters, 268 at most).
    tab._update_context_meter()
    without = sum(len(v.text()) for v in tab.transcript.views()) // 4
    conversation = int(tab.context_meter.text().split("conversation ")[1].split(";")[0])
    assert conversation > without + 200
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS):
        send(qtbot, window, "Which letter was longer?")
    view = tab.transcript.views()[-1]
    text = " ".join(view.left_out_text().split())
    assert "The file “letter1.txt” attached to an earlier question did not fit" in text
    assert "letter2.txt" not in text  # the newer one was read whole
    window.resize(800, 600)
    qtbot.wait(50)
    tab.transcript.ensureWidgetVisible(view, 0, 0)
    window.grab().save("/tmp/attach2-left-out-800x600.png")
