"""The Models tab's "Remote engines" section: add one through the dialog, see where it sends
text, a refused address keeps the dialog open with the reason, remove asks first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.remotes.keychain_keys import RemoteKeychain
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage import Database
from localai_desktop.ui.remotes.panel import RemotesPanel


@pytest.fixture
def remotes(data_dir: Path) -> Iterator[Remotes]:
    db = Database(data_dir / "localai.db")
    yield Remotes(db)
    db.close()


def test_a_remote_added_in_the_dialog_is_listed_with_where_text_goes(
    qtbot: QtBot, remotes: Remotes
) -> None:
    panel = RemotesPanel(remotes)
    qtbot.addWidget(panel)
    panel.resize(800, 600)
    panel.show()
    assert panel.empty_label.isVisible() and not panel.remove_button.isEnabled()
    panel.add_button.click()
    dialog = panel.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.name_field.setText("gpu-server")
    dialog.url_field.setText("http://8.8.8.8:8000")
    dialog.add_button.click()
    assert dialog.isVisible() and "unencrypted" in dialog.banner.text()  # stays open to fix
    dialog.url_field.setText("https://gpu-server.clinic.lan:8443")
    dialog.key_field.setText("secret-key")
    dialog.offline_box.setChecked(True)
    with qtbot.waitSignal(panel.remotes_changed):
        dialog.add_button.click()
    assert not dialog.isVisible()
    assert panel.names() == ["gpu-server"]
    text = panel.list.item(0).text()
    assert "Runs on gpu-server.clinic.lan: your text is sent there" in text
    assert "allowed offline" in text and "secret-key" not in text
    added = remotes.store.get("gpu-server")
    assert added.api_key == "secret-key" and added.allow_offline


def test_remove_asks_first_and_forgets_the_remote(qtbot: QtBot, remotes: Remotes) -> None:
    remotes.add("box", "http://127.0.0.1:8080")
    panel = RemotesPanel(remotes)
    qtbot.addWidget(panel)
    panel.show()
    panel.list.setCurrentRow(0)
    assert panel.remove_button.isEnabled()
    panel.remove_button.click()
    answer_remove_box(qtbot, panel)
    assert panel.names() == [] and remotes.list() == []
    qtbot.wait(50)


def answer_remove_box(qtbot: QtBot, panel: RemotesPanel) -> None:
    # In a function of its own, so no Python wrapper of the box outlives it when Qt deletes it.
    box = panel.findChild(QMessageBox)
    assert box is not None and "box" in box.text()
    remove = next(b for b in box.buttons() if b.text() == "Remove")
    with qtbot.waitSignal(panel.remotes_changed):
        remove.click()


def test_a_key_no_keychain_can_keep_is_refused_in_the_dialog_with_what_to_do(
    qtbot: QtBot, data_dir: Path
) -> None:
    # An unprotected workspace's remotes, on a computer without a keychain (the tests' "null"
    # keyring backend keeps nothing).
    db = Database(data_dir / "localai.db")
    remotes = Remotes(db, keychain=RemoteKeychain(data_dir, "default"))
    try:
        panel = RemotesPanel(remotes)
        qtbot.addWidget(panel)
        panel.show()
        panel.add_button.click()
        dialog = panel.dialog
        assert dialog is not None
        dialog.name_field.setText("gpu-server")
        dialog.url_field.setText("https://gpu-server.clinic.lan:8443")
        dialog.key_field.setText("secret-key")
        dialog.add_button.click()
        assert dialog.isVisible()  # stays open: add it without the key, or protect first
        assert "was not saved" in dialog.banner.text()
        assert "Protect the workspace with a passphrase" in dialog.banner.text()
        assert remotes.list() == []
        dialog.key_field.clear()
        with qtbot.waitSignal(panel.remotes_changed):
            dialog.add_button.click()
        assert panel.names() == ["gpu-server"]
    finally:
        db.close()
