"""The Evaluate tab with stories260K: build a set, run it against two models and an adapter,
read the results, cancel and resume, import errors, and a question made from a chat answer."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from csv import reader
from pathlib import Path

import pytest
from PySide6.QtCore import QMetaObject, QPoint, Qt
from PySide6.QtWidgets import QInputDialog
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.evaluation.runner import EvalProgress
from localai_desktop.core.evaluation.store import EvalStore, RunStatus, Target
from localai_desktop.core.evaluation.testset import Rule, parse_jsonl
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.ui.evaluate.run_panel import describe_progress
from localai_desktop.ui.evaluate.tab import EvaluateTab
from localai_desktop.ui.shell.main_window import MainWindow
from tests.core.finetune.test_finetune_adapters import register_random_adapter
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.layout_checks import cut_texts, sticking_out
from tests.support.session_support import import_model

RUN_TIMEOUT_MS = 120_000


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def two_registrations(data_dir: Path, stories260k: Path, tmp_path: Path) -> None:
    """stories260K, and a second registration of it (a copy one byte longer: its own file)."""
    import_model(data_dir, stories260k, "Stories")
    second = tmp_path / "stories-again.gguf"
    shutil.copyfile(stories260k, second)
    with second.open("ab") as file:
        file.write(b"\0")
    import_model(data_dir, second, "Stories again")


def evaluate_tab(window: MainWindow) -> EvaluateTab:
    window.tabs.setCurrentWidget(window.evaluate_tab)
    return window.evaluate_tab


def fill_three_questions(tab: EvaluateTab) -> None:
    panel = tab.test_sets
    panel.new_set("Stories")
    table = panel.table
    rows = [
        ("q1", "Tell me a story about Lily.", Rule.CONTAINS, "the"),
        ("q2", "Who is in the park?", Rule.REGEX, r"\bzebra-unicorn\b"),
        ("q3", "What is the dosage of paracetamol?", Rule.ABSTAIN, ""),
    ]
    for qid, question, rule, expected in rows:
        row = table.add_question()
        table.set_cell(row, 0, qid)
        table.set_cell(row, 1, question)
        table.set_rule(row, rule)
        table.set_cell(row, 3, expected)
    assert panel.save_button.isEnabled()
    panel.save_button.click()
    assert panel.banner.text() == ""
    assert len(panel.store.get("Stories").questions) == 3


def assert_every_page_fits(window: MainWindow, qtbot: QtBot) -> None:
    """Each page of the Evaluate tab (and each section of Results) at 800x600 and 1920x1080:
    the window stays that size, nothing sticks out, no text is cut unseen."""
    tab = window.evaluate_tab
    results = tab.results
    for size in ((800, 600), (1920, 1080)):
        window.resize(*size)
        for page in (tab.test_sets, tab.run_panel, results):
            tab.sections.setCurrentWidget(page)
            for section in range(results.sections.count()):
                results.sections.setCurrentIndex(section)
                qtbot.wait(50)
                name = f"{tab.sections.tabText(tab.sections.currentIndex())}-{section}"
                window.grab().save(f"/tmp/evaluate_{size[0]}x{size[1]}_{name}.png")
                assert window.width() <= size[0] and window.height() <= size[1], name
                assert sticking_out(window) == [], name
                assert cut_texts(window) == [], name


def test_a_set_runs_against_two_models_and_an_adapter_and_the_results_show(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    two_registrations(data_dir, stories260k, tmp_path)
    register_random_adapter(data_dir, "Stories", "bluebell")
    window = open_window(data_dir)
    tab = evaluate_tab(window)
    fill_three_questions(tab)

    run_page = tab.run_panel
    tab.sections.setCurrentWidget(run_page)
    assert run_page.targets.count() == 3  # both models, and the adapter on its base model
    run_page.tick("Stories")
    run_page.tick("Stories again")
    run_page.tick("Stories:bluebell")
    run_page.max_tokens.setValue(48)
    assert run_page.run_button.isEnabled()
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        run_page.run_button.click()
        assert run_page.cancel_button.isEnabled() and not run_page.run_button.isEnabled()
    run_id = finished.args[0]
    assert run_page.status.full_text() == f"Run #{run_id} finished: 9 answers."

    results = tab.results
    assert tab.sections.currentWidget() is results
    run = results.current_run()
    assert run is not None and run.id == run_id and run.status is RunStatus.FINISHED
    rows = results.summary_rows()
    assert [r[0] for r in rows] == ["Stories", "Stories again", "Stories + bluebell"]
    for row in rows:
        assert row[1].endswith("/3")  # passed out of 3
        assert row[5] != "n/a" and row[6] != "n/a" and row[7] != "n/a"  # ttft, tok/s, memory
    # The same file and seed: the copy answers exactly as the original.
    assert rows[0][1] == rows[1][1]
    charts = results.charts.charts
    assert charts["accuracy"].labels == [r[0] for r in rows]
    assert all(v is not None for v in charts["tokens_per_second_median"].values)

    # Every question with every model's answer side by side, and why it passed or failed.
    answers = results.answers
    assert answers.rowCount() == 3 and answers.columnCount() == 5
    regex_row = answers.item(1, 2).text()
    assert regex_row.startswith("\u2717 failed")  # nobody writes "zebra-unicorn"
    detail = results.detail_text(1)
    assert "Stories again: FAILED" in detail and "Stories + bluebell: FAILED" in detail
    answers.setCurrentCell(0, 0)
    assert results.detail.toPlainText() == results.detail_text(0)

    html, csv = tmp_path / "report.html", tmp_path / "answers.csv"
    assert results.export_html(html) and results.export_csv(csv)
    assert "<svg" in html.read_text(encoding="utf-8")
    with csv.open(encoding="utf-8", newline="") as file:
        assert len(list(reader(file))) == 1 + 9  # the header, and one row an answer

    # A second run, compared with the first.
    run_page.tick("Stories again", False)
    run_page.tick("Stories:bluebell", False)
    tab.sections.setCurrentWidget(run_page)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as second:
        run_page.run_button.click()
    results.compare_with(run_id)
    labels = [r[0] for r in results.summary_rows()]
    old = [f"#{run_id} {label}" for label in ("Stories", "Stories again", "Stories + bluebell")]
    assert labels == [f"#{second.args[0]} Stories", *old]


def test_cancel_keeps_the_answers_and_resume_finishes_the_run(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    two_registrations(data_dir, stories260k, tmp_path)
    window = open_window(data_dir)
    tab = evaluate_tab(window)
    questions = "\n".join(
        f'{{"id": "q{i}", "question": "Tell me story {i}.", "expect": {{"contains": ["the"]}}}}'
        for i in range(8)
    )
    path = tmp_path / "stories.jsonl"
    path.write_text(questions, encoding="utf-8")
    assert tab.test_sets.import_file(path) is not None
    run_page = tab.run_panel
    run_page.tick("Stories")
    run_page.tick("Stories again")
    run_page.max_tokens.setValue(64)
    tab.sections.setCurrentWidget(run_page)
    clicked: list[int] = []

    def cancel_after_two(_run_id: int, progress: EvalProgress) -> None:
        # On the worker's thread, as the second answer is saved: the next one is not begun.
        if progress.done == 2 and not clicked:
            clicked.append(progress.done)
            QMetaObject.invokeMethod(
                run_page.cancel_button, "click", Qt.ConnectionType.QueuedConnection
            )
            tab.worker.cancel_run()

    tab.worker.run_progress.connect(cancel_after_two, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as stopped:
        run_page.run_button.click()
    tab.worker.run_progress.disconnect(cancel_after_two)
    store = EvalStore(window.workspace.db)
    run = store.get(stopped.args[0])
    assert run.status is RunStatus.CANCELLED and run.done == 2 and run.total == 16
    assert "answers are kept" in run_page.status.full_text()
    kept = [r.answer for r in store.results(run.id)]

    results = tab.results
    assert results.current_run() is not None and results.resume_button.isEnabled()
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS):
        results.resume_button.click()
    run = store.get(run.id)
    assert run.status is RunStatus.FINISHED and run.done == 16
    assert [r.answer for r in store.results(run.id)][: len(kept)] == kept  # not answered again
    assert not results.resume_button.isEnabled()
    assert_every_page_fits(window, qtbot)


def test_a_run_the_app_did_not_finish_resumes_from_the_results(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    db = Database(init_data_paths(data_dir).database)
    try:
        model = ModelRegistry(db, data_dir / "models").get("Stories")
        questions = parse_jsonl(
            '{"id": "a", "question": "Once upon a time", "expect": {"contains": ["the"]}}\n'
            '{"id": "b", "question": "Tell me a story.", "expect": {"regex": "\\\\w+"}}'
        )
        run = EvalStore(db).create(
            "killed",
            questions,
            [Target(model.name, model.sha256)],
            GenerationSettings(max_tokens=32, seed=1),
        )
    finally:
        db.close()
    window = open_window(data_dir)
    results = evaluate_tab(window).results
    tab = window.evaluate_tab
    tab.sections.setCurrentWidget(results)
    shown = results.current_run()
    assert shown is not None and shown.id == run.id and shown.status is RunStatus.INTERRUPTED
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS):
        results.resume_button.click()
    assert results.current_run().status is RunStatus.FINISHED  # type: ignore[union-attr]
    assert results.summary_rows()[0][1].endswith("/2")


def test_a_bad_import_names_each_bad_line_and_imports_nothing(
    open_window: OpenWindow, data_dir: Path, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    panel = evaluate_tab(window).test_sets
    path = tmp_path / "broken.jsonl"
    path.write_text(
        '{"id": "q1", "question": "Fine?", "expect": {"contains": ["yes"]}}\n'
        '{"id": "q2", "question": "Broken", "expect": {"regex": "("}}\n'
        "not json at all\n",
        encoding="utf-8",
    )
    assert panel.import_file(path) is None
    message = panel.banner.text()
    assert panel.banner.kind() == "error"
    assert (
        "line 2: 'regex' is not a valid pattern" in message and "line 3: not valid JSON" in message
    )
    assert "line 1" not in message
    assert panel.store.list() == []

    csv = tmp_path / "broken.csv"
    csv.write_text("id,question,source_page,source_file\nq1,Why?,three,a.pdf\n", encoding="utf-8")
    assert panel.import_file(csv) is None
    assert "line 2: source_page 'three' is not a page number" in panel.banner.text()


def test_the_editor_names_the_row_it_cannot_save(
    open_window: OpenWindow, data_dir: Path, tmp_path: Path
) -> None:
    window = open_window(data_dir)
    panel = evaluate_tab(window).test_sets
    panel.new_set("Mine")
    table = panel.table
    table.add_question()
    table.set_cell(0, 1, "What is the capital?")
    table.set_cell(0, 3, "Paris | France")
    table.add_question()
    table.set_cell(1, 1, "Another")
    table.set_rule(1, Rule.SIMILAR_TO)
    table.set_cell(1, 3, "")  # a reference answer is needed
    assert not panel.save()
    assert panel.banner.text().startswith("Row 2:")
    table.set_cell(1, 3, "A reference answer.")
    assert panel.save()
    saved = panel.store.get("Mine").questions
    assert saved[0].expect.contains == ("Paris", "France")
    assert saved[1].expect.threshold == 0.8  # filled in when the rule was chosen

    export = tmp_path / "mine.csv"
    assert panel.export_file(export)
    imported = panel.import_file(export)
    assert imported is not None and imported.name == "mine" and imported.questions == saved

    # Edits are kept when another set is picked; a row that cannot be saved keeps you there.
    panel.select_set("Mine")
    panel.table.set_cell(0, 1, "What is the capital of France?")
    panel.sets.list.setCurrentItem(panel.sets.list.item_for(imported.id))
    assert panel.store.get("Mine").questions[0].question == "What is the capital of France?"
    panel.table.set_cell(0, 4, "0.5")  # a threshold on a "contains" row
    panel.table.set_rule(0, Rule.REGEX)
    panel.table.set_cell(0, 3, "(")
    panel.sets.list.setCurrentItem(panel.sets.list.item_for(panel.store.get("Mine").id))
    assert panel.current_set().name == "mine"  # type: ignore[union-attr]
    assert panel.banner.text().startswith("Row 1:") and panel.has_unsaved_changes()

    # Rename in place, and delete.
    item = panel.sets.list.currentItem()
    item.setText("Capitals")
    assert [s.name for s in panel.store.list()] == ["Capitals", "Mine"]
    assert panel.has_unsaved_changes() and panel.table.item(0, 3).text() == "("  # still there
    panel.sets.delete_requested.emit(imported.id)
    assert [s.name for s in panel.store.list()] == ["Mine"]
    assert panel.current_set().name == "Mine"  # type: ignore[union-attr]


def test_an_answer_becomes_a_reference_question_from_the_chat(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    model_id = import_model(data_dir, stories260k, "Stories")
    db = Database(init_data_paths(data_dir).database)
    try:
        store = ConversationStore(db)
        conversation = store.create(title="Ward", model_id=model_id)
        store.add_message(conversation.id, "user", "How long may the drip run?")
        answer = store.add_message(conversation.id, "assistant", "At most 48 hours.")
    finally:
        db.close()
    window = open_window(data_dir)
    window.chat_tab.select_conversation(conversation.id)
    view = window.chat_tab.transcript.view_for(answer.id)
    assert view is not None
    menu = view.context_menu(QPoint(2, 2))
    assert view.reference_action in menu.actions()
    question_view = window.chat_tab.transcript.views()[0]
    assert question_view.reference_action not in question_view.context_menu(QPoint(2, 2)).actions()

    view.reference_action.trigger()
    tab = window.evaluate_tab
    assert window.tabs.currentWidget() is tab
    dialog = tab.reference_dialog
    assert isinstance(dialog, QInputDialog) and dialog.isVisible()
    dialog.setTextValue("Ward questions")
    dialog.accept()
    saved = tab.test_sets.store.get("Ward questions").questions
    assert len(saved) == 1
    assert saved[0].question == "How long may the drip run?"
    assert saved[0].expect.rule is Rule.SIMILAR_TO
    assert saved[0].expect.similar_to == "At most 48 hours."
    assert tab.test_sets.current_set().name == "Ward questions"  # type: ignore[union-attr]
    assert tab.run_panel.test_set.findData("Ward questions") >= 0


def test_a_run_that_cannot_start_says_why_and_what_to_do(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = evaluate_tab(window)
    path = tmp_path / "meaning.jsonl"
    path.write_text(
        '{"id": "m1", "question": "Who is Lily?", "expect": {"similar_to": "A little girl."}}\n',
        encoding="utf-8",
    )
    assert tab.test_sets.import_file(path) is not None
    tab.run_panel.tick("Stories")
    tab.run_panel.run_button.click()
    assert tab.run_panel.is_running()
    qtbot.waitUntil(lambda: not tab.run_panel.is_running(), timeout=RUN_TIMEOUT_MS)
    assert tab.banner.kind() == "error"
    assert "compares meanings with an embedding model, and you have none" in tab.banner.text()
    assert "Download one" in tab.banner.text()
    assert tab.run_panel.run_button.isEnabled() and not tab.run_panel.cancel_button.isEnabled()
    assert EvalStore(window.workspace.db).runs() == []  # nothing was stored


def test_closing_the_window_mid_run_keeps_the_answers_for_resume(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = evaluate_tab(window)
    path = tmp_path / "many.jsonl"
    path.write_text(
        "".join(
            f'{{"id": "q{i}", "question": "Story {i}", "expect": {{"contains": ["a"]}}}}\n'
            for i in range(40)
        ),
        encoding="utf-8",
    )
    tab.test_sets.import_file(path)
    tab.run_panel.tick("Stories")
    tab.run_panel.max_tokens.setValue(64)
    tab.run_panel.run_button.click()
    qtbot.waitUntil(lambda: tab.run_panel.progress.value() >= 1, timeout=RUN_TIMEOUT_MS)
    window.close()  # the worker stops after the answer it is writing, and its thread ends
    db = Database(init_data_paths(data_dir).database)
    try:
        (run,) = EvalStore(db).runs()
        assert run.status is RunStatus.CANCELLED and 1 <= run.done < 40 and run.resumable
    finally:
        db.close()


def test_progress_reads_as_question_i_of_n_with_time_left() -> None:
    progress = EvalProgress(1, 2, 8, 0, "Stories", "answering", 12.0)
    assert describe_progress(progress) == "Question 3 of 8 · Stories · about 12 s left"
    loading = EvalProgress(1, 4, 8, 1, "Stories again", "loading", None)
    assert describe_progress(loading) == "Question 5 of 8 · loading Stories again"
    done = EvalProgress(1, 8, 8, 1, "Stories again", "answering", 0.0)
    assert describe_progress(done) == "8 of 8 answered"


def test_questions_edited_but_not_saved_are_kept_when_the_window_closes(
    open_window: OpenWindow, data_dir: Path, qtbot: QtBot
) -> None:
    window = open_window(data_dir)
    tab = evaluate_tab(window)
    fill_three_questions(tab)
    panel = tab.test_sets
    row = panel.table.add_question()
    panel.table.set_cell(row, 0, "q4")
    panel.table.set_cell(row, 1, "Who wrote the discharge letter?")
    panel.table.set_rule(row, Rule.CONTAINS)
    panel.table.set_cell(row, 3, "Dr")
    assert panel.has_unsaved_changes()  # not saved by hand

    window.close()

    db = Database(init_data_paths(data_dir).database)
    try:
        from localai_desktop.core.evaluation.test_sets import TestSetStore

        kept = TestSetStore(db).get("Stories").questions
    finally:
        db.close()
    assert [q.id for q in kept] == ["q1", "q2", "q3", "q4"]
