"""Scans made at test time: text rendered into images with Pillow, saved as image-only PDFs.

Nothing here has a text layer: what a test or the OCR benchmark finds in these files was
recognised from pixels. Fonts are the DejaVu family every Linux machine here has; the
"handwritten-looking" style is DejaVu Serif Italic (no script font is installed).
"""

from __future__ import annotations

import random
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {
    "sans": "DejaVuSans.ttf",
    "serif": "DejaVuSerif.ttf",
    "mono": "DejaVuSansMono.ttf",
    "italic": "DejaVuSerif-Italic.ttf",
}
A4_INCHES = (8.27, 11.69)

# Three pages of a referral letter, one fact each; page 2's is the one the tests ask about.
REFERRAL_PAGES: tuple[str, ...] = (
    "Referral letter. The patient was seen in the outpatient clinic on Monday morning. "
    "Blood pressure was recorded and the family history was discussed with the patient.",
    "Medication. The patient takes warfarin five milligrams daily for atrial fibrillation. "
    "The anticoagulation clinic checks the blood test every four weeks.",
    "Plan. Review in the cardiology clinic in three months. "
    "A copy of this letter goes to the family doctor.",
)


def _font(style: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_DIR / FONTS[style]), size)


def render_page(
    text: str,
    *,
    dpi: int = 200,
    style: str = "sans",
    points: float = 12.0,
    width_chars: int = 70,
) -> Image.Image:
    """An A4 page at `dpi`, black text on white, wrapped to `width_chars` per line."""
    width, height = (int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi))
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = _font(style, max(6, round(points * dpi / 72)))
    margin = int(dpi * 0.9)
    y = margin
    line_height = int(points * dpi / 72 * 1.6)
    for paragraph in text.split("\n"):
        for line in textwrap.wrap(paragraph, width_chars) or [""]:
            draw.text((margin, y), line, fill=0, font=font)
            y += line_height
        y += line_height // 2
    return page


def render_table(
    rows: Sequence[Sequence[str]], *, dpi: int = 200, points: float = 12.0
) -> Image.Image:
    """A ruled table on an A4 page, one text per cell."""
    width, height = (int(A4_INCHES[0] * dpi), int(A4_INCHES[1] * dpi))
    page = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(page)
    font = _font("sans", max(6, round(points * dpi / 72)))
    margin = int(dpi * 0.9)
    columns = max(len(r) for r in rows)
    cell_w = (width - 2 * margin) // columns
    cell_h = int(points * dpi / 72 * 2.2)
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            x0, y0 = margin + c * cell_w, margin + r * cell_h
            draw.rectangle((x0, y0, x0 + cell_w, y0 + cell_h), outline=0, width=2)
            draw.text((x0 + cell_h // 4, y0 + cell_h // 4), cell, fill=0, font=font)
    return page


def skew(page: Image.Image, degrees: float) -> Image.Image:
    return page.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)


def degrade(page: Image.Image, *, dpi_from: int, dpi_to: int, seed: int = 7) -> Image.Image:
    """A low-resolution fax-like copy: downsampled, blurred a little, with speckle."""
    scale = dpi_to / dpi_from
    small = page.resize(
        (max(1, int(page.width * scale)), max(1, int(page.height * scale))),
        Image.Resampling.BILINEAR,
    ).filter(ImageFilter.GaussianBlur(0.4))
    rng = random.Random(seed)
    pixels = small.load()
    assert pixels is not None
    for _ in range(small.width * small.height // 400):
        pixels[rng.randrange(small.width), rng.randrange(small.height)] = rng.choice((0, 255))
    return small


def save_image_pdf(path: Path, pages: Sequence[Image.Image], dpi: int = 200) -> Path:
    """An image-only PDF: each page is one picture, no text layer (what a scanner writes)."""
    first, *rest = [p.convert("RGB") for p in pages]
    first.save(path, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return path


def write_scanned_letter(path: Path, pages: Sequence[str] = REFERRAL_PAGES, dpi: int = 200) -> Path:
    """A scanned letter: one rendered page per text, as an image-only PDF."""
    return save_image_pdf(path, [render_page(t, dpi=dpi) for t in pages], dpi)


@dataclass(frozen=True)
class BenchScan:
    """One benchmark page: its name, the image, and the text it shows (ground truth)."""

    name: str
    image: Image.Image
    truth: str


BENCH_TEXT = (
    "The discharge summary was sent to the general practitioner on 14 March 2024. "
    "Amoxicillin 500 mg three times daily for seven days; review the wound in ten days. "
    "Allergies: penicillin (rash, 2019). Next appointment: clinic 4B, Thursday at 09:30. "
    "The patient lives alone and needs help with shopping twice a week."
)
BENCH_TABLE = (
    ("Test", "Result", "Range"),
    ("Haemoglobin", "128 g/L", "130-170"),
    ("Sodium", "139 mmol/L", "135-145"),
    ("Potassium", "4.1 mmol/L", "3.5-5.3"),
    ("Creatinine", "92 umol/L", "59-104"),
)


def bench_scans() -> list[BenchScan]:
    """The pages the OCR benchmark reads: clean, skewed, low resolution, a table, italic."""
    clean = render_page(BENCH_TEXT, dpi=200)
    table_truth = " ".join(" ".join(row) for row in BENCH_TABLE)
    return [
        BenchScan("clean 200 dpi", clean, BENCH_TEXT),
        BenchScan("serif 300 dpi", render_page(BENCH_TEXT, dpi=300, style="serif"), BENCH_TEXT),
        BenchScan("skewed 3 degrees", skew(clean, 3.0), BENCH_TEXT),
        BenchScan(
            "fax-like 100 dpi",
            degrade(render_page(BENCH_TEXT, dpi=200), dpi_from=200, dpi_to=100),
            BENCH_TEXT,
        ),
        BenchScan("table", render_table(BENCH_TABLE), table_truth),
        BenchScan(
            "italic (handwriting stand-in)", render_page(BENCH_TEXT, style="italic"), BENCH_TEXT
        ),
    ]


def character_error_rate(recognised: str, truth: str) -> float:
    """Levenshtein distance over the truth's length, white space collapsed on both sides."""
    a = " ".join(recognised.split())
    b = " ".join(truth.split())
    if not b:
        return 0.0 if not a else 1.0
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1] / len(b)


__all__ = [
    "BENCH_TABLE",
    "BENCH_TEXT",
    "REFERRAL_PAGES",
    "BenchScan",
    "bench_scans",
    "character_error_rate",
    "degrade",
    "render_page",
    "render_table",
    "save_image_pdf",
    "skew",
    "write_scanned_letter",
]
