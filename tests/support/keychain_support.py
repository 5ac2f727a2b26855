"""Keychains for tests: one in this process's memory, one in a file (for `localai` children)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

FILE_KEYRING_ENV = "LOCALAI_TEST_KEYRING_FILE"


class MemoryKeyring(KeyringBackend):
    """A keychain that lives in this test's memory."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.saved: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.saved.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.saved[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.saved.pop((service, username), None)


@contextlib.contextmanager
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)


class FileKeyring(KeyringBackend):
    """A keychain in the JSON file named by $LOCALAI_TEST_KEYRING_FILE, shared with child
    processes (PYTHON_KEYRING_BACKEND=tests.support.keychain_support.FileKeyring)."""

    priority = 1  # type: ignore[assignment]

    def _path(self) -> Path:
        return Path(os.environ[FILE_KEYRING_ENV])

    def _load(self) -> dict[str, str]:
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def entries(self) -> dict[str, str]:
        return self._load()

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}|{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        saved = self._load()
        saved[f"{service}|{username}"] = password
        self._path().write_text(json.dumps(saved))

    def delete_password(self, service: str, username: str) -> None:
        saved = self._load()
        saved.pop(f"{service}|{username}", None)
        self._path().write_text(json.dumps(saved))


@contextlib.contextmanager
def file_keyring(monkeypatch: pytest.MonkeyPatch, path: Path) -> Iterator[FileKeyring]:
    """This process and the `localai` commands it starts share a keychain in `path`."""
    monkeypatch.setenv(FILE_KEYRING_ENV, str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", f"{__name__}.FileKeyring")
    before = keyring.get_keyring()
    backend = FileKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)
