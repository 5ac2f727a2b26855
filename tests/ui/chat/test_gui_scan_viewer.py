"""The source viewer shows the page of a scan with the recognised passage outlined."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.chat.passage_viewer import PassageViewer
from tests.support import scans

SCREENSHOTS = Path(os.environ.get("LOCALAI_SCREENSHOTS", "/tmp/localai-screenshots"))


@pytest.fixture
def library(tmp_path: Path, models_dir: Path) -> Iterator[DocumentLibrary]:
    db = Database(tmp_path / "data" / "localai.db")
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Letters")
    yield library
    library.close()
    db.close()


def test_the_viewer_shows_the_scanned_page_with_the_passage_outlined(
    library: DocumentLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    library.add_paths("Letters", [scans.write_scanned_letter(tmp_path / "referral-scan.pdf")])
    library.index("Letters")
    hit = library.search(["Letters"], "warfarin anticoagulation", k=1)[0]
    assert hit.page == 2
    source = {
        "n": 1,
        "chunk_id": hit.chunk_id,
        "file": str(hit.file_path),
        "file_name": hit.file_name,
        "page": hit.page,
        "text": hit.text,
    }
    viewer = PassageViewer()
    qtbot.addWidget(viewer)
    viewer.page_panel.loader = library.page_image
    with qtbot.waitSignal(viewer.page_panel.page_shown, timeout=60_000) as shown:
        viewer.show_source(source, library.passage_context(hit.chunk_id))
    assert shown.args == [2]
    assert viewer.page_panel.isVisible()
    pixmap = viewer.page_panel.picture.pixmap()
    assert not pixmap.isNull() and pixmap.height() > pixmap.width()  # an A4 page, upright
    box = viewer.page_panel.shown_box
    assert box is not None and box == library.passage_context(hit.chunk_id).passage.box
    # The outline's tint is on the page where the passage is, not elsewhere.
    image = pixmap.toImage()
    inside = image.pixelColor(
        int((box[0] + 0.002) * image.width()), int((box[1] + box[3]) / 2 * image.height())
    )
    outside = image.pixelColor(image.width() // 2, image.height() - 5)
    assert inside.blue() < inside.red() and outside.blue() == outside.red() == 255
    assert "warfarin" in viewer.highlighted_text().lower()  # the text beside it, highlighted
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((800, 600), (1920, 1080)):
        viewer.resize(width, height)
        qtbot.wait(50)
        viewer.grab().save(str(SCREENSHOTS / f"scan-viewer-{width}x{height}.png"))
    viewer.page_panel.wait()
    viewer.close()


def test_a_passage_from_a_text_layer_shows_no_page_picture(
    library: DocumentLibrary, tmp_path: Path, qtbot: QtBot
) -> None:
    from tests.support import documents_support as docs

    library.add_paths("Letters", [docs.write_pdf(tmp_path / "typed.pdf", ["Typed warfarin note."])])
    library.index("Letters")
    hit = library.search(["Letters"], "warfarin", k=1)[0]
    viewer = PassageViewer()
    qtbot.addWidget(viewer)
    viewer.page_panel.loader = library.page_image
    source = {
        "n": 1,
        "chunk_id": hit.chunk_id,
        "file": str(hit.file_path),
        "file_name": hit.file_name,
        "page": hit.page,
        "text": hit.text,
    }
    viewer.show_source(source, library.passage_context(hit.chunk_id))
    assert not viewer.page_panel.isVisible()
    viewer.close()
