"""Scanned pages and pictures: which PDF pages need recognising, rendering them, reading images.

Pictures (PNG, JPEG, TIFF with all its pages, BMP, WebP) are opened lazily: their size is read
from the header and checked before a single pixel is decoded, so a 20,000 x 20,000 picture or
a "decompression bomb" is refused with a reason instead of filling memory. Every page image
lives in memory only while it is recognised; nothing is written to disk.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.ocr import MAX_SIDE_PIXELS, page_blocks
from localai_desktop.core.documents.records import FileStatus

if TYPE_CHECKING:
    from PIL.Image import Image

    from localai_desktop.core.documents.parsers import ParsedFile

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})
_IMAGE_FORMATS = frozenset({"PNG", "JPEG", "TIFF", "BMP", "WEBP", "MPO"})
# A page scanned at 600 dpi is about 35 megapixels; past this a picture is not a page.
MAX_IMAGE_PIXELS = 60_000_000
# A multi-page TIFF of more pages than this is refused (a stack of scans is rarely this long).
MAX_IMAGE_PAGES = 500
# A PDF page with fewer characters in its text layer than this is treated as having none.
MIN_TEXT_CHARS = 20
# A page mostly covered by pictures, with little text, is a scan with a stamp or a header.
IMAGE_COVERAGE = 0.5
SCAN_TEXT_CHARS = 300
# Pages are rendered at this resolution for recognition (or less, for very large pages).
RENDER_DPI = 200


def _unreadable(what: str, todo: str = "", *, status: FileStatus = FileStatus.FAILED) -> Exception:
    from localai_desktop.core.documents.parsers import UnreadableFileError

    return UnreadableFileError(what, todo, status=status)


# -- PDF pages ----------------------------------------------------------------------------------


def pdf_page_needs_recognition(page: Any, text: str) -> bool:
    """True for a page without a text layer, or mostly picture with little text; False for an
    empty page (nothing drawn on it: no picture, no shape), which has nothing to recognise."""
    if len(text) < MIN_TEXT_CHARS:
        return any(True for _ in page.get_objects(max_depth=1))
    if len(text) > SCAN_TEXT_CHARS:
        return False
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    area = max(width * height, 1.0)
    covered = 0.0
    for item in page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_IMAGE,), max_depth=2):
        left, bottom, right, top = item.get_pos()
        covered += max(0.0, min(right, width) - max(left, 0.0)) * max(
            0.0, min(top, height) - max(bottom, 0.0)
        )
    return covered / area >= IMAGE_COVERAGE


def render_pdf_page(page: Any, *, dpi: int = RENDER_DPI, max_side: int = MAX_SIDE_PIXELS) -> Image:
    """The page as a greyscale picture, at `dpi` or smaller so its long side fits `max_side`."""
    width, height = page.get_size()  # points, 1/72 inch
    scale = min(dpi / 72, max_side / max(width, height, 1.0))
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        return bitmap.to_pil().copy()
    finally:
        bitmap.close()


# -- pictures -----------------------------------------------------------------------------------


def open_image(path: Path, data: bytes | None) -> ParsedFile:
    """A picture (or a multi-page TIFF) as a ParsedFile whose pages are recognised lazily."""
    from PIL import Image as PILImage
    from PIL import UnidentifiedImageError

    from localai_desktop.core.documents.parsers import ParsedFile, vanished_error

    source: Any = io.BytesIO(data) if data is not None else path
    try:
        image = PILImage.open(source)
        image_format = image.format or ""
        width, height = image.size
        frames = int(getattr(image, "n_frames", 1) or 1)
    except FileNotFoundError:
        raise vanished_error() from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as error:
        raise _unreadable(
            "The picture is damaged or is not really a picture.",
            "Open it in an image viewer; if it opens, save a new copy and add that.",
        ) from error
    except PILImage.DecompressionBombError as error:
        raise _bomb_error() from error
    if image_format not in _IMAGE_FORMATS:
        image.close()
        raise _unreadable(
            f"This kind of picture ({image_format or 'unknown'}) is not supported.",
            "Save it as PNG or JPEG and add that.",
            status=FileStatus.SKIPPED,
        )
    if frames > MAX_IMAGE_PAGES:
        image.close()
        raise _unreadable(
            f"The picture file holds {frames:,} pages, more than the {MAX_IMAGE_PAGES} that can "
            "be read from one file; it was not opened.",
            "Split it into smaller files.",
            status=FileStatus.SKIPPED,
        )
    if width * height > MAX_IMAGE_PIXELS and image_format not in ("JPEG", "MPO"):
        image.close()
        raise _too_large(width, height)
    parsed = ParsedFile(path, "image", frames, iter(()))
    parsed._blocks = _image_pages(image, parsed)
    return parsed


def _image_pages(image: Any, parsed: ParsedFile) -> Iterator[TextBlock]:
    from PIL import Image as PILImage

    try:
        for index in range(parsed.page_count or 1):
            number = index + 1
            if parsed.on_page is not None:
                parsed.on_page(number)

            def render(index: int = index) -> Image:
                return _frame(image, index)

            try:
                page = parsed.recognise(number, render)
            except PILImage.DecompressionBombError as error:
                raise _bomb_error() from error
            except (OSError, ValueError, SyntaxError, EOFError) as error:
                raise _unreadable(
                    f"Page {number} of the picture is damaged and could not be read.",
                    "Open it in an image viewer; if it opens, save a new copy and add that.",
                ) from error
            yield from page_blocks(page, number)
    finally:
        image.close()


def _frame(image: Any, index: int) -> Image:
    """One page of the picture, decoded no larger than recognition needs."""
    from PIL import ImageOps

    image.seek(index)
    width, height = image.size
    if image.format in ("JPEG", "MPO"):
        # JPEG decodes straight to 1/2, 1/4 or 1/8 of its size: a huge photo never
        # exists at full size in memory.
        image.draft("L", (MAX_SIDE_PIXELS, MAX_SIDE_PIXELS))
        width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise _too_large(width, height)
    frame = ImageOps.exif_transpose(image.convert("L"))
    frame.thumbnail((MAX_SIDE_PIXELS, MAX_SIDE_PIXELS))
    return frame


def _too_large(width: int, height: int) -> Exception:
    return _unreadable(
        f"The picture is too large to read ({width:,} x {height:,} pixels).",
        "Scan or save it at a lower resolution (300 dpi is plenty for text) and add that.",
        status=FileStatus.SKIPPED,
    )


def _bomb_error() -> Exception:
    # Pillow refuses past 2 x its MAX_IMAGE_PIXELS (about 179 million) before decoding.
    return _unreadable(
        "The picture is far too large to read (well over 100 million pixels). A file like this "
        "can fill the computer's memory (a 'decompression bomb'), so it was not opened.",
        "If you trust it, save it at a lower resolution (300 dpi is plenty for text) and add that.",
        status=FileStatus.SKIPPED,
    )


RenderPage = Callable[[], "Image"]
