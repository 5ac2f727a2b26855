"""Turning a plaintext workspace into an encrypted one: complete, shredded, kill-safe."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.protection import protect
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.storage.connections import is_plaintext_database

PASSPHRASE = "staple battery horse"
WORD = b"quokkamoon"


def _every_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


def _fill(root: Path, messages: int, padding: int = 0) -> None:
    with Workspace.open(root) as ws:
        conversation = ws.conversations.create("Letter")
        ws.conversations.add_message(conversation.id, "user", "Patient quokkamoon note")
        raw = ws.db.connect_plain()
        filler = "x" * padding
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO messages (conversation_id, role, content, status, provenance, "
            "created_at, updated_at) VALUES (?, 'user', ?, 'complete', '{}', "
            "'2026-01-01', '2026-01-01')",
            [
                (conversation.id, f"Patient quokkamoon note {i} {filler}")
                for i in range(messages - 1)
            ],
        )
        raw.execute("COMMIT")
        raw.close()


def _message_count(ws: Workspace) -> int:
    return len(ws.conversations.get(ws.conversations.list()[0].id).messages)


def test_protecting_existing_data_encrypts_it_and_removes_every_plaintext_copy(
    tmp_path: Path,
) -> None:
    _fill(tmp_path, 5)
    # A migration backup, as an older version's upgrade would have left in plaintext.
    backup = tmp_path / "localai.backup-v8-20260101-000000.db"
    backup.write_bytes((tmp_path / "localai.db").read_bytes())
    assert WORD in _every_byte(tmp_path)
    protect(DataPaths(tmp_path), PASSPHRASE)
    assert not is_plaintext_database(tmp_path / "localai.db")
    assert not backup.exists()
    assert WORD not in _every_byte(tmp_path)
    with Workspace.open(tmp_path, passphrase=lambda _i: PASSPHRASE) as ws:
        [conversation] = ws.conversations.list()
        assert len(ws.conversations.get(conversation.id).messages) == 5
        assert ws.audit.verify().ok


def _encrypt_child(root: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOCALAI_PASSPHRASE": PASSPHRASE}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "localai_desktop.cli",
            "--data-dir",
            str(root),
            "workspace",
            "encrypt",
            "Default",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_a_conversion_killed_at_any_moment_loses_nothing(tmp_path: Path, seed: int) -> None:
    # About 40 MB, so that the conversion itself (not only the start) takes a while.
    count = 20_000
    _fill(tmp_path, count, padding=2000)
    probe = tmp_path.parent / f"probe-{seed}"
    _fill(probe, count, padding=2000)
    started = time.monotonic()
    assert _encrypt_child(probe).wait(timeout=300) == 0
    whole = time.monotonic() - started
    rng = random.Random(seed)
    for _ in range(4):
        child = _encrypt_child(tmp_path)
        time.sleep(rng.uniform(0.3 * whole, whole))  # the start of Python is the first third
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        if is_plaintext_database(tmp_path / "localai.db") and not (tmp_path / "key.json").exists():
            with Workspace.open(tmp_path) as ws:  # the old plaintext data, intact
                assert _message_count(ws) == count
            continue
        # Killed after the key was made: the passphrase opens it, and what was left is finished.
        with Workspace.open(tmp_path, passphrase=lambda _i: PASSPHRASE) as ws:
            assert _message_count(ws) == count
        break
    else:
        assert _encrypt_child(tmp_path).wait(timeout=300) == 0
    with Workspace.open(tmp_path, passphrase=lambda _i: PASSPHRASE) as ws:
        assert _message_count(ws) == count
    assert not is_plaintext_database(tmp_path / "localai.db")
    assert not list(tmp_path.glob(".tmp-encrypting-*"))
    assert WORD not in _every_byte(tmp_path)
