"""Outlook messages (.msg): a real file, written at test time, read by olefile and extract-msg,
then indexed with its attachment as a document of its own, with extract-msg and without it
(the packaged app reads .msg files with olefile alone: core.documents.outlook)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import olefile
import pytest

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs
from tests.support import mail_support as mail
from tests.support.msg_factory import MsgAttachment, MsgRecipient, msg_bytes

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"
SENT = datetime(2024, 3, 14, 9, 30, tzinfo=timezone.utc)
BODY = (
    "Dear Dr Jones,\r\n\r\nPlease find the renal panel attached; the sample was haemolysed "
    "slightly but the repeat agrees.\r\n\r\nThe laboratory"
)


def lab_msg(folder: Path, *, extra: list[MsgAttachment] | None = None) -> bytes:
    pdf = docs.write_pdf(folder / "lab-report.pdf", [mail.LAB_FACT], filler=1)
    attachment = MsgAttachment("lab-report.pdf", pdf.read_bytes(), "application/pdf")
    pdf.unlink()  # the attachment exists only inside the message
    return msg_bytes(
        subject="Blood results",
        body=BODY,
        sender=MsgRecipient("Laboratory", "lab@hospital.example"),
        to=[MsgRecipient("Dr Jones", "jones@clinic.example")],
        sent=SENT,
        attachments=[attachment, *(extra or [])],
    )


def _check_red_black(ole: object, sid: int) -> int:
    """Black height of the sibling tree under `sid`; asserts order and colour rules."""
    entries = ole.direntries  # type: ignore[attr-defined]
    if sid == olefile.NOSTREAM:
        return 1
    node = entries[sid]
    key = (len(node.name), node.name.upper())
    for side, sign in ((node.sid_left, -1), (node.sid_right, 1)):
        if side != olefile.NOSTREAM:
            other = entries[side]
            assert ((len(other.name), other.name.upper()) > key) == (sign > 0)
            if node.color == 0:
                assert other.color == 1, "a red node with a red child"
    left = _check_red_black(ole, node.sid_left)
    assert left == _check_red_black(ole, node.sid_right), "unequal black heights"
    return left + (node.color == 1)


def test_the_written_msg_is_a_valid_compound_file_that_extract_msg_reads(tmp_path: Path) -> None:
    big = bytes(range(256)) * 40  # over 4096 bytes: stored in regular sectors, not the mini stream
    data = lab_msg(tmp_path, extra=[MsgAttachment("scan.bin", big), MsgAttachment("a.txt", b"hi")])
    assert olefile.isOleFile(io.BytesIO(data)) and len(data) % 512 == 0
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        assert ole.openstream("__substg1.0_0037001F").read().decode("utf-16-le") == "Blood results"
        assert ole.openstream("__attach_version1.0_#00000001/__substg1.0_37010102").read() == big
        assert ole.openstream("__attach_version1.0_#00000002/__substg1.0_37010102").read() == b"hi"
        for entry in ole.direntries:
            if entry is not None and entry.entry_type in (
                olefile.STGTY_ROOT,
                olefile.STGTY_STORAGE,
            ):
                _check_red_black(ole, entry.sid_child)
                if entry.sid_child != olefile.NOSTREAM:  # the tree's root is black
                    assert ole.direntries[entry.sid_child].color == 1
    finally:
        ole.close()

    extract_msg = pytest.importorskip("extract_msg")  # the optional 'outlook' extra
    message = extract_msg.openMsg(data, strict=True)
    try:
        assert type(message).__name__ == "Message"
        assert message.subject == "Blood results"
        assert message.sender == "Laboratory <lab@hospital.example>"
        assert message.to == "Dr Jones <jones@clinic.example>"
        assert message.date == SENT
        assert message.body == BODY
        assert [a.name for a in message.attachments] == ["lab-report.pdf", "scan.bin", "a.txt"]
        assert message.attachments[1].data == big
        assert message.attachments[0].data.startswith(b"%PDF")
    finally:
        message.close()


@pytest.fixture
def library(tmp_path: Path, models_dir: Path) -> Iterator[DocumentLibrary]:
    db = Database(tmp_path / "data" / "localai.db")
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / MINILM, name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Mail")
    yield library
    library.close()
    db.close()


@pytest.mark.parametrize("reader", ["extract-msg", "olefile alone"])
def test_an_outlook_message_is_indexed_with_its_headers_and_its_attachment(
    library: DocumentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    # The packaged app has no extract-msg (GPL-3.0): olefile alone must give the same result.
    if reader == "extract-msg":
        pytest.importorskip("extract_msg")
    else:
        monkeypatch.setitem(sys.modules, "extract_msg", None)  # `import extract_msg` fails
    folder = tmp_path / "inbox"
    folder.mkdir()
    path = folder / "results.msg"
    path.write_bytes(lab_msg(tmp_path))
    library.add_paths("Mail", [path])
    report = library.index("Mail")
    assert report.indexed == 2 and report.failed == 0  # the message and its attachment
    files = {f.name: f for f in library.files("Mail")}
    assert files["results.msg"].status == "indexed"
    attachment = files["lab-report.pdf"]
    assert attachment.status == "indexed" and attachment.parent_id == files["results.msg"].id

    hits = library.search(["Mail"], "What was the potassium level?", k=3)
    assert hits[0].file_name == "lab-report.pdf, in e-mail Blood results (14 March 2024)"
    assert hits[0].location == "lab-report.pdf, in e-mail Blood results (14 March 2024), page 1"
    assert "6.1 mmol/L" in hits[0].text

    body = library.search(["Mail"], "Was the sample haemolysed?", k=3)
    mail_hit = next(h for h in body if h.file_name == "results.msg")
    assert "the sample was haemolysed slightly" in mail_hit.text
    assert mail_hit.heading == "Blood results (14 March 2024)"
    headers = library.search(["Mail"], "From Laboratory to Dr Jones", k=5)
    header_hit = next(h for h in headers if h.file_name == "results.msg")
    assert "From: Laboratory <lab@hospital.example>" in header_hit.text
    assert "To: Dr Jones <jones@clinic.example>" in header_hit.text
    assert "Date: 14 March 2024 09:30" in header_hit.text
    assert "Subject: Blood results" in header_hit.text


def test_without_extract_msg_a_damaged_or_fake_msg_gets_a_plain_status(
    library: DocumentLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "extract_msg", None)
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "fake.msg").write_bytes(b"From: someone\r\n\r\nnot an Outlook file")
    whole = lab_msg(tmp_path)
    (folder / "cut.msg").write_bytes(whole[: len(whole) // 3])  # a truncated download
    library.add_paths("Mail", [folder])
    library.index("Mail")
    files = {f.name: f for f in library.files("Mail")}
    for name in ("fake.msg", "cut.msg"):
        assert files[name].status == "failed"
        assert "not an Outlook message (.msg), or it is damaged" in (files[name].reason or "")
