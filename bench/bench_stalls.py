"""GUI responsiveness: the longest event-loop stall of the real MainWindow while it streams.

Run by hand:
    .venv/bin/python bench/bench_stalls.py [--rounds 5]

Stalls: a 2 ms precise QTimer on the GUI thread records the gaps between its ticks while the
real MainWindow streams a long stories260K answer into its Chat tab (imported through the
Models tab, picked in the model picker, typed into the message box, sent with Enter). The same
round also measures a reference view (the ChatWorker feeding a bare QTextBrowser that appends)
and an idle period, interleaved, so the timer's own jitter on this machine is known.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchlib import (  # also puts the repo on sys.path
    STORIES_260K,
    ForeignLoad,
    fmt,
    machine_line,
    markdown_table,
    median,
    save_json,
    spread,
    wait_for_quiet,
)
from guiprobe import TICK_MS, TickProbe, idle, thread_schedstat
from PySide6.QtCore import (
    QEventLoop,
    QMessageLogContext,
    QObject,
    Qt,
    QTimer,
    QtMsgType,
    Signal,
    Slot,
    qInstallMessageHandler,
)
from PySide6.QtGui import QTextCursor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow, QTextBrowser

from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.ui.shell.main_window import MainWindow

STALL_GOAL_MS = 30
MAX_TOKENS = 2000
CONTEXT_LENGTH = 2048
QUESTION = "Tell me a long story about a dog, a boat and the sea."
REFERENCE_IDS = 1_000_000_000
REAL = "**real MainWindow, Chat tab**"
REFERENCE = "reference: the worker into a bare QTextBrowser"
IDLE = "idle (no answer): the timer's own jitter"


class StallProbe(TickProbe):
    """The probe's gaps, split at the first streamed text, with the GUI thread's CPU use."""

    def start(self) -> None:
        self._sched = thread_schedstat()
        self.first_text: float | None = None
        super().start()

    def mark_first_text(self) -> None:
        """The first streamed text reached the view: gaps after this are 'while streaming'."""
        if self.first_text is None:
            self.first_text = time.perf_counter()

    def stop(self) -> dict[str, Any]:  # type: ignore[override]
        super().stop()
        on_cpu, waiting = (b - a for a, b in zip(self._sched, thread_schedstat(), strict=True))
        gaps = [(b - a, a - self.ticks[0]) for a, b in itertools.pairwise(self.ticks)]
        ordered = sorted(g for g, _ in gaps)
        worst = sorted(gaps, reverse=True)[:3]
        split: dict[str, float] = {}
        if self.first_text is not None:
            # A gap that spans the first text's arrival counts as before it: the first text is
            # handled inside that gap.
            first = self.first_text - self.ticks[0]
            split = {
                "before_text_max_ms": max(g for g, at in gaps if at <= first) * 1000,
                "streaming_max_ms": max((g for g, at in gaps if at > first), default=0) * 1000,
            }
        return {
            **split,
            "max_ms": ordered[-1] * 1000,
            "p99_ms": ordered[int(len(ordered) * 0.99)] * 1000,
            "over_goal": sum(g * 1000 > STALL_GOAL_MS for g in ordered),
            "ticks": len(ordered),
            "worst": [(round(g * 1000, 1), round(at, 3)) for g, at in worst],
            "wall_s": self.ticks[-1] - self.ticks[0],
            # the GUI thread's time on a CPU, and runnable but waiting for one (Linux)
            "gui_cpu_s": on_cpu,
            "gui_runqueue_s": waiting,
        }


def wait_for(signal: Any, timeout_s: float) -> list[Any]:
    """Run the GUI event loop until `signal` fires; its arguments."""
    loop = QEventLoop()
    got: list[Any] = []

    def on_signal(*args: Any) -> None:
        got.extend(args)
        loop.quit()

    signal.connect(on_signal)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(on_signal)
    if not got and timeout_s > 0:
        raise TimeoutError(f"no {signal} within {timeout_s} s")
    return got


# -- the real window ----------------------------------------------------------------------------


class RealWindow:
    """The app's MainWindow on a temp data folder, with stories260K imported through its tab."""

    def __init__(self, data_dir: Path) -> None:
        self.workspace = Workspace.open(data_dir)
        self.paths = self.workspace.paths
        self.window = MainWindow(self.workspace)
        self.window.show()
        tab = self.window.models_tab
        tab.start_import(STORIES_260K, "stories260K", False)
        ok, message = wait_for(tab.import_ended, 120)
        if not ok:
            raise RuntimeError(f"import failed: {message}")
        chat = self.window.chat_tab
        self.window.tabs.setCurrentWidget(chat)
        combo = chat.model_picker.combo
        index = combo.findText("stories260K")
        combo.setCurrentIndex(index)
        combo.activated.emit(index)  # as a person picking it: the tab loads the model now
        wait_for(chat.requests.model_loaded, 120)

    def answer(self, probe: StallProbe, seed: int) -> dict[str, Any]:
        chat = self.window.chat_tab
        chat.select_conversation(None)  # a fresh conversation, as "New chat"
        chat.settings_panel.set_settings(
            GenerationSettings(max_tokens=MAX_TOKENS, context_length=CONTEXT_LENGTH, seed=seed)
        )
        chat.composer.input.setFocus()
        QTest.keyClicks(chat.composer.input, QUESTION)
        chat.requests.answer_text_added.connect(probe.mark_first_text)
        # The probe runs before Enter: the send handler (saving the message, showing it) runs
        # on the GUI thread right here, and a slow one is a stall the person feels.
        probe.start()
        started = time.perf_counter()
        QTest.keyClick(chat.composer.input, Qt.Key.Key_Return)
        send_ms = (time.perf_counter() - started) * 1000
        (message,) = wait_for(chat.answer_finished, 300)
        finished = time.perf_counter()
        idle(0.1)  # the final Markdown render and relayout after the answer is shown
        stalls = probe.stop()
        chat.requests.answer_text_added.disconnect(probe.mark_first_text)
        return {
            **_describe(stalls, message, started, finished),
            "send_handler_ms": send_ms,
        }

    def close(self) -> None:
        self.window.close()
        self.workspace.close()


class ReferenceView(QObject):
    """The worker feeding a bare QTextBrowser that appends: the pipeline without the real tab.

    It shares the window's ChatWorker (and so its loaded model and its thread): a second worker
    would be a second thread decoding, and llama.cpp's OpenMP helper threads then stop spinning
    for everyone (see bench_generation.OnWorkerThread). Its request ids cannot clash with the
    Chat tab's, which drops results of ids it did not send.
    """

    generate_requested = Signal(int, int, int, object)
    finished = Signal(object)

    def __init__(self, real: RealWindow) -> None:
        super().__init__()
        self.store = real.window.store
        self.model = real.window.registry.get("stories260K")
        self.worker = real.window.worker
        self.generate_requested.connect(self.worker.generate)
        self.worker.token_batch_ready.connect(self._on_worker_token_batch_ready)
        self.worker.reply_finished.connect(self._on_worker_reply_finished)
        self.window = QMainWindow()
        self.view = QTextBrowser()
        self.window.setCentralWidget(self.view)
        self.window.resize(1180, 760)
        self.window.show()
        self._ids = iter(range(REFERENCE_IDS, REFERENCE_IDS + 1_000_000))
        self._probe: StallProbe | None = None

    def answer(self, probe: StallProbe, seed: int) -> dict[str, Any]:
        self._probe = probe
        conversation = self.store.create(model_id=self.model.id)
        self.store.add_message(conversation.id, "user", QUESTION)
        self.view.clear()
        settings = GenerationSettings(
            max_tokens=MAX_TOKENS, context_length=CONTEXT_LENGTH, seed=seed
        ).to_dict()
        probe.start()
        started = time.perf_counter()
        self.generate_requested.emit(next(self._ids), conversation.id, self.model.id, settings)
        (message,) = wait_for(self.finished, 300)
        finished = time.perf_counter()
        idle(0.1)
        stalls = probe.stop()
        return _describe(stalls, message, started, finished)

    @Slot(int, str)
    def _on_worker_token_batch_ready(self, request_id: int, text: str) -> None:
        if request_id < REFERENCE_IDS:
            return  # the Chat tab's answer
        if self._probe is not None:
            self._probe.mark_first_text()
        cursor = QTextCursor(self.view.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)

    @Slot(int, object)
    def _on_worker_reply_finished(self, request_id: int, message: object) -> None:
        if request_id >= REFERENCE_IDS:
            self.finished.emit(message)

    def close(self) -> None:
        self.window.close()


def _describe(
    stalls: dict[str, Any], message: Any, started: float, finished: float
) -> dict[str, Any]:
    p = message.provenance
    return {
        **stalls,
        "status": message.status,
        "tokens": p.get("completion_tokens"),
        "tok_s": p.get("tokens_per_second"),
        "finished_s": finished - started,
    }


def measure_stalls(
    rounds: int, data_dir: Path, quiet_wait_s: float
) -> dict[str, list[dict[str, Any]]]:
    real = RealWindow(data_dir / "window")
    reference = ReferenceView(real)
    probe = StallProbe()

    def idle_run(_probe: StallProbe, _seed: int) -> dict[str, Any]:
        probe.start()
        idle(3.0)
        return probe.stop()

    runs = {
        REAL: real.answer,
        REFERENCE: reference.answer,
        IDLE: idle_run,
    }
    names = list(runs)
    for name in names:  # warm-up
        runs[name](probe, 1)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for r in range(1, rounds + 1):
        for name in names[r % 3 :] + names[: r % 3]:
            if quiet_wait_s > 0:
                wait_for_quiet(max_wait_s=quiet_wait_s)
            load = ForeignLoad()
            result = runs[name](probe, 100 + r)
            result["foreign_load"] = load.stop()
            results[name].append(result)
        print(
            "  round",
            r,
            "  ".join(
                f"{short}={results[n][-1]['max_ms']:.1f}ms"
                for short, n in zip(("real", "reference", "idle"), names, strict=True)
            ),
            flush=True,
        )
    reference.close()
    real.close()
    return results


# -- report -------------------------------------------------------------------------------------


def stall_table(results: dict[str, list[dict[str, Any]]]) -> str:
    rows = []
    for name, runs in results.items():
        lo_hi = spread(r["max_ms"] for r in runs)
        worst = max(runs, key=lambda r: r["max_ms"])
        streamed = "tok_s" in runs[0]
        rows.append(
            [
                name,
                fmt(median(r["max_ms"] for r in runs)),
                f"{fmt(lo_hi[0])}–{fmt(lo_hi[1])}" if lo_hi else "n/a",
                _median_range(runs, "before_text_max_ms"),
                _median_range(runs, "streaming_max_ms"),
                fmt(median(r["p99_ms"] for r in runs)),
                str(sum(r["over_goal"] for r in runs)),
                fmt(median(r["tok_s"] for r in runs), 0) if streamed else "–",
                fmt(median(r["tokens"] for r in runs), 0) if streamed else "–",
                fmt(median(r.get("send_handler_ms") for r in runs)),
                f"{median(r['gui_cpu_s'] / r['wall_s'] for r in runs):.0%} / "
                f"{median(r['gui_runqueue_s'] / r['wall_s'] for r in runs):.0%}",
                f"{median(r['foreign_load'] for r in runs):.0%}",
                ", ".join(f"{g} ms at {at:.2f} s" for g, at in worst["worst"][:2]),
            ]
        )
    header = (
        "view",
        "longest stall ms (median)",
        "range",
        "… from Enter to the first text ms (median, range)",
        "… while streaming, first text to the end ms (median, range)",
        "p99 gap ms",
        f"gaps > {STALL_GOAL_MS} ms (all rounds)",
        "tok/s",
        "tokens",
        "Enter handler ms",
        "GUI thread on a CPU / waiting for one",
        "foreign load",
        "worst round's 2 longest gaps (s after start)",
    )
    return markdown_table(header, rows)


def _median_range(runs: list[dict[str, Any]], key: str) -> str:
    lo_hi = spread(r.get(key) for r in runs)
    if lo_hi is None:
        return "–"
    return f"{fmt(median(r.get(key) for r in runs))} ({fmt(lo_hi[0])}–{fmt(lo_hi[1])})"


def _on_qt_message(_mode: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    # The offscreen platform says this each time a window is shown; everything else is shown.
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="streamed answers per view")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=15.0,
        help="before each run, wait up to this many seconds for other processes to go quiet",
    )
    args = parser.parse_args()
    if not STORIES_260K.is_file():
        raise SystemExit(f"missing {STORIES_260K} (set LOCALAI_TEST_MODELS_DIR)")

    qInstallMessageHandler(_on_qt_message)
    app = QApplication([])  # noqa: F841
    print(f"stalls: {args.rounds} rounds", flush=True)
    with tempfile.TemporaryDirectory(prefix="localai-bench-stalls-") as tmp:
        results = measure_stalls(args.rounds, Path(tmp), args.quiet_wait)
    print(f"\n# GUI responsiveness\n{machine_line()}")
    print(
        f"\n### Longest GUI event-loop stall while streaming stories260K ({TICK_MS} ms "
        f"timer, up to {MAX_TOKENS} tokens, {args.rounds} interleaved rounds; goal < "
        f"{STALL_GOAL_MS} ms)\n"
    )
    print(stall_table(results))
    real = results[REAL]
    streaming = median(r["streaming_max_ms"] for r in real) or 0.0
    print(
        f"\n- longest stall of the real window while it streams, first text to the end (goal "
        f"< {STALL_GOAL_MS} ms): {fmt(streaming)} ms (median of {len(real)} answers, worst "
        f"{fmt(max(r['streaming_max_ms'] for r in real))} ms) → "
        + ("met" if streaming < STALL_GOAL_MS else "**MISSED**")
    )
    before = median(r["before_text_max_ms"] for r in real) or 0.0
    print(
        f"- from Enter to the first text (sending, saving the question, the answer starting): "
        f"{fmt(before)} ms (worst {fmt(max(r['before_text_max_ms'] for r in real))} ms), of "
        f"which the Enter handler itself {fmt(median(r['send_handler_ms'] for r in real))} ms; "
        f"over the whole answer {fmt(median(r['max_ms'] for r in real))} ms → "
        + ("met" if before < STALL_GOAL_MS else "**over the goal**")
        + f"; the idle timer's own longest gap {fmt(median(r['max_ms'] for r in results[IDLE]))} ms"
    )
    print(f"\nraw numbers: {save_json('stalls', results)}")


if __name__ == "__main__":
    main()
