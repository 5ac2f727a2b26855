"""Coming back to the Fine-tune tab: Chat with it, Resume in view, and examples remembered."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QDialogButtonBox, QWidget
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.finetune.jobs import JobStatus
from localai_desktop.core.finetune.runner import FineTuneService
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.finetune.tab import FineTuneTab
from localai_desktop.ui.shell.main_window import MainWindow
from tests.core.finetune.test_finetune_adapters import register_random_adapter
from tests.support.finetune_support import FACT_ANSWER, FACT_QUESTION, fact_jsonl
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.session_support import import_model
from tests.ui.finetune.test_gui_finetune import FAST, GREEDY, ask

_LEFT = Qt.MouseButton.LeftButton
SCREENSHOTS = Path(os.environ.get("LOCALAI_SCREENSHOTS", "/tmp/localai-screenshots"))


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def finetune_tab(window: MainWindow) -> FineTuneTab:
    window.tabs.setCurrentWidget(window.finetune_tab)
    return window.finetune_tab


def fully_in_view(widget: QWidget) -> bool:
    """Shown whole, without scrolling: not clipped by a scroll area nor by the window."""
    window = widget.window()
    top_left = widget.mapTo(window, QPoint(0, 0))
    inside = window.rect().contains(QRect(top_left, widget.size()))
    return widget.isVisible() and inside and widget.visibleRegion().boundingRect() == widget.rect()


def test_chat_with_it_starts_a_new_conversation_with_the_adapter_and_no_documents(
    open_window: OpenWindow,
    data_dir: Path,
    models_dir: Path,
    stories260k: Path,
    qtbot: QtBot,
) -> None:
    model_id = import_model(data_dir, stories260k, "stories")
    import_model(data_dir, models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", "MiniLM")
    adapter = register_random_adapter(data_dir, "stories", "bluebell")
    db = Database(init_data_paths(data_dir).database)
    library = DocumentLibrary(db, ModelRegistry(db, data_dir / "models"))
    ward = library.create("Ward")
    ongoing = ConversationStore(db).create(
        "With the ward's documents", model_id=model_id, settings={"collections": [ward.id]}
    )
    library.close()
    db.close()
    window = open_window(data_dir)
    chat = window.chat_tab
    chat.select_conversation(ongoing.id)
    assert chat.documents.attached_ids() == [ward.id]

    tab = finetune_tab(window)
    tab.compare_view.show_adapter(adapter)
    tab.pages.setCurrentWidget(tab.compare_view)
    qtbot.mouseClick(tab.compare_view.chat_button, _LEFT)

    assert window.tabs.currentWidget() is chat
    fresh = chat.current_conversation_id()
    assert fresh not in (None, ongoing.id)
    assert chat.current_model_id() == model_id
    assert chat.adapter_picker.current_id() == adapter.id
    assert chat.documents.attached_ids() == []  # the Ward's documents stay with the other chat
    chat.settings_panel.set_settings(GREEDY)
    answer = ask(qtbot, window, "Once upon a time")
    assert answer.conversation_id == fresh
    assert answer.provenance["adapter_name"] == "bluebell"
    assert "sources" not in answer.provenance
    chat.select_conversation(ongoing.id)
    assert chat.documents.attached_ids() == [ward.id]  # the other conversation is as it was
    assert window.store.get(ongoing.id).model_id == model_id


def test_resume_is_in_view_without_scrolling_in_small_windows(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")
    import_model(data_dir, stories260k, "stories")
    db = Database(init_data_paths(data_dir).database)
    registry = ModelRegistry(db, data_dir / "models")
    service = FineTuneService(
        db, registry, AdapterRegistry(db, data_dir / "adapters"), data_dir / "finetune"
    )
    base = registry.get("stories")
    report = service.prepare_file(fact_jsonl(tmp_path / "clinic letters.jsonl"), base, FAST)
    job = service.create_job("clinic letters", base, report, FAST, check_memory=False)
    service.jobs.update(job.id, status=JobStatus.CANCELLED, step=12, total_steps=40)
    db.close()
    window = open_window(data_dir)
    tab = finetune_tab(window)
    controls = tab.controls
    assert "Unfinished: “clinic letters” stopped at step 12 of 40" in controls.unfinished.text()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((800, 600), (1024, 700)):
        window.resize(width, height)
        qtbot.waitUntil(lambda w=width, h=height: (window.width(), window.height()) == (w, h))
        qtbot.wait(50)  # the layouts settle
        for button in (controls.resume_button, controls.discard_button, controls.start_button):
            assert fully_in_view(button), f"{button.text()} is out of view at {width}x{height}"
        assert fully_in_view(controls.unfinished)
        # The views' tabs all show, without scroll arrows.
        assert tab.pages.tabBar().sizeHint().width() <= tab.pages.width()
        window.grab().save(str(SCREENSHOTS / f"finetune-resume-{width}x{height}.png"))
        tab.pages.setCurrentWidget(tab.training_panel)
        assert fully_in_view(tab.training_panel.chart)
        window.grab().save(str(SCREENSHOTS / f"finetune-progress-{width}x{height}.png"))
        tab.pages.setCurrentWidget(tab.dataset_view)


def test_the_examples_imported_come_back_after_a_restart_and_a_moved_file_is_named(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "stories")
    dataset = fact_jsonl(tmp_path / "clinic.jsonl", copies=10)
    window = open_window(data_dir)
    tab = finetune_tab(window)
    tab.examples.choose_file = lambda _parent: dataset
    qtbot.mouseClick(tab.examples.import_button, _LEFT)
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 10, timeout=60_000)
    shown = tab.examples.line.text()
    window.close()

    # The next start in this data folder has them again, checked against the model.
    again = open_window(data_dir)
    tab = finetune_tab(again)
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 10, timeout=60_000)
    assert tab.examples.line.text() == shown
    assert tab.settings_form.name() == "clinic"
    again.close()

    # Moved away: the tab says so plainly, naming the file.
    dataset.rename(tmp_path / "moved.jsonl")
    third = open_window(data_dir)
    tab = finetune_tab(third)
    assert tab.examples.line.text() == (
        f"The examples file you imported last time is no longer there ({dataset}). "
        "Import it again from where it is now, or choose other examples."
    )
    assert tab.dataset_view.rows() == []

    # Answers picked from the chats are remembered the same way.
    store = third.store
    conversation = store.create(title="Clinic hours")
    store.add_message(conversation.id, "user", FACT_QUESTION)
    good = store.add_message(conversation.id, "assistant", FACT_ANSWER)
    qtbot.mouseClick(tab.examples.pick_button, _LEFT)
    picker = tab.examples.picker
    assert picker is not None
    qtbot.waitExposed(picker)
    picker.answer_items()[0].setCheckState(0, Qt.CheckState.Checked)
    qtbot.mouseClick(picker.buttons.button(QDialogButtonBox.StandardButton.Ok), _LEFT)
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 1, timeout=60_000)
    third.close()

    fourth = open_window(data_dir)
    tab = finetune_tab(fourth)
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 1, timeout=60_000)
    assert tab.dataset_view.rows()[0].source == f"message {good.id}"
