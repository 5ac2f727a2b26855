"""Real documents for the document tests: PDFs, Word files, HTML, text, and broken ones."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF

# One distinct, checkable fact per page of the ten-page guideline PDF. Page 7's fact is the
# one the tests ask about; the others are plausible neighbours so the search has to choose.
GUIDELINE_PAGES: tuple[str, ...] = (
    "Scope. This guideline covers the assessment of adults admitted to hospital wards.",
    "Hand hygiene. Staff wash their hands before and after every patient contact.",
    "Falls. Patients over 65 are assessed for their risk of falling within six hours.",
    "Nutrition. Every patient is weighed on admission and weekly afterwards.",
    "Pressure ulcers. Skin is inspected daily and patients at risk are turned every two hours.",
    "Venous thromboembolism. Mobility and bleeding risk are recorded at admission.",
    "Sepsis. Broad-spectrum antibiotics are given within one hour of recognising sepsis, "
    "after blood cultures have been taken.",
    "Delirium. Confusion is screened with the 4AT test on the first day.",
    "Discharge. A discharge letter is sent to the family doctor within 24 hours.",
    "Audit. Compliance with this guideline is audited every twelve months.",
)
FILLER = (
    "The ward team reviews this section at the monthly governance meeting and records any "
    "deviation in the incident system so that trends can be followed over time. "
)


def write_pdf(path: Path, pages: Sequence[str], *, filler: int = 2) -> Path:
    """A real multi-page PDF with a text layer: one string per page (plus filler text)."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 6, text + "\n\n" + FILLER * filler)
    pdf.output(str(path))
    return path


def write_scanned_pdf(path: Path, pages: int = 3) -> Path:
    """A PDF whose pages are grey boxes with no text at all, neither a layer nor in pixels."""
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.set_fill_color(200, 200, 200)
        pdf.rect(20, 20, 170, 250, style="F")
    pdf.output(str(path))
    return path


def write_encrypted_pdf(path: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=11)
    pdf.multi_cell(0, 6, "Confidential settlement terms.")
    pdf.set_encryption(owner_password="owner-secret", user_password="user-secret")
    pdf.output(str(path))
    return path


def write_long_pdf(path: Path, pages: int, facts: dict[int, str]) -> Path:
    """A long PDF: empty pages except the (1-based) pages given in `facts`."""
    pdf = FPDF()
    pdf.set_font("Helvetica", size=11)
    for number in range(1, pages + 1):
        pdf.add_page()
        if number in facts:
            pdf.multi_cell(0, 6, facts[number])
    pdf.output(str(path))
    return path


def write_docx(path: Path) -> Path:
    """A Word document with a title, headings, paragraphs and a table."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Lease agreement"
    document.add_heading("Lease agreement", level=0)
    document.add_heading("Term", level=1)
    document.add_paragraph("The lease runs for five years from 1 March 2021.")
    document.add_heading("Rent", level=1)
    document.add_paragraph("Rent of 1,200 euros is paid on the first day of each month.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Deposit"
    table.cell(0, 1).text = "3,600 euros"
    table.cell(1, 0).text = "Notice period"
    table.cell(1, 1).text = "three months"
    document.add_heading("Insurance", level=1)
    document.add_paragraph("The tenant insures the premises against fire and flooding.")
    document.save(str(path))
    return path


def write_zip_bomb_docx(path: Path, unpacked_mb: int = 40) -> Path:
    """A tiny .docx whose document.xml unpacks to tens of megabytes (a zip bomb's shape)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"\0" * (unpacked_mb * 1024 * 1024))
    return path


def write_html(path: Path) -> Path:
    path.write_text(
        "<html><head><title>Court ruling</title><style>p {color: red}</style>"
        "<script>var secret = 'do not index';</script></head><body>"
        "<h1>Smith v. Jones</h1><p>The court held that the contract was void.</p>"
        "<h2>Damages</h2><p>Damages of 40,000 euros were awarded to the claimant.</p>"
        "<ul><li>Costs follow the event.</li></ul></body></html>",
        encoding="utf-8",
    )
    return path


def write_markdown(path: Path) -> Path:
    path.write_text(
        "# Asthma\n\nInhaled corticosteroids are the first-line maintenance treatment.\n\n"
        "## Acute attack\n\nGive salbutamol through a spacer, up to ten puffs.\n",
        encoding="utf-8",
    )
    return path


def write_binary_named_txt(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 64)
    return path
