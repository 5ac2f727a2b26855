"""Documents tab: GUI stalls, indexing time and search latency while the real window indexes.

Run by hand:
    .venv/bin/python bench/bench_documents_gui.py [--rounds 3]

Each round opens the real MainWindow on a fresh data folder with MiniLM imported, and:
- indexes the evaluation set (bench/documents_eval.py: PDFs up to 120 pages, DOCX, HTML...)
  through the Documents tab, while a 2 ms QTimer on the GUI thread records the gaps between its
  ticks (the longest gap is the worst freeze a person could feel); an idle period of the same
  window is measured too, so the timer's own jitter on this machine is known;
- compares the tab's indexing time with DocumentLibrary.index on a plain thread (no Qt, no
  progress signals) over the same files, measured in the same round;
- times a chat's search (EmbeddingWorker.search, question in, passages back on the GUI thread)
  with the embedding worker idle and while another collection is being indexed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchlib import SHARED_MODELS, fmt, machine_line, markdown_table, median, save_json
from documents_eval import write_eval_set
from guiprobe import TickProbe, idle, open_window, run_until
from PySide6.QtCore import QObject, Slot
from PySide6.QtWidgets import QApplication

from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.shell.main_window import MainWindow

MINILM = SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf"
QUESTION = "How quickly must antibiotics be given in sepsis?"


def p99(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.99)] if values else 0.0


def search_round_trip(window: MainWindow, collection_id: int) -> float:
    """Seconds from asking the embedding worker to having the passages on the GUI thread."""
    results: list[object] = []

    class Catcher(QObject):
        @Slot(int, object)
        def on_found(self, _request_id: int, retrieval: object) -> None:
            results.append(retrieval)

    catcher = Catcher()
    window.embedding_worker.search_finished.connect(catcher.on_found)
    started = time.perf_counter()
    window.embedding_worker.search([collection_id], QUESTION)
    run_until(lambda: bool(results), 60)
    seconds = time.perf_counter() - started
    window.embedding_worker.search_finished.disconnect(catcher.on_found)
    return seconds


def plain_index_seconds(folder: Path, work: Path) -> float:
    """The same files indexed by the core on a plain thread: the baseline."""
    db = Database(work / "plain.db")
    library = DocumentLibrary(db, ModelRegistry(db, work / "plain-models"))
    library.registry.import_model(MINILM, name="MiniLM", probe=False)
    library.create("Plain")
    library.add_paths("Plain", [folder])
    library.embedder_for(library.get("Plain")).load()  # as the tab's run, model load excluded
    seconds: list[float] = []
    thread = threading.Thread(
        target=lambda: seconds.append(library.index("Plain").seconds), name="plain-index"
    )
    thread.start()
    thread.join()
    library.close()
    db.close()
    return seconds[0]


def one_round(folder: Path) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="bench-docs-gui-"))
    window, db = open_window(work / "data", MINILM, "MiniLM")
    tab = window.documents_tab
    window.tabs.setCurrentWidget(tab)
    recorder = TickProbe()
    try:
        small = tab.create_collection("Small", None)
        assert small is not None
        sepsis = folder / "sepsis-guideline-2023.pdf"
        tab.add_paths([str(sepsis if sepsis.exists() else next(folder.glob("*.pdf")))])
        run_until(lambda: not tab.is_indexing(), 300)
        search_round_trip(window, small.id)  # loads the model once
        idle_search = median([search_round_trip(window, small.id) for _ in range(5)])

        recorder.start()
        idle(3.0)
        idle_gaps = recorder.stop()

        big = tab.create_collection("Everything", None)
        assert big is not None
        started = time.perf_counter()
        recorder.start()
        tab.add_paths([str(folder)])
        run_until(lambda: tab.is_indexing() and tab.indexing_panel.bar.value() > 0, 60)
        busy_searches = [search_round_trip(window, small.id) for _ in range(5)]
        run_until(lambda: not tab.is_indexing(), 1800)
        gui_seconds = time.perf_counter() - started
        busy_gaps = recorder.stop()
    finally:
        window.close()
        db.close()
    return {
        "idle_max_ms": max(idle_gaps),
        "idle_p99_ms": p99(idle_gaps),
        "indexing_max_ms": max(busy_gaps),
        "indexing_p99_ms": p99(busy_gaps),
        "gui_index_s": gui_seconds,
        "plain_index_s": plain_index_seconds(folder, work),
        "search_idle_ms": (idle_search or 0) * 1000,
        "search_while_indexing_ms": statistics.median(busy_searches) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not MINILM.is_file():
        print(f"MiniLM not found at {MINILM}", file=sys.stderr)
        return 1
    app = QApplication.instance() or QApplication(sys.argv)  # noqa: F841
    folder = Path(tempfile.mkdtemp(prefix="bench-docs-eval-"))
    write_eval_set(folder)
    rounds = [one_round(folder) for _ in range(args.rounds)]
    keys = list(rounds[0])
    print(machine_line())
    print(f"{len(list(folder.iterdir()))} files; median of {args.rounds} rounds\n")
    rows = [[key, fmt(median([r[key] for r in rounds]))] for key in keys]
    print(markdown_table(["measure", "median"], rows))
    save_json("documents_gui", {"rounds": rounds})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
