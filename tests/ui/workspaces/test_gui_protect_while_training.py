"""Protect while a training runs in the workspace: refused in plain words, the window stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.storage.connections import is_plaintext_database
from localai_desktop.ui.workspaces.dialogs import ProtectWorkspaceDialog
from tests.support.finetune_support import training_at_work
from tests.ui.workspaces.workspace_support import StartSession, session_starter

PASSPHRASE = "correct horse battery"


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


def test_protecting_while_a_training_runs_is_refused_and_the_window_stays(
    start: StartSession, data_dir: Path, qtbot: QtBot
) -> None:
    with training_at_work(data_dir, "clinic-letters"):
        session = start(data_dir)
        window = session.window
        assert window is not None
        window.store.create("Still here")
        dialog = window.workspace_switcher.open_protect_dialog()
        assert isinstance(dialog, ProtectWorkspaceDialog)
        dialog.form.passphrase.setText(PASSPHRASE)
        dialog.form.again.setText(PASSPHRASE)
        dialog.ok_button.click()

        boxes = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "workspace-problem"
        ]
        assert [b.text() for b in boxes] == ["The workspace was not protected."]
        said = boxes[0].informativeText()
        assert "A training is running in this workspace (“clinic-letters”)" in said
        assert "stop it in the Fine-tune tab" in said
        # Nothing was closed or changed: the same window, the training untouched.
        assert session.window is window and window.isVisible()
        assert session.busy_dialog is None
        assert not session.workspace.protected
        assert is_plaintext_database(data_dir / "localai.db")
        assert [job.name for job in session.workspace.jobs.running()] == ["clinic-letters"]
        boxes[0].close()
