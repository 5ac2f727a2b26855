"""E-mails, OpenDocument and Rich Text files made at test time, good and broken."""

from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from tests.support import documents_support as docs

LAB_FACT = "The potassium level on 12 March was 6.1 mmol/L, which is high."


def lab_message(pdf: Path, *, subject: str = "Blood results") -> EmailMessage:
    """An e-mail from a lab with a PDF attachment holding LAB_FACT."""
    message = EmailMessage()
    message["From"] = "Laboratory <lab@hospital.example>"
    message["To"] = "Dr Jones <jones@clinic.example>"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2024, 3, 14, 9, 30, tzinfo=timezone.utc))
    message.set_content("Dear Dr Jones,\n\nPlease find the results attached.\n\nThe laboratory")
    message.add_attachment(
        pdf.read_bytes(), maintype="application", subtype="pdf", filename=pdf.name
    )
    return message


def write_lab_email(folder: Path) -> Path:
    pdf = docs.write_pdf(folder / "lab-report.pdf", [LAB_FACT], filler=1)
    path = folder / "results.eml"
    path.write_bytes(bytes(lab_message(pdf)))
    pdf.unlink()  # the attachment exists only inside the e-mail
    return path


def write_nested_email(path: Path, depth: int) -> Path:
    """An e-mail attaching an e-mail attaching ... `depth` deep, each with a text note."""
    inner = EmailMessage()
    inner["From"] = "a@example.org"
    inner["Subject"] = f"Level {depth}"
    inner.set_content(f"Innermost note at level {depth}.")
    inner.add_attachment(
        b"Deepest attachment text.", maintype="text", subtype="plain", filename="deep.txt"
    )
    for level in range(depth - 1, -1, -1):
        outer = EmailMessage()
        outer["From"] = "a@example.org"
        outer["Subject"] = f"Level {level}"
        outer.set_content(f"Note at level {level}.")
        outer.add_attachment(inner)
        inner = outer
    path.write_bytes(bytes(inner))
    return path


def write_malformed_mime(path: Path) -> Path:
    """Headers claim a multipart body whose boundary never appears; a part is cut short."""
    path.write_bytes(
        b"From: someone@example.org\r\nSubject: Broken\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
        b"--ABC\r\nContent-Type: text/plain\r\n\r\nThe body of a broken message.\r\n"
        b"--XYZ\r\nContent-Type: application/pdf; name=x.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=x.pdf"
        b"\r\n\r\n%%%not base64%%%"
    )
    return path


def write_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    document = OpenDocumentText()
    document.text.addElement(H(outlinelevel=1, text="Visiting hours"))
    document.text.addElement(P(text="Visitors are welcome between two and eight in the evening."))
    document.text.addElement(H(outlinelevel=1, text="Parking"))
    document.text.addElement(P(text="The car park closes at ten at night."))
    document.save(str(path))
    return path


def write_rtf(path: Path) -> Path:
    path.write_text(
        r"{\rtf1\ansi\deff0 {\fonttbl {\f0 Times;}}"
        r"\f0\fs24 Tenancy notice.\par The tenant must give two months' notice in writing.\par }"
    )
    return path
