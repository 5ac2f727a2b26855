"""A protected workspace keeps the fine-tune tab's examples file name sealed, not in settings.ini.

The nothing-in-plaintext pattern: the file's name carries a unique word (as a client's name
would); after importing it, restarting, and an older settings.ini that held it, no byte of any
file under the data folder contains the word, and the tab still brings the examples back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.private_state import PrivateState
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.ui.finetune.tab import EXAMPLES_FILE_KEY
from tests.support.finetune_support import fact_jsonl
from tests.support.session_support import import_model
from tests.ui.workspaces.workspace_support import (
    StartSession,
    make_workspace,
    open_last,
    session_starter,
    unlock,
)

PASSPHRASE = "correct horse battery"
WORD = "zyxquokkamoon"


@pytest.fixture
def start(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[StartSession]:
    with session_starter(qtbot, monkeypatch, tmp_path / "config") as starter:
        yield starter


def _grep(folder: Path, word: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and word in p.read_bytes()]


def test_the_examples_file_name_is_sealed_in_a_protected_workspace(
    start: StartSession, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "stories")
    info = make_workspace(data_dir, "Smith v Jones", PASSPHRASE)
    open_last(data_dir, info)
    paths = DataPaths(data_dir).for_workspace(info.folder)
    outside = tmp_path / "outside"
    outside.mkdir()
    dataset = fact_jsonl(outside / f"{WORD}-letters.jsonl", copies=10)
    # What an older version left: the name in the plaintext settings.ini.
    older = QSettings(str(paths.window_state), QSettings.Format.IniFormat)
    older.setValue(EXAMPLES_FILE_KEY, str(dataset))
    older.sync()
    assert _grep(data_dir, WORD.encode())

    session = start(data_dir)
    window = unlock(qtbot, session, PASSPHRASE)
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    # Brought back from where the older version kept it, now moved into the sealed state.
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 10, timeout=60_000)
    tab.examples.choose_file = lambda _parent: dataset
    qtbot.mouseClick(tab.examples.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 10, timeout=60_000)
    session.close()

    assert _grep(data_dir, WORD.encode()) == []
    assert paths.private_state.is_file()
    with Workspace.open(data_dir, workspace=info.id, passphrase=lambda _i: PASSPHRASE) as ws:
        state = PrivateState(paths.private_state, ws.vault)
        assert state.get(EXAMPLES_FILE_KEY) == str(dataset)

    # The next start brings them back from the sealed state.
    again = start(data_dir)
    window = unlock(qtbot, again, PASSPHRASE)
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 10, timeout=60_000)
    assert WORD in tab.examples.line.text()
    again.close()
    assert _grep(data_dir, WORD.encode()) == []


def test_an_unprotected_workspace_keeps_it_where_it_was(data_dir: Path) -> None:
    with Workspace.open(data_dir) as ws:
        assert not ws.protected
    # Nothing sealed is made for a plaintext workspace: settings.ini keeps such values.
    assert not DataPaths(data_dir).private_state.exists()
