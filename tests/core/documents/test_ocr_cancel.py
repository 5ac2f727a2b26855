"""Stop during text recognition: a page being read is abandoned at once, kept pages stay kept.

The slow page is a dense A4 scan (about 15 s to recognise on a 2-core machine); each test
stops it after half a second and measures how long Stop took to take effect.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL.Image import Image

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.indexer import IndexingState, IndexProgress
from localai_desktop.core.documents.ocr import RecognitionCancelled, TextRecogniser
from localai_desktop.core.documents.recognised_pages import RecognisedPageStore
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import scans

MINILM = "all-MiniLM-L6-v2-Q8_0.gguf"
# Stop must take effect within this long of being pressed (the issue asks for about 1 s).
PROMPT_S = 1.0


def dense_page() -> Image:
    return scans.render_page(
        "\n".join(scans.REFERRAL_PAGES * 12), dpi=200, points=9, width_chars=95
    )


def stop_after(seconds: float, stop: Cancellation) -> list[float]:
    """Sets `stop` after `seconds` on another thread; the list gets the moment it did."""
    pressed: list[float] = []

    def press() -> None:
        pressed.append(time.perf_counter())
        stop.set()

    threading.Timer(seconds, press).start()
    return pressed


def test_cancel_interrupts_a_page_being_recognised_and_the_next_page_still_works() -> None:
    recogniser = TextRecogniser()
    try:
        recogniser.recognise(scans.render_page("Warm up.", dpi=100))  # models loaded
        cancel = Cancellation()
        pressed = stop_after(0.5, cancel)
        with pytest.raises(RecognitionCancelled):
            recogniser.recognise(dense_page(), cancel)
        assert pressed and time.perf_counter() - pressed[0] < PROMPT_S
        # A new child takes over for the next page.
        page = recogniser.recognise(scans.render_page(scans.REFERRAL_PAGES[1], dpi=150))
        assert "warfarin" in page.text.lower()
        # Already cancelled: nothing is started.
        with pytest.raises(RecognitionCancelled):
            recogniser.recognise(dense_page(), cancel)
    finally:
        recogniser.close()


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "data" / "localai.db")
    yield database
    database.close()


@pytest.fixture
def library(db: Database, tmp_path: Path, models_dir: Path) -> Iterator[DocumentLibrary]:
    registry = ModelRegistry(db, tmp_path / "data" / "models")
    registry.import_model(models_dir / MINILM, name="minilm", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Letters")
    yield library
    library.close()


def test_stop_during_a_slow_scanned_page_returns_at_once_and_keeps_earlier_pages(
    library: DocumentLibrary, db: Database, tmp_path: Path
) -> None:
    pages = [scans.render_page(scans.REFERRAL_PAGES[0]), dense_page()]
    path = scans.save_image_pdf(tmp_path / "long-letter.pdf", pages)
    library.add_paths("Letters", [path])
    state = IndexingState()
    timers: list[list[float]] = []

    def on_progress(progress: IndexProgress) -> None:
        if progress.current_page == 2 and not timers:  # page 2 starts being recognised
            timers.append(stop_after(0.5, state.cancel))

    state._on_progress = on_progress
    report = library.index("Letters", state)
    returned = time.perf_counter()
    assert report.cancelled
    pressed = timers[0]
    assert len(pressed) == 1 and returned - pressed[0] < PROMPT_S
    file = library.files("Letters")[0]
    assert file.status == "indexing"  # resumable, not failed
    kept = RecognisedPageStore(db)
    page_1 = kept.get(file.id, 1, file.sha256)
    assert page_1 is not None and "outpatient clinic" in page_1.text
    assert kept.get(file.id, 2) is None  # abandoned mid-page, nothing half-kept


def test_ctrl_c_reaching_the_child_does_not_lose_the_page() -> None:
    """A terminal's Ctrl-C goes to the whole process group; only the parent decides to stop."""
    recogniser = TextRecogniser()
    try:
        recogniser.recognise(scans.render_page("Warm up.", dpi=100))
        child = recogniser._child
        assert child is not None
        threading.Timer(0.3, lambda: os.kill(child.pid, signal.SIGINT)).start()
        page = recogniser.recognise(scans.render_page(scans.REFERRAL_PAGES[1], dpi=150))
        assert "warfarin" in page.text.lower() and recogniser._child is child
    finally:
        recogniser.close()


def test_stopping_a_killed_child_with_a_page_still_buffered_is_quiet() -> None:
    # Stop kills the child while part of a page waits in the pipe's buffer: ending the child
    # must not turn that into a BrokenPipeError (which reached the indexing run once, instead
    # of "stopped").
    import subprocess
    import sys

    recogniser = TextRecogniser(threads=1)
    child = subprocess.Popen(
        [sys.executable, "-c", "pass"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    child.wait()
    assert child.stdin is not None
    child.stdin.write(b"x" * 1024)  # buffered, not yet sent: the child is already gone
    recogniser._child = child
    recogniser._stop_child()
    assert recogniser._child is None and child.stdin.closed
