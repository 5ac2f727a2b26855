"""Several threads or copies of the app writing at once wait their turn; none sees raw SQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import StorageError
from localai_desktop.core.common.file_lock import FileLock
from localai_desktop.core.storage import SCHEMA_VERSION, Database
from localai_desktop.core.storage import db as db_module


def test_concurrent_read_then_write_transactions_do_not_fail(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create()
    answer = store.add_message(conversation.id, "assistant", "")
    errors: list[BaseException] = []

    def write_answer() -> None:
        try:
            for index in range(150):
                store.update_message(answer.id, content="x" * index)
        except BaseException as error:
            errors.append(error)

    def add_messages() -> None:
        try:
            for index in range(150):
                store.add_message(conversation.id, "user", f"message {index}")
                store.rename(conversation.id, f"title {index}")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write_answer), threading.Thread(target=add_messages)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    saved = store.get(conversation.id)
    assert len(saved.messages) == 151
    assert saved.messages[0].content == "x" * 149
    db.close()


# -- several copies of the app at once --------------------------------------------------------

CLI = (sys.executable, "-m", "localai_desktop.cli")


def start_together(data_dir: Path, copies: int, *args: str) -> list[tuple[int, str]]:
    """Start `copies` localai processes at the same moment; (exit code, stderr) of each."""
    processes = [
        subprocess.Popen(
            [*CLI, "--data-dir", str(data_dir), *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(copies)
    ]
    return [(p.wait(timeout=120), p.stderr.read()) for p in processes if p.stderr]


def test_copies_started_together_on_a_new_folder_all_work(tmp_path: Path) -> None:
    for trial in range(3):
        folder = tmp_path / f"new-{trial}"
        results = start_together(folder, 3, "models", "list")
        assert results == [(0, "")] * 3
        raw = sqlite3.connect(folder / "localai.db")
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        raw.close()


def test_copies_upgrading_an_older_database_together_back_it_up_once(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    Database(folder / "localai.db", target_version=1).close()
    raw = sqlite3.connect(folder / "localai.db")
    raw.execute(
        "INSERT INTO conversations (title, system_prompt, created_at, updated_at) "
        "VALUES ('Letter to Dr Smith', '', '2026-01-01 10:00:00', '2026-01-01 10:00:00')"
    )
    raw.commit()
    raw.close()

    results = start_together(folder, 3, "chats", "list")

    assert [code for code, _err in results] == [0, 0, 0], results
    assert all(err == "" for _code, err in results)  # no "duplicate column name: settings"
    assert len(list(folder.glob("localai.backup-v1-*.db"))) == 1
    db = Database(folder / "localai.db")
    assert [c.title for c in ConversationStore(db).list()] == ["Letter to Dr Smith"]
    db.close()


def test_waiting_too_long_for_another_copys_migration_says_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "localai.db"
    Database(path, target_version=1).close()
    monkeypatch.setattr(db_module, "MIGRATION_WAIT_S", 0.3)
    other_copy = FileLock(tmp_path / "localai.db.lock")
    assert other_copy.acquire()
    try:
        with pytest.raises(StorageError) as caught:
            Database(path)
    finally:
        other_copy.release()
    assert caught.value.message == (
        "The app's database stayed busy for 1 second: another copy of LocalAI Desktop or a "
        "'localai' command is working on it. Wait until it has finished, then try again. "
        "Nothing was lost."
    )
    Database(path).close()  # once the other copy is done, it opens and migrates


def test_a_short_wait_for_another_writer_is_waited_out(tmp_path: Path) -> None:
    db = Database(tmp_path / "localai.db")
    store = ConversationStore(db)
    other = sqlite3.connect(tmp_path / "localai.db", isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    threading.Timer(0.5, other.execute, ("ROLLBACK",)).start()

    assert store.create("Letter to Dr Smith").title == "Letter to Dr Smith"
    other.close()
    db.close()


def test_a_database_kept_busy_past_the_wait_says_so_plainly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_S", 0.5)
    db = Database(tmp_path / "localai.db")
    store = ConversationStore(db)
    other = sqlite3.connect(tmp_path / "localai.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as caught:
            store.create("Letter to Dr Smith")
    finally:
        other.rollback()
        other.close()
    assert caught.value.message == (
        "The app's database stayed busy for 1 second: another copy of LocalAI Desktop or a "
        "'localai' command is working on it. Wait until it has finished, then try again. "
        "Nothing was lost."
    )
    assert store.create("Letter to Dr Smith").title == "Letter to Dr Smith"  # free again
    db.close()
