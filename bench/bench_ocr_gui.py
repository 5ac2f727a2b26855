"""Does recognising scanned pages stall the window? A 2 ms QTimer heartbeat on the GUI thread
while the real EmbeddingWorker indexes an image-only PDF (text recognised page by page).

Prints the longest gap between heartbeats (goal: under 30 ms), the 99th percentile, against an
idle baseline measured in the same run, and the pages per minute of the whole indexing path
(render, recognise, chunk, embed, store).

    QT_QPA_PLATFORM=offscreen python bench/bench_ocr_gui.py [--pages 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import SHARED_MODELS, machine_line
from guiprobe import TickProbe, idle
from PySide6.QtWidgets import QApplication

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.workers.embedding import EmbeddingWorker
from tests.support import scans


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=3)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = Database(root / "localai.db")
        registry = ModelRegistry(db, root / "models")
        registry.import_model(SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf", probe=False)
        library = DocumentLibrary(db, registry)
        collection = library.create("Scans")
        texts = [scans.REFERRAL_PAGES[i % 3] for i in range(args.pages)]
        worker = EmbeddingWorker.start(library)
        done: list[object] = []
        worker.indexing_finished.connect(lambda _rid, outcome: done.append(outcome))
        worker.indexing_failed.connect(lambda _rid, _cid, message: done.append(message))

        probe = TickProbe()
        probe.start()
        idle(3.0)
        baseline = probe.stop()

        runs: list[tuple[list[float], float]] = []
        # First run: loads the embedding model and starts the OCR child; second: both warm.
        for name in ("scan.pdf", "scan-again.pdf"):
            path = scans.write_scanned_letter(root / name, texts[::-1] if runs else texts)
            done.clear()
            probe = TickProbe()
            probe.start()
            started = time.perf_counter()
            worker.index(collection.id, [str(path)])
            while not done:
                idle(0.05)
            seconds = time.perf_counter() - started
            runs.append((probe.stop(), seconds))
        worker.shutdown()
        files = library.files("Scans")
        library.close()
        db.close()
    app.processEvents()
    print(machine_line())
    print(f"\nIndexing a {args.pages}-page image-only PDF on the indexing thread\n")
    (first, first_s), (warm, warm_s) = runs
    columns = (baseline, first, warm)
    print("| | idle baseline | first run (loads models) | second run (warm) |")
    print("|---|---|---|---|")
    print("| heartbeats | " + " | ".join(str(len(c)) for c in columns) + " |")
    print("| longest gap (ms) | " + " | ".join(f"{max(c):.1f}" for c in columns) + " |")
    print(
        "| 99th percentile gap (ms) | "
        + " | ".join(f"{percentile(c, 0.99):.1f}" for c in columns)
        + " |"
    )
    print("| gaps over 30 ms | " + " | ".join(str(sum(g > 30 for g in c)) for c in columns) + " |")
    pages = sum(f.pages_recognised for f in files) // 2
    print(
        f"\n{pages} pages each run: {60 * pages / first_s:.1f} pages/min on the first run, "
        f"{60 * pages / warm_s:.1f} pages/min warm, end to end (render, recognise, embed, store)"
    )
    print(f"Goal: longest gap under 30 ms while warm: {'met' if max(warm) < 30 else 'NOT met'}")


if __name__ == "__main__":
    main()
