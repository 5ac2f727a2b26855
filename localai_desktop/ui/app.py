"""`localai-desktop`: start the desktop app (or check that it can start, with --smoke-test)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from localai_desktop import __version__
from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.common.private_files import keep_new_files_private
from localai_desktop.core.datafolder.config import APP_NAME
from localai_desktop.core.datafolder.desktop_app_lock import DataFolderInUseError
from localai_desktop.core.datafolder.paths import resolve_data_dir
from localai_desktop.ui.shell.app_icon import DESKTOP_ENTRY, app_icon
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.shell.session import AppSession
from localai_desktop.ui.shell.single_instance import ask_running_app_to_show

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
    parser.add_argument(
        "--welcome", action="store_true", help="show the welcome guide even if it was seen"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug log: detail, and what you type and the answers (a warning says so)",
    )
    return parser.parse_args(argv)


def _application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setDesktopFileName(DESKTOP_ENTRY)
    app.setWindowIcon(app_icon())  # every window and dialog, unless it sets its own
    return app


def _tell_user(message: str, *, on_screen: bool) -> None:
    """Show a fatal start-up problem: in a dialog, or on stderr where no one sees dialogs."""
    if on_screen:
        box = QMessageBox(QMessageBox.Icon.Critical, APP_NAME, message)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.exec()
    else:
        print(f"localai-desktop: {message}", file=sys.stderr)


def _log_unhandled(kind: type[BaseException], error: BaseException, trace: object) -> None:
    # A bug in a slot must not end the app silently: log it; Qt keeps running.
    log.critical("Unhandled error", exc_info=(kind, error, trace))  # type: ignore[arg-type]
    sys.__excepthook__(kind, error, trace)  # type: ignore[arg-type]


def _run_smoke_test(window: MainWindow | None, data_dir: Path, log_file: Path) -> int:
    if window is None:
        print(
            "Smoke test stopped: the workspace is protected with a passphrase, and the smoke "
            "test does not type one. Use a data folder whose workspace is not protected.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    # A local event loop, not app.exec(): quitting the application would also end every later
    # event loop in this process (tests call main() next to other Qt code).
    loop = QEventLoop()
    QTimer.singleShot(SMOKE_TEST_MS, loop.quit)
    loop.exec()
    tabs = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    print(f"Smoke test passed: the window opened with the tabs {', '.join(tabs)}.")
    print(f"Data folder: {data_dir}\nLog file: {log_file}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the desktop app; returns the process exit code."""
    args = _parse_args(argv)
    if args.version:
        print(f"localai-desktop {__version__}")
        return EXIT_OK
    keep_new_files_private()  # everything written from here on is this user's alone
    app = _application()
    on_screen = not args.smoke_test and QGuiApplication.platformName() != "offscreen"
    # The session opens the data folder and the window, and replaces the window when the
    # person switches folders or deletes all data.
    session = AppSession(args.data_dir, verbose=args.verbose)
    previous_hook, sys.excepthook = sys.excepthook, _log_unhandled
    try:
        # Quit in the unlock dialog, where there is no main window to close.
        session.quit_requested.connect(app.quit)
        try:
            window = session.open()
        except OSError as error:
            _tell_user(
                f"The data folder {resolve_data_dir(args.data_dir)} cannot be created or opened "
                f"({error.strerror or error}). If it is on a disk that is not connected, "
                "connect it; or start the app with --data-dir to use another folder.",
                on_screen=on_screen,
            )
            return EXIT_ERROR
        except StorageError as error:
            log.error("Cannot open the database: %s", error.message)
            _tell_user(error.message, on_screen=on_screen)
            return EXIT_ERROR
        except DataFolderInUseError as error:
            # A double click on the icon, or a second start from a script: show the first.
            if ask_running_app_to_show(error.root):
                print(
                    f"LocalAI Desktop is already open on the data folder {error.root}; "
                    "its window was brought to the front."
                )
                return EXIT_OK
            _tell_user(error.message, on_screen=on_screen)
            return EXIT_ERROR
        if args.smoke_test:
            assert session.log_file is not None
            return _run_smoke_test(window, session.paths.root, session.log_file)
        if window is not None and (args.welcome or session.welcome_needed()):
            session.show_welcome_guide()
        return app.exec()
    finally:
        session.close()  # the window is already closed when the person quit; a no-op then
        sys.excepthook = previous_hook


if __name__ == "__main__":
    sys.exit(main())
