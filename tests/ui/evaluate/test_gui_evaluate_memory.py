"""The Run page's Memory (context length): Automatic by default, a chosen size is the one the
model is loaded with, and the results, the detail view and the report say what each model had."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.evaluation.store import EvalStore
from localai_desktop.core.models.context_choice import automatic_context
from localai_desktop.ui.evaluate.tab import EvaluateTab
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.session_support import import_model
from tests.ui.evaluate.test_gui_evaluate import (
    RUN_TIMEOUT_MS,
    assert_every_page_fits,
    evaluate_tab,
)


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def run_once(tab: EvaluateTab, qtbot: QtBot) -> int:
    tab.sections.setCurrentWidget(tab.run_panel)
    with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
        tab.run_panel.run_button.click()
    return int(finished.args[0])


def test_the_run_uses_the_memory_chosen_and_the_results_say_so(
    open_window: OpenWindow, data_dir: Path, stories260k: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    window = open_window(data_dir)
    tab = evaluate_tab(window)
    path = tmp_path / "two.jsonl"
    path.write_text(
        '{"id": "a", "question": "Once upon a time", "expect": {"contains": ["the"]}}\n'
        '{"id": "b", "question": "Tell me a story.", "expect": {"regex": "\\\\w+"}}\n',
        encoding="utf-8",
    )
    assert tab.test_sets.import_file(path) is not None
    run_page = tab.run_panel
    run_page.tick("Stories")
    run_page.max_tokens.setValue(24)
    assert run_page.memory.text() == "Automatic"  # the default, as in Chat
    assert "as much as this computer comfortably holds" in run_page.memory_hint.text()
    loaded: list[int] = []
    engine = tab.worker._evaluator.engine
    original_load = engine.load

    def spy_load(*args: object, **kwargs: object) -> object:
        result = original_load(*args, **kwargs)  # type: ignore[arg-type]
        assert engine.loaded is not None
        loaded.append(engine.loaded.n_ctx)
        return result

    engine.load = spy_load  # type: ignore[method-assign]

    # A chosen Memory: the model is loaded with it, every answer records it.
    run_page.memory.setValue(1024)
    assert run_page.memory.text() == "1024 tokens"
    assert run_page.memory_hint.text().startswith("Each model gets 1,024 tokens")
    chosen_id = run_once(tab, qtbot)
    assert loaded == [1024]
    store = EvalStore(window.workspace.db)
    chosen = store.get(chosen_id)
    assert chosen.settings.context_length == 1024  # kept with the run, so a resume uses it
    assert [r.facts["n_ctx"] for r in store.results(chosen_id)] == [1024, 1024]
    results = tab.results
    assert results.current_run().id == chosen_id  # type: ignore[union-attr]
    assert results.summary_rows()[0][-1] == "1,024"
    assert results.settings_line.text().startswith("Settings: Memory: 1,024 tokens")
    assert "Memory: 1,024 tokens." in results.detail_text(0)
    report = tmp_path / "report.html"
    assert results.export_html(report)
    html = report.read_text(encoding="utf-8")
    assert "memory 1,024 tokens" in html and "<td>1,024</td>" in html

    # Back to Automatic: the model gets what this computer comfortably holds.
    run_page.memory.setValue(0)
    assert run_page.memory.text() == "Automatic"
    automatic_id = run_once(tab, qtbot)
    expected = automatic_context(stories260k).tokens
    assert expected != 1024 and loaded == [1024, expected]
    assert store.get(automatic_id).settings.context_length == 0
    assert results.settings_line.text().startswith("Settings: Memory: Automatic")
    assert results.summary_rows()[0][-1] == f"{expected:,}"

    # Compared side by side, each run shows its own.
    results.compare_with(chosen_id)
    assert [r[-1] for r in results.summary_rows()] == [f"{expected:,}", "1,024"]
    assert f"#{chosen_id} Settings: Memory: 1,024 tokens" in results.settings_line.text()

    # The Memory field, the settings lines and the new column fit at 800x600 and 1920x1080.
    results.answers.setCurrentCell(0, 0)
    assert_every_page_fits(window, qtbot)
