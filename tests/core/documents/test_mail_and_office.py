"""E-mail with attachments as documents of their own, OpenDocument and Rich Text, bad mail."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.index_store import DocumentFile
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import mail_support as mail

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"


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


def by_name(library: DocumentLibrary) -> dict[str, DocumentFile]:
    return {f.name: f for f in library.files("Mail")}


def test_an_attachment_fact_is_found_and_cited_to_the_attachment_in_its_email(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    email_path = mail.write_lab_email(tmp_path)
    library.add_paths("Mail", [email_path])
    report = library.index("Mail")
    assert report.indexed == 2  # the e-mail and its attachment, each a document
    files = by_name(library)
    assert files["results.eml"].status == "indexed"
    attachment = files["lab-report.pdf"]
    assert attachment.status == "indexed" and attachment.parent_id == files["results.eml"].id
    hits = library.search(["Mail"], "What was the potassium level?", k=3)
    assert hits[0].file_name == "lab-report.pdf, in e-mail Blood results (14 March 2024)"
    assert hits[0].location == "lab-report.pdf, in e-mail Blood results (14 March 2024), page 1"
    assert "6.1 mmol/L" in hits[0].text
    # The e-mail's own text keeps who wrote to whom, when, and the subject.
    body = library.search(["Mail"], "results attached Dr Jones", k=3)
    mail_hit = next(h for h in body if h.file_name == "results.eml")
    assert "From: Laboratory" in mail_hit.text and "To: Dr Jones" in mail_hit.text
    assert mail_hit.heading == "Blood results (14 March 2024)"


def test_removing_an_email_removes_its_attachments(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    email_path = mail.write_lab_email(tmp_path)
    library.add_paths("Mail", [email_path])
    library.index("Mail")
    library.remove_files("Mail", [email_path])
    assert library.files("Mail") == []
    assert library.search(["Mail"], "potassium", k=3) == []


def test_an_unchanged_email_is_not_read_again_and_its_attachment_stays(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    email_path = mail.write_lab_email(tmp_path)
    library.add_paths("Mail", [email_path])
    library.index("Mail")
    library.add_paths("Mail", [tmp_path])  # the folder again: the attachment is not "gone"
    report = library.index("Mail")
    assert report.unchanged == 1 and report.indexed == 0
    assert by_name(library)["lab-report.pdf"].status == "indexed"


def test_odt_and_rtf_are_indexed_with_their_headings(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    mail.write_odt(tmp_path / "visiting.odt")
    mail.write_rtf(tmp_path / "notice.rtf")
    library.add_paths("Mail", [tmp_path])
    assert library.index("Mail").indexed == 2
    hit = library.search(["Mail"], "When does the car park close?", k=1)[0]
    assert (hit.file_name, hit.heading) == ("visiting.odt", "Parking")
    hit = library.search(["Mail"], "How much notice must the tenant give?", k=1)[0]
    assert hit.file_name == "notice.rtf" and "two months" in hit.text


def test_bad_mail_gets_a_reason_and_the_rest_index(
    library: DocumentLibrary, tmp_path: Path
) -> None:
    mail.write_lab_email(tmp_path)
    mail.write_malformed_mime(tmp_path / "broken.eml")
    (tmp_path / "fake.msg").write_bytes(b"This is not an Outlook message at all.\n" * 20)
    (tmp_path / "not-mail.eml").write_bytes(b"\x00\x01 just some bytes \xff" * 10)
    mail.write_nested_email(tmp_path / "nested.eml", depth=40)
    library.add_paths("Mail", [tmp_path])
    library.index("Mail")
    files = by_name(library)
    assert files["results.eml"].status == "indexed"
    assert files["lab-report.pdf"].status == "indexed"
    # A broken MIME structure still gives what can be read: the headers and the text.
    assert files["broken.eml"].status == "indexed"
    assert files["fake.msg"].status == "failed" and "not an Outlook message" in (
        files["fake.msg"].reason or ""
    )
    assert files["not-mail.eml"].status == "failed"
    assert "does not look like an e-mail" in (files["not-mail.eml"].reason or "")
    # An e-mail attaching an e-mail ... 40 deep: three levels are indexed, the rest left out.
    nested = [f for f in library.files("Mail") if "nested.eml" in str(f.path)]
    assert len(nested) == 4, [str(f.path) for f in nested]
    deepest = max(nested, key=lambda f: str(f.path).count("#"))
    assert "left out" in (deepest.reason or "")
