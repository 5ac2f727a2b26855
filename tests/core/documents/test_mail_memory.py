"""A big e-mail is parsed from a stream (memory follows its size, not seven times it), and once
for all its attachments."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest

from localai_desktop.core.documents import mail
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.mail import attachment_bytes, open_mail
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database


def write_big_email(path: Path, megabytes: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Ward 7 <ward7@hospital.example>"
    message["To"] = "Records <records@hospital.example>"
    message["Subject"] = "Scans for the month"
    message["Date"] = format_datetime(datetime(2024, 3, 14, 9, 30, tzinfo=timezone.utc))
    message.set_content("Please file the attached scans.")
    payload = bytes(range(256)) * (megabytes * 1024 * 1024 // 256 // 4)
    for number in range(4):
        message.add_attachment(
            payload + bytes([number]), maintype="image", subtype="png", filename=f"{number}.png"
        )
    path.write_bytes(bytes(message))
    return payload + bytes([2])


def test_a_big_email_is_read_with_memory_about_its_own_size(tmp_path: Path) -> None:
    path = tmp_path / "scans.eml"
    third = write_big_email(path, 12)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        parsed = open_mail(path, None)
        _, opening_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        data = attachment_bytes(path, None, "3")
        _, attachment_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [a.name for a in parsed.attachments] == ["0.png", "1.png", "2.png", "3.png"]
    assert data == third
    # Parsed from bytes (message_from_bytes) this took about 7 times the e-mail's size.
    assert opening_peak < 2.5 * size, f"{opening_peak / size:.1f} x the e-mail's size"
    assert attachment_peak < 2.5 * size, f"{attachment_peak / size:.1f} x the e-mail's size"


def test_an_email_is_parsed_once_for_all_its_attachments_and_not_kept_after(
    tmp_path: Path, models_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = EmailMessage()
    message["From"] = "Ward 7 <ward7@hospital.example>"
    message["Subject"] = "Handover notes"
    message.set_content("Notes attached.")
    for number in range(1, 4):
        note = f"Handover note {number}: bed {number} needs a fluid chart review at noon."
        message.add_attachment(
            note.encode(), maintype="text", subtype="plain", filename=f"note-{number}.txt"
        )
    path = tmp_path / "handover.eml"
    path.write_bytes(bytes(message))
    parses: list[Path] = []
    real_parse = mail._parse

    def counting(where: Path, data: bytes | None) -> object:
        parses.append(where)
        return real_parse(where, data)

    monkeypatch.setattr(mail, "_parse", counting)
    db = Database(tmp_path / "data" / "localai.db")
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    try:
        library.create("Mail")
        library.add_paths("Mail", [path])
        assert library.index("Mail").indexed == 4
        assert parses == [path]  # once, not once more per attachment
        assert mail._kept is None  # nothing held once the run is over
        hit = library.search(["Mail"], "Which bed needs a fluid chart review?", k=1)[0]
        assert hit.file_name.startswith("note-")
    finally:
        library.close()
        db.close()
