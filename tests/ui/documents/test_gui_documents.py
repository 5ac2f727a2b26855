"""The Documents tab and documents in chats, with the real MiniLM and stories260K models."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.indexer import IndexingState
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.passage_viewer import PassageViewer
from localai_desktop.ui.documents.tab import DocumentsTab
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.widgets.theme import colours
from tests.support import documents_support as docs
from tests.support.gui_support import OpenWindow, last_view, window_opener

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"
# Generous: these machines are small and often busy with other work.
INDEXING_TIMEOUT_MS = 240_000
ANSWER_TIMEOUT_MS = 120_000
SEPSIS_QUESTION = "How quickly must antibiotics be given in sepsis?"
SCREENSHOTS = Path(os.environ.get("LOCALAI_SCREENSHOTS", "/tmp/localai-screenshots"))


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def import_models(data_dir: Path, models_dir: Path, *, chat: bool = False) -> None:
    db = Database(init_data_paths(data_dir).database)
    try:
        registry = ModelRegistry(db, data_dir / "models")
        registry.import_model(models_dir / MINILM, name="MiniLM", probe=False)
        if chat:
            registry.import_model(models_dir / "stories260K.gguf", name="Stories", probe=False)
    finally:
        db.close()


def index_collection(data_dir: Path, name: str, paths: list[Path], *, stop_after: int = 0) -> None:
    """Create and index a collection outside the app (stop_after: cancel after that many
    progress reports, leaving it half done as a killed app would)."""
    db = Database(init_data_paths(data_dir).database)
    library = DocumentLibrary(db, ModelRegistry(db, data_dir / "models"))
    try:
        library.create(name)
        library.add_paths(name, paths)
        reports: list[object] = []
        state = IndexingState(on_progress=reports.append)
        if stop_after:
            state = IndexingState(
                on_progress=lambda p: (
                    reports.append(p),
                    len(reports) >= stop_after and state.request_interruption(),
                )
            )
        library.index(name, state)
    finally:
        library.close()
        db.close()


def guideline_folder(tmp_path: Path, copies: int = 1, prefix: str = "ward-guideline") -> Path:
    """A folder of ten-page guideline PDFs, each a little different (no duplicates)."""
    folder = tmp_path / "guidelines"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(1, copies + 1):
        pages = [f"{text} ({prefix}, edition {number}.)" for text in docs.GUIDELINE_PAGES]
        docs.write_pdf(folder / f"{prefix}-{number}.pdf", pages)
    return folder


def documents_tab(window: MainWindow) -> DocumentsTab:
    window.tabs.setCurrentWidget(window.documents_tab)
    return window.documents_tab


def create_collection(qtbot: QtBot, tab: DocumentsTab, name: str) -> None:
    """Through the real dialog: New collection…, type the name, Create."""
    qtbot.mouseClick(tab.collection_list.new_button, Qt.MouseButton.LeftButton)
    dialog = tab.new_dialog
    qtbot.waitExposed(dialog)
    assert dialog.model_box.currentText().startswith("MiniLM")
    assert not dialog.create_button.isEnabled()  # no name yet
    qtbot.keyClicks(dialog.name_edit, name)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert name in tab.collection_list.names()
    assert tab.view.title.text() == name


def wait_until_indexed(qtbot: QtBot, tab: DocumentsTab) -> None:
    qtbot.waitUntil(lambda: not tab.is_indexing(), timeout=INDEXING_TIMEOUT_MS)


def statuses(tab: DocumentsTab) -> dict[str, tuple[str, str]]:
    model = tab.table_model
    return {
        model.file_at(row).name: (model.status_text(row), model.details_text(row))
        for row in range(model.rowCount())
    }


def screenshot(window: MainWindow, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    window.grab().save(str(path))
    return path


def test_without_an_embedding_model_the_tab_says_how_to_get_one(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = documents_tab(window)
    assert tab.no_model_notice.isVisible()
    assert not tab.collection_list.new_button.isEnabled()
    qtbot.mouseClick(tab.get_model_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.models_tab
    assert window.models_tab.sections.currentWidget() is window.models_tab.discover


def test_create_index_cancel_midway_and_resume_with_bad_files_explained(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir)
    folder = guideline_folder(tmp_path, copies=6)
    docs.write_docx(folder / "lease.docx")
    docs.write_html(folder / "ruling.html")
    docs.write_binary_named_txt(folder / "notes.txt")
    docs.write_scanned_pdf(folder / "scan.pdf")
    window = open_window(data_dir)
    window.resize(1180, 760)
    tab = documents_tab(window)
    assert not tab.no_model_notice.isVisible()
    create_collection(qtbot, tab, "Ward guidelines")
    assert window.chat_tab.documents.picker.action_for(tab.collection_list.current_id() or 0)

    tab.add_paths([str(folder)])
    # Progress shows on the bar and in words while the window stays responsive.
    qtbot.waitUntil(lambda: tab.indexing_panel.bar.value() > 0, timeout=INDEXING_TIMEOUT_MS)
    assert tab.indexing_panel.isVisible()
    assert re.search(r"\b\d+ of 10\b", tab.indexing_panel.detail.text())
    assert len(statuses(tab)) == 10  # every file of the folder is listed at once
    qtbot.waitUntil(
        lambda: any(s == "Indexed" for s, _ in statuses(tab).values()),
        timeout=INDEXING_TIMEOUT_MS,
    )
    screenshot(window, "documents-indexing")
    qtbot.mouseClick(tab.indexing_panel.cancel_button, Qt.MouseButton.LeftButton)
    wait_until_indexed(qtbot, tab)
    assert "Indexing stopped" in tab.banner.text()
    unfinished = ("Not indexed yet", "Stopped part-way")
    left = [name for name, (status, _) in statuses(tab).items() if status in unfinished]
    assert left, "cancel came too late to test resuming"
    assert tab.view.resume_button.isVisible()
    assert f"({len(left)} left)" in tab.view.resume_button.text()

    qtbot.mouseClick(tab.view.resume_button, Qt.MouseButton.LeftButton)
    wait_until_indexed(qtbot, tab)
    result = statuses(tab)
    for number in range(1, 7):
        assert result[f"ward-guideline-{number}.pdf"][0] == "Indexed"
    assert result["lease.docx"][0] == "Indexed" and result["ruling.html"][0] == "Indexed"
    assert result["scan.pdf"][0] == "Skipped" and "not even by reading" in result["scan.pdf"][1]
    assert result["notes.txt"][0] in ("Skipped", "Failed") and result["notes.txt"][1]
    assert not tab.view.resume_button.isVisible()
    assert tab.banner.text() == (
        "Done: 8 of 10 documents are indexed; 2 skipped (the Details column says why)."
    )
    assert tab.view.summary.text().startswith("10 documents, 8 indexed · ")
    screenshot(window, "documents-indexed")


def test_rename_and_delete_a_collection_reach_the_chat_picker(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir)
    window = open_window(data_dir)
    tab = documents_tab(window)
    create_collection(qtbot, tab, "Contracts")
    picker = window.chat_tab.documents.picker
    item = tab.collection_list.list.currentItem()
    item.setText("Leases")  # what the inline editor does on Enter
    assert tab.collection_list.names() == ["Leases"]
    assert [a.text() for a in picker.menu().actions() if a.isCheckable()] == ["Leases"]

    qtbot.mouseClick(tab.collection_list.delete_button, Qt.MouseButton.LeftButton)
    box = next(w for w in tab.findChildren(QMessageBox) if w.isVisible())
    delete = next(b for b in box.buttons() if b.text() == "Delete")
    qtbot.mouseClick(delete, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.collection_list.names() == [])
    assert "Your documents were not touched" in tab.banner.text()
    assert not [a for a in picker.menu().actions() if a.isCheckable()]


def test_interrupted_indexing_continues_at_start_but_a_cancelled_one_waits(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir)
    folder = guideline_folder(tmp_path, copies=2)
    index_collection(data_dir, "Wards", [folder], stop_after=2)  # as if the app was killed
    window = open_window(data_dir)
    tab = documents_tab(window)
    wait_until_indexed(qtbot, tab)
    assert statuses(tab) == {
        "ward-guideline-1.pdf": ("Indexed", ""),
        "ward-guideline-2.pdf": ("Indexed", ""),
    }

    # A cancelled run is the user's choice: it waits for Resume, also after a restart.
    more = guideline_folder(tmp_path / "more", copies=5, prefix="policy")
    tab.add_paths([str(more)])
    qtbot.waitUntil(
        lambda: sum(s == "Indexed" for s, _ in statuses(tab).values()) >= 3,
        timeout=INDEXING_TIMEOUT_MS,
    )
    qtbot.mouseClick(tab.indexing_panel.cancel_button, Qt.MouseButton.LeftButton)
    wait_until_indexed(qtbot, tab)
    window.close()
    again = open_window(data_dir)
    tab = documents_tab(again)
    qtbot.wait(500)
    assert not tab.is_indexing()
    assert tab.view.resume_button.isVisible()
    qtbot.mouseClick(tab.view.resume_button, Qt.MouseButton.LeftButton)
    wait_until_indexed(qtbot, tab)
    assert len(statuses(tab)) == 7 and {s for s, _ in statuses(tab).values()} == {"Indexed"}

    # Check for changes: a changed file is indexed again, a deleted one dropped.
    docs.write_pdf(folder / "ward-guideline-1.pdf", ["Visiting hours are 2 pm to 8 pm."])
    (folder / "ward-guideline-2.pdf").unlink()
    qtbot.mouseClick(tab.view.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(tab.is_indexing, timeout=5_000)
    wait_until_indexed(qtbot, tab)
    result = statuses(tab)
    assert "ward-guideline-2.pdf" not in result and len(result) == 6
    changed = next(f for f in tab.table_model.files() if f.name == "ward-guideline-1.pdf")
    assert changed.status == "indexed" and changed.pages == 1
    assert "Dropped 1 deleted file(s)" in tab.banner.text()


def ask(qtbot: QtBot, window: MainWindow, text: str) -> object:
    tab = window.chat_tab
    tab.settings_panel.set_settings(GenerationSettings(max_tokens=40, seed=4, context_length=2048))
    box = tab.composer.input
    box.setFocus()
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        qtbot.keyClicks(box, text)
        qtbot.keyClick(box, Qt.Key.Key_Return)
    return finished.args[0]


def test_chat_with_a_collection_cites_sources_that_open_highlighted_and_survive_a_restart(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir, chat=True)
    index_collection(data_dir, "Ward guideline", [guideline_folder(tmp_path)])
    window = open_window(data_dir)
    window.resize(1180, 760)
    chat = window.chat_tab
    chat.select_model(next(m.id for m in window.registry.list() if m.name == "Stories"))
    picker = chat.documents.picker
    assert picker.label() == "Documents: none"
    action = next(a for a in picker.menu().actions() if a.text() == "Ward guideline")
    action.trigger()  # tick it in the menu
    assert picker.label() == "Documents: Ward guideline"

    message = ask(qtbot, window, SEPSIS_QUESTION)
    assert message.status == "complete"
    sources = message.provenance["sources"]
    assert sources and sources[0]["page"] == 7 and sources[0]["file_name"] == "ward-guideline-1.pdf"
    view = last_view(chat)
    cards = view.sources.cards()
    assert len(cards) == len(sources)
    assert "ward-guideline-1.pdf, page 7" in cards[0].text()
    screenshot(window, "chat-sources")

    qtbot.mouseClick(cards[0], Qt.MouseButton.LeftButton)
    viewer = chat.documents.viewer
    assert isinstance(viewer, PassageViewer)
    qtbot.waitExposed(viewer)
    assert "within one hour" in viewer.highlighted_text()
    assert viewer.highlighted_text().strip() == sources[0]["text"].strip()
    text = viewer.browser.toPlainText()
    assert len(text) > len(viewer.highlighted_text())  # shown amid its neighbours
    start = text.index(viewer.highlighted_text())
    highlight = colours().qcolor("marked_background")
    assert viewer.highlight_colour_at(start) == highlight
    assert viewer.highlight_colour_at(0) != highlight or start == 0
    viewer.grab().save(str(SCREENSHOTS / "passage-viewer.png"))
    viewer.close()

    # Regenerate looks the question up again and cites the same passage.
    with qtbot.waitSignal(chat.answer_finished, timeout=ANSWER_TIMEOUT_MS) as again:
        qtbot.mouseClick(last_view(chat).regenerate_button(), Qt.MouseButton.LeftButton)
    assert again.args[0].provenance["sources"][0]["chunk_id"] == sources[0]["chunk_id"]
    assert len(last_view(chat).sources.cards()) == len(sources)

    # Nothing relevant: the model is told so, and the answer says it found nothing.
    unrelated = ask(qtbot, window, "What is the capital of Mongolia?")
    assert unrelated.provenance["sources"] == []
    assert unrelated.provenance["retrieval"]["relevant_found"] is False
    assert "nothing relevant was found" in last_view(chat).sources.note.text()
    conversation_id = chat.current_conversation_id()
    window.close()

    # After a restart: the collection is still attached and the cards come back.
    again = open_window(data_dir)
    chat = again.chat_tab
    assert chat.current_conversation_id() == conversation_id
    assert chat.documents.picker.label() == "Documents: Ward guideline"
    answers = [v for v in chat.transcript.views() if v.message.role == "assistant"]
    assert len(answers[0].sources.cards()) == len(sources)
    qtbot.mouseClick(answers[0].sources.cards()[0], Qt.MouseButton.LeftButton)
    viewer = chat.documents.viewer
    assert viewer is not None and "within one hour" in viewer.highlighted_text()
    assert not viewer.note.isVisible()
    viewer.close()

    # Once the collection is deleted, a card still shows the passage as the answer quoted it.
    again.documents.delete("Ward guideline")
    qtbot.mouseClick(answers[0].sources.cards()[0], Qt.MouseButton.LeftButton)
    assert viewer.note.isVisible() and "no longer in the index" in viewer.note.text()
    assert viewer.highlighted_text() == sources[0]["text"]


def test_chat_answers_while_another_collection_is_indexing(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir, chat=True)
    index_collection(data_dir, "Ward guideline", [guideline_folder(tmp_path)])
    big = tmp_path / "big"
    big.mkdir()
    for number in range(30):
        docs.write_pdf(big / f"policy-{number}.pdf", docs.GUIDELINE_PAGES, filler=4)
    window = open_window(data_dir)
    tab = documents_tab(window)
    create_collection(qtbot, tab, "Policies")
    tab.add_paths([str(big)])
    qtbot.waitUntil(lambda: tab.indexing_panel.bar.value() > 0, timeout=INDEXING_TIMEOUT_MS)

    window.tabs.setCurrentWidget(window.chat_tab)
    chat = window.chat_tab
    chat.select_model(next(m.id for m in window.registry.list() if m.name == "Stories"))
    ward = next(c.id for c in window.documents.list() if c.name == "Ward guideline")
    chat.documents.picker.set_attached_by_user(ward, True)
    message = ask(qtbot, window, SEPSIS_QUESTION)
    # The search and the answer did not wait for the indexing run, still going.
    assert tab.is_indexing()
    assert message.provenance["sources"][0]["page"] == 7
    qtbot.mouseClick(tab.indexing_panel.cancel_button, Qt.MouseButton.LeftButton)
    wait_until_indexed(qtbot, tab)


def test_a_search_that_cannot_run_says_why_and_keeps_the_question(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_models(data_dir, models_dir, chat=True)
    index_collection(data_dir, "Ward guideline", [guideline_folder(tmp_path)])
    window = open_window(data_dir)
    chat = window.chat_tab
    chat.select_model(next(m.id for m in window.registry.list() if m.name == "Stories"))
    # The collection's embedding model was removed from the app since it was indexed.
    window.registry.remove(next(m.id for m in window.registry.list() if m.name == "MiniLM"))
    ward = next(c.id for c in window.documents.list() if c.name == "Ward guideline")
    chat.documents.picker.set_attached_by_user(ward, True)
    send = chat.composer.input
    qtbot.keyClicks(send, SEPSIS_QUESTION)
    qtbot.keyClick(send, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(chat.banner.text()), timeout=ANSWER_TIMEOUT_MS)
    assert "embedding model 'MiniLM'" in chat.banner.text()
    assert "Import the same model file again" in chat.banner.text()
    assert not chat.is_generating()
    messages = window.store.get(chat.current_conversation_id() or 0).messages
    assert [(m.role, m.content) for m in messages] == [("user", SEPSIS_QUESTION)]
