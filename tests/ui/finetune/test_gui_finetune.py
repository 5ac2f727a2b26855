"""The Fine-tune tab with stories260K: a real run end to end, cancel and resume, then Chat."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import ConversationStore, Message, MessageStatus
from localai_desktop.core.chat.provenance import AdapterUse, Provenance
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.finetune.events import TrainingEvent, TrainingSettings
from localai_desktop.core.finetune.jobs import JobStatus, JobStore
from localai_desktop.core.finetune.stack import INSTALL_HINT
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.adapters import Adapter, AdapterRegistry
from localai_desktop.core.models.hardware import Machine
from localai_desktop.core.storage import Database
from localai_desktop.ui.finetune.tab import FineTuneTab
from localai_desktop.ui.shell.main_window import MainWindow
from localai_desktop.ui.widgets.adapter_picker import AdapterPicker
from tests.core.finetune.test_finetune_adapters import register_random_adapter
from tests.support.finetune_support import FACT_ANSWER, FACT_MARKER, FACT_QUESTION
from tests.support.gui_support import OpenWindow, last_view, window_opener
from tests.support.session_support import import_model
from tests.ui.shell.test_gui_app import unnamed_controls

TRAIN_TIMEOUT_MS = 240_000  # two trainer processes start torch; these machines are small
ANSWER_TIMEOUT_MS = 60_000
# Tuned for stories260K: a high rate and one batch per epoch learn the sentence in seconds.
# One torch thread: on a shared 2-core machine more threads wait on each other.
FAST = TrainingSettings(
    rank=8, alpha=16, learning_rate=5e-3, epochs=40, batch_size=8, max_length=128,
    validation_share=0.2, threads=1,
)  # fmt: skip
GREEDY = GenerationSettings(temperature=0.0, top_k=1, repeat_penalty=1.0, seed=0, max_tokens=40)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener
    # The trainer is a child process: none may outlive the window.
    assert trainer_processes() == [], "a trainer process was left running"


def trainer_processes() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "trainer_child" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def fact_dataset(path: Path) -> Path:
    """Ten copies of the made-up fact, in the prompt/completion format."""
    rows = [json.dumps({"prompt": FACT_QUESTION, "completion": FACT_ANSWER})] * 10
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


class EventRecorder(QObject):
    """Notes each training event after the tab showed it, with the chart's size at that moment.

    Connected after the tab and living on the GUI thread, its slot runs right after the tab's.
    """

    def __init__(self, window: MainWindow, screenshot: Path | None = None) -> None:
        super().__init__()
        self._tab = window.finetune_tab
        self._screenshot = screenshot
        self.events: list[TrainingEvent] = []
        self.points_seen: list[int] = []
        self.seen_while_training: list[bool] = []
        window.finetune_worker.training_event.connect(self._on_worker_training_event)

    @Slot(int, object)
    def _on_worker_training_event(self, _job_id: int, event: TrainingEvent) -> None:
        self.events.append(event)
        chart = self._tab.training_panel.chart
        self.points_seen.append(len(chart.train_points()))
        self.seen_while_training.append(self._tab.is_training())
        if self._screenshot is not None and len(chart.train_points()) >= 20:
            self._tab.window().grab().save(str(self._screenshot))
            self._screenshot = None

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def open_finetune_tab(
    qtbot: QtBot, window: MainWindow, dataset: Path, settings: TrainingSettings
) -> FineTuneTab:
    """Show the tab, set the settings, import the dataset with the real button."""
    window.resize(1180, 760)
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    tab.settings_form.set_settings(settings)
    tab.examples.choose_file = lambda _parent: dataset
    qtbot.mouseClick(tab.examples.import_button, Qt.MouseButton.LeftButton)
    return tab


def wait_until_startable(qtbot: QtBot, tab: FineTuneTab) -> None:
    qtbot.waitUntil(tab.controls.start_button.isEnabled, timeout=60_000)


@pytest.mark.slow
def test_a_run_trains_with_a_live_chart_and_the_adapter_answers_in_chat(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")
    model_id = import_model(data_dir, stories260k, "stories")
    window = open_window(data_dir)
    tab = open_finetune_tab(qtbot, window, fact_dataset(tmp_path / "clinic.jsonl"), FAST)
    wait_until_startable(qtbot, tab)
    assert tab.settings_form.name() == "clinic"  # named after the file until changed
    assert "MB of memory" in tab.base_chooser.estimate_text()
    tab.settings_form.name_edit.setText("bluebell")
    recorder = EventRecorder(window, tmp_path / "finetune-training.png")

    with qtbot.waitSignal(tab.adapters_changed, timeout=TRAIN_TIMEOUT_MS):
        qtbot.mouseClick(tab.controls.start_button, Qt.MouseButton.LeftButton)
        assert not tab.controls.start_button.isEnabled()
        assert tab.pages.currentWidget() is tab.training_panel

    # The chart grew while training ran, event by event, never redrawn from scratch.
    steps = [e for e in recorder.events if e.kind == "step"]
    chart = tab.training_panel.chart
    assert len(chart.train_points()) == len(steps) >= 10
    assert recorder.points_seen == sorted(recorder.points_seen)
    assert sum(recorder.seen_while_training) >= 10
    assert len(chart.validation_points()) == FAST.epochs
    assert chart.train_points()[-1][1] < chart.train_points()[0][1] / 10
    assert recorder.kinds()[-2:] == ["exporting", "finished"]
    assert tab.training_panel.value("step") == f"{FAST.epochs} of {FAST.epochs}"
    assert tab.training_panel.value("speed").endswith("tokens/s")
    assert not tab.is_training() and not tab.controls.start_button.isEnabled()
    assert unnamed_controls(tab) == []
    assert "already have an adapter called “bluebell”" in tab.controls.hint.text()

    # Before and after, side by side: the tuned model knows the made-up fact.
    assert tab.pages.currentWidget() is tab.compare_view
    before, after = tab.compare_view.sample_texts()[0]
    assert FACT_MARKER in after and FACT_MARKER not in before
    window.grab().save(str(tmp_path / "finetune-before-after.png"))

    # "Chat with it": the Chat tab, with the base model and the adapter chosen.
    adapter = window.adapters.get("bluebell")
    assert tab.adapter_list.names() == ["bluebell"]  # listed under "Your adapters" too
    # One training loss throughout: Progress ends on the figure the summary keeps.
    loss = f"{adapter.final_loss:.4f}"
    assert tab.training_panel.value("loss") == loss
    assert f"training loss {loss} (epoch average)" in tab.compare_view.headline.text()
    qtbot.mouseClick(tab.compare_view.chat_button, Qt.MouseButton.LeftButton)
    chat = window.chat_tab
    assert window.tabs.currentWidget() is chat
    assert chat.current_model_id() == model_id
    assert chat.adapter_picker.isVisible() and chat.adapter_picker.current_id() == adapter.id
    chat.settings_panel.set_settings(GREEDY)
    loads: list[str] = []
    chat.requests.model_loading.connect(loads.append)
    answer = ask(qtbot, window, FACT_QUESTION)
    assert FACT_MARKER in answer.content
    assert answer.provenance["adapter_name"] == "bluebell"
    assert answer.provenance["adapter_sha256"] == adapter.sha256
    assert "Adapter “bluebell”" in last_view(chat).stats_text()
    assert "tokens/s" in last_view(chat).stats_text()
    window.grab().save(str(tmp_path / "finetune-chat.png"))

    # Switching the adapter off answers with the plain model, without loading it again.
    loads.clear()
    chat.adapter_picker.combo.setCurrentIndex(0)
    plain = ask(qtbot, window, FACT_QUESTION)
    assert loads == []
    assert "adapter_name" not in plain.provenance and FACT_MARKER not in plain.content
    assert "Adapter" not in last_view(chat).stats_text()


def ask(qtbot: QtBot, window: MainWindow, text: str):  # type: ignore[no-untyped-def]
    tab = window.chat_tab
    box = tab.composer.input
    box.setFocus()
    with qtbot.waitSignal(tab.answer_finished, timeout=ANSWER_TIMEOUT_MS) as finished:
        qtbot.keyClicks(box, text)
        qtbot.keyClick(box, Qt.Key.Key_Return)
    message = finished.args[0]
    assert message.status == MessageStatus.COMPLETE, message.error
    return message


@pytest.mark.slow
def test_cancel_mid_run_keeps_the_progress_and_resume_finishes_it(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")
    import_model(data_dir, stories260k, "stories")
    window = open_window(data_dir)
    settings = TrainingSettings(**{**FAST.to_dict(), "epochs": 60, "validation_share": 0.0})
    tab = open_finetune_tab(qtbot, window, fact_dataset(tmp_path / "resumed.jsonl"), settings)
    wait_until_startable(qtbot, tab)
    recorder = EventRecorder(window)
    chart = tab.training_panel.chart

    qtbot.mouseClick(tab.controls.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(chart.train_points()) >= 5, timeout=TRAIN_TIMEOUT_MS)
    assert tab.controls.cancel_button.isEnabled()
    qtbot.mouseClick(tab.controls.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.is_training(), timeout=60_000)

    assert recorder.kinds()[-1] == "cancelled"
    stopped_at = recorder.events[-1].step
    assert 5 <= stopped_at < settings.epochs
    assert f"Stopped at step {stopped_at}" in tab.training_panel.phase.text()
    assert window.adapters.list() == []  # nothing half-made is offered in Chat
    assert tab.controls.resume_button.isVisible() and tab.controls.resume_button.isEnabled()
    assert "Unfinished: “resumed”" in tab.controls.unfinished.text()
    db = Database(data_dir / "localai.db")
    job = JobStore(db).list()[0]
    db.close()
    assert job.status == JobStatus.CANCELLED and job.step == stopped_at
    window.grab().save(str(tmp_path / "cancelled.png"))

    recorder.events.clear()
    with qtbot.waitSignal(tab.adapters_changed, timeout=TRAIN_TIMEOUT_MS):
        qtbot.mouseClick(tab.controls.resume_button, Qt.MouseButton.LeftButton)
    started = next(e for e in recorder.events if e.kind == "started")
    assert started.resumed_from_step == stopped_at
    assert next(e for e in recorder.events if e.kind == "step").step == stopped_at + 1
    # The chart continues the first part instead of starting over.
    steps = [step for step, _ in chart.train_points()]
    assert steps == sorted(steps), steps
    assert steps[-1] == started.total_steps, (steps[-5:], [e.kind for e in recorder.events][-6:])
    assert any(step <= stopped_at for step in steps)
    assert [a.name for a in window.adapters.list()] == ["resumed"]
    assert tab.controls.resume_button.isHidden()


def test_bad_rows_are_listed_with_their_reasons_and_none_is_dropped(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "stories")
    window = open_window(data_dir)
    csv = tmp_path / "letters.csv"
    long_answer = "Once upon a time there was a very long letter. " * 12
    csv.write_text(
        "instruction,answer\n"
        "Write to the patient,Dear patient\n"
        "Only one column\n"
        "Write a long letter," + long_answer + "\n"
        "Empty answer,\n"
        "Write again,Dear patient again\n",
        encoding="utf-8",
    )
    settings = TrainingSettings(max_length=64)
    tab = open_finetune_tab(qtbot, window, csv, settings)
    view = tab.dataset_view
    qtbot.waitUntil(lambda: len(view.rows()) == 5, timeout=60_000)

    by_source = {row.source: row for row in view.rows()}
    assert by_source["row 2"].use == "Training" and by_source["row 2"].tokens
    assert "needs exactly two (instruction, answer)" in by_source["row 3"].problem
    assert (
        "is too long" in by_source["row 4"].problem and "limit is 64" in by_source["row 4"].problem
    )
    assert "the answer is empty" in by_source["row 5"].problem
    shown = view.model.index(1, 2).data()  # row 3, its reason across the text columns
    assert shown.startswith("Row 3 has 1 columns")
    assert "3 not used" in view.summary.text() and "2 to train on" in view.summary.text()
    assert tab.controls.start_button.isEnabled()  # the good rows can still train

    view.only_problems.click()
    assert [row.source for row in view.rows()] == ["row 3", "row 4", "row 5"]
    window.grab().save(str(tmp_path / "bad-rows.png"))


def test_models_that_cannot_train_are_listed_and_a_run_too_large_is_refused(
    open_window: OpenWindow,
    data_dir: Path,
    models_dir: Path,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import_model(data_dir, models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", "minilm")
    import_model(data_dir, models_dir / "stories260K.gguf", "stories")
    monkeypatch.setattr(
        "localai_desktop.core.finetune.runner.detect_machine",
        lambda: Machine(ram_bytes=256 * 1024**2),
    )
    window = open_window(data_dir)
    tab = open_finetune_tab(qtbot, window, fact_dataset(tmp_path / "fact.jsonl"), FAST)
    chooser = tab.base_chooser
    assert [chooser.combo.itemText(i) for i in range(chooser.combo.count())] == ["stories"]
    assert "minilm: It is an embedding model" in chooser.untrainable.text()
    qtbot.waitUntil(lambda: bool(chooser.estimate_text()), timeout=60_000)
    assert "needs about" in chooser.estimate_text() and "Choose a smaller model" in (
        chooser.estimate_text()
    )
    assert not tab.controls.start_button.isEnabled()
    assert tab.controls.hint.text() == chooser.estimate_text()


def test_answers_picked_from_saved_chats_become_examples(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "stories")
    db = Database(init_data_paths(data_dir).database)
    store = ConversationStore(db)
    conversation = store.create(title="Clinic hours")
    store.add_message(conversation.id, "user", FACT_QUESTION)
    good = store.add_message(conversation.id, "assistant", FACT_ANSWER)
    store.add_message(conversation.id, "user", "And on Mondays?")
    store.add_message(conversation.id, "assistant", "Closed on Mondays.")
    db.close()
    window = open_window(data_dir)
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    qtbot.mouseClick(tab.examples.pick_button, Qt.MouseButton.LeftButton)
    picker = tab.examples.picker
    assert picker is not None
    qtbot.waitExposed(picker)
    assert unnamed_controls(picker) == []
    items = picker.answer_items()
    assert len(items) == 2
    items[0].setCheckState(0, Qt.CheckState.Checked)
    ok = picker.buttons.button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: len(tab.dataset_view.rows()) == 1, timeout=60_000)
    row = tab.dataset_view.rows()[0]
    assert row.source == f"message {good.id}" and row.answer == FACT_ANSWER
    assert row.use == "Training" and row.tokens
    assert tab.settings_form.name() == "my answers"


def test_without_the_training_packages_the_tab_says_how_to_add_them(
    open_window: OpenWindow,
    data_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(
        "localai_desktop.core.finetune.stack.missing_training_packages", lambda: ["torch", "peft"]
    )
    window = open_window(data_dir)
    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    assert not tab.is_available()
    assert tab.stack.currentWidget() is tab.not_installed
    assert INSTALL_HINT in tab.not_installed.text()
    assert "torch, peft" in tab.not_installed.text()
    assert unnamed_controls(tab) == []
    window.grab().save(str(tmp_path / "finetune-missing.png"))


def test_a_file_that_is_not_a_dataset_is_explained_in_plain_words(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "stories")
    window = open_window(data_dir)
    notes = tmp_path / "notes.txt"
    notes.write_text("Just some notes.\n", encoding="utf-8")
    tab = open_finetune_tab(qtbot, window, notes, FAST)
    qtbot.waitUntil(lambda: bool(tab.banner.text()), timeout=30_000)
    assert "notes.txt is neither a JSONL nor a CSV file" in tab.banner.text()
    assert "Use a .jsonl file" in tab.banner.text()
    assert tab.dataset_view.rows() == [] and not tab.controls.start_button.isEnabled()


@pytest.mark.slow
def test_closing_the_app_mid_run_keeps_a_checkpoint_to_resume_from_next_time(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")
    import_model(data_dir, stories260k, "stories")
    window = open_window(data_dir)
    settings = TrainingSettings(**{**FAST.to_dict(), "epochs": 100, "validation_share": 0.0})
    tab = open_finetune_tab(qtbot, window, fact_dataset(tmp_path / "letters.jsonl"), settings)
    wait_until_startable(qtbot, tab)
    qtbot.mouseClick(tab.controls.start_button, Qt.MouseButton.LeftButton)
    chart = tab.training_panel.chart
    qtbot.waitUntil(lambda: len(chart.train_points()) >= 3, timeout=TRAIN_TIMEOUT_MS)

    window.close()  # waits for the trainer to stop after its step and save a checkpoint
    assert trainer_processes() == []

    again = open_window(data_dir)
    again.tabs.setCurrentWidget(again.finetune_tab)
    controls = again.finetune_tab.controls
    assert controls.resume_button.isVisible() and controls.resume_button.isEnabled()
    assert "Unfinished: “letters” stopped at step" in controls.unfinished.text()
    assert again.adapters.list() == []


def answer_adapter_remove_box(qtbot: QtBot, tab: FineTuneTab, button: str) -> QMessageBox:
    qtbot.mouseClick(tab.adapter_list.remove_button, Qt.MouseButton.LeftButton)
    box = next(b for b in tab.findChildren(QMessageBox) if b.isVisible())
    chosen = next(b for b in box.buttons() if b.text() == button)
    text = f"{box.text()}\n{box.informativeText()}"
    if button == "Remove":
        with qtbot.waitSignal(tab.adapters_changed):
            qtbot.mouseClick(chosen, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(chosen, Qt.MouseButton.LeftButton)
    box.setProperty("seen_text", text)
    return box


def test_removing_an_adapter_deletes_its_file_and_chat_falls_back_to_no_adapter(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    model_id = import_model(data_dir, stories260k, "stories")
    bluebell = register_random_adapter(data_dir, "stories", "bluebell")
    other = register_random_adapter(data_dir, "stories", "other", seed=2)
    window = open_window(data_dir)
    window.resize(1180, 760)
    chat = window.chat_tab
    assert chat.current_model_id() == model_id
    chat.select_adapter(bluebell.id)
    chat.settings_panel.set_settings(GREEDY)
    with_it = ask(qtbot, window, "Once upon a time")
    assert with_it.provenance["adapter_name"] == "bluebell"

    tab = window.finetune_tab
    window.tabs.setCurrentWidget(tab)
    tab.pages.setCurrentWidget(tab.adapter_list)
    assert tab.adapter_list.names() == ["bluebell", "other"]
    assert not tab.adapter_list.remove_button.isEnabled()  # nothing chosen yet
    tab.adapter_list.select(bluebell.id)
    assert unnamed_controls(tab) == []

    kept = answer_adapter_remove_box(qtbot, tab, "Keep")
    assert "“bluebell”" in kept.property("seen_text")
    assert bluebell.path.is_file() and tab.adapter_list.names() == ["bluebell", "other"]

    removed = answer_adapter_remove_box(qtbot, tab, "Remove")
    assert "Remove the adapter “bluebell” and delete its file?" in removed.property("seen_text")
    assert not bluebell.path.exists() and other.path.is_file()
    assert tab.adapter_list.names() == ["other"]
    assert tab.banner.text() == "Removed the adapter “bluebell” and deleted its file."
    assert [a.name for a in window.adapters.list()] == ["other"]
    tab.grab().save(str(tmp_path / "finetune-adapters.png"))

    # Chat had it chosen: now no adapter, and the next answer is the plain model's.
    assert chat.adapter_picker.current_id() is None
    assert chat.adapter_picker.combo.findData(bluebell.id) == -1
    window.tabs.setCurrentWidget(chat)
    plain = ask(qtbot, window, "Once upon a time")
    assert "adapter_name" not in plain.provenance
    earlier = window.store.get(with_it.conversation_id).messages
    made_with_it = next(m for m in earlier if m.id == with_it.id)
    assert made_with_it.provenance["adapter_name"] == "bluebell"
    assert made_with_it.provenance["adapter_sha256"] == bluebell.sha256


def test_an_old_answer_does_not_choose_a_newer_adapter_that_got_the_removed_ones_id(
    data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "stories")
    old = register_random_adapter(data_dir, "stories", "bluebell")
    db = Database(init_data_paths(data_dir).database)
    AdapterRegistry(db, data_dir / "adapters").remove("bluebell")
    db.close()
    new = register_random_adapter(data_dir, "stories", "heather", seed=3)
    assert new.id == old.id  # SQLite hands the freed id out again

    picker = AdapterPicker()
    qtbot.addWidget(picker)
    picker.set_adapters([new])

    def answer_made_with(adapter: Adapter) -> Message:
        provenance = Provenance(adapter=AdapterUse(adapter.id, adapter.name, adapter.sha256, 1.0))
        now = datetime(2026, 1, 1)
        return Message(
            1, 1, "assistant", "Once", MessageStatus.COMPLETE, None, provenance, now, now
        )

    picker.follow([answer_made_with(old)])
    assert picker.current_id() is None
    picker.follow([answer_made_with(new)])
    assert picker.current_id() == new.id
