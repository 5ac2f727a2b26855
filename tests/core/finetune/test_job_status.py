"""A fine-tuning job's status is a JobStatus, stored as the same plain strings as before."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.finetune.events import TrainingSettings
from localai_desktop.core.finetune.jobs import JobStatus, JobStore
from localai_desktop.core.storage import Database
from localai_desktop.core.storage.tables import ModelRow


def test_a_job_status_is_stored_and_read_back_as_its_plain_string(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    with db.session() as session:
        model = ModelRow(
            name="tiny",
            path=str(tmp_path / "tiny.gguf"),
            file_size=1,
            sha256="0" * 64,
            architecture="llama",
            parameter_count=1,
            quantization="F32",
            context_length=512,
            added_at=utcnow(),
        )
        session.add(model)
        session.flush()
        model_id = model.id
    jobs = JobStore(db)
    job = jobs.create(
        "helper",
        base_model_id=model_id,
        base_model_sha256="0" * 64,
        settings=TrainingSettings(),
        dataset={},
    )
    assert job.status is JobStatus.READY and job.resumable
    job = jobs.update(job.id, status=JobStatus.CANCELLED)
    with db.session() as session:
        raw = session.execute(
            text("SELECT status, typeof(status) FROM finetune_jobs WHERE id = :id"),
            {"id": job.id},
        ).one()
    assert tuple(raw) == ("cancelled", "text")
    stored = jobs.get(job.id)
    assert stored.status is JobStatus.CANCELLED and stored.resumable
    assert stored.to_json()["status"] == "cancelled"
    assert not jobs.update(job.id, status=JobStatus.FINISHED).resumable
    db.close()
