"""Remote engines' API keys at rest: the OS keychain for an unprotected workspace (never its
plaintext database), the encrypted database for a protected one; removed with the remote or
the workspace."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.datafolder.data_reset import delete_all_data
from localai_desktop.core.datafolder.paths import DataPaths, init_data_paths
from localai_desktop.core.datafolder.protection import protect
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.remotes.keychain_keys import (
    IN_KEYCHAIN,
    SERVICE,
    KeychainUnavailableError,
)
from tests.support.keychain_support import MemoryKeyring, memory_keyring

KEY = "sk-remote-9f8e7d6c5b4a"
PASSPHRASE = "correct horse battery"


@pytest.fixture
def keychain() -> Iterator[MemoryKeyring]:
    with memory_keyring() as backend:
        yield backend


def files_holding(folder: Path, secret: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


def test_an_unprotected_workspace_keeps_the_key_in_the_keychain_not_its_database(
    data_dir: Path, keychain: MemoryKeyring
) -> None:
    with Workspace.open(data_dir) as ws:
        added = ws.remotes.add("gpu", "https://gpu.example.com", api_key=KEY)
        assert added.api_key == KEY
        assert ws.remotes.store.get("gpu").api_key == KEY  # read back from the keychain
        assert ws.remotes.list()[0].to_json()["has_api_key"]
    assert files_holding(data_dir, KEY) == []
    assert [KEY in value for value in keychain.saved.values()] == [True]
    with Workspace.open(data_dir) as ws:
        assert ws.remotes.store.get("gpu").api_key == KEY
        ws.remotes.remove("gpu")
    assert keychain.saved == {}


def test_without_a_keychain_the_key_is_refused_and_told_how_to_keep_it(data_dir: Path) -> None:
    # The tests' default keyring backend ("null") takes every password and keeps none.
    with Workspace.open(data_dir) as ws:
        with pytest.raises(KeychainUnavailableError) as refused:
            ws.remotes.add("gpu", "https://gpu.example.com", api_key=KEY)
        message = refused.value.message
        assert "was not saved" in message and "Protect the workspace" in message
        assert ws.remotes.list() == []  # nothing half-added
        assert ws.remotes.add("open", "https://gpu.example.com").api_key is None
    assert files_holding(data_dir, KEY) == []


def test_a_key_an_older_version_wrote_in_plaintext_moves_to_the_keychain_at_open(
    data_dir: Path, keychain: MemoryKeyring
) -> None:
    with Workspace.open(data_dir) as ws:
        ws.remotes.add("open", "https://gpu.example.com")
    database = init_data_paths(data_dir).database
    raw = sqlite3.connect(database)
    raw.execute("UPDATE remotes SET api_key = ? WHERE name = 'open'", (KEY,))
    raw.commit()
    raw.close()
    assert files_holding(data_dir, KEY)

    with Workspace.open(data_dir) as ws:
        assert ws.remotes.store.get("open").api_key == KEY
    assert files_holding(data_dir, KEY) == []  # overwritten, WAL emptied
    raw = sqlite3.connect(database)
    assert raw.execute("SELECT api_key FROM remotes").fetchone()[0] == IN_KEYCHAIN
    raw.close()


def test_protecting_the_workspace_brings_the_key_into_its_encrypted_database(
    data_dir: Path, keychain: MemoryKeyring
) -> None:
    info = WorkspaceDirectory(init_data_paths(data_dir)).create("Smith v Jones")
    with Workspace.open(data_dir, workspace=info.id) as ws:
        ws.remotes.add("gpu", "https://gpu.example.com", api_key=KEY)
    assert keychain.saved
    protect(DataPaths(data_dir).for_workspace(info.folder), PASSPHRASE)
    with Workspace.open(data_dir, workspace=info.id, passphrase=lambda _info: PASSPHRASE) as ws:
        assert ws.protected
        assert ws.remotes.store.get("gpu").api_key == KEY
    assert keychain.saved == {}  # locked with the workspace now, not readable without it
    assert files_holding(data_dir, KEY) == []
    with Workspace.open(data_dir, workspace=info.id, passphrase=lambda _info: PASSPHRASE) as ws:
        assert ws.remotes.store.get("gpu").api_key == KEY
        ws.remotes.add("second", "https://other.example.com", api_key="sk-second")
    assert keychain.saved == {}  # a protected workspace's new keys stay in its database


def test_deleting_the_workspace_or_all_data_removes_its_keys_from_the_keychain(
    data_dir: Path, keychain: MemoryKeyring
) -> None:
    paths = init_data_paths(data_dir)
    info = WorkspaceDirectory(paths).create("Matter 12")
    with Workspace.open(data_dir, workspace=info.id) as ws:
        ws.remotes.add("gpu", "https://gpu.example.com", api_key=KEY)
    with Workspace.open(data_dir) as ws:
        ws.remotes.add("box", "https://box.example.com", api_key="sk-default")
    assert {service for service, _ in keychain.saved} == {SERVICE}
    assert len(keychain.saved) == 2
    WorkspaceDirectory(paths).remove(info.id)
    assert len(keychain.saved) == 1
    delete_all_data(paths)
    assert keychain.saved == {}
