"""Export of all conversations and settings to one file, and merging it back without duplicates."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.cli import main as localai
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.datafolder.backup import BackupError, export_backup, import_backup
from localai_desktop.core.datafolder.paths import DataPaths, init_data_paths
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.session_support import OpenSession, session_opener


class Folder:
    """A data folder with its database open."""

    def __init__(self, root: Path) -> None:
        self.paths: DataPaths = init_data_paths(root)
        self.db = Database(self.paths.database)
        self.store = ConversationStore(self.db)
        self.settings = AppSettingsStore.in_data_dir(self.paths.root)

    def export(self, path: Path) -> Path:
        export_backup(self.db, self.settings, path)
        return path

    def restore(self, path: Path) -> object:
        return import_backup(self.db, self.settings, path)

    def transcript(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        """Every conversation as (title, [(role, content, status)]), oldest first."""
        result = []
        for summary in sorted(self.store.list(), key=lambda c: c.created_at):
            conversation = self.store.get(summary.id)
            result.append(
                (
                    conversation.title,
                    [(m.role, m.content, m.status) for m in conversation.messages],
                )
            )
        return result


@pytest.fixture
def folders(tmp_path: Path) -> Iterator[tuple[Folder, Folder]]:
    first, second = Folder(tmp_path / "first"), Folder(tmp_path / "second")
    yield first, second
    first.db.close()
    second.db.close()


def fill(folder: Folder) -> None:
    chat = folder.store.create(system_prompt="Answer like a pirate.", settings={"temperature": 0.2})
    folder.store.add_message(chat.id, "user", "Where is the treasure? ünïcödé ✓")
    folder.store.add_message(
        chat.id, "assistant", "Arr, under the palm.", provenance={"completion_tokens": 6}
    )
    other = folder.store.create()
    folder.store.add_message(other.id, "user", "Half an answer, please")
    folder.store.add_message(other.id, "assistant", "Once upon", status="stopped")


def test_export_then_import_restores_conversations_and_settings(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    fill(first)
    first.settings.update(offline_mode=True, max_parallel_downloads=3, debug_logging=True)
    backup = first.export(tmp_path / "backup.json")

    report = second.restore(backup)

    assert second.transcript() == first.transcript()
    restored = second.store.get(second.store.list()[-1].id)
    original = first.store.get(first.store.list()[-1].id)
    assert restored.system_prompt == "Answer like a pirate."
    assert restored.settings == {"temperature": 0.2}
    assert restored.created_at == original.created_at
    assert restored.messages[1].provenance == {"completion_tokens": 6}
    settings = second.settings.load()
    assert settings.offline_mode is True
    assert settings.max_parallel_downloads == 3
    # A backup never switches on writing messages into the log files.
    assert settings.debug_logging is False
    assert "debug_logging" not in json.loads(backup.read_text(encoding="utf-8"))["settings"]
    assert report.conversations_added == 2
    assert report.messages_added == 4


def test_importing_twice_or_into_the_same_folder_adds_nothing(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    fill(first)
    backup = first.export(tmp_path / "backup.json")
    second.restore(backup)
    again = second.restore(backup)
    same = first.restore(backup)

    assert again.conversations_added == 0 and again.messages_added == 0
    assert again.conversations_already_here == 2
    assert same.conversations_added == 0 and same.messages_added == 0
    assert len(second.store.list()) == 2
    assert len(first.store.list()) == 2


def test_a_conversation_that_went_on_gets_only_its_new_messages(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    fill(first)
    second.restore(first.export(tmp_path / "old.json"))
    pirate = next(c for c in first.store.list() if c.title.startswith("Where"))
    first.store.add_message(pirate.id, "user", "And the map?")

    report = second.restore(first.export(tmp_path / "new.json"))

    assert report.conversations_extended == 1
    assert report.messages_added == 1
    assert second.transcript() == first.transcript()


def test_a_conversation_that_went_two_ways_is_kept_both_ways(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    fill(first)
    second.restore(first.export(tmp_path / "start.json"))
    for folder, text in ((first, "Left"), (second, "Right")):
        chat = next(c for c in folder.store.list() if c.title.startswith("Where"))
        folder.store.add_message(chat.id, "user", text)
    backup = first.export(tmp_path / "left.json")

    report = second.restore(backup)
    again = second.restore(backup)

    assert report.conversations_added == 1
    contents = [[m[1] for m in messages] for _title, messages in second.transcript()]
    assert sum("Left" in c for c in contents) == 1
    assert sum("Right" in c for c in contents) == 1
    assert again.conversations_added == 0 and again.messages_added == 0


def test_the_model_of_a_conversation_is_found_by_its_file_hash(
    folders: tuple[Folder, Folder], tmp_path: Path, stories260k: Path
) -> None:
    first, second = folders
    ModelRegistry(first.db, first.paths.models).import_model(stories260k, name="a", probe=False)
    # The same file under another name and id on the other computer.
    ModelRegistry(second.db, second.paths.models).import_model(stories260k, name="b", probe=False)
    model_a = ModelRegistry(first.db, first.paths.models).get("a")
    first.store.create("With a model", model_id=model_a.id)

    second.restore(first.export(tmp_path / "backup.json"))

    imported = second.store.list()[0]
    assert imported.model_id == ModelRegistry(second.db, second.paths.models).get("b").id


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\x01binary", "not valid JSON"),
        (b'{"format": "localai-desktop-backup", "format_version": 1, "conv', "not valid JSON"),
        (b'{"hello": "world"}', "not a backup of LocalAI Desktop"),
        (b'{"format": "localai-desktop-backup", "format_version": 99}', "newer version"),
        (
            b'{"format": "localai-desktop-backup", "format_version": 1, "conversations": 3}',
            "'conversations' is not a list",
        ),
    ],
)
def test_a_malformed_file_is_refused_plainly_and_changes_nothing(
    folders: tuple[Folder, Folder], tmp_path: Path, content: bytes, expected: str
) -> None:
    _first, second = folders
    fill(second)
    before = second.transcript()
    path = tmp_path / "bad.json"
    path.write_bytes(content)

    with pytest.raises(BackupError) as caught:
        second.restore(path)

    assert expected in caught.value.message
    assert "Nothing was changed" in caught.value.message
    assert second.transcript() == before


def test_one_damaged_message_refuses_the_whole_file(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    fill(first)
    backup = first.export(tmp_path / "backup.json")
    data = json.loads(backup.read_text(encoding="utf-8"))
    data["conversations"][1]["messages"][1]["role"] = "wizard"
    data["conversations"][0]["created_at"] = "yesterday"
    backup.write_text(json.dumps(data), encoding="utf-8")

    with pytest.raises(BackupError) as caught:
        second.restore(backup)

    message = caught.value.message
    assert "conversation 1: 'created_at' is not a date and time" in message
    assert "conversation 2, message 2: 'role' must be one of" in message
    assert second.store.list() == []


def test_the_command_line_exports_and_imports(
    folders: tuple[Folder, Folder], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = folders
    fill(first)
    backup = tmp_path / "cli-backup.json"

    assert localai(["--data-dir", str(first.paths.root), "data", "export", str(backup)]) == 0
    assert "Saved 2 conversations (4 messages)" in capsys.readouterr().out
    args = ["--data-dir", str(second.paths.root), "data", "import", str(backup), "--json"]
    assert localai(args) == 0
    assert json.loads(capsys.readouterr().out)["conversations_added"] == 2
    assert localai(["--data-dir", str(second.paths.root), "data", "import", str(backup)]) == 0
    assert "0 conversations added, 2 already here (0 messages)" in capsys.readouterr().out

    (tmp_path / "bad.json").write_text("nope", encoding="utf-8")
    args = ["--data-dir", str(second.paths.root), "data", "import", str(tmp_path / "bad.json")]
    assert localai(args) == 1
    assert "bad.json is not a backup of this app" in capsys.readouterr().err


def test_a_large_history_exports_and_imports_in_seconds(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    with first.db.session() as session:  # 300 conversations of 20 messages, written fast
        from localai_desktop.core.common.clock import utcnow
        from localai_desktop.core.storage.tables import ConversationRow, MessageRow

        for index in range(300):
            now = utcnow()
            row = ConversationRow(title=f"Chat {index}", created_at=now, updated_at=now)
            session.add(row)
            session.flush()
            for number in range(20):
                role = "user" if number % 2 == 0 else "assistant"
                text = f"Message {number} of chat {index}. " * 20
                session.add(
                    MessageRow(
                        conversation_id=row.id,
                        role=role,
                        content=text,
                        created_at=now,
                        updated_at=now,
                    )
                )
    started = time.perf_counter()
    backup = first.export(tmp_path / "big.json")
    exported = time.perf_counter()
    report = second.restore(backup)
    imported = time.perf_counter()

    print(
        f"\n6,000 messages: export {exported - started:.2f} s, import {imported - exported:.2f} s,"
        f" file {backup.stat().st_size / 1e6:.1f} MB"
    )
    assert report.messages_added == 6000
    assert exported - started < 10 and imported - exported < 10


# -- the Settings dialog ------------------------------------------------------------------------


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def test_settings_export_and_import_show_in_the_conversation_list(
    open_session: OpenSession, tmp_path: Path, qtbot: QtBot
) -> None:
    source = Folder(tmp_path / "source")
    fill(source)
    source.db.close()
    session = open_session(tmp_path / "source")
    dialog = session.show_settings()
    qtbot.waitExposed(dialog)
    dialog._choose_file = lambda _parent, _mode, _path: tmp_path / "from-settings.json"
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)  # on its own thread
    assert "Saved 2 conversations (4 messages)" in dialog.banner.text()
    dialog.close()

    target = open_session(tmp_path / "target")
    window = target.window
    assert window is not None
    assert window.chat_tab.conversations.ids() == []
    dialog = target.show_settings()
    qtbot.waitExposed(dialog)
    dialog._choose_file = lambda _parent, _mode, _path: tmp_path / "from-settings.json"
    dialog.import_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    assert "2 conversations added (4 messages)" in dialog.banner.text()
    assert len(window.chat_tab.conversations.ids()) == 2
    dialog.grab().save(str(tmp_path / "settings-imported.png"))

    (tmp_path / "broken.json").write_text('{"format": "localai-desktop-backup"', encoding="utf-8")
    dialog._choose_file = lambda _parent, _mode, _path: tmp_path / "broken.json"
    dialog.import_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)
    assert "broken.json is not a backup of this app" in dialog.banner.text()
    assert len(window.chat_tab.conversations.ids()) == 2
    dialog.close()


def test_the_local_servers_access_token_never_travels_in_a_backup(
    folders: tuple[Folder, Folder], tmp_path: Path
) -> None:
    first, second = folders
    token = first.settings.server_token()
    own_token = second.settings.server_token()
    backup = first.export(tmp_path / "backup.json")
    assert token not in backup.read_text(encoding="utf-8")
    second.restore(backup)
    assert second.settings.server_token() == own_token != token
