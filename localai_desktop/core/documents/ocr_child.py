"""The text-recognition child process: page pixels in through stdin, recognised lines out.

Started by ``ocr.TextRecogniser`` as ``python -m localai_desktop.core.documents.ocr_child
THREADS``. Each request is a JSON line ``{"width": W, "height": H}`` followed by W x H bytes of
an 8-bit grey picture; each answer one JSON line, ``{"lines": [[text, x0, y0, x1, y1,
confidence], ...]}`` or ``{"error": "..."}``. It ends when its input closes.
"""

from __future__ import annotations

import json
import os
import signal
import sys

# A page larger than this many pixels is refused (the parent never sends one: it scales first).
MAX_PIXELS = 60_000_000


def main(argv: list[str]) -> int:
    from PIL import Image

    from localai_desktop.core.documents.ocr import TextRecogniser

    threads = int(argv[0]) if argv else None
    # Ctrl-C in a terminal reaches the whole process group: the parent decides (Stop kills this
    # child mid-page), so the page is not lost to a KeyboardInterrupt here first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        # Background work: the window (and a chat's answer) come first on a busy computer.
        os.nice(10)
    recogniser = TextRecogniser(threads, in_process=True)
    source, sink = sys.stdin.buffer, sys.stdout
    while True:
        header = source.readline()
        if not header:
            return 0
        try:
            size = json.loads(header)
            width, height = int(size["width"]), int(size["height"])
            if not (0 < width * height <= MAX_PIXELS):
                raise ValueError(f"a page of {width} x {height} pixels")
            pixels = source.read(width * height)
            if len(pixels) != width * height:
                return 1
            page = recogniser.recognise(Image.frombytes("L", (width, height), pixels))
            answer = {"lines": json.loads(page.to_json())}
        except (ValueError, KeyError, TypeError) as error:
            answer = {"error": str(error)}
        except Exception as error:  # the engine failing on one page must not end the child
            answer = {"error": type(error).__name__}
        sink.write(json.dumps(answer) + "\n")
        sink.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
