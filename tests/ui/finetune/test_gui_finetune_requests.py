"""FineTuneRequests with the real worker: only the answer to the newest check reaches the tab."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.finetune.events import TrainingSettings
from localai_desktop.ui.workers.finetune import PreparedDataset
from tests.support.finetune_support import FACT_ANSWER, FACT_QUESTION
from tests.support.gui_support import window_opener
from tests.support.session_support import import_model


def test_an_older_check_of_the_examples_is_dropped_when_a_newer_one_was_asked_for(
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    stories260k: Path,
    tmp_path: Path,
) -> None:
    model_id = import_model(data_dir, stories260k, "stories")
    dataset = tmp_path / "fact.jsonl"
    row = json.dumps({"prompt": FACT_QUESTION, "completion": FACT_ANSWER})
    dataset.write_text((row + "\n") * 10, encoding="utf-8")
    with window_opener(qtbot, monkeypatch) as open_window:
        requests = open_window(data_dir).finetune_tab.requests
        checked: list[PreparedDataset] = []
        requests.dataset_checked.connect(checked.append)

        # Both are asked for before the GUI thread sees either answer, as when a setting
        # changes while the first check is still running.
        requests.check(str(dataset), model_id, TrainingSettings(validation_share=0.1).to_dict())
        requests.check(str(dataset), model_id, TrainingSettings(validation_share=0.3).to_dict())
        assert requests.dataset() is None and not requests.dataset_is_current()
        with qtbot.waitSignal(requests.dataset_checked, timeout=60_000):
            pass

        assert [prepared.summary.validation for prepared in checked] == [3]
        assert requests.dataset() is checked[0] and requests.dataset_is_current()
        requests.mark_outdated()  # what a changed setting does until the next check answers
        assert requests.dataset() is checked[0] and not requests.dataset_is_current()
