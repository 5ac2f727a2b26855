"""Reading text from page images on this computer: the recogniser, its lines and their boxes.

``TextRecogniser.recognise(image)`` returns a ``RecognisedPage``: lines of text in reading
order, each with its box (fractions of the page, so a render at any size can show it) and a
confidence. ``page_blocks`` turns a page into paragraph ``TextBlock`` objects that carry their
box, which chunking unions into a passage's region for the viewer's highlight.

The engine is RapidOCR 3 (PP-OCRv6 small detection and recognition models, ONNX Runtime),
whose models ship inside its wheel: nothing is downloaded, ever. It was chosen against
rapidocr-onnxruntime 1.4 (PP-OCRv4) on scans made with Pillow; see bench/README.md. One
recogniser is shared per process (``shared_recogniser``). It runs the models in a child
process (``ocr_child``), started on first use and fed page pixels through a pipe (never a file):
loading OpenCV and ONNX Runtime and their Python-side pre- and post-processing hold the GIL for
up to most of a second, which froze the window when done on a thread of the app's own process
(bench/README.md); a child also keeps a crash on a hostile picture away from the app, and its
memory is returned when it ends. It also makes Stop prompt: a ``Cancellation`` passed to
``recognise`` kills the child mid-page (``RecognitionCancelled``); the next page starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.documents.blocks import Box, TextBlock

if TYPE_CHECKING:
    from PIL.Image import Image

# A page whose mean line confidence is under this is marked "low confidence" in its status.
LOW_CONFIDENCE = 0.80
# The detector works on at most this many pixels on the long side; more costs time, not text.
MAX_SIDE_PIXELS = 2000


class RecognitionCancelled(Exception):
    """Raised by ``recognise`` when its cancellation was set while (or before) it worked."""


@dataclass(frozen=True)
class RecognisedLine:
    text: str
    box: Box  # (x0, y0, x1, y1), fractions of the page's width and height
    confidence: float


@dataclass(frozen=True)
class RecognisedPage:
    lines: tuple[RecognisedLine, ...]

    @property
    def confidence(self) -> float:
        """Mean line confidence weighted by text length; 0 for a page with no text."""
        total = sum(len(line.text) for line in self.lines)
        if not total:
            return 0.0
        return sum(line.confidence * len(line.text) for line in self.lines) / total

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    def to_json(self) -> str:
        return json.dumps(
            [
                [ln.text, *(round(v, 5) for v in ln.box), round(ln.confidence, 4)]
                for ln in self.lines
            ]
        )

    @classmethod
    def from_json(cls, raw: str) -> RecognisedPage:
        return cls(
            tuple(
                RecognisedLine(str(t), (float(a), float(b), float(c), float(d)), float(conf))
                for t, a, b, c, d, conf in json.loads(raw)
            )
        )


class TextRecogniser:
    """Recognises text on page images; loads its models on first use; one call at a time.

    With `in_process` the models run in this process (the child itself, benchmarks); else in a
    child process started on first use.
    """

    def __init__(self, threads: int | None = None, *, in_process: bool = False) -> None:
        cores = os.cpu_count() or 2
        # One core is left to the window (and the embedding model) on small machines.
        self.threads = threads or max(1, min(4, cores - 1))
        self.in_process = in_process
        self._engine: Any = None
        self._child: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._engine is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as error:  # a broken install, not the person's fault
                raise LocalAIError(
                    "Text recognition is not available in this installation.",
                    "Reinstall the app; scanned pages cannot be read until then.",
                ) from error
            self._engine = RapidOCR(
                params={
                    "Global.log_level": "error",
                    "Global.use_cls": False,  # pages are upright; the detector handles skew
                    "Global.max_side_len": MAX_SIDE_PIXELS,
                    "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )
        return self._engine

    def recognise(self, image: Image, cancel: Cancellation | None = None) -> RecognisedPage:
        """The text on a page image, in reading order.

        Setting `cancel` while the page is being read ends the work at once (the child running
        the models is killed) and raises ``RecognitionCancelled``; in process it is checked only
        before the page starts.
        """
        if cancel is not None and cancel.is_set():
            raise RecognitionCancelled
        if not self.in_process:
            return self._recognise_in_child(image, cancel)
        import numpy as np

        rgb = np.asarray(image.convert("RGB"))
        height, width = rgb.shape[:2]
        with self._lock:
            result = self._load()(rgb)
        if result.boxes is None or not result.txts:
            return RecognisedPage(())
        lines: list[RecognisedLine] = []
        for points, text, score in zip(result.boxes, result.txts, result.scores, strict=False):
            text = " ".join(str(text).split())
            if not text:
                continue
            xs = [float(p[0]) for p in points]
            ys = [float(p[1]) for p in points]
            box = (
                max(0.0, min(xs) / width),
                max(0.0, min(ys) / height),
                min(1.0, max(xs) / width),
                min(1.0, max(ys) / height),
            )
            lines.append(RecognisedLine(text, box, float(score)))
        return RecognisedPage(tuple(_reading_order(lines)))

    def _recognise_in_child(self, image: Image, cancel: Cancellation | None) -> RecognisedPage:
        grey = image.convert("L")
        header = json.dumps({"width": grey.width, "height": grey.height}).encode() + b"\n"
        with self._lock:
            child = self._start_child()
            assert child.stdin is not None and child.stdout is not None
            # Stop pressed mid-page: kill this child (from the thread that pressed it; no lock,
            # so it never waits for the page), which ends the read below at once.
            remove = cancel.add_callback(child.kill) if cancel is not None else None
            try:
                child.stdin.write(header)
                child.stdin.write(grey.tobytes())
                child.stdin.flush()
                answer = child.stdout.readline()
            except (BrokenPipeError, OSError, ValueError):  # ValueError: a pipe closed by kill
                answer = b""
            finally:
                if remove is not None:
                    remove()
            if not answer:
                self._stop_child()
                if cancel is not None and cancel.is_set():
                    raise RecognitionCancelled
                raise LocalAIError(
                    "Text recognition stopped unexpectedly while reading a page.",
                    "Try again; if it happens again with this file, it may be damaged.",
                )
        reply = json.loads(answer)
        if "error" in reply:
            raise LocalAIError(f"Text recognition failed on a page ({reply['error']}).")
        return RecognisedPage.from_json(json.dumps(reply["lines"]))

    def _start_child(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is None:
            return self._child
        from localai_desktop.core.common.child_process import child_env, module_command

        self._child = subprocess.Popen(
            module_command("localai_desktop.core.documents.ocr_child", str(self.threads)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_env(),
        )
        return self._child

    def _stop_child(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                # A page still buffered for a child that was killed (Stop): closing flushes it
                # into a pipe nobody reads (BrokenPipeError); the pipe is closed anyway.
                with contextlib.suppress(OSError):
                    stream.close()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def close(self) -> None:
        """Free the models: end the child (it exits when its input closes)."""
        with self._lock:
            self._engine = None
            self._stop_child()


_shared: TextRecogniser | None = None
_shared_lock = threading.Lock()


def shared_recogniser() -> TextRecogniser:
    """The process's recogniser (its models take a few seconds and ~100 MB to load)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = TextRecogniser()
        return _shared


def _reading_order(lines: Sequence[RecognisedLine]) -> list[RecognisedLine]:
    """Rows top to bottom (lines whose middles overlap a row join it), left to right in a row."""
    rows: list[list[RecognisedLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1], ln.box[0])):
        middle = (line.box[1] + line.box[3]) / 2
        if rows and rows[-1][0].box[1] <= middle <= rows[-1][0].box[3]:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.box[0])]


def union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def page_blocks(page: RecognisedPage, number: int) -> list[TextBlock]:
    """Paragraphs of a recognised page: lines join until a gap taller than a line."""
    blocks: list[TextBlock] = []
    current: list[RecognisedLine] = []

    def flush() -> None:
        if current:
            text = " ".join(line.text for line in current)
            blocks.append(TextBlock(text, page=number, box=union([ln.box for ln in current])))
            current.clear()

    for line in page.lines:
        if current:
            previous = current[-1]
            height = max(previous.box[3] - previous.box[1], 1e-6)
            same_row = line.box[1] < previous.box[3]
            if not same_row and line.box[1] - previous.box[3] > height:
                flush()
        current.append(line)
    flush()
    return blocks
