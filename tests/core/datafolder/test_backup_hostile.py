"""Backups someone handed you: deep, huge, a pipe, or left half-written by a killed export.

Each is refused with a plain message (or cleaned up), in bounded memory and without waiting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.datafolder import backup_reader
from localai_desktop.core.datafolder.backup import BackupError, export_backup, import_backup
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.storage import Database

TODO = "Choose a file made with “Export conversations and settings”. Nothing was changed."
HEADER = '{"format": "localai-desktop-backup", "format_version": 1, '


@pytest.fixture
def workspace(data_dir: Path) -> Iterator[Workspace]:
    with Workspace.open(data_dir) as opened:
        yield opened


def restore(workspace: Workspace, path: Path) -> object:
    return import_backup(workspace.db, workspace.settings, path)


def refusal(workspace: Workspace, path: Path) -> str:
    with pytest.raises(BackupError) as caught:
        restore(workspace, path)
    assert workspace.conversations.list() == []
    return caught.value.message


def test_a_deeply_nested_backup_is_refused_plainly(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text(HEADER + '"settings": ' + "[" * 200_000 + "]" * 200_000 + "}")
    assert refusal(workspace, path) == (
        f"deep.json is not a backup of this app: it is nested too deeply to be a backup. {TODO}"
    )


def test_a_multi_gigabyte_file_is_refused_by_its_size_at_once(
    workspace: Workspace, tmp_path: Path
) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(3 * 1024**3)  # sparse: takes no disk space
    started = time.monotonic()
    assert refusal(workspace, path) == (
        "huge.json is not a backup of this app: it is larger than any backup the app reads "
        f"(3.0 GB; at most 2.0 GB). {TODO}"
    )
    assert time.monotonic() - started < 1


def test_one_value_too_large_to_hold_is_refused_before_it_is_all_read(
    workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_reader, "MAX_VALUE_CHARS", 4 * 1024**2)  # 128 MB in the app
    path = tmp_path / "padded.json"
    path.write_text(HEADER + '"padding": "' + "x" * 20 * 1024**2 + '"}')
    assert refusal(workspace, path) == (
        "padded.json is not a backup of this app: one of its values is larger than any "
        f"backup of this app holds (over 4.0 MB). {TODO}"
    )


def test_a_large_backup_is_checked_and_imported_one_conversation_at_a_time(
    workspace: Workspace, tmp_path: Path
) -> None:
    stamp = "2026-01-01T10:00:00"
    words = "The patient slept well and ate breakfast. " * 100  # 4.3 KB
    conversations = [
        {
            "title": f"Ward round {n}",
            "system_prompt": "",
            "model_sha256": None,
            "settings": {},
            "created_at": f"2026-01-01T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}",
            "updated_at": stamp,
            "messages": [
                {
                    "role": "user" if m % 2 == 0 else "assistant",
                    "content": f"{n}.{m} {words}",
                    "status": "complete",
                    "error": None,
                    "provenance": {},
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for m in range(4)
            ],
        }
        for n in range(1500)
    ]
    path = tmp_path / "large.json"
    document = {"format": "localai-desktop-backup", "format_version": 1, "settings": {}}
    path.write_text(json.dumps({**document, "conversations": conversations}))
    size = path.stat().st_size
    del conversations

    tracemalloc.start()
    try:
        report = restore(workspace, path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert report.messages_added == 6000  # type: ignore[attr-defined]
    assert size > 25 * 1024**2
    print(f"\n{size / 1e6:.0f} MB backup imported with a peak of {peak / 1e6:.1f} MB")
    assert peak < size / 3, f"peak {peak / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_given_as_a_backup_is_refused_without_waiting(
    data_dir: Path, tmp_path: Path
) -> None:
    pipe = tmp_path / "backup.json"
    os.mkfifo(pipe)  # reading it would wait for a writer that never comes
    command = [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir)]
    result = subprocess.run(
        [*command, "data", "import", str(pipe)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: backup.json is not a backup of this app: it is not a regular file. {TODO}\n"
    )


# -- what a killed export leaves behind ---------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys, tempfile, time
    from localai_desktop.core.common.file_lock import try_lock_descriptor
    # The first half of write_atomically: the temporary file, locked, being written.
    fd, name = tempfile.mkstemp(prefix=".backup-", suffix=".tmp", dir=sys.argv[1])
    try_lock_descriptor(fd)
    import os; os.write(fd, b"{" * 1024 * 1024)
    print(name, flush=True)
    time.sleep(600)
    """
)


def start_export_writer(folder: Path) -> tuple[subprocess.Popen[str], Path]:
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None
    return writer, Path(writer.stdout.readline().strip())


def test_the_next_export_removes_what_a_killed_export_left(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / ".backup-notes.txt").write_text("someone else's file")
    paths = init_data_paths(data_dir)
    db = Database(paths.database)
    settings = AppSettingsStore(paths.settings)
    running, running_temp = start_export_writer(folder)
    killed, killed_temp = start_export_writer(folder)
    killed.kill()  # SIGKILL: no clean-up of its own
    killed.wait()
    try:
        export_backup(db, settings, folder / "backup.json")
        assert not killed_temp.exists()  # its writer is gone
        assert running_temp.exists()  # its writer is still at work
        assert (folder / ".backup-notes.txt").exists()  # not ours
        assert sorted(p.name for p in folder.iterdir()) == sorted(
            [".backup-notes.txt", "backup.json", running_temp.name]
        )
    finally:
        running.kill()
        running.wait()
        db.close()


def test_opening_the_data_folder_removes_a_half_written_settings_file(data_dir: Path) -> None:
    paths = init_data_paths(data_dir)
    leftover = paths.root / ".settings-k2j3h4.tmp"
    leftover.write_text('{"offline_mode": tr')
    with Workspace(paths):
        assert not leftover.exists()
