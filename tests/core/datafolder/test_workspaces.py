"""Workspaces: separate material per client, models shared, protected ones encrypted at rest."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.workspace import PassphraseNeededError, Workspace
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory
from localai_desktop.core.vault.keys import WrongPassphraseError

PASSPHRASE = "staple battery horse"


def _every_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def _protected(root: Path, name: str) -> None:
    info = WorkspaceDirectory(DataPaths(root)).create(name)
    info.key_file.create(PASSPHRASE)


def test_each_workspace_keeps_its_own_conversations_and_shares_the_models(
    tmp_path: Path, stories260k: Path
) -> None:
    WorkspaceDirectory(DataPaths(tmp_path)).create("Smith v Jones")
    with Workspace.open(tmp_path) as default:
        model = default.registry.import_model(stories260k)
        default.conversations.create("Default's letter", model_id=model.id)
    with Workspace.open(tmp_path, workspace="smith v jones") as other:
        assert other.info.name == "Smith v Jones"
        assert [m.name for m in other.registry.list()] == [model.name]  # shared
        assert other.conversations.list() == []  # kept apart
        other.conversations.create("Smith's letter", model_id=model.id)
    with Workspace.open(tmp_path) as default:
        assert [c.title for c in default.conversations.list()] == ["Default's letter"]


def test_a_protected_workspace_needs_its_passphrase_and_is_unreadable_without(
    tmp_path: Path,
) -> None:
    _protected(tmp_path, "Clinic")
    with pytest.raises(PassphraseNeededError):
        Workspace.open(tmp_path, workspace="Clinic")
    with pytest.raises(WrongPassphraseError):
        Workspace.open(tmp_path, workspace="Clinic", passphrase=lambda _i: "not the one at all")
    with Workspace.open(tmp_path, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        assert ws.protected
        conversation = ws.conversations.create("Discharge letter zebrafinch")
        ws.conversations.add_message(conversation.id, "user", "Patient quokkamoon is well")
        folder = ws.paths.workspace
    assert b"quokkamoon" not in _every_byte(folder)
    assert b"zebrafinch" not in _every_byte(folder)
    raw = sqlite3.connect(folder / "localai.db")
    with pytest.raises(sqlite3.DatabaseError):
        raw.execute("SELECT * FROM messages").fetchall()
    raw.close()
    with Workspace.open(tmp_path, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        assert [m.content for m in ws.conversations.get(conversation.id).messages] == [
            "Patient quokkamoon is well"
        ]
        kinds = [e.kind for e in ws.audit.entries()]
        assert kinds.count("unlocked") == 2


def test_names_are_checked_and_unique(tmp_path: Path) -> None:
    directory = WorkspaceDirectory(DataPaths(tmp_path))
    directory.create("Smith v Jones")
    with pytest.raises(LocalAIError, match="already exists"):
        directory.create("  smith   v jones ")
    with pytest.raises(LocalAIError, match="needs a name"):
        directory.create("   ")
    with pytest.raises(LocalAIError, match="control characters"):
        directory.create("evil\x1b[2Jname")
    renamed = directory.rename("Smith v Jones", "Smith and Jones")
    assert [w.name for w in directory.list()] == ["Default", "Smith and Jones"]
    assert renamed.name not in str(renamed.folder)  # no client's name in a path
    with pytest.raises(LocalAIError, match="no workspace named"):
        directory.find("Nobody")


def test_removing_a_protected_workspace_destroys_its_key_first(tmp_path: Path) -> None:
    _protected(tmp_path, "Old matter")
    directory = WorkspaceDirectory(DataPaths(tmp_path))
    with Workspace.open(tmp_path, workspace="Old matter", passphrase=lambda _i: PASSPHRASE):
        pass
    info = directory.find("Old matter")
    directory.remove("Old matter")
    assert not info.folder.exists() and not info.key_file.exists()
    assert [w.name for w in directory.list()] == ["Default"]
    with pytest.raises(LocalAIError, match="default workspace cannot be removed"):
        directory.remove("Default")


def test_a_damaged_list_of_workspaces_says_so(tmp_path: Path) -> None:
    (tmp_path / "workspaces.json").write_text("{not json")
    with pytest.raises(StorageError, match="damaged"):
        WorkspaceDirectory(DataPaths(tmp_path)).list()


def test_delete_all_data_removes_every_workspace_and_keeps_the_shared_models(
    tmp_path: Path, stories260k: Path
) -> None:
    from localai_desktop.core.datafolder.data_reset import delete_all_data, take_inventory

    _protected(tmp_path, "Clinic")
    with Workspace.open(tmp_path) as default:
        default.registry.import_model(stories260k, probe=False)
        default.conversations.create("Letter")
    with Workspace.open(tmp_path, workspace="Clinic", passphrase=lambda _i: PASSPHRASE) as ws:
        ws.conversations.create("Clinic letter")
        key = ws.info.key_file
    inventory = take_inventory(DataPaths(tmp_path))
    assert inventory.row_counts["conversations"] == 1 and inventory.row_counts["workspaces"] == 1
    assert "1 other workspace (all it holds)" in inventory.lines(include_models=False)
    report = delete_all_data(DataPaths(tmp_path))
    assert report.models_kept == 1
    assert not key.exists() and not (tmp_path / "workspaces").exists()
    assert [w.name for w in WorkspaceDirectory(DataPaths(tmp_path)).list()] == ["Default"]
    with Workspace.open(tmp_path) as default:
        assert default.conversations.list() == []
        assert len(default.registry.list()) == 1


def test_a_protected_workspace_keeps_its_content_out_of_the_logs_even_when_debugging(
    tmp_path: Path,
) -> None:
    from localai_desktop.core.common import logs

    _protected(tmp_path, "Clinic")
    logs.set_debug_logging(True)
    try:
        with Workspace.open(tmp_path):
            assert logs.content_for_log("Patient quokkamoon") == "'Patient quokkamoon'"
        with Workspace.open(tmp_path, workspace="Clinic", passphrase=lambda _i: PASSPHRASE):
            assert "quokkamoon" not in logs.content_for_log("Patient quokkamoon")
            assert not logs.content_logging_enabled()
    finally:
        logs.set_debug_logging(False)
        logs.set_content_protected(False)
