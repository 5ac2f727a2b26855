"""One desktop app per data folder: a second start shows the first window and ends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.ui.app import main
from tests.support.session_support import OpenSession, session_opener


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def test_a_second_start_on_the_same_folder_brings_the_first_window_forward(
    open_session: OpenSession, data_dir: Path, qtbot: QtBot, capsys: pytest.CaptureFixture[str]
) -> None:
    session = open_session(data_dir)
    first_window = session.window

    with qtbot.waitSignal(session.show_requested, timeout=10_000):
        code = main(["--data-dir", str(data_dir)])

    assert code == 0
    assert capsys.readouterr().out == (
        f"LocalAI Desktop is already open on the data folder {data_dir}; "
        "its window was brought to the front.\n"
    )
    assert session.window is first_window and first_window.isVisible()


def test_the_folder_opens_again_once_the_first_app_closed_it(
    open_session: OpenSession, data_dir: Path, tmp_path: Path
) -> None:
    first = open_session(data_dir)
    with pytest.raises(LocalAIError) as caught:
        open_session(data_dir)
    assert caught.value.message == (
        f"LocalAI Desktop is already open on the data folder {data_dir}. "
        "Switch to its window, or start the app with --data-dir to use another folder."
    )
    other = open_session(tmp_path / "another folder")  # other folders are not affected
    first.close()
    assert open_session(data_dir).window is not None
    other.close()
