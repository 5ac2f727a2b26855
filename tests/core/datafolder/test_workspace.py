"""The Workspace: one data folder opened once, its services, offline mode, closing in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.cli import main as localai
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.datafolder.settings import DEFAULT_HUB_ENDPOINT, AppSettingsStore
from localai_desktop.core.datafolder.workspace import Workspace


def test_a_workspace_opens_the_folder_and_the_cli_sees_what_it_stored(
    data_dir: Path, stories260k: Path
) -> None:
    with Workspace.open(data_dir) as workspace:
        assert workspace.paths.database.is_file()
        model = workspace.registry.import_model(stories260k, name="stories", probe=False)
        conversation = workspace.conversations.create(model_id=model.id)
        workspace.conversations.add_message(conversation.id, "user", "Hello from the workspace")
        assert workspace.documents.list() == []
        assert workspace.adapters.list() == []
        assert workspace.finetune.jobs_dir == data_dir / "finetune"

    # The command line opens its own Workspace on the same folder and reads the same records.
    assert localai(["--data-dir", str(data_dir), "models", "list"]) == 0
    assert localai(["--data-dir", str(data_dir), "chats", "show", str(conversation.id)]) == 0


def test_offline_mode_is_saved_applied_to_downloads_and_told_to_observers(data_dir: Path) -> None:
    workspace = Workspace.open(data_dir)
    seen: list[bool] = []
    stop = workspace.observe_offline(seen.append)
    try:
        downloads = workspace.downloads
        workspace.set_offline(True)
        workspace.set_offline(True)  # no change: nobody is told twice
        assert seen == [True]
        assert workspace.offline and downloads.offline
        assert AppSettingsStore(workspace.paths.settings).load().offline_mode is True
        stop()
        workspace.set_offline(False)
        assert seen == [True] and not downloads.offline
    finally:
        workspace.close()
    with Workspace.open(data_dir) as again:
        assert again.offline is False


def test_offline_mode_applies_even_when_it_cannot_be_saved(data_dir: Path) -> None:
    workspace = Workspace.open(data_dir)
    seen: list[bool] = []
    workspace.observe_offline(seen.append)
    workspace.paths.settings.mkdir()  # a folder where the settings file should be: no save
    try:
        with pytest.raises(StorageError):
            workspace.set_offline(True)
        assert workspace.offline and seen == [True]
    finally:
        workspace.close()


def test_imported_settings_switch_offline_mode_through_the_workspace(data_dir: Path) -> None:
    with Workspace.open(data_dir) as workspace:
        seen: list[bool] = []
        workspace.observe_offline(seen.append)
        AppSettingsStore(workspace.paths.settings).update(offline_mode=True)  # as an import does
        workspace.reload_offline()
        assert workspace.offline and seen == [True]


def test_a_bad_saved_hub_address_stops_a_command_but_not_the_window(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    with Workspace.open(data_dir) as workspace:
        workspace.paths.settings.write_text('{"hub_endpoint": "ftp://nowhere"}', encoding="utf-8")
        with pytest.raises(LocalAIError):
            workspace.hub_endpoint()
        assert workspace.hub_endpoint(strict=False) == DEFAULT_HUB_ENDPOINT


def test_closing_twice_is_harmless_and_closes_the_downloads_first(data_dir: Path) -> None:
    workspace = Workspace.open(data_dir)
    downloads = workspace.downloads
    workspace.close()
    workspace.close()  # the window and the session may both close it
    assert downloads._closed  # no download thread outlives the database
