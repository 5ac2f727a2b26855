"""A protected workspace's key and sealed files: what a thief with the disk gets is noise."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.vault.keys import KeyFile, ScryptCost, WrongPassphraseError
from localai_desktop.core.vault.sealed_files import (
    CHUNK_BYTES,
    SealedFileError,
    is_sealed,
    open_bytes,
    opened_copy,
    seal_bytes,
)

SECRET = b"Patient Zeynep Oduya, DOB 1961-03-14: metformin 500 mg"
# A cheaper scrypt for tests that only need a key; the real cost is timed below.
FAST = ScryptCost(n=2**14)


def test_a_new_key_unlocks_with_its_passphrase_and_not_another(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "key.json")
    vault = key_file.create("correct horse battery", cost=FAST)
    vault.write(tmp_path / "note.bin", SECRET)
    assert SECRET not in (tmp_path / "note.bin").read_bytes()
    assert SECRET not in (tmp_path / "key.json").read_bytes()
    assert key_file.unlock("correct horse battery").read(tmp_path / "note.bin") == SECRET
    with pytest.raises(WrongPassphraseError, match="not the one this workspace"):
        key_file.unlock("correct horse batterY")


def test_a_short_passphrase_is_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(LocalAIError, match="at least 8 characters"):
        KeyFile(tmp_path / "key.json").create("short")
    assert not (tmp_path / "key.json").exists()


def test_changing_the_passphrase_keeps_the_data_and_retires_the_old_one(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "key.json")
    key_file.create("first passphrase", cost=FAST).write(tmp_path / "note.bin", SECRET)
    key_file.change_passphrase("first passphrase", "second passphrase")
    assert key_file.unlock("second passphrase").read(tmp_path / "note.bin") == SECRET
    with pytest.raises(WrongPassphraseError):
        key_file.unlock("first passphrase")
    with pytest.raises(WrongPassphraseError):
        key_file.change_passphrase("wrong passphrase", "third passphrase")
    assert key_file.unlock("second passphrase").read(tmp_path / "note.bin") == SECRET


def test_destroying_the_key_makes_what_is_left_unreadable(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "key.json")
    key_file.create("correct horse battery", cost=FAST).write(tmp_path / "note.bin", SECRET)
    key_file.destroy()
    assert not key_file.exists()
    with pytest.raises(StorageError, match="key file is missing"):
        key_file.unlock("correct horse battery")


def test_a_damaged_key_file_says_so_instead_of_blaming_the_passphrase(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "key.json")
    key_file.create("correct horse battery", cost=FAST)
    document = json.loads(key_file.path.read_text())
    document["kdf"]["n"] = 2**40  # a cost that would exhaust memory
    key_file.path.write_text(json.dumps(document))
    with pytest.raises(StorageError, match="key file is damaged"):
        key_file.unlock("correct horse battery")
    key_file.path.write_text("{not json")
    with pytest.raises(StorageError, match="key file is damaged"):
        key_file.unlock("correct horse battery")


@pytest.mark.parametrize("size", [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, 3 * CHUNK_BYTES + 17])
def test_sealed_data_of_any_size_opens_to_the_same_bytes(size: int) -> None:
    key = b"k" * 32
    data = bytes(i % 251 for i in range(size))
    sealed = seal_bytes(key, data)
    assert open_bytes(key, sealed) == data
    assert seal_bytes(key, data) != sealed  # a fresh salt every time


def test_a_changed_cut_or_reordered_sealed_file_is_refused() -> None:
    key = b"k" * 32
    sealed = seal_bytes(key, b"x" * (2 * CHUNK_BYTES + 5))
    flipped = bytearray(sealed)
    flipped[100] ^= 1
    chunk = CHUNK_BYTES + 16
    header = 22
    cut = sealed[: header + 2 * chunk]  # the last chunk is gone: no "last" flag seen
    swapped = sealed[:header] + sealed[header + chunk : header + 2 * chunk]
    swapped += sealed[header : header + chunk] + sealed[header + 2 * chunk :]
    for bad in (bytes(flipped), cut, swapped, sealed[:10], b""):
        with pytest.raises(SealedFileError, match="damaged, incomplete"):
            open_bytes(key, bad, name="index.bin")
    with pytest.raises(SealedFileError):
        open_bytes(b"j" * 32, sealed)  # another workspace's key


def test_a_plaintext_copy_for_llama_cpp_is_private_and_gone_after_use(tmp_path: Path) -> None:
    key = b"k" * 32
    sealed_path = tmp_path / "adapter.sealed"
    sealed_path.write_bytes(seal_bytes(key, SECRET))
    assert is_sealed(sealed_path)
    with opened_copy(key, sealed_path, suffix=".gguf") as plain:
        assert plain.read_bytes() == SECRET
        assert plain.stat().st_mode & 0o077 == 0
    assert not plain.exists()


def test_a_raw_key_opens_an_encrypted_sqlcipher_database_and_nothing_else_does(
    tmp_path: Path,
) -> None:
    sqlcipher3 = pytest.importorskip("sqlcipher3")
    vault = KeyFile(tmp_path / "key.json").create("correct horse battery", cost=FAST)
    path = tmp_path / "workspace.db"
    db = sqlcipher3.connect(str(path))
    db.execute(f"PRAGMA key = {vault.sqlcipher_key_pragma}")
    db.execute("CREATE TABLE notes(text)")
    db.execute("INSERT INTO notes VALUES (?)", (SECRET.decode(),))
    db.commit()
    db.close()
    assert SECRET not in path.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(path).execute("SELECT * FROM notes").fetchall()
    reopened = sqlcipher3.connect(str(path))
    reopened.execute(f"PRAGMA key = {vault.sqlcipher_key_pragma}")
    assert reopened.execute("SELECT text FROM notes").fetchone()[0] == SECRET.decode()
    reopened.close()


def test_unlocking_with_the_real_cost_takes_under_a_second(tmp_path: Path) -> None:
    key_file = KeyFile(tmp_path / "key.json")
    key_file.create("correct horse battery")
    started = time.perf_counter()
    key_file.unlock("correct horse battery")
    elapsed = time.perf_counter() - started
    # The goal is < 1 s on this machine (bench); here only a loose bound against a regression
    # to a cost that would make every unlock a wait.
    assert elapsed < 5, elapsed


def test_without_memory_files_the_copy_is_private_and_a_killed_users_copy_is_shredded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localai_desktop.core.vault import scratch

    monkeypatch.setattr(scratch, "memory_files_supported", lambda: False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    # What a process killed while llama.cpp loaded an adapter left (its lock died with it).
    abandoned = tmp_path / "temp" / f"{scratch.FOLDER_PREFIX}dead"
    abandoned.mkdir()
    (abandoned / "scratch.gguf").write_bytes(SECRET)
    key = b"k" * 32
    sealed_path = tmp_path / "adapter.sealed"
    sealed_path.write_bytes(seal_bytes(key, SECRET))
    with opened_copy(key, sealed_path, suffix=".gguf") as plain:
        assert plain.read_bytes() == SECRET and plain.suffix == ".gguf"
        assert plain.stat().st_mode & 0o077 == 0 and plain.parent.stat().st_mode & 0o077 == 0
        assert not abandoned.exists()
        scratch.remove_abandoned_scratch()  # another process's cleanup leaves a live one
        assert plain.exists()
    assert list((tmp_path / "temp").iterdir()) == []
