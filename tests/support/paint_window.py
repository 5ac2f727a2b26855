"""Open the main window on a data folder, paint it once, and report how long and how big.

Run as `python -m tests.support.paint_window DATA_DIR` by tests that must not be taken down
with the window (a view that reads /dev/zero would eat all memory): prints one JSON line
{"seconds", "peak_rss_bytes", "transcript", "banner"}.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path


def _peak_rss_bytes() -> int:
    """This program's own peak memory. Not getrusage's ru_maxrss: Linux carries it across
    exec, so a child forked from a big pytest process would report the parent's size."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from localai_desktop.core.datafolder.workspace import Workspace
    from localai_desktop.ui.shell.main_window import MainWindow

    app = QApplication([])
    workspace = Workspace.open(Path(sys.argv[1]))
    started = time.monotonic()
    window = MainWindow(workspace)
    window.show()
    for _ in range(5):
        app.processEvents()
    window.grab()  # paints everything, the last conversation included
    seconds = time.monotonic() - started
    tab = window.chat_tab
    report = {
        "seconds": seconds,
        "peak_rss_bytes": _peak_rss_bytes(),
        "transcript": [view.body.toPlainText() for view in tab.transcript.views()],
        "banner": tab.banner.text(),
    }
    window.close()
    workspace.close()
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
