"""Delete all my data: everything the person made goes, models stay unless asked, and the
app says exactly what it removed — from the core, the command line and the Settings dialog."""

from __future__ import annotations

import json
import logging
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from localai_desktop.cli import main as localai
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.logs import configure_logging
from localai_desktop.core.datafolder.data_reset import delete_all_data, take_inventory
from localai_desktop.core.datafolder.paths import DataPaths, init_data_paths
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.hub.download_store import DownloadStore
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.core.hub.test_offline import stories_request
from tests.support import gguf_factory
from tests.support.session_support import (
    OpenSession,
    chat,
    import_model,
    restored_logging,
    session_opener,
)

SECRET = "PURPLE-ELEPHANT-4711"


@pytest.fixture
def models_elsewhere(tmp_path: Path, stories260k: Path) -> tuple[Path, Path]:
    """Two different model files outside the data folder."""
    folder = tmp_path / "my-models"
    folder.mkdir()
    in_place = Path(shutil.copy(stories260k, folder / "stories.gguf"))
    to_copy = gguf_factory.write_random_llama(
        folder / "random.gguf", tokenizer_from=stories260k, seed=3
    )
    return in_place, to_copy


@pytest.fixture
def full_folder(data_dir: Path, models_elsewhere: tuple[Path, Path]) -> Iterator[DataPaths]:
    """A data folder with every kind of data in it, and a file the app did not make."""
    paths = init_data_paths(data_dir)
    in_place, to_copy = models_elsewhere
    db = Database(paths.database)
    try:
        registry = ModelRegistry(db, paths.models)
        registry.import_model(in_place, name="in place", probe=False)
        registry.import_model(to_copy, name="copied", copy=True, probe=False)
        store = ConversationStore(db)
        for title in ("First", "Second"):
            chat_row = store.create(title)
            store.add_message(chat_row.id, "user", f"My secret is {SECRET}")
            store.add_message(chat_row.id, "assistant", f"I will keep {SECRET} safe")
        download = DownloadStore(db, paths.models / "hub")
        download_id = download.create(stories_request())
        partial = download.get(download_id).targets[0].with_name("stories260K-F32.gguf.downloading")
        partial.parent.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(b"GGUF" + b"\0" * 1000)
    finally:
        db.close()
    add_document_index(paths.database)
    AppSettingsStore.in_data_dir(paths.root).update(offline_mode=True)
    (paths.root / "settings.ini").write_text("[window]\ngeometry=1\n", encoding="utf-8")
    (paths.root / "localai.backup-v2-20250101-000000.db").write_bytes(SECRET.encode())
    (paths.root / "adapters").mkdir()
    (paths.root / "adapters" / "style.gguf").write_bytes(b"adapter " + SECRET.encode())
    (paths.logs / "desktop.log.1").write_text("an old log\n", encoding="utf-8")
    (paths.root / "my notes.txt").write_text("not the app's", encoding="utf-8")
    yield paths


def add_document_index(database: Path) -> None:
    """A document collection with one indexed file, its text in the chunks and the FTS index."""
    raw = sqlite3.connect(database)
    with raw:
        raw.execute(
            "INSERT INTO doc_collections (name, embedding_model_name, embedding_model_sha256, "
            "chunk_tokens, created_at, updated_at) VALUES ('letters', 'm', 'x', 256, 0, 0)"
        )
        raw.execute(
            "INSERT INTO doc_files (collection_id, path, status, added_at) "
            "VALUES (1, '/home/me/letter.txt', 'indexed', 0)"
        )
        raw.execute(
            "INSERT INTO doc_chunks (file_id, collection_id, ordinal, text, embedding) "
            f"VALUES (1, 1, 0, 'Dear {SECRET}, your results are fine.', x'00')"
        )
    raw.close()


def files_containing(root: Path, text: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_delete_all_removes_everything_but_models_and_says_what(full_folder: DataPaths) -> None:
    paths = full_folder
    assert files_containing(paths.root, SECRET)  # the test data is really there
    with restored_logging():
        configure_logging(paths.logs, "desktop")
        logging.getLogger("test").info("a line before the reset")
        report = delete_all_data(paths)
        logging.getLogger("test").info("a line after the reset")

    assert report.row_counts["conversations"] == 2
    assert report.row_counts["messages"] == 4
    assert report.row_counts["downloads"] == 1
    assert report.row_counts["doc_collections"] == 1 and report.row_counts["doc_files"] == 1
    assert "doc_chunks" not in report.row_counts and "doc_chunks_fts" not in report.row_counts
    assert report.models_kept == 2 and report.models_removed == 0
    names = {p.name for p in report.removed_files}
    assert {"localai.db", "settings.json", "settings.ini", "style.gguf"} <= names
    assert {"localai.backup-v2-20250101-000000.db", "desktop.log", "desktop.log.1"} <= names
    assert "stories260K-F32.gguf.downloading" in names
    summary = report.summary()
    assert "2 conversations" in summary and "4 messages" in summary
    assert "1 unfinished download\n" in summary and "Kept: 2 models" in summary
    assert "1 document collection\n" in summary and "1 indexed document\n" in summary

    assert files_containing(paths.root, SECRET) == []
    assert (paths.root / "my notes.txt").read_text(encoding="utf-8") == "not the app's"
    assert not (paths.root / "adapters").exists()
    assert AppSettingsStore.in_data_dir(paths.root).load().offline_mode is False
    # Logging goes on, into a fresh file.
    assert "a line after the reset" in (paths.logs / "desktop.log").read_text(encoding="utf-8")
    db = Database(paths.database)
    try:
        assert ConversationStore(db).list() == []
        models = ModelRegistry(db, paths.models).list()
        assert sorted(m.name for m in models) == ["copied", "in place"]
        assert all(m.file_exists for m in models)
        assert DownloadStore(db, paths.models / "hub").ids() == []
    finally:
        db.close()


def test_with_models_the_app_folder_is_emptied_and_files_elsewhere_are_only_forgotten(
    full_folder: DataPaths, models_elsewhere: tuple[Path, Path]
) -> None:
    paths = full_folder
    in_place, _ = models_elsewhere
    copied = next(p for p in paths.models.iterdir() if p.suffix == ".gguf")

    report = delete_all_data(paths, include_models=True)

    assert report.models_removed == 2
    assert not copied.exists()
    assert in_place.is_file()  # the person's own file, imported where it was
    assert report.kept_files == (in_place,)
    assert str(in_place) in report.summary()
    assert "did not delete them" in report.summary()
    db = Database(paths.database)
    try:
        assert ModelRegistry(db, paths.models).list() == []
    finally:
        db.close()
    assert (paths.root / "my notes.txt").exists()


def test_the_command_line_asks_for_yes_then_deletes(
    full_folder: DataPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(full_folder.root)
    with restored_logging():
        assert localai(["--data-dir", root, "data", "delete-all"]) == 1
        out = capsys.readouterr().out
        assert "2 conversations" in out and "Nothing was deleted" in out
        assert "Your 2 models would be kept" in out
        assert take_inventory(full_folder).row_counts["conversations"] == 2

        assert localai(["--data-dir", root, "data", "delete-all", "--yes", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["records_removed"]["conversations"] == 2
        assert report["models_kept"] == 2

        assert localai(["--data-dir", root, "data", "info", "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["records"]["conversations"] == 0 and info["models"] == 2
    assert files_containing(full_folder.root, SECRET) == []


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def test_delete_all_from_settings_while_the_model_is_loaded(
    open_session: OpenSession, data_dir: Path, stories260k: Path, qtbot: QtBot
) -> None:
    import_model(data_dir, stories260k, "Stories")
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    chat(qtbot, window, f"Tell me about {SECRET}")
    assert window.worker._service.engine.loaded is not None  # the worker holds the model

    dialog = session.show_settings()
    qtbot.waitExposed(dialog)
    dialog.grab().save(str(data_dir.parent / "settings.png"))
    dialog.delete_button.click()
    box = dialog.delete_box
    qtbot.waitExposed(box)
    assert "1 conversation\n" in box.informativeText()
    assert "2 messages" in box.informativeText()
    box.grab().save(str(data_dir.parent / "delete-confirm.png"))
    delete = next(b for b in box.buttons() if b.text() == "Delete everything")
    with qtbot.waitSignal(session.window_opened, timeout=30_000):
        delete.click()

    new_window = session.window
    assert new_window is not None and new_window is not window
    qtbot.waitUntil(lambda: _outcome_box() is not None, timeout=5000)
    outcome = _outcome_box()
    assert outcome is not None
    assert "1 conversation\n" in outcome.informativeText()
    assert "Kept: 1 model," in outcome.informativeText()
    outcome.grab().save(str(data_dir.parent / "delete-report.png"))
    assert new_window.store.list() == []
    assert [m.name for m in new_window.registry.list()] == ["Stories"]
    assert new_window.chat_tab.transcript.views() == []
    assert files_containing(data_dir, SECRET) == []
    # The fresh window works: a new chat with the kept model.
    new_window.chat_tab.select_model(new_window.registry.list()[0].id)
    assert chat(qtbot, new_window, "Once upon a time").status == "complete"


def _outcome_box() -> QMessageBox | None:
    for widget in QApplication.topLevelWidgets():
        is_outcome = isinstance(widget, QMessageBox) and widget.objectName() == "settings-outcome"
        if is_outcome and widget.isVisible():
            return widget  # type: ignore[return-value]
    return None


def test_the_command_line_will_not_delete_under_the_open_desktop_app(
    open_session: OpenSession, data_dir: Path
) -> None:
    db = Database(init_data_paths(data_dir).database)
    ConversationStore(db).create("Letter to Dr Smith")
    db.close()
    session = open_session(data_dir)
    command = [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir)]

    refused = subprocess.run(
        [*command, "data", "delete-all", "--yes"], capture_output=True, text=True, timeout=120
    )

    assert refused.returncode == 1
    assert refused.stderr == (
        f"Error: LocalAI Desktop is open on the data folder {data_dir}, so nothing was "
        "deleted. Close the app (or use its Settings to do this), then try again.\n"
    )
    assert [c.title for c in session.window.store.list()] == ["Letter to Dr Smith"]
    session.close()
    deleted = subprocess.run(
        [*command, "data", "delete-all", "--yes"], capture_output=True, text=True, timeout=120
    )
    assert deleted.returncode == 0, deleted.stderr
    assert take_inventory(init_data_paths(data_dir)).row_counts["conversations"] == 0
