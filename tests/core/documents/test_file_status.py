"""A document's status is a FileStatus, stored as the same plain strings as before."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.documents.index_store import FileStatus, IndexStore
from localai_desktop.core.storage import Database
from localai_desktop.core.storage.tables import ModelRow


def test_a_file_status_is_stored_and_read_back_as_its_plain_string(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    with db.session() as session:
        model = ModelRow(
            name="minilm",
            path=str(tmp_path / "minilm.gguf"),
            file_size=1,
            sha256="0" * 64,
            architecture="bert",
            parameter_count=1,
            quantization="F16",
            context_length=512,
            added_at=utcnow(),
        )
        session.add(model)
        session.flush()
        model_id = model.id
    store = IndexStore(db)
    collection = store.create_collection(
        "Notes", model_id=model_id, model_name="minilm", model_sha256="0" * 64, chunk_tokens=200
    )
    file = store.upsert_file(collection.id, tmp_path / "notes.txt", None)
    assert file.status is FileStatus.PENDING
    store.update_file(file.id, status=FileStatus.SKIPPED, reason="The file is empty.")

    def raw() -> tuple[str, str]:
        with db.session() as session:
            row = session.execute(
                text("SELECT status, typeof(status) FROM doc_files WHERE id = :id"),
                {"id": file.id},
            ).one()
            return (row[0], row[1])

    assert raw() == ("skipped", "text")
    stored = store.file(file.id)
    assert stored.status is FileStatus.SKIPPED and stored.to_json()["status"] == "skipped"
    assert dict(store.get_collection(collection.id).status_counts) == {"skipped": 1}
    assert store.files(collection.id, statuses=[FileStatus.SKIPPED]) == [stored]
    db.close()
