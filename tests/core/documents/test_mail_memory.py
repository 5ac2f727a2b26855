"""A big e-mail is parsed from a stream: memory follows its size, not seven times it."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from localai_desktop.core.documents.mail import attachment_bytes, open_mail


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
