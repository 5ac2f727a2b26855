"""Log files: rotating, inside the data folder, and never holding what people wrote.

What people write, their documents and the model's answers reach a log line only through
`content_for_log()`, which hides them unless debug logging is on (the `debug_logging` setting
or `--verbose`); turning it on writes a warning into the log itself.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

LOG_FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUP_COUNT = 5
DEBUG_LOGGING_WARNING = (
    "Debug logging is on: the log files in {folder} now include what you type, text from your "
    "documents and the model's answers. Turn it off when you no longer need it, and delete the "
    "log files before sharing them."
)

log = logging.getLogger(__name__)

_content_logging = False
# Set while a protected workspace is open: its content must never reach a plaintext log file,
# debug logging or not.
_content_protected = False


def content_for_log(text: str) -> str:
    """`text` when debug logging is on; otherwise only its length, so no content is written."""
    if _content_protected:
        return f"[{len(text)} characters hidden: the workspace is protected]"
    if _content_logging:
        return repr(text)
    return f"[{len(text)} characters hidden; debug logging is off]"


def content_logging_enabled() -> bool:
    return _content_logging and not _content_protected


def set_content_protected(protected: bool) -> None:
    """Called by the Workspace: keep a protected workspace's content out of the log files."""
    global _content_protected
    _content_protected = protected


class _AppLogHandler(logging.handlers.RotatingFileHandler):
    """The app's own log file, told apart from handlers others (pytest, Qt) install."""


def _our_handlers() -> list[_AppLogHandler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, _AppLogHandler)]


def configure_logging(logs_dir: Path, name: str, *, verbose: bool = False) -> Path:
    """Send this process's log to `<logs_dir>/<name>.log` (rotated at 2 MB, 5 files kept).

    verbose is the debug switch: DEBUG detail and, with a warning, the content of messages.
    """
    logs_dir.mkdir(parents=True, exist_ok=True)
    path = logs_dir / f"{name}.log"
    handler = _AppLogHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUP_COUNT, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    for old in _our_handlers():
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    set_debug_logging(verbose, logs_dir=logs_dir)
    return path


def set_debug_logging(enabled: bool, *, logs_dir: Path | None = None) -> None:
    """Switch debug logging (detail and message content) on or off for this process."""
    global _content_logging
    was_on = _content_logging
    _content_logging = enabled
    logging.getLogger().setLevel(logging.DEBUG if enabled else logging.INFO)
    # llama.cpp's own log is long; only its warnings and errors are worth a line by default.
    logging.getLogger("llama.cpp").setLevel(logging.DEBUG if enabled else logging.WARNING)
    if enabled:
        folder = logs_dir or log_folder() or Path("the data folder")
        log.warning(DEBUG_LOGGING_WARNING.format(folder=folder))
    elif was_on:
        log.warning("Debug logging is off again: messages are no longer written to the log.")


def log_folder() -> Path | None:
    """The folder the log files are written to, once configure_logging() has run."""
    for handler in _our_handlers():
        if isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename).parent
    return None


def log_files(logs_dir: Path) -> list[Path]:
    """Every log file in the folder, rotated ones included."""
    if not logs_dir.is_dir():
        return []
    return sorted(p for p in logs_dir.iterdir() if p.is_file() and ".log" in p.name)


def delete_log_files(logs_dir: Path) -> list[Path]:
    """Delete the log files (for "Delete all my data"); logging goes on into a fresh file."""
    removed: list[Path] = []
    handlers = _our_handlers()
    for handler in handlers:
        handler.acquire()
    try:
        for handler in handlers:
            # Closed here (Windows cannot delete an open file); the handler reopens its file
            # at the next record.
            if handler.stream is not None:
                handler.stream.close()
                handler.stream = None
        for path in log_files(logs_dir):
            path.unlink(missing_ok=True)
            removed.append(path)
    finally:
        for handler in handlers:
            handler.release()
    return removed
