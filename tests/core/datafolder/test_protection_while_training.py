"""Protecting a workspace while a training runs in it is refused in plain words, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.protection import protect
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.storage.connections import is_plaintext_database
from tests.support.finetune_support import training_at_work

PASSPHRASE = "staple battery horse"


def test_protecting_while_a_training_runs_is_refused_and_changes_nothing(data_dir: Path) -> None:
    with Workspace.open(data_dir) as workspace:
        workspace.conversations.create("Kept as it was")
    paths = DataPaths(data_dir)

    with training_at_work(data_dir, "clinic-letters"):
        with pytest.raises(LocalAIError) as refused:
            protect(paths, PASSPHRASE)
        assert "A training is running in this workspace (“clinic-letters”)" in refused.value.what
        assert "stop it in the Fine-tune tab" in refused.value.todo
        assert is_plaintext_database(paths.database)
        assert not paths.key_file.exists()
        with Workspace.open(data_dir) as workspace:
            assert [job.name for job in workspace.jobs.running()] == ["clinic-letters"]

    # Once the trainer has ended (finished, stopped or killed), protecting works.
    protect(paths, PASSPHRASE)
    assert not is_plaintext_database(paths.database)
    with Workspace.open(data_dir, passphrase=lambda _info: PASSPHRASE) as workspace:
        assert [c.title for c in workspace.conversations.list()] == ["Kept as it was"]
        assert workspace.jobs.running() == []
