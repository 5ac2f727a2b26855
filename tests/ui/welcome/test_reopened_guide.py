"""The welcome guide opened again: it knows the model you have, opens a new chat with it, never
switches the model of a conversation, and is remembered per data folder."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QPushButton, QWizard
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.config import AppConfigStore
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.ui.models.model_import import ImportModelDialog
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.session import AppSession
from localai_desktop.ui.welcome import workers as first_run_workers
from localai_desktop.ui.welcome.guide import WelcomeGuide
from tests.support.session_support import OpenSession, chat, import_model, session_opener
from tests.ui.welcome.test_first_run import LAPTOP, go_to, open_guide

_LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    monkeypatch.setattr(first_run_workers, "detect_machine", lambda: LAPTOP)
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def reopen_guide(qtbot: QtBot, session: AppSession) -> WelcomeGuide:
    """Help > Show the welcome guide."""
    assert session.window is not None
    session.window.welcome_guide_action.trigger()
    assert session.guide is not None
    return open_guide(qtbot, session)


def import_through_the_models_tab(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    """Models > Import GGUF file…, pick the file, Import (the file dialog is already open when
    `window.start_model_import` ran, else it is opened here)."""
    tab = window.models_tab
    file_dialog = next((d for d in tab.findChildren(QFileDialog) if d.isVisible()), None)
    if file_dialog is None:
        window.start_model_import()
        file_dialog = next(d for d in tab.findChildren(QFileDialog) if d.isVisible())
    file_dialog.selectFile(str(path))
    file_dialog.accept()
    dialog = next(d for d in tab.findChildren(ImportModelDialog) if d.isVisible())
    import_button = next(b for b in dialog.findChildren(QPushButton) if b.text() == "Import")
    with qtbot.waitSignal(tab.import_ended, timeout=60_000):
        qtbot.mouseClick(import_button, _LEFT)


def test_with_a_model_installed_the_guide_says_so_and_opens_a_new_chat_with_it(
    open_session: OpenSession,
    data_dir: Path,
    qtbot: QtBot,
    stories260k: Path,
    tiny_chat_model: Path,
    tmp_path: Path,
) -> None:
    stories = import_model(data_dir, stories260k, "Stories")
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    ongoing = window.store.create("About the dragon", model_id=stories)
    window.chat_tab.select_conversation(ongoing.id)
    assert chat(qtbot, window, "Once upon a time").status == "complete"

    guide = reopen_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_MODEL)
    assert "You already have a chat model, “Stories”" in guide.model_page.status.text()
    go_to(qtbot, guide, WelcomeGuide.PAGE_FINISH)
    finish = guide.finish_page.text.text()
    assert "You already have a chat model, “Stories”" in finish
    assert "needs a model" not in finish
    qtbot.wait(100)  # let the page lay out its new text before the picture
    guide.grab().save("/tmp/localai-screenshots/guide-finish-with-a-model.png")
    qtbot.mouseClick(guide.button(QWizard.WizardButton.FinishButton), _LEFT)
    qtbot.waitUntil(lambda: session.guide is None)

    # "Start chatting": the Chat tab, a new conversation with that model and no documents.
    tab = window.chat_tab
    assert window.tabs.currentWidget() is tab
    fresh = tab.current_conversation_id()
    assert fresh is not None and fresh != ongoing.id
    assert tab.current_model_id() == stories
    assert tab.documents.attached_ids() == []
    assert not window.store.get(fresh).messages

    # A model imported later is listed, but it changes neither this conversation nor any other.
    import_through_the_models_tab(qtbot, window, tiny_chat_model)
    assert len(window.registry.list()) == 2
    assert tab.current_conversation_id() == fresh and tab.current_model_id() == stories
    assert window.store.get(ongoing.id).model_id == stories
    tab.select_conversation(ongoing.id)
    assert tab.current_model_id() == stories


def test_i_already_have_a_file_opens_a_new_chat_and_the_open_one_keeps_its_model(
    open_session: OpenSession,
    data_dir: Path,
    qtbot: QtBot,
    stories260k: Path,
    tiny_chat_model: Path,
) -> None:
    stories = import_model(data_dir, stories260k, "Stories")
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    ongoing = window.store.create("About the dragon", model_id=stories)
    window.chat_tab.select_conversation(ongoing.id)

    guide = reopen_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_MODEL)
    qtbot.mouseClick(guide.model_page.import_button, _LEFT)
    qtbot.waitUntil(lambda: session.guide is None)
    import_through_the_models_tab(qtbot, window, tiny_chat_model)

    tab = window.chat_tab
    [tiny] = [m for m in window.registry.list() if m.id != stories]
    assert window.tabs.currentWidget() is tab
    assert tab.current_conversation_id() not in (None, ongoing.id)
    assert tab.current_model_id() == tiny.id
    assert window.store.get(ongoing.id).model_id == stories  # not switched under the person
    tab.select_conversation(ongoing.id)
    assert tab.current_model_id() == stories


def settings_of(folder: Path) -> dict[str, object]:
    return json.loads((folder / "settings.json").read_text(encoding="utf-8"))


def test_the_guide_is_remembered_per_data_folder_and_the_old_flag_counts_for_its_folder(
    open_session: OpenSession, qtbot: QtBot, tmp_path: Path
) -> None:
    # An earlier version showed the guide while "first" was the data folder, and said so
    # for the whole app.
    first, second = tmp_path / "first", tmp_path / "second"
    config = AppConfigStore(tmp_path / "config" / "app.json")
    config.update(data_dir=str(first), welcome_done=True)

    session = open_session()
    assert session.paths.root == first.resolve()
    assert not session.welcome_needed()  # an existing user is not shown it again
    assert settings_of(first)["welcome_done"] is True  # now kept in that folder
    assert config.load().welcome_done is False  # and the old flag answers for nothing else

    # Another data folder has not shown the guide yet.
    session.switch_data_folder(second)
    assert session.welcome_needed()
    guide = open_guide(qtbot, session)
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)
    assert not session.welcome_needed()
    assert settings_of(second)["welcome_done"] is True
    assert AppSettingsStore.in_data_dir(second).load().welcome_done is True

    # A folder given with --data-dir is its own, too.
    other = open_session(tmp_path / "given")
    assert other.welcome_needed()
    assert AppSettingsStore.in_data_dir(first).load().welcome_done is True
