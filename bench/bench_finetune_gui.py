"""The Fine-tune tab while it trains: event-loop stalls, and training speed against the core alone.

Run by hand:
    .venv/bin/python bench/bench_finetune_gui.py [--rounds 3] [--epochs 80]

Each round, interleaved:

- idle: a 2 ms precise QTimer on the GUI thread records the gaps between its ticks for a few
  seconds with the real MainWindow open and nothing running (the timer's own jitter here);
- GUI: the real MainWindow trains stories260K from its Fine-tune tab (dataset imported with the
  Import button, Start clicked); the same timer records the gaps while the trainer child runs,
  and the tokens/s of the run's last step event is noted;
- core (baseline): `FineTuneService.run` on the same model, data and settings, no Qt at all.

Goals: GUI tokens/s at least 0.9 x core; while steps arrive, the GUI thread never works more
than 30 ms between two ticks (a longer stall is time it waited for a CPU that other processes
held, which /proc's schedstat tells apart; the foreign-load column says how busy the machine
was). The one-off work when a run starts and when its adapter is shown is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
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
    wait_for_quiet,
)
from guiprobe import TickProbe, open_window, run_until, thread_schedstat
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from localai_desktop.core.finetune.events import TrainingEvent, TrainingSettings
from localai_desktop.core.finetune.runner import FineTuneService
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database

STALL_GOAL_MS = 30
SPEED_GOAL = 0.9
IDLE_SECONDS = 3.0
ROW = {"prompt": "When is the Bluebell Clinic open?", "completion": "From 7am to 9pm on Sundays."}


class StallProbe(TickProbe):
    """Gaps between the ticks of the probe's timer, and per phase the longest share of a gap the
    GUI thread itself was working (the rest it waited for a CPU other processes held), in ms."""

    def __init__(self) -> None:
        super().__init__()
        # The longest work per phase: "start" (Start clicked until the first step), "steps",
        # "end" (export, the adapter shown, lists refreshed).
        self.phase = "start"
        self.busy: dict[str, float] = {}
        self._last_cpu = 0.0

    def start(self) -> None:
        self.busy, self.phase = {}, "start"
        self._last_cpu = thread_schedstat()[0]
        super().start()

    def _on_tick(self, now: float) -> None:
        cpu = thread_schedstat()[0]
        work = (cpu - self._last_cpu) * 1000
        self.busy[self.phase] = max(self.busy.get(self.phase, 0.0), work)
        self._last_cpu = cpu


class LastStep(QObject):
    """The newest step event the GUI received from the worker; moves the probe's phase on."""

    def __init__(self, probe: StallProbe) -> None:
        super().__init__()
        self.step: TrainingEvent | None = None
        self._probe = probe

    @Slot(int, object)
    def _on_worker_training_event(self, _job_id: int, event: TrainingEvent) -> None:
        if event.kind == "step":
            self.step = event
            self._probe.phase = "steps"
        elif event.kind in ("exporting", "finished"):
            self._probe.phase = "end"


def _dataset(folder: Path) -> Path:
    path = folder / "clinic.jsonl"
    path.write_text((json.dumps(ROW) + "\n") * 10, encoding="utf-8")
    return path


def _settings(epochs: int, threads: int) -> TrainingSettings:
    return TrainingSettings(
        rank=8, alpha=16, learning_rate=5e-3, epochs=epochs, batch_size=8, max_length=128,
        validation_share=0.0, threads=threads,
    )  # fmt: skip


def gui_round(settings: TrainingSettings) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-ft-gui-"))
    window, db = open_window(folder / "data", STORIES_260K, "stories")
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    tab.settings_form.set_settings(settings)
    tab.examples.choose_file = lambda _parent: _dataset(folder)
    probe = StallProbe()
    last = LastStep(probe)
    window.finetune_worker.training_event.connect(last._on_worker_training_event)
    try:
        QTest.mouseClick(tab.examples.import_button, Qt.MouseButton.LeftButton)
        run_until(tab.controls.start_button.isEnabled, 120)
        probe.start()
        idle_end = time.monotonic() + IDLE_SECONDS
        run_until(lambda: time.monotonic() > idle_end, IDLE_SECONDS + 5)
        idle = probe.stop()
        load = ForeignLoad()
        probe.start()
        QTest.mouseClick(tab.controls.start_button, Qt.MouseButton.LeftButton)
        run_until(lambda: last.step is not None, 300)  # the child is up and training
        run_until(lambda: not tab.is_training(), 900)
        training = probe.stop()
        busy = probe.busy
        foreign = load.stop()
    finally:
        window.close()
        db.close()
    return {
        "idle_max_ms": max(idle),
        "training_max_ms": max(training),
        "training_p99_ms": sorted(training)[int(len(training) * 0.99)],
        "busy_start_ms": busy.get("start"),
        "busy_steps_ms": busy.get("steps"),
        "busy_end_ms": busy.get("end"),
        "tokens_per_second": last.step.tokens_per_second if last.step else None,
        "foreign_load": foreign,
    }


def core_round(settings: TrainingSettings) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-ft-core-"))
    db = Database(folder / "localai.db")
    registry = ModelRegistry(db, folder / "models")
    service = FineTuneService(
        db, registry, AdapterRegistry(db, folder / "adapters"), folder / "finetune"
    )
    base = registry.import_model(STORIES_260K, name="stories", probe=False)
    report = service.prepare_file(_dataset(folder), base, settings)
    job = service.create_job("clinic", base, report, settings)
    steps: list[TrainingEvent] = []
    load = ForeignLoad()
    service.run(job.id, on_event=lambda e: steps.append(e) if e.kind == "step" else None)
    foreign = load.stop()
    db.close()
    return {"tokens_per_second": steps[-1].tokens_per_second, "foreign_load": foreign}


def _report(rounds: list[dict[str, Any]], args: argparse.Namespace) -> None:
    def gui(key: str) -> float | None:
        return median(r["gui"][key] for r in rounds)

    core_speed = median(r["core"]["tokens_per_second"] for r in rounds)
    gui_speed = gui("tokens_per_second")
    ratio = gui_speed / core_speed if core_speed and gui_speed else None
    print(f"\n{machine_line()}")
    print(
        f"stories260K, {args.epochs} steps of 8 examples, {args.threads} torch thread(s), "
        f"{args.rounds} rounds, medians\n"
    )
    core_load = fmt(median(r["core"]["foreign_load"] for r in rounds), 2)
    print(
        markdown_table(
            ["", "tokens/s", "longest stall (ms)", "p99 gap (ms)", "foreign load"],
            [
                ["core alone (baseline)", fmt(core_speed, 0), "", "", core_load],
                [
                    "**Fine-tune tab**",
                    fmt(gui_speed, 0),
                    fmt(gui("training_max_ms")),
                    fmt(gui("training_p99_ms")),
                    fmt(gui("foreign_load"), 2),
                ],
                ["idle window (timer jitter)", "", fmt(gui("idle_max_ms")), "", ""],
            ],
        )
    )
    print("\nThe GUI thread's own longest work between two ticks (the rest of a stall is time it")
    print("waited for a CPU that other processes held):\n")
    print(
        markdown_table(
            ["Start clicked → first step", "**while steps arrive**", "export → adapter shown"],
            [[fmt(gui("busy_start_ms")), fmt(gui("busy_steps_ms")), fmt(gui("busy_end_ms"))]],
        )
    )
    steps_busy = gui("busy_steps_ms")
    print(f"\nspeed: GUI/core = {fmt(ratio, 2)} (goal >= {SPEED_GOAL}): ", end="")
    print("met" if ratio is not None and ratio >= SPEED_GOAL else "missed")
    print(f"work while steps arrive: {fmt(steps_busy)} ms (goal < {STALL_GOAL_MS}): ", end="")
    print("met" if steps_busy is not None and steps_busy < STALL_GOAL_MS else "missed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=80)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quiet-wait", type=float, default=15.0)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])  # alive for the whole run
    settings = _settings(args.epochs, args.threads)
    rounds = []
    for number in range(1, args.rounds + 1):
        # Alternate which goes first, so a machine getting busier or quieter favours neither.
        order = ("core", "gui") if number % 2 else ("gui", "core")
        results: dict[str, dict[str, Any]] = {}
        for path in order:
            wait_for_quiet(max_wait_s=args.quiet_wait)
            results[path] = core_round(settings) if path == "core" else gui_round(settings)
        core, gui = results["core"], results["gui"]
        rounds.append({"core": core, "gui": gui})
        print(
            f"round {number}: core {fmt(core['tokens_per_second'], 0)} tok/s, GUI "
            f"{fmt(gui['tokens_per_second'], 0)} tok/s, longest stall "
            f"{gui['training_max_ms']:.1f} ms (idle {gui['idle_max_ms']:.1f} ms)",
            flush=True,
        )
    _report(rounds, args)
    print(f"raw numbers: {save_json('finetune-gui', {'rounds': rounds, 'args': vars(args)})}")
    app.quit()


if __name__ == "__main__":
    main()
