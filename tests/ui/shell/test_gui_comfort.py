"""A window to live in all day: themes, text size, keyboard shortcuts, list menus, Help > About."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from localai_desktop import __version__
from localai_desktop.core.datafolder.settings import (
    MAX_TEXT_SIZE,
    SYSTEM_TEXT_SIZE,
    THEME_DARK,
    THEME_LIGHT,
    THEME_SYSTEM,
    AppSettingsStore,
)
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.widgets.list_actions import ButtonMenu
from localai_desktop.ui.widgets.text_size import apply_text_size, system_font
from localai_desktop.ui.widgets.theme import (
    AA_TEXT_CONTRAST,
    DARK_COLOURS,
    LIGHT_COLOURS,
    apply_theme,
    colours,
    contrast_ratio,
    dark_palette,
    is_dark,
    light_palette,
    text_pairs,
)
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.session_support import OpenSession, session_opener

SCREENSHOTS = Path(os.environ.get("LOCALAI_SCREENSHOTS", "/tmp/localai-screenshots"))
CTRL = Qt.KeyboardModifier.ControlModifier
# A menu that pops up grabs the keyboard, which the offscreen platform cannot do.
MENU_GRAB = "This plugin does not support grabbing the keyboard"


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


@pytest.fixture(autouse=True)
def plain_appearance() -> Iterator[None]:
    """Later tests start in the system's theme and text size, whatever this one chose."""
    yield
    apply_theme(THEME_SYSTEM)
    apply_text_size(SYSTEM_TEXT_SIZE)


def screenshot(widget: QWidget, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    widget.grab().save(str(path))
    return path


def saved_settings(data_dir: Path) -> dict[str, object]:
    return dict(json.loads(AppSettingsStore.in_data_dir(data_dir).path.read_text()))


def press(
    qtbot: QtBot, window: MainWindow, key: Qt.Key, modifier: Qt.KeyboardModifier = CTRL
) -> None:
    # Window shortcuts fire in the active window, as they would for a person at the keyboard.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or window, key, modifier)


def press_in(qtbot: QtBot, widget: QWidget, key: Qt.Key) -> None:
    """Press `key` with the focus in `widget` (a widget shortcut needs the focus there)."""
    widget.window().activateWindow()
    widget.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is widget, timeout=2000)
    qtbot.keyClick(widget, key)


def with_a_conversation(window: MainWindow, title: str = "Discharge letters") -> int:
    conversation = window.store.create(title=title)
    window.store.add_message(conversation.id, "user", "Summarise this discharge letter.")
    window.store.add_message(
        conversation.id,
        "assistant",
        "## Summary\n\nThe patient was admitted with **pneumonia** and treated with:\n\n"
        "- amoxicillin for 5 days\n- oxygen on the first night\n\n```\nfollow-up: 6 weeks\n```",
    )
    window.chat_tab.refresh_conversations()
    window.chat_tab.select_conversation(conversation.id)
    return conversation.id


# -- themes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("palette", [light_palette(), dark_palette()], ids=["light", "dark"])
def test_every_text_colour_reads_at_wcag_aa_contrast(palette: QPalette) -> None:
    failing = [
        f"{name}: {text.name()} on {background.name()} is {contrast_ratio(text, background):.2f}"
        for name, text, background in text_pairs(palette)
        if contrast_ratio(text, background) < AA_TEXT_CONTRAST
    ]
    assert failing == []
    assert is_dark(palette) == (palette.color(QPalette.ColorRole.Window).lightness() < 128)


def test_the_theme_switch_in_settings_changes_the_palette_and_is_remembered(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = open_session(data_dir)
    assert session.window is not None
    window = session.window
    assert not is_dark()
    banner = window.chat_tab.banner
    banner.show_error("The model could not be loaded.")
    assert LIGHT_COLOURS.banner_error_background in banner.styleSheet()

    dialog = session.show_settings()
    combo = dialog.appearance.theme_combo
    combo.setCurrentIndex(combo.findData(THEME_DARK))
    assert is_dark()
    app_palette = QGuiApplication.palette()
    assert app_palette.color(QPalette.ColorRole.Window) == dark_palette().color(
        QPalette.ColorRole.Window
    )
    # Widgets take the new palette as its news reaches them, a moment later.
    qtbot.waitUntil(lambda: window.palette().color(QPalette.ColorRole.Base).lightness() < 64)
    # Hand-set colours follow: the banner already shown, and new ones.
    assert DARK_COLOURS.banner_error_background in banner.styleSheet()
    assert colours() is DARK_COLOURS
    assert saved_settings(data_dir)["theme"] == THEME_DARK

    combo.setCurrentIndex(combo.findData(THEME_LIGHT))
    assert not is_dark()
    assert LIGHT_COLOURS.banner_error_background in banner.styleSheet()
    combo.setCurrentIndex(combo.findData(THEME_DARK))
    dialog.close()
    session.close()

    apply_theme(THEME_SYSTEM)  # as a fresh start of the app would be
    assert not is_dark()
    session = open_session(data_dir)  # the data folder remembers
    assert is_dark()
    assert session.window is not None
    assert session.show_settings().appearance.theme_combo.currentData() == THEME_DARK


def test_the_chat_tab_reads_well_in_both_themes(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    window.tabs.setCurrentWidget(window.chat_tab)
    with_a_conversation(window)
    window.chat_tab.banner.show_info("The answer was saved.")
    window.resize(1024, 700)
    for theme in (THEME_LIGHT, THEME_DARK):
        window.appearance.set_theme(theme)
        qtbot.wait(50)
        view = window.chat_tab.transcript.views()[-1]
        text = view.body.palette().color(QPalette.ColorRole.Text)
        base = window.palette().color(QPalette.ColorRole.Window)
        assert contrast_ratio(text, base) >= AA_TEXT_CONTRAST
        assert screenshot(window, f"comfort-chat-{theme}").stat().st_size > 0


# -- text size -------------------------------------------------------------------------------


def test_ctrl_plus_minus_and_zero_change_the_text_size_and_it_is_remembered(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    window.tabs.setCurrentWidget(window.chat_tab)
    with_a_conversation(window)
    normal = round(system_font().pointSizeF())
    conversations = window.chat_tab.conversations.list
    body = window.chat_tab.transcript.views()[-1].body

    press(qtbot, window, Qt.Key.Key_Equal)
    press(qtbot, window, Qt.Key.Key_Plus)
    assert QApplication.font().pointSize() == normal + 2
    # The lists and the transcript follow as the news reaches them.
    qtbot.waitUntil(lambda: conversations.font().pointSize() == normal + 2)
    qtbot.waitUntil(lambda: body.document().defaultFont().pointSize() == normal + 2)
    assert saved_settings(data_dir)["text_size"] == normal + 2
    code = body.document().find("follow-up")  # code in an answer too
    qtbot.waitUntil(lambda: code.charFormat().fontPointSize() == normal + 2)
    title = window.documents_tab.view.title  # a heading stays a size above the text
    qtbot.waitUntil(lambda: title.font().pointSizeF() == pytest.approx((normal + 2) * 1.25))
    press(qtbot, window, Qt.Key.Key_Minus)
    assert QApplication.font().pointSize() == normal + 1
    for _ in range(MAX_TEXT_SIZE):
        press(qtbot, window, Qt.Key.Key_Plus)
    assert QApplication.font().pointSize() == MAX_TEXT_SIZE  # within limits
    press(qtbot, window, Qt.Key.Key_0)
    assert QApplication.font().pointSize() == normal
    assert saved_settings(data_dir)["text_size"] == SYSTEM_TEXT_SIZE

    press(qtbot, window, Qt.Key.Key_Plus)
    window.close()
    apply_text_size(SYSTEM_TEXT_SIZE)  # as a fresh start of the app would be
    reopened = open_window(data_dir)
    assert QApplication.font().pointSize() == normal + 1
    qtbot.waitUntil(lambda: reopened.chat_tab.conversations.list.font().pointSize() == normal + 1)


# -- keyboard --------------------------------------------------------------------------------


def test_ctrl_n_starts_a_new_conversation_from_any_tab(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    with_a_conversation(window)
    window.tabs.setCurrentWidget(window.documents_tab)
    before = {c.id for c in window.store.list()}
    press(qtbot, window, Qt.Key.Key_N)
    assert window.tabs.currentWidget() is window.chat_tab
    new = {c.id for c in window.store.list()} - before
    assert len(new) == 1
    assert window.chat_tab.current_conversation_id() in new
    assert window.chat_tab.transcript.views() == []


def test_ctrl_comma_opens_settings_and_f1_lists_every_shortcut(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    with qtbot.waitSignal(window.settings_requested, timeout=2000):
        press(qtbot, window, Qt.Key.Key_Comma)
    press(qtbot, window, Qt.Key.Key_F1, Qt.KeyboardModifier.NoModifier)
    dialog = window.window_actions.shortcuts_dialog
    assert dialog is not None and dialog.isVisible()
    rows = {(keys, what) for _section, keys, what in dialog.rows()}
    for expected in [
        ("Ctrl+N", "New conversation"),
        ("Ctrl+,", "Settings"),
        ("F1", "Keyboard shortcuts"),
        ("Ctrl+0", "Normal text size"),
        ("Del or Backspace", "Delete conversation (asks first)"),
        ("Del or Backspace", "Remove model (asks first)"),
        ("Enter", "Send the message"),
    ]:
        assert expected in rows
    # Every menu action with a shortcut is listed, so the list cannot go stale.
    for menu_action in window.menuBar().actions():
        menu = menu_action.menu()
        assert isinstance(menu, QMenu)
        for action in menu.actions():
            if action.shortcuts():
                assert any(action.text().replace("&", "").startswith(w) for _k, w in rows)
    dialog.resize(560, 560)
    screenshot(dialog, "comfort-shortcuts")


def test_ctrl_f_and_ctrl_k_are_kept_free_for_search_and_do_no_harm(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    window.tabs.setCurrentWidget(window.chat_tab)
    press(qtbot, window, Qt.Key.Key_F)
    press(qtbot, window, Qt.Key.Key_K)
    assert window.isVisible()
    assert window.tabs.currentWidget() is window.chat_tab


# -- list menus and the Delete key -----------------------------------------------------------


def confirmation(parent: QWidget) -> QMessageBox:
    boxes = [b for b in parent.findChildren(QMessageBox) if b.isVisible()]
    assert len(boxes) == 1
    return boxes[0]


def click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


@pytest.mark.qt_log_ignore(MENU_GRAB)
def test_the_context_menu_and_the_delete_key_delete_a_conversation_after_asking(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    window.tabs.setCurrentWidget(window.chat_tab)
    first = with_a_conversation(window, "Ward round notes")
    second = with_a_conversation(window, "Referral letters")
    panel = window.chat_tab.conversations
    menu_owner: ButtonMenu = panel.list_menu

    item = panel.list.item_for(first)
    assert item is not None
    menu = menu_owner.popup(panel.list.visualItemRect(item).center())
    assert menu is not None
    assert [a.text() for a in menu.actions()] == ["New chat", "Rename", "Delete"]
    assert panel.current_id() == first  # the row under the pointer is the one acted on
    delete = next(a for a in menu.actions() if a.text() == "Delete")
    delete.trigger()
    box = confirmation(panel)
    assert "Ward round notes" in box.text()
    click(box, "Delete")
    assert first not in {c.id for c in window.store.list()}

    window.chat_tab.select_conversation(second)
    press_in(qtbot, panel.list, Qt.Key.Key_Delete)
    click(confirmation(panel), "Keep")
    assert second in {c.id for c in window.store.list()}
    press_in(qtbot, panel.list, Qt.Key.Key_Backspace)
    click(confirmation(panel), "Delete")
    assert second not in {c.id for c in window.store.list()}


@pytest.mark.qt_log_ignore(MENU_GRAB)
def test_the_models_list_offers_remove_on_a_right_click_and_the_delete_key(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot, stories260k: Path
) -> None:
    window = open_window(data_dir)
    with qtbot.waitSignal(window.models_tab.import_ended, timeout=60_000):
        window.models_tab.start_import(stories260k, "Stories", copy=False)
    table = window.models_tab.table
    menu = window.models_tab.table_menu.popup(table.visualRect(table.model().index(0, 0)).center())
    assert menu is not None
    # stories260K is F32, so a smaller copy can be made of it.
    assert [a.text() for a in menu.actions()] == ["Make a smaller copy…", "Speed here…", "Remove"]
    menu.close()
    press_in(qtbot, table, Qt.Key.Key_Delete)
    click(confirmation(window.models_tab), "Keep")
    assert len(window.registry.list()) == 1
    # Nothing under the pointer: no menu.
    assert window.models_tab.table_menu.popup(QPoint(5, table.viewport().height() - 2)) is None


# -- Help > About ------------------------------------------------------------------------------


def test_about_shows_the_version_engine_qt_python_data_folder_and_licences(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    window.window_actions.about.trigger()
    dialog = window.window_actions.about_dialog
    assert dialog is not None and dialog.isVisible()
    text = dialog.text()
    assert f"Version: {__version__}" in text
    assert "llama.cpp" in text and "llama-cpp-python 0.3" in text and "CPU" in text
    assert "Qt: 6." in text and "Python: 3." in text
    assert str(data_dir) in text
    licences = {
        dialog.licenses.item(row, 0).text(): dialog.licenses.item(row, 1).text()
        for row in range(dialog.licenses.rowCount())
    }
    assert licences["llama.cpp and ggml (runs the models)"] == "MIT"
    assert licences["Qt 6"] == "LGPL-3.0"
    assert licences["SQLite"] == "Public domain"
    screenshot(dialog, "comfort-about")
