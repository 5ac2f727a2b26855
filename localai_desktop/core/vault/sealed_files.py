"""Files sealed with a workspace's key: AES-256-GCM in chunks, each authenticated, none skippable.

Format: a 6-byte magic and version, a 16-byte random salt, then chunks of at most 64 KiB of
plaintext, each followed by its 16-byte tag. Each file gets its own key (HKDF of the vault's
file key with the salt), so nonces are simply the chunk counter and a "last chunk" flag: a
file cut short, chunks reordered, or bytes changed all fail to open instead of giving wrong
text (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár).
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.vault.scratch import scratch_file

MAGIC = b"LAIVF\x01"
SALT_BYTES = 16
CHUNK_BYTES = 64 * 1024
TAG_BYTES = 16
_HEADER_BYTES = len(MAGIC) + SALT_BYTES


class SealedFileError(LocalAIError):
    """A sealed file that cannot be opened: damaged, cut short, or sealed with another key."""


def _damaged(name: str) -> SealedFileError:
    return SealedFileError(
        f"The protected file {name} could not be opened: it is damaged, incomplete, or belongs "
        "to another workspace.",
        "If you restored files by hand, put back the ones from the same workspace. Otherwise "
        "remove the item it belongs to and add it again.",
    )


def _file_key(key: bytes, salt: bytes) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"localai sealed file v1"
    ).derive(key)
    return AESGCM(derived)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def is_sealed(path: Path) -> bool:
    """Whether the file starts like a sealed file (it may still fail to open)."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def seal_stream(key: bytes, source: BinaryIO, target: BinaryIO) -> None:
    """Encrypt everything `source` gives into `target`."""
    salt = os.urandom(SALT_BYTES)
    aead = _file_key(key, salt)
    target.write(MAGIC + salt)
    header = MAGIC + salt
    counter = 0
    chunk = source.read(CHUNK_BYTES)
    while True:
        following = source.read(CHUNK_BYTES)
        last = not following
        target.write(aead.encrypt(_nonce(counter, last), chunk, header))
        if last:
            return
        counter += 1
        chunk = following


def open_stream(key: bytes, source: BinaryIO, target: BinaryIO, *, name: str = "") -> None:
    """Decrypt a sealed stream into `target`; raises SealedFileError on any damage."""
    header = source.read(_HEADER_BYTES)
    if len(header) != _HEADER_BYTES or not header.startswith(MAGIC):
        raise _damaged(name or "file")
    aead = _file_key(key, header[len(MAGIC) :])
    counter = 0
    sealed = source.read(CHUNK_BYTES + TAG_BYTES)
    while True:
        following = source.read(CHUNK_BYTES + TAG_BYTES)
        last = not following
        try:
            target.write(aead.decrypt(_nonce(counter, last), sealed, header))
        except InvalidTag:
            raise _damaged(name or "file") from None
        if last:
            return
        counter += 1
        sealed = following


def seal_bytes(key: bytes, data: bytes) -> bytes:
    out = io.BytesIO()
    seal_stream(key, io.BytesIO(data), out)
    return out.getvalue()


def open_bytes(key: bytes, sealed: bytes, *, name: str = "") -> bytes:
    out = io.BytesIO()
    open_stream(key, io.BytesIO(sealed), out, name=name)
    return out.getvalue()


def write_sealed(key: bytes, path: Path, data: bytes) -> None:
    """Seal `data` into `path` atomically: a crash leaves the old file or the new one."""
    write_atomically(path, seal_bytes(key, data), temp_prefix=".sealed-")


def read_sealed(key: bytes, path: Path) -> bytes:
    with open(path, "rb") as f:
        return open_bytes(key, f.read(), name=path.name)


@contextlib.contextmanager
def opened_copy(key: bytes, path: Path, *, suffix: str = "") -> Iterator[Path]:
    """A private plaintext copy of a sealed file for a reader that needs a path, such as
    llama.cpp loading an adapter; in memory where the system allows it (see `scratch`),
    else a 0600 file in a 0700 folder, and gone as soon as the block ends."""
    with scratch_file(suffix=suffix) as temp:
        with open(path, "rb") as src, open(temp, "wb") as dst:
            open_stream(key, src, dst, name=path.name)
        yield temp
