"""A self-check of an installed or built app: the real window answers once, reported as JSON.

It drives the same widgets a person uses (import a model, type into the Chat tab, press Send,
wait for the streamed answer) on a data folder of its own, so a packaged build can prove that
Qt, llama.cpp and the child processes all work inside it. Run it:

    python -m localai_desktop.ui.shell.self_check --model FILE.gguf [--screenshot x.png]
    localai-desktop --localai-run-module localai_desktop.ui.shell.self_check --model FILE.gguf

It prints one JSON line ({"ok": true, "completion_tokens": ..., ...}) and exits 0 when the
answer was written, 1 otherwise. QT_QPA_PLATFORM=offscreen runs it without a display.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEventLoop, QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from localai_desktop import __version__
from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.main_window import MainWindow


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="self_check", description="Open the app's window, chat once, report as JSON."
    )
    parser.add_argument("--model", required=True, help="a GGUF chat model file")
    parser.add_argument("--data-dir", help="data folder to use (default: a new temp folder)")
    parser.add_argument("--prompt", default="Once upon a time")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait")
    parser.add_argument("--screenshot", help="save a PNG of the window after the answer")
    return parser.parse_args(argv)


class _Outcome(QObject):
    """Collects how the one request ended, on the GUI thread, and ends the wait."""

    def __init__(self, loop: QEventLoop) -> None:
        super().__init__()
        self._loop = loop
        self.message: Message | None = None
        self.error: str | None = None

    @Slot(object)
    def _on_chat_tab_answer_finished(self, message: Message) -> None:
        self.message = message
        self._loop.quit()

    @Slot(int, str)
    def _on_worker_reply_failed(self, _request_id: int, error: str) -> None:
        self.error = error
        self._loop.quit()


def _chat_once(window: MainWindow, args: argparse.Namespace) -> dict[str, Any]:
    tab = window.chat_tab
    tab.settings_panel.set_settings(
        GenerationSettings(max_tokens=args.max_tokens, seed=args.seed, context_length=512)
    )
    loop = QEventLoop()
    outcome = _Outcome(loop)
    tab.answer_finished.connect(outcome._on_chat_tab_answer_finished)
    window.worker.reply_failed.connect(outcome._on_worker_reply_failed)
    QTimer.singleShot(int(args.timeout * 1000), loop.quit)
    tab.composer.input.setPlainText(args.prompt)
    started = time.perf_counter()
    tab.composer.send_button.click()
    loop.exec()
    report: dict[str, Any] = {"seconds": round(time.perf_counter() - started, 3)}
    if outcome.message is None:
        report["error"] = outcome.error or f"no answer within {args.timeout:.0f} s"
        return report
    provenance = outcome.message.provenance
    stats = provenance.stats
    report.update(
        status=outcome.message.status,
        answer=outcome.message.content[:200],
        completion_tokens=stats.completion_tokens if stats is not None else None,
        tokens_per_second=stats.tokens_per_second if stats is not None else None,
        gpu_offload=provenance.gpu_offload,
    )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Run the check; prints one JSON line and returns 0 when the window answered."""
    args = _parse_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix="localai-self-check-") as scratch:
        workspace = Workspace.open(args.data_dir or scratch)
        report: dict[str, Any] = {"version": __version__, "qt_platform": app.platformName()}
        try:
            # The import runs the model probe in a child process, as a real import does.
            workspace.registry.import_model(Path(args.model), name="self-check")
            window = MainWindow(workspace)
            window.show()
            # The icon is package data: an empty list means the bundle left it out.
            icon_sizes = {size.width() for size in window.windowIcon().availableSizes()}
            report["window_icon_sizes"] = sorted(icon_sizes)
            try:
                report.update(_chat_once(window, args))
                if args.screenshot:
                    window.grab().save(args.screenshot)
            finally:
                window.close()  # stops the chat worker and waits for its thread
                window.deleteLater()
        except Exception as error:  # the report must say what broke, whatever it was
            report["error"] = f"{type(error).__name__}: {error}"
        finally:
            workspace.close()
    report["ok"] = report.get("status") == "complete" and bool(report.get("completion_tokens"))
    print(json.dumps(report), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
