"""The desktop app as a whole: start-up, smoke test, a too-new database, accessible names."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from localai_desktop import __version__
from localai_desktop.core.storage import Database
from localai_desktop.ui.app import _application, main
from localai_desktop.ui.models.model_import import ImportModelDialog
from localai_desktop.ui.shell.app_icon import DESKTOP_ENTRY
from tests.support.gui_support import OpenWindow, no_thread_left_running, window_opener

CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def unnamed_controls(root: QWidget) -> list[str]:
    """Every control under `root` that a screen reader could not name."""
    missing = []
    # A combo box's drop-down list is Qt's own, named through the combo box.
    popups = {id(combo.view()) for combo in root.findChildren(QComboBox)}
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or id(widget) in popups:
            continue
        # Qt's own scaffolding inside composite widgets (the line edit of a spin box, a
        # scroll area's corner button) is named by its owner.
        if isinstance(widget.parent(), (QAbstractSpinBox, QComboBox)):
            continue
        if type(widget).__name__ == "QAbstractButton" or widget.objectName().startswith("qt_"):
            continue
        if not widget.accessibleName().strip():
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} {widget.parent()!r}")
    return missing


def test_smoke_test_opens_the_window_and_exits_0(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with no_thread_left_running(monkeypatch):
        code = main(["--smoke-test", "--data-dir", str(data_dir)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Smoke test passed" in out and "Chat, Documents, Models" in out
    assert (data_dir / "localai.db").is_file()
    assert "Starting LocalAI Desktop" in (data_dir / "logs" / "desktop.log").read_text()


def test_the_window_shows_the_app_icon_drawn_for_each_size(
    open_window: OpenWindow, data_dir: Path
) -> None:
    window = open_window(data_dir)
    icon = window.windowIcon()
    assert not icon.isNull()
    # The title bar's 16 px is the one drawn on the 16 px grid, not the large one scaled down.
    assert {16, 32, 48, 256} <= {size.width() for size in icon.availableSizes()}


def test_the_app_gives_every_window_its_icon_and_names_its_desktop_entry(qapp: object) -> None:
    app = _application()
    assert not app.windowIcon().isNull()
    # On Wayland the icon comes from the desktop entry with this name, not from the window.
    assert app.desktopFileName() == DESKTOP_ENTRY


def test_version_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"localai-desktop {__version__}"


def test_a_database_from_a_newer_app_is_refused_plainly(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Database(data_dir / "localai.db").close()
    with sqlite3.connect(data_dir / "localai.db") as raw:
        raw.execute("PRAGMA user_version = 999")

    assert main(["--smoke-test", "--data-dir", str(data_dir)]) == 1

    err = capsys.readouterr().err
    assert "newer version of LocalAI Desktop" in err
    assert "Traceback" not in err


def test_every_control_has_an_accessible_name(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    with qtbot.waitSignal(window.models_tab.import_ended, timeout=60_000):
        window.models_tab.start_import(stories260k, "Stories", copy=False)
    conversation = window.store.create()
    window.store.add_message(conversation.id, "user", "Hello")
    window.store.add_message(conversation.id, "assistant", "# Hi\n\nHow can I help?")
    window.chat_tab.refresh_conversations()
    window.chat_tab.select_conversation(conversation.id)
    window.chat_tab.banner.show_error("A message")

    missing = unnamed_controls(window)
    assert missing == [], "\n".join(missing)
    dialog = ImportModelDialog(stories260k, data_dir / "models", window)
    assert unnamed_controls(dialog) == []
    dialog.deleteLater()
