"""Download states are an enum, stored as the same plain strings as before."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text, update

from localai_desktop.core.hub.download_store import DownloadRequest, DownloadState, DownloadStore
from localai_desktop.core.hub.repos import HubFile
from localai_desktop.core.storage import Database
from localai_desktop.core.storage.tables import DownloadRow


def test_a_download_state_is_stored_and_read_back_as_its_plain_string(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = DownloadStore(db, tmp_path / "hub")
    files = (HubFile("stories260K-F32.gguf", 1_185_376, "0" * 64),)
    download_id = store.create(DownloadRequest("test/stories-GGUF", "a" * 40, "F32", files, {}))
    store.set_status(download_id, DownloadState.PAUSED)
    with db.session() as session:
        raw = session.execute(
            text("SELECT status, typeof(status) FROM downloads WHERE id = :id"),
            {"id": download_id},
        ).one()
    assert tuple(raw) == ("paused", "text")
    stored = store.get(download_id)
    assert stored.status is DownloadState.PAUSED and stored.status == "paused"
    assert json.loads(json.dumps(stored.progress().to_json()))["state"] == "paused"
    assert f"{stored.status}" == "paused"

    # A row an earlier version wrote reads back as the member.
    with db.session() as session:
        session.execute(update(DownloadRow).values(status="failed"))
    assert store.get(download_id).status is DownloadState.FAILED
    db.close()
