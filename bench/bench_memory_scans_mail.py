"""Peak memory while indexing a large scanned PDF and a big e-mail with attachments.

Run by hand: `.venv/bin/python bench/bench_memory_scans_mail.py` (about 3 minutes on 2 cores).

Does indexing memory grow with the file? Each file is indexed by the app's own `Indexer` in a
fresh child process, so its memory is its own; reported is the peak RSS during indexing above
the RSS just before it, with the embedding model loaded (Linux: the peak is reset through
/proc/self/clear_refs so that loading the model does not hide it), for two sizes of each kind:

- scanned PDFs (image-only A4 pages at 200 dpi, `tests/support/scans.py`) of 10 and 40 pages.
  Every page is opened and rendered by the app for real; the recognition itself is replaced by
  a stub returning the page's known text (4-15 s a page on 2 cores would make this an hour,
  and it runs in its own child process whose memory does not depend on the file). That
  child's own peak is measured separately, over 1 and over 3 real pages.
- e-mails (.eml) of about 10 and 40 MB: a text body and PDF attachments (text-layer PDFs of
  ~1 MB, 120 pages each) indexed as documents of their own.

As in bench_indexing_scale.py, the embedding model's forward pass is left out (vectors of
ones; its tokenizer still counts every passage): its cost is per passage, not per file.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import benchlib

MINILM = benchlib.SHARED_MODELS / "all-MiniLM-L6-v2-Q8_0.gguf"


def write_scan(path: Path, pages: int) -> None:
    from tests.support import scans

    texts = [scans.REFERRAL_PAGES[i % 3] + f" Page {i + 1}." for i in range(pages)]
    # Grey pages, stored as JPEG by Pillow's PDF writer (about what a scanner makes).
    first, *rest = [scans.render_page(t) for t in texts]
    first.save(path, "PDF", resolution=200.0, save_all=True, append_images=rest)


def write_mail(path: Path, megabytes: int) -> int:
    """An e-mail with ~1 MB PDF attachments (text layer, many pages) up to `megabytes`."""
    from datetime import datetime, timezone
    from email.message import EmailMessage
    from email.utils import format_datetime

    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=9)
    pdf.set_compression(False)  # ~1 MB of text, a long report
    line = "Ward round note: observations stable, fluids continued, review at 14:00. " * 2
    while True:
        pdf.add_page()
        pdf.multi_cell(0, 4, (line + "\n") * 60)
        if pdf.page_no() >= 120:
            break
    attachment = bytes(pdf.output())
    message = EmailMessage()
    message["From"] = "Ward 7 <ward7@hospital.example>"
    message["To"] = "Records <records@hospital.example>"
    message["Subject"] = "Notes for the month"
    message["Date"] = format_datetime(datetime(2024, 3, 14, 9, 30, tzinfo=timezone.utc))
    message.set_content("Please file the attached notes.\n\nWard 7")
    count = max(1, round(megabytes * 1024**2 / (len(attachment) * 4 / 3)))
    for number in range(count):
        message.add_attachment(
            attachment + f"%{number}\n".encode(),  # each a different file (no duplicate skip)
            maintype="application",
            subtype="pdf",
            filename=f"notes-{number + 1}.pdf",
        )
    path.write_bytes(bytes(message))
    return count


def child(path: Path, stub_ocr: bool) -> dict[str, Any]:
    import numpy as np

    from localai_desktop.core.documents import indexer as indexer_module
    from localai_desktop.core.documents.collections import DocumentLibrary
    from localai_desktop.core.documents.embedder import Embedder
    from localai_desktop.core.documents.ocr import RecognisedLine, RecognisedPage
    from localai_desktop.core.models.registry import ModelRegistry
    from localai_desktop.core.storage import Database

    benchlib.quiet_llama_logs()
    rendered: list[tuple[int, int]] = []

    class StubRecogniser:
        """Takes the rendered page like the real one, returns the known text."""

        def recognise(self, image: Any, cancel: Any = None) -> RecognisedPage:
            rendered.append(image.size)
            grey = image.convert("L")  # what the real one sends to its child
            del grey
            text = "The patient takes warfarin five milligrams daily for atrial fibrillation."
            return RecognisedPage(
                tuple(
                    RecognisedLine(text, (0.1, y / 40, 0.9, (y + 1) / 40), 0.97)
                    for y in range(3, 30)
                )
            )

    class TokenizerOnlyEmbedder(Embedder):
        """The real model and tokenizer; vectors of ones instead of the forward pass."""

        def _embed(self, texts: list[str], *, threads: int | None = None) -> np.ndarray:
            vector = np.full(self.dimension, 1 / np.sqrt(self.dimension), dtype=np.float32)
            return np.tile(vector, (len(texts), 1))

    if stub_ocr:
        indexer_module.shared_recogniser = lambda: StubRecogniser()  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as work:
        db = Database(Path(work) / "localai.db")
        registry = ModelRegistry(db, Path(work) / "models")
        registry.import_model(MINILM, name="minilm", probe=False)
        library = DocumentLibrary(db, registry)
        embedder = TokenizerOnlyEmbedder(MINILM)
        library.indexer.embedder_for = lambda _collection: embedder
        collection = library.create("Memory")
        library.add_paths(collection.id, [path])
        embedder.embed_documents(["warm up the model"])
        before_kb = _reset_peak()
        started = time.perf_counter()
        report = library.index(collection.id)
        seconds = time.perf_counter() - started
        after_kb = _peak_kb()
        files = library.files(collection.id)
        library.close()
        db.close()
    return {
        "files_indexed": report.indexed,
        "failed": report.failed,
        "files": len(files),
        "pages_rendered": len(rendered),
        "chunks": report.chunks,
        "seconds": seconds,
        "peak_added_mb": max(0, after_kb - before_kb) / 1024,
        "peak_mb": after_kb / 1024,
    }


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Resets the process's peak RSS to its current RSS (Linux: clear_refs 5); returns it."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def _peak_kb() -> int:
    return _status_kb("VmHWM")


def ocr_child_peak(pages: int) -> dict[str, Any]:
    """The recognition child's own peak RSS over `pages` real pages."""
    from localai_desktop.core.documents.ocr import TextRecogniser
    from tests.support import scans

    recogniser = TextRecogniser()
    started = time.perf_counter()
    for number in range(pages):
        recogniser.recognise(scans.render_page(scans.REFERRAL_PAGES[number % 3]))
    seconds = time.perf_counter() - started
    recogniser.close()
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"pages": pages, "seconds": seconds, "peak_mb": peak_kb / 1024}


def run_child(*args: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if process.returncode != 0:
        raise SystemExit(f"{args} failed:\n{process.stderr}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="*", default=[10, 40])
    parser.add_argument("--mail-mb", type=int, nargs="*", default=[10, 40])
    parser.add_argument("--ocr-pages", type=int, nargs="*", default=[1, 3])
    parser.add_argument("--quiet-wait", type=float, default=15)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stub-ocr", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ocr-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.stub_ocr)))
        return
    if args.ocr_child:
        print(json.dumps(ocr_child_peak(args.ocr_child)))
        return
    print(benchlib.machine_line())
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder:
        cases: list[tuple[str, Path, list[str]]] = []
        for pages in args.pages:
            path = Path(folder) / f"scan-{pages}.pdf"
            write_scan(path, pages)
            cases.append((f"scanned PDF, {pages} pages", path, ["--stub-ocr"]))
        for megabytes in args.mail_mb:
            path = Path(folder) / f"mail-{megabytes}.eml"
            count = write_mail(path, megabytes)
            cases.append((f"e-mail, {count} PDF attachments", path, []))
        for label, path, extra in cases:
            benchlib.wait_for_quiet(max_wait_s=args.quiet_wait)
            load = benchlib.ForeignLoad()
            r = run_child("--child", str(path), *extra)
            size = path.stat().st_size / 1024**2
            rows.append(
                [
                    label,
                    f"{size:.1f}",
                    str(r["files_indexed"]),
                    str(r["pages_rendered"] or ""),
                    str(r["chunks"]),
                    f"{r['seconds']:.1f}",
                    f"{r['peak_added_mb']:.0f}",
                    f"{r['peak_mb']:.0f}",
                    f"{load.stop():.0%}",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
        for pages in args.ocr_pages:
            r = run_child("--ocr-child", str(pages))
            rows.append(
                [
                    f"recognition child, {pages} real page(s)",
                    "",
                    "",
                    str(pages),
                    "",
                    f"{r['seconds']:.1f}",
                    "",
                    f"{r['peak_mb']:.0f}",
                    "",
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    header = [
        "file",
        "MB",
        "documents indexed",
        "pages rendered",
        "passages",
        "seconds",
        "peak memory added (MB)",
        "peak RSS (MB)",
        "foreign load",
    ]
    print()
    print(benchlib.markdown_table(header, rows))


if __name__ == "__main__":
    main()
