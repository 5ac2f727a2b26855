"""Reading a backup file within bounds: one conversation in memory at a time.

A backup can be large, and a file someone hands you can be hostile: gigabytes of JSON, arrays
nested a hundred thousand deep, a named pipe that never ends. So the file must be a regular
file under `MAX_BACKUP_BYTES`; it is read in pieces, and its top-level object is walked key by
key, the conversations one element at a time, each parsed alone and dropped after use. No
single value may be larger than `MAX_VALUE_CHARS` (one conversation with all its messages) or
nested deeper than Python's parser goes. Memory stays near one conversation, whatever the
size of the file; `BackupReader.events()` can walk the file again for a second pass.
"""

from __future__ import annotations

import io
import json
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from localai_desktop.core.common.units import format_bytes

MAX_BACKUP_BYTES = 2 * 1024**3
# One conversation with all its messages (or any other single value): far above what people
# write, low enough that parsing one stays well within memory.
MAX_VALUE_CHARS = 128 * 1024**2
CONVERSATIONS_KEY = "conversations"
_READ_CHARS = 1024**2
# A value that ends this close to the end of the text read so far may go on past it.
_MARGIN = 64
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
_JSON_STARTS = '[{"-0123456789tfn'


class BackupFileError(Exception):
    """What is wrong with the file, as a phrase for backup.py to put in a message."""

    def __init__(self, why: str, *, not_a_backup: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.not_a_backup = not_a_backup


Event = tuple[str, Any]
"""("key", (name, value)) for a top-level key but the conversations, ("list", None) where their
list starts, then ("conversation", value) for each."""


class BackupReader:
    """A backup file checked for kind and size; `events()` walks it in bounded memory."""

    def __init__(self, path: Path, *, data: bytes | None = None) -> None:
        self.path = Path(path)
        # An encrypted backup is decrypted into memory (never into a plaintext file).
        self._data = data
        if data is not None:
            self.size = len(data)
            return
        info = self.path.stat()  # FileNotFoundError, PermissionError: the caller words them
        if not stat.S_ISREG(info.st_mode):
            # A folder, a named pipe or a device: reading a pipe would wait for ever.
            raise BackupFileError("it is not a regular file", not_a_backup=True)
        if info.st_size > MAX_BACKUP_BYTES:
            raise BackupFileError(
                f"it is larger than any backup the app reads ({format_bytes(info.st_size)}; "
                f"at most {format_bytes(MAX_BACKUP_BYTES)})",
                not_a_backup=True,
            )
        self.size = info.st_size

    def events(self) -> Iterator[Event]:
        """The top-level keys and each conversation, in file order; BackupFileError when the
        JSON is broken, too deep, or holds a value that is too large."""
        opened = (
            io.TextIOWrapper(io.BytesIO(self._data), encoding="utf-8-sig", newline="")
            if self._data is not None
            else self.path.open(encoding="utf-8-sig", newline="")
        )
        with opened as handle:
            stream = _JsonStream(handle)
            try:
                yield from _walk(stream)
            except UnicodeDecodeError as error:
                raise BackupFileError("it is not UTF-8 text") from error
            except RecursionError as error:
                raise BackupFileError("it is nested too deeply to be a backup") from error
            except json.JSONDecodeError as error:
                raise BackupFileError(f"it is not valid JSON ({error.msg})") from error
            except ValueError as error:  # an integer past Python's digit limit
                raise BackupFileError(f"it is not valid JSON ({error})") from error


def _walk(stream: _JsonStream) -> Iterator[Event]:
    first = stream.peek()
    if first != "{":
        if first and first in _JSON_STARTS:
            raise BackupFileError("it holds no JSON object", not_a_backup=True)
        raise BackupFileError("it is not valid JSON")
    stream.take("{")
    if stream.peek() == "}":
        stream.take("}")
    else:
        while True:
            key = stream.value()
            if not isinstance(key, str):
                raise BackupFileError("it is not valid JSON (a key is not text)")
            stream.take(":")
            if key == CONVERSATIONS_KEY and stream.peek() == "[":
                yield from _conversations(stream)
            else:
                yield "key", (key, stream.value())
            if _next_or_end(stream, "}"):
                break
    if stream.peek():
        raise BackupFileError("it is not valid JSON (there is more after the end)")


def _conversations(stream: _JsonStream) -> Iterator[Event]:
    stream.take("[")
    yield "list", None
    if stream.peek() == "]":
        stream.take("]")
        return
    while True:
        yield "conversation", stream.value()
        if _next_or_end(stream, "]"):
            return


def _next_or_end(stream: _JsonStream, closing: str) -> bool:
    """Past a ',' (False) or the closing bracket (True)."""
    found = stream.peek()
    if found == ",":
        stream.take(",")
        return False
    stream.take(closing)
    return True


class _JsonStream:
    """A JSON text read in pieces, parsed one value at a time by the standard parser."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle
        self.text = ""
        self.pos = 0
        self.ended = False

    def _read_more(self, chars: int) -> None:
        piece = self.handle.read(chars)
        if not piece:
            self.ended = True
        self.text = self.text[self.pos :] + piece  # what was parsed already is let go
        self.pos = 0

    def peek(self) -> str:
        """The next character that is not white space; "" at the end of the file."""
        while True:
            space = _SPACE.match(self.text, self.pos)
            assert space is not None  # white space, or none, matches anywhere
            self.pos = space.end()
            if self.pos < len(self.text) or self.ended:
                return self.text[self.pos : self.pos + 1]
            self._read_more(_READ_CHARS)

    def take(self, char: str) -> None:
        found = self.peek()
        if found != char:
            seen = f"'{found}'" if found else "the end of the file"
            raise BackupFileError(f"it is not valid JSON (expected '{char}', found {seen})")
        self.pos += 1

    def value(self) -> Any:
        """The next complete value. Parsed again with more text while it may be cut off by
        the end of what was read; each retry reads twice as much, so the work stays linear."""
        self.peek()
        more = _READ_CHARS
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as error:
                cut_off = error.msg.startswith("Unterminated string") or (
                    error.pos >= len(self.text) - _MARGIN
                )
                if self.ended or not cut_off:
                    raise
            else:
                # A value that ends right at the end of the text read may go on ("12" of "123").
                if end < len(self.text) - _MARGIN or self.ended:
                    self.pos = end
                    return value
            held = len(self.text) - self.pos
            if held > MAX_VALUE_CHARS:
                raise BackupFileError(
                    f"one of its values is larger than any backup of this app holds (over "
                    f"{format_bytes(MAX_VALUE_CHARS)})"
                )
            self._read_more(min(more, MAX_VALUE_CHARS + 1 - held))
            more *= 2
