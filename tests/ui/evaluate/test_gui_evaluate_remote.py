"""The Evaluate tab runs a test set against a remote engine's model too (llama-cpp-python's own
server with stories260K), listed after this computer's models with where it runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage import Database
from tests.support.gui_support import OpenWindow, window_opener
from tests.support.remote_engine import MODEL_ALIAS, running_llama_server
from tests.support.session_support import import_model
from tests.ui.evaluate.test_gui_evaluate import RUN_TIMEOUT_MS, evaluate_tab, fill_three_questions

REFERENCE = f"box/{MODEL_ALIAS}"


@pytest.fixture
def open_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenWindow]:
    with window_opener(qtbot, monkeypatch) as opener:
        yield opener


def test_a_set_runs_against_a_remote_model_listed_with_where_it_runs(
    open_window: OpenWindow, data_dir: Path, models_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    with running_llama_server(models_dir / "stories260K.gguf") as server:
        db = Database(init_data_paths(data_dir).database)
        try:
            Remotes(db).add("box", server.url)
        finally:
            db.close()
        window = open_window(data_dir)
        tab = evaluate_tab(window)
        fill_three_questions(tab)
        run_page = tab.run_panel
        tab.sections.setCurrentWidget(run_page)

        def labels() -> list[str]:
            return [run_page.targets.item(i).text() for i in range(run_page.targets.count())]

        qtbot.waitUntil(lambda: len(labels()) == 2, timeout=20_000)  # the remote answered
        assert labels()[0] == "Stories"
        assert labels()[1].startswith(REFERENCE) and "your text is sent there" in labels()[1]

        run_page.tick("Stories")
        run_page.tick(REFERENCE)
        run_page.max_tokens.setValue(32)
        with qtbot.waitSignal(tab.run_finished, timeout=RUN_TIMEOUT_MS) as finished:
            run_page.run_button.click()
        assert run_page.status.full_text() == f"Run #{finished.args[0]} finished: 6 answers."
        rows = tab.results.summary_rows()
        assert [r[0] for r in rows] == ["Stories", REFERENCE]
        assert all(r[1].endswith("/3") for r in rows)
