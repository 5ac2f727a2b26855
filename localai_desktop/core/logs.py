"""Log files: rotating, inside the data folder, and never holding what people wrote."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"


def configure_logging(logs_dir: Path, name: str, *, verbose: bool = False) -> Path:
    """Send this process's log to `<logs_dir>/<name>.log` (rotated at 2 MB, 5 files kept)."""
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = logs_dir / f"{name}.log"
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=2 * 1024 * 1024, backupCount=5, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_localai", False)]:
        root.removeHandler(old)
        old.close()
    handler._localai = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # llama.cpp's own log is long; only its warnings and errors are worth a line by default.
    logging.getLogger("llama.cpp").setLevel(logging.DEBUG if verbose else logging.WARNING)
    return path
