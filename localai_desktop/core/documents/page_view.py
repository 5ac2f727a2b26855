"""A page of a document rendered on demand, for the passage viewer's look at the original scan.

Nothing is cached or written to disk: the page is rendered from the file (or, for an e-mail's
attachment, from its bytes read out of the e-mail in memory) each time the viewer asks, and the
picture lives only as long as the viewer shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from localai_desktop.core.documents.index_store import DocumentFile, IndexStore, file_signature
from localai_desktop.core.documents.page_images import IMAGE_SUFFIXES

if TYPE_CHECKING:
    from PIL.Image import Image

# The viewer shows a page at most this many pixels tall or wide (sharp enough to read a scan).
VIEW_SIDE_PIXELS = 1400


@dataclass(frozen=True)
class PageImage:
    """A rendered page and where the passage sits on it (fractions of width and height)."""

    image: Image
    page: int
    box: tuple[float, float, float, float] | None


def attachment_data(store: IndexStore, file: DocumentFile) -> tuple[bytes, int]:
    """(bytes, the e-mail's mtime) of an e-mail's attachment, read out of its e-mail in memory."""
    from localai_desktop.core.documents.mail import attachment_bytes

    chain: list[DocumentFile] = [file]
    while chain[-1].parent_id is not None:
        parent_id = chain[-1].parent_id
        assert parent_id is not None
        chain.append(store.file(parent_id))
    top = chain[-1]
    _size, mtime_ns = file_signature(top.path)
    data: bytes | None = None
    path = top.path
    for member in reversed(chain[:-1]):
        data = attachment_bytes(path, data, member.member or "")
        path = member.path
    assert data is not None
    return data, mtime_ns


def render_page(
    store: IndexStore, file: DocumentFile, page: int, *, max_side: int = VIEW_SIDE_PIXELS
) -> Image:
    """Page `page` (from 1) of a PDF or picture, no larger than `max_side` pixels."""
    from localai_desktop.core.documents.page_images import _frame, render_pdf_page
    from localai_desktop.core.documents.parsers import _PDFIUM_LOCK

    data = attachment_data(store, file)[0] if file.is_attachment else None
    suffix = file.path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        import io

        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(data) if data is not None else file.path) as image:
            frame = _frame(image, page - 1)
            frame.thumbnail((max_side, max_side))
            return frame
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        document = pdfium.PdfDocument(data if data is not None else str(file.path))
        try:
            pdf_page = document[page - 1]
            try:
                return render_pdf_page(pdf_page, dpi=150, max_side=max_side)
            finally:
                pdf_page.close()
        finally:
            document.close()
