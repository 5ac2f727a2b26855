"""The scanned page beside a recognised passage, with the passage's region outlined.

The page is rendered when the viewer opens, on a short-lived thread (rendering a page takes tens
of milliseconds to a second), and arrives by a queued signal; the picture is kept in memory only
while it is shown. Qt-side only: the rendering itself is ``DocumentLibrary.page_image``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QRectF, Qt, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import QLabel, QScrollArea, QWidget

from localai_desktop.core.documents.page_view import PageImage

PageLoader = Callable[[int], PageImage | None]
"""chunk id -> its page rendered, with the passage's box (DocumentLibrary.page_image)."""


class PagePanel(QScrollArea):
    """Shows one page picture with a box around the passage; hidden when there is none."""

    page_shown = Signal(int)
    """The page picture is on screen: (page number)."""
    _page_rendered = Signal(int, object, object)
    """From the render thread: (request number, QImage or None, PageImage or None)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setAccessibleName("Page of the original scan")
        self.picture = QLabel("Rendering the page…")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidget(self.picture)
        self.loader: PageLoader | None = None
        self._request = 0
        self._threads: list[threading.Thread] = []
        self.shown_box: tuple[float, float, float, float] | None = None
        self._image: QImage | None = None  # the page as rendered, outlined; scaled to fit
        self._page_rendered.connect(self._on_self_page_rendered)
        self.hide()

    def show_page_of(self, chunk_id: int | None) -> None:
        """Render the page of a recognised passage (None, or no loader: hide the panel)."""
        self._request += 1
        self.shown_box = None
        self._image = None
        if chunk_id is None or self.loader is None:
            self.hide()
            return
        self.picture.setPixmap(QPixmap())
        self.picture.setText("Rendering the page…")
        self.show()
        request, loader = self._request, self.loader
        self._threads = [t for t in self._threads if t.is_alive()]

        def render() -> None:
            try:
                page = loader(chunk_id)
            except Exception:  # the panel stays with its note; the text is still shown
                page = None
            image = _to_qimage(page) if page is not None else None
            self._page_rendered.emit(request, image, page)

        thread = threading.Thread(target=render, name="page-render", daemon=True)
        self._threads.append(thread)
        thread.start()

    def wait(self, seconds: float = 5.0) -> None:
        """Wait for renders still going (closing the window, tests)."""
        for thread in self._threads:
            thread.join(seconds)

    @Slot(int, object, object)
    def _on_self_page_rendered(
        self, request: int, image: QImage | None, page: PageImage | None
    ) -> None:
        if request != self._request:
            return  # another passage was opened meanwhile
        if image is None or page is None:
            self.hide()
            return
        if page.box is not None:
            painter = QPainter(image)
            x0, y0, x1, y1 = page.box
            w, h = image.width(), image.height()
            margin = 0.006 * max(w, h)
            rect = QRectF(
                x0 * w - margin,
                y0 * h - margin,
                (x1 - x0) * w + 2 * margin,
                (y1 - y0) * h + 2 * margin,
            )
            painter.fillRect(rect, QColor(255, 200, 0, 60))
            painter.setPen(QPen(QColor(230, 120, 0), max(2.0, w / 400)))
            painter.drawRect(rect)
            painter.end()
        self.shown_box = page.box
        self._image = image
        self.picture.setText("")
        self._show_scaled()
        self.page_shown.emit(page.page)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_scaled()

    def _show_scaled(self) -> None:
        """The page as wide as the panel (it scrolls down), the passage brought into view."""
        if self._image is None:
            return
        width = max(200, self.viewport().width() - 4)
        pixmap = QPixmap.fromImage(
            self._image.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
        )
        self.picture.setPixmap(pixmap)
        if self.shown_box is not None:
            x0, y0, _x1, y1 = self.shown_box
            self.picture.adjustSize()
            self.ensureVisible(
                int(x0 * pixmap.width()),
                int((y0 + y1) / 2 * pixmap.height()),
                20,
                int((y1 - y0) / 2 * pixmap.height()) + 60,
            )


def _to_qimage(page: PageImage) -> QImage:
    rgb = page.image.convert("RGB")
    data = rgb.tobytes()
    image = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return image.convertToFormat(QImage.Format.Format_ARGB32)  # a copy that owns its pixels
