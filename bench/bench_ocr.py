"""OCR candidates on scans made here: character error rate and pages per minute, as a table.

Each candidate runs in a child interpreter of its own (candidates bring different OpenCV
wheels, which cannot share one environment), on the same pages rendered with Pillow by
``tests/support/scans.py``: clean 200 dpi, serif 300 dpi, skewed 3 degrees, fax-like 100 dpi,
a ruled table, and italic as a stand-in for handwriting (no script font is installed).

    python bench/bench_ocr.py                                   # the app's engine only
    python bench/bench_ocr.py --candidate rapidocr-onnxruntime=/tmp/ocr-v4/bin/python

A candidate is NAME=PYTHON; NAME is one of the engines below. The app's own recogniser
(``localai_desktop.core.documents.ocr``) is measured as "app" with the current interpreter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

ROUNDS = 2


def _reading_order(lines: list[tuple[float, float, float, str]]) -> str:
    """(top, bottom, left, text) lines into text: rows top to bottom, left to right in a row."""
    lines.sort(key=lambda item: (item[0], item[2]))
    rows: list[list[tuple[float, float, float, str]]] = []
    for line in lines:
        middle = (line[0] + line[1]) / 2
        if rows and rows[-1][0][0] <= middle <= rows[-1][0][1]:
            rows[-1].append(line)
        else:
            rows.append([line])
    return " ".join(" ".join(t for *_, t in sorted(row, key=lambda i: i[2])) for row in rows)


def _engine(name: str) -> Any:
    threads = int(os.environ.get("OCR_THREADS", "2"))
    if name == "rapidocr":
        from rapidocr import RapidOCR

        engine = RapidOCR(
            params={
                "Global.log_level": "error",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "Global.use_cls": False,
            }
        )

        def run(image: Any) -> str:
            result = engine(image)
            boxes = result.boxes if result.boxes is not None else []
            return _reading_order(
                [
                    (min(p[1] for p in b), max(p[1] for p in b), min(p[0] for p in b), t)
                    for b, t in zip(boxes, result.txts or (), strict=False)
                ]
            )

        return run
    if name == "rapidocr-onnxruntime":
        from rapidocr_onnxruntime import RapidOCR as RapidOCRv1

        engine = RapidOCRv1(intra_op_num_threads=threads, use_cls=False)

        def run(image: Any) -> str:
            result, _ = engine(image, use_cls=False)
            return _reading_order(
                [
                    (min(p[1] for p in b), max(p[1] for p in b), min(p[0] for p in b), t)
                    for b, t, _score in (result or ())
                ]
            )

        return run
    if name == "app":
        from localai_desktop.core.documents.ocr import TextRecogniser

        recogniser = TextRecogniser(threads=threads, in_process=True)

        def run(image: Any) -> str:
            page = recogniser.recognise(image)
            return "\n".join(line.text for line in page.lines)

        return run
    raise SystemExit(f"unknown engine {name}")


def worker(name: str) -> None:
    """Child side: print one JSON line per page with CER and seconds."""
    import numpy as np

    from tests.support.scans import bench_scans, character_error_rate

    started = time.perf_counter()
    run = _engine(name)
    scans = bench_scans()
    first = scans[0].image
    run(first if name == "app" else np.asarray(first.convert("RGB")))  # warm-up allocates
    print(json.dumps({"load_s": time.perf_counter() - started}), flush=True)
    for scan in scans:
        image = scan.image if name == "app" else np.asarray(scan.image.convert("RGB"))
        times = []
        text = ""
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            text = run(image)
            times.append(time.perf_counter() - t0)
        cer = character_error_rate(text, scan.truth)
        print(
            json.dumps({"page": scan.name, "cer": cer, "s": min(times), "text": text}), flush=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", action="append", default=[], metavar="NAME=PYTHON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--show-text", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    candidates = [("app", sys.executable)] + [tuple(c.split("=", 1)) for c in args.candidate]
    results: dict[str, dict[str, Any]] = {}
    for name, python in candidates:
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        done = subprocess.run(
            [python, __file__, "--worker", name], capture_output=True, text=True, env=env
        )
        if done.returncode != 0:
            print(f"{name}: failed\n{done.stderr[-2000:]}", file=sys.stderr)
            continue
        rows = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        results[name] = {"load_s": rows[0]["load_s"], "pages": {r["page"]: r for r in rows[1:]}}
    pages = next(iter(results.values()))["pages"].keys() if results else []
    names = list(results)
    print(f"\nCharacter error rate (lower is better), {ROUNDS} rounds, best time per page\n")
    print("| page | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for page in pages:
        rows = [results[n]["pages"][page] for n in names]
        cells = [f"{row['cer'] * 100:.1f}% ({row['s']:.2f} s)" for row in rows]
        print(f"| {page} | " + " | ".join(cells) + " |")
    per_minute = [
        60 / (sum(p["s"] for p in results[n]["pages"].values()) / len(pages)) for n in names
    ]
    print("| pages per minute | " + " | ".join(f"{v:.1f}" for v in per_minute) + " |")
    print(
        "| load + first page | " + " | ".join(f"{results[n]['load_s']:.1f} s" for n in names) + " |"
    )
    if args.show_text:
        for n in names:
            for page, row in results[n]["pages"].items():
                print(f"\n[{n}] {page}: {row['text']}")


if __name__ == "__main__":
    main()
