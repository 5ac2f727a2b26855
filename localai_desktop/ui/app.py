"""`localai-desktop`: start the desktop app (or check that it can start, with --smoke-test)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from localai_desktop import __version__
from localai_desktop.core.errors import StorageError
from localai_desktop.core.logs import configure_logging
from localai_desktop.core.paths import APP_NAME, init_data_paths
from localai_desktop.core.storage import Database
from localai_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_ERROR = 1
# The smoke test lets the window live this long, so layout, painting and timers run once.
SMOKE_TEST_MS = 300


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="localai-desktop",
        description="Chat privately with open-source language models on this computer.",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder for the app's data (default: $LOCALAI_DATA_DIR, else the usual place "
        "for app data on this system)",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the main window with all its tabs, then close it and exit 0",
    )
    return parser.parse_args(argv)


def _application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    return app


def _tell_user(message: str, *, on_screen: bool) -> None:
    """Show a fatal start-up problem: in a dialog, or on stderr where no one sees dialogs."""
    if on_screen:
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, message)
        box.exec()
    else:
        print(f"localai-desktop: {message}", file=sys.stderr)


def _log_unhandled(kind: type[BaseException], error: BaseException, trace: object) -> None:
    # A bug in a slot must not end the app silently: log it; Qt keeps running.
    log.critical("Unhandled error", exc_info=(kind, error, trace))  # type: ignore[arg-type]
    sys.__excepthook__(kind, error, trace)  # type: ignore[arg-type]


def _run_smoke_test(window: MainWindow, data_dir: Path, log_file: Path) -> int:
    # A local event loop, not app.exec(): quitting the application would also end every later
    # event loop in this process (tests call main() next to other Qt code).
    loop = QEventLoop()
    QTimer.singleShot(SMOKE_TEST_MS, loop.quit)
    loop.exec()
    window.close()
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    window.deleteLater()
    print(f"Smoke test passed: the window opened with the tabs {', '.join(tabs)}.")
    print(f"Data folder: {data_dir}\nLog file: {log_file}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the process exit code."""
    args = _parse_args(argv)
    if args.version:
        print(f"localai-desktop {__version__}")
        return EXIT_OK
    app = _application()
    on_screen = not args.smoke_test and QGuiApplication.platformName() != "offscreen"
    try:
        paths = init_data_paths(args.data_dir)
    except OSError as error:
        _tell_user(
            f"The data folder cannot be created: {error.strerror or error}. "
            "Choose another one with --data-dir.",
            on_screen=on_screen,
        )
        return EXIT_ERROR
    log_file = configure_logging(paths.logs, "desktop")
    previous_hook, sys.excepthook = sys.excepthook, _log_unhandled
    log.info("Starting LocalAI Desktop %s with data in %s", __version__, paths.root)
    try:
        db = Database(paths.database)
    except StorageError as error:
        log.error("Cannot open the database: %s", error.message)
        _tell_user(error.message, on_screen=on_screen)
        sys.excepthook = previous_hook
        return EXIT_ERROR
    try:
        window = MainWindow(paths, db)
        window.show()
        if args.smoke_test:
            return _run_smoke_test(window, paths.root, log_file)
        code = app.exec()
        window.close()  # already closed when the user quit; a no-op then
        return code
    finally:
        db.close()
        sys.excepthook = previous_hook
