"""Errors a person can act on: each says what happened and what to do next."""

from __future__ import annotations


class LocalAIError(Exception):
    """An error whose message is meant for the user, not a developer.

    ``what`` says what happened in plain words; ``todo`` says what the person can do about it.
    """

    def __init__(self, what: str, todo: str = "") -> None:
        self.what = what.strip()
        self.todo = todo.strip()
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return f"{self.what} {self.todo}".strip()


class InvalidModelFileError(LocalAIError):
    """The file is not a GGUF model this app can use (truncated, wrong format, unsupported)."""


class ModelTooLargeError(LocalAIError):
    """The model needs more memory than this computer has."""


class ModelLoadError(LocalAIError):
    """llama.cpp could not load a file that looked valid."""


class GenerationError(LocalAIError):
    """Generating an answer failed part-way."""


class NotFoundError(LocalAIError):
    """A model, conversation or message the user named does not exist."""


class StorageError(LocalAIError):
    """The database cannot be read or written (disk full, locked, damaged)."""


class DatabaseTooNewError(StorageError):
    """The database was written by a newer version of the app."""
