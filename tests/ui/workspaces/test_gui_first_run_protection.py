"""The first-run guide offers a passphrase for the default workspace, with the plain warning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from localai_desktop.core.storage.connections import is_plaintext_database
from localai_desktop.ui.welcome import workers as first_run_workers
from localai_desktop.ui.welcome.guide import WelcomeGuide
from localai_desktop.ui.widgets.passphrase_form import FORGOTTEN_PASSPHRASE_WARNING
from tests.support.session_support import OpenSession, session_opener
from tests.ui.welcome.test_first_run import LAPTOP, go_to, open_guide
from tests.ui.workspaces.workspace_support import OPEN_TIMEOUT_MS

PASSPHRASE = "correct horse battery"


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    monkeypatch.setattr(first_run_workers, "detect_machine", lambda: LAPTOP)
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def next_page(qtbot: QtBot, guide: WelcomeGuide) -> None:
    qtbot.mouseClick(guide.button(QWizard.WizardButton.NextButton), Qt.MouseButton.LeftButton)


def test_the_guide_protects_the_default_workspace_when_asked(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = open_session(data_dir)
    session.window.store.create("Written before protection")  # type: ignore[union-attr]
    guide = open_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_FOLDER)
    next_page(qtbot, guide)
    page = guide.protect_page
    assert guide.currentId() == WelcomeGuide.PAGE_PROTECT
    assert page.protect.isChecked()  # recommended
    assert page.form.warning.text() == FORGOTTEN_PASSPHRASE_WARNING

    next_page(qtbot, guide)  # ticked, but no passphrase yet
    assert guide.currentId() == WelcomeGuide.PAGE_PROTECT
    assert "untick" in page.banner.text()

    page.form.passphrase.setText(PASSPHRASE)
    page.form.again.setText(PASSPHRASE)
    with qtbot.waitSignal(session.window_opened, timeout=OPEN_TIMEOUT_MS):
        next_page(qtbot, guide)
    qtbot.waitUntil(lambda: guide.currentId() == WelcomeGuide.PAGE_COMPUTER, timeout=5_000)

    assert session.workspace.protected
    assert not is_plaintext_database(data_dir / "localai.db")
    assert [c.title for c in session.workspace.conversations.list()] == [
        "Written before protection"
    ]
    guide.back()
    assert page.status.text() == "Your data is protected with a passphrase."
    assert not page.form.isVisible()
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)


def test_the_guide_goes_on_without_a_passphrase_when_unticked(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot
) -> None:
    session = open_session(data_dir)
    guide = open_guide(qtbot, session)
    go_to(qtbot, guide, WelcomeGuide.PAGE_COMPUTER)
    assert not session.workspace.protected
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)
