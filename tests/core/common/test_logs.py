"""Log files: no message text by default, the debug switch (setting, --verbose, Settings dialog)
adds it with a warning, and the files rotate inside the data folder."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.cli import main as localai
from localai_desktop.core.common import logs
from localai_desktop.core.common.logs import configure_logging, content_for_log
from localai_desktop.core.datafolder.settings import AppSettingsStore
from tests.support.session_support import (
    OpenSession,
    chat,
    import_model,
    restored_logging,
    session_opener,
)

SECRET = "MAUVE-OCTOPUS-2291"


def all_logs(data_dir: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((data_dir / "logs").iterdir()))


@pytest.fixture
def with_model(data_dir: Path, stories260k: Path) -> Iterator[Path]:
    import_model(data_dir, stories260k, "stories")
    with restored_logging():
        yield data_dir


def cli_chat(data_dir: Path, *extra: str) -> int:
    question = f"My patient's name is {SECRET}"
    chat = ["chat", "--model", "stories", "--max-tokens", "20", "--seed", "1", question]
    return localai(["--data-dir", str(data_dir), *extra, *chat])


def test_a_chat_leaves_no_message_text_in_the_log_by_default(
    with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_chat(with_model) == 0
    answer = capsys.readouterr().out.strip()
    assert answer

    text = all_logs(with_model)
    assert "Loaded stories260K.gguf" in text  # the log is written, just without content
    assert SECRET not in text
    assert answer not in text
    assert "characters hidden; debug logging is off" not in text  # INFO: no debug lines


def test_verbose_adds_the_text_and_says_so(
    with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_chat(with_model, "--verbose") == 0
    captured = capsys.readouterr()

    text = all_logs(with_model)
    assert SECRET in text
    assert "Debug logging is on" in text
    assert "Debug logging is on" in captured.err


def test_the_debug_logging_setting_is_the_same_switch(
    with_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    AppSettingsStore.in_data_dir(with_model).update(debug_logging=True)
    assert cli_chat(with_model) == 0
    assert SECRET in all_logs(with_model)
    assert "Debug logging is on" in capsys.readouterr().err


def test_content_is_hidden_even_from_debug_lines_unless_debug_logging_is_on(
    data_dir: Path,
) -> None:
    with restored_logging():
        configure_logging(data_dir / "logs", "test")
        logging.getLogger().setLevel(logging.DEBUG)  # someone turning up detail by hand
        logging.getLogger("x").debug("prompt: %s", content_for_log(SECRET))
        assert SECRET not in all_logs(data_dir)
        assert "[18 characters hidden" in all_logs(data_dir)


def test_log_files_rotate_and_stay_in_the_data_folder(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logs, "LOG_MAX_BYTES", 20_000)
    with restored_logging():
        path = configure_logging(data_dir / "logs", "desktop")
        for number in range(3000):
            logging.getLogger("busy").info("line %05d of a busy day", number)
    files = sorted((data_dir / "logs").iterdir())
    assert path == data_dir / "logs" / "desktop.log"
    assert [f.name for f in files] == ["desktop.log"] + [f"desktop.log.{i}" for i in range(1, 6)]
    assert all(f.stat().st_size <= 20_000 for f in files)
    assert "line 02999" in path.read_text(encoding="utf-8")  # the newest lines are kept


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def test_the_app_logs_no_chat_text_until_the_settings_switch_is_on(
    open_session: OpenSession, data_dir: Path, stories260k: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    import_model(data_dir, stories260k, "stories")
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    first = chat(qtbot, window, f"Hidden {SECRET}")
    assert SECRET not in all_logs(data_dir)
    assert first.content not in all_logs(data_dir)

    dialog = session.show_settings()
    qtbot.waitExposed(dialog)
    assert not dialog.debug_warning.isVisible()
    dialog.debug_box.click()
    assert dialog.debug_warning.isVisible()
    assert "include what you type" in dialog.debug_warning.text()
    dialog.grab().save(str(tmp_path / "settings-debug-on.png"))
    assert AppSettingsStore.in_data_dir(data_dir).load().debug_logging is True
    chat(qtbot, window, f"Shown {SECRET}")
    assert f"Shown {SECRET}" in all_logs(data_dir)
    assert "Debug logging is on" in all_logs(data_dir)

    dialog.debug_box.click()
    chat(qtbot, window, f"Hidden again {SECRET}")
    assert f"Hidden again {SECRET}" not in all_logs(data_dir)
    assert AppSettingsStore.in_data_dir(data_dir).load().debug_logging is False
    dialog.close()
