"""Export (Ctrl+E) and Print (Ctrl+P) of the conversation on screen, through the real window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdfium2
import pytest
from docx import Document
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from localai_desktop.core.audit.entries import CONVERSATION_EXPORTED, CONVERSATION_PRINTED, describe
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.export.actions import NO_CONVERSATION
from localai_desktop.ui.shell.main_window import MainWindow
from tests.support.export_support import MODEL_SHA256, store_lease_conversation
from tests.support.gui_support import OpenWindow, window_opener


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def lease_window(data_dir: Path, open_window: OpenWindow) -> tuple[MainWindow, int]:
    workspace = Workspace.open(data_dir)
    conversation_id = store_lease_conversation(workspace.conversations).id
    workspace.close()
    window = open_window(data_dir)
    window.tabs.setCurrentWidget(window.chat_tab)  # no model yet: it opened on Models
    window.chat_tab.select_conversation(conversation_id)
    return window, conversation_id


def press(qtbot: QtBot, window: MainWindow, key: Qt.Key) -> None:
    # Window shortcuts fire in the active window, as they would for a person at the keyboard.
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    qtbot.keyClick(QApplication.focusWidget() or window, key, Qt.KeyboardModifier.ControlModifier)


def pdf_text(path: Path) -> str:
    document = pypdfium2.PdfDocument(str(path))
    try:
        return "".join(page.get_textpage().get_text_range() for page in document)
    finally:
        document.close()


def test_ctrl_e_asks_for_a_file_and_writes_it_off_the_gui_thread(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, tmp_path: Path
) -> None:
    window, conversation_id = lease_window(data_dir, open_window)
    export = window.conversation_export
    asked: list[Path] = []

    def choose(_parent: object, suggested: Path) -> tuple[Path, str]:
        asked.append(suggested)
        return tmp_path / "For the file.docx", "docx"

    export.choose_file = choose
    with qtbot.waitSignal(export.export_finished, timeout=30_000) as finished:
        press(qtbot, window, Qt.Key.Key_E)
        assert export.is_busy()  # the slot returned at once; the worker writes the file
    assert asked[0].name == "Lease review for Mrs Example.docx"
    result = finished.args[0]
    word = Document(str(result.path))
    assert word.paragraphs[0].text == "Lease review for Mrs Example"
    assert word.tables[0].cell(1, 1).text == "Uncapped liability"
    banner = window.chat_tab.banner.text()
    assert "Saved as a Word document" in banner and "For the file.docx" in banner
    entry = window.workspace.audit.entries()[-1]
    assert entry.kind == CONVERSATION_EXPORTED and entry.conversation_id == conversation_id


def test_the_export_button_offers_export_and_print(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, tmp_path: Path
) -> None:
    window, _ = lease_window(data_dir, open_window)
    button = window.chat_tab.export_button
    assert button.isVisible()
    actions = [a.text() for a in button.menu().actions()]
    assert actions == [
        "&Export conversation…",
        "Export &selected messages…",
        "&Print conversation…",
    ]
    export = window.conversation_export
    export.choose_file = lambda _parent, _suggested: (tmp_path / "c.pdf", "pdf")
    with qtbot.waitSignal(export.export_finished, timeout=30_000):
        button.menu().actions()[0].trigger()
    text = pdf_text(tmp_path / "c.pdf")
    assert "Uncapped liability" in text and MODEL_SHA256 in text.replace("\r\n", "")
    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        qtbot.wait(50)
        window.grab().save(f"/tmp/export-button-{size[0]}x{size[1]}.png")
        assert button.geometry().right() <= button.parentWidget().width()


def test_print_lays_out_the_same_html_as_the_export(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, tmp_path: Path
) -> None:
    window, conversation_id = lease_window(data_dir, open_window)
    export = window.conversation_export
    target = tmp_path / "printed.pdf"

    def to_pdf(_parent: object, printer: QPrinter) -> bool:
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(target))
        return True

    export.choose_printer = to_pdf
    with qtbot.waitSignal(export.printed, timeout=30_000):
        press(qtbot, window, Qt.Key.Key_P)
    text = pdf_text(target)
    assert "Lease review for Mrs Example" in text
    assert "Uncapped liability" in text and "lease-2024.pdf, page 12" in text
    assert MODEL_SHA256 in text.replace("\r\n", "")
    # Printed like an export: on the record, naming the conversation, holding none of its words.
    audit = window.workspace.audit
    qtbot.waitUntil(lambda: audit.entries()[-1].kind == CONVERSATION_PRINTED, timeout=10_000)
    entry = audit.entries()[-1]
    assert entry.conversation_id == conversation_id
    assert describe(entry) == f"Conversation {conversation_id} printed (2 messages)"
    assert "liability" not in str(entry.facts).lower()

    export.choose_printer = lambda _parent, _printer: False
    with qtbot.waitSignal(export.export_failed, timeout=30_000) as failed:
        export.print_action.trigger()
    assert failed.args == ["Printing was cancelled; nothing was printed."]
    qtbot.wait(200)
    printed = [e for e in audit.entries() if e.kind == CONVERSATION_PRINTED]
    assert len(printed) == 1  # a cancelled print is not recorded


def test_with_no_conversation_it_says_what_to_do_and_a_cancelled_dialog_writes_nothing(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    export = window.conversation_export
    export.choose_file = lambda _parent, _suggested: pytest.fail("no dialog without a chat")
    export.export_action.trigger()
    assert window.chat_tab.banner.text() == NO_CONVERSATION

    window.close()
    window, _ = lease_window(data_dir, open_window)
    window.conversation_export.choose_file = lambda _parent, _suggested: None
    window.conversation_export.export_action.trigger()
    assert not window.conversation_export.is_busy() and not list(tmp_path.glob("*.docx"))


def test_selected_messages_are_chosen_in_a_list_then_exported(
    qtbot: QtBot, data_dir: Path, open_window: OpenWindow, tmp_path: Path
) -> None:
    window, _ = lease_window(data_dir, open_window)
    export = window.conversation_export
    export.choose_file = lambda _parent, _suggested: (tmp_path / "answer.md", "md")
    export.export_selected_action.trigger()
    chooser = export.chooser
    assert chooser is not None and chooser.isVisible()
    rows = [chooser.list.item(i).text() for i in range(chooser.list.count())]
    assert rows[0].startswith("User · ") and "Which clauses of the lease" in rows[0]
    assert rows[1].startswith("Assistant · ")
    chooser.list.item(0).setCheckState(Qt.CheckState.Unchecked)
    chooser.list.item(1).setCheckState(Qt.CheckState.Unchecked)
    assert not chooser.export_button.isEnabled()  # nothing ticked: nothing to export
    chooser.list.item(1).setCheckState(Qt.CheckState.Checked)
    with qtbot.waitSignal(export.export_finished, timeout=30_000):
        chooser.export_button.click()
    text = (tmp_path / "answer.md").read_text("utf-8")
    assert "1 message chosen from it" in text
    assert "## Assistant · " in text and "## User · " not in text
