"""The files a workspace derives from its content, plaintext or sealed, behind one interface.

Adapters (they memorise their training data), fine-tuning datasets, checkpoints and job files
are written and read through `WorkspaceFiles`: in an unprotected workspace they are plain files
as before; in a protected one each is sealed with the workspace's file key (`sealed_files`),
and whatever must be read by path (llama.cpp loading an adapter) is opened into a scratch file
that never reaches the disk where the system allows it (`scratch`). A protected workspace
reads only sealed files: a plaintext file where a sealed one belongs is refused as damaged.

`seal_in_place` turns a plaintext file that was there before protection into a sealed one,
kill-safe: the sealed copy is written beside it and renamed over it in one step, so the name
holds either the plaintext or the sealed file at any moment; a hard link keeps the plaintext
reachable until it has been overwritten (a kill in between leaves a `.plaintext-old` name that
the next pass shreds).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from localai_desktop.core.common.atomic_files import sync_folder, write_atomically
from localai_desktop.core.common.shredding import shred
from localai_desktop.core.vault import sealed_files
from localai_desktop.core.vault.keys import Vault

PLAINTEXT_LEFTOVER_SUFFIX = ".plaintext-old"  # a plaintext kept reachable until overwritten
SEALING_PREFIX = ".sealing-"
_CHUNK = 1024 * 1024


class _Digest:
    """A write-only target that hashes and counts what it is given."""

    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


class WorkspaceFiles:
    """Write, read and open a workspace's derived files: plain, or sealed with `file_key`."""

    def __init__(self, file_key: bytes | None = None) -> None:
        self.file_key = file_key

    @classmethod
    def for_vault(cls, vault: Vault | None) -> WorkspaceFiles:
        return cls(vault.file_key if vault is not None else None)

    @property
    def sealed(self) -> bool:
        return self.file_key is not None

    def write(self, path: Path, data: bytes, *, temp_prefix: str = ".tmp-") -> None:
        """Write `data` atomically (sealed when protected); raises OSError like a plain write."""
        if self.file_key is not None:
            data = sealed_files.seal_bytes(self.file_key, data)
        write_atomically(Path(path), data, temp_prefix=temp_prefix)

    def read(self, path: Path) -> bytes:
        """The plaintext of `path`; SealedFileError when a protected one cannot be opened."""
        path = Path(path)
        if self.file_key is None:
            return path.read_bytes()
        return sealed_files.read_sealed(self.file_key, path)

    def write_from(self, path: Path, plaintext: Path) -> None:
        """Store the file at `plaintext` (a scratch file) as `path`, sealed when protected."""
        self.write(Path(path), Path(plaintext).read_bytes())

    @contextlib.contextmanager
    def readable(self, path: Path, *, suffix: str = "") -> Iterator[Path]:
        """A path whose bytes are the plaintext of `path`, valid until the block ends: the file
        itself when unprotected, else a private scratch copy (in memory on Linux)."""
        path = Path(path)
        if self.file_key is None:
            yield path
            return
        with sealed_files.opened_copy(self.file_key, path, suffix=suffix) as plain:
            yield plain

    def fingerprint(self, path: Path) -> tuple[str, int]:
        """sha256 (hex) and size of the plaintext: the same whether it is stored sealed or not."""
        digest = _Digest()
        with open(path, "rb") as f:
            if self.file_key is None:
                while chunk := f.read(_CHUNK):
                    digest.write(chunk)
            else:
                target = cast(BinaryIO, digest)  # open_stream only calls write()
                sealed_files.open_stream(self.file_key, f, target, name=Path(path).name)
        return digest.sha256.hexdigest(), digest.size


def seal_in_place(key: bytes, path: Path) -> bool:
    """Replace a plaintext file by its sealed version, then overwrite the plaintext; returns
    False when it was sealed already. Kill-safe (see the module docstring)."""
    path = Path(path)
    if sealed_files.is_sealed(path):
        return False
    temp = path.with_name(f"{SEALING_PREFIX}{path.name}.tmp")
    leftover = path.with_name(path.name + PLAINTEXT_LEFTOVER_SUFFIX)
    clear_leftover(leftover, path)
    try:
        with open(path, "rb") as src, open(temp, "wb") as dst:
            sealed_files.seal_stream(key, src, dst)
            dst.flush()
            os.fsync(dst.fileno())
        try:
            os.link(path, leftover)  # the plaintext stays reachable until it is overwritten
            linked = True
        except OSError:  # a file system without hard links: the rename alone must do
            linked = False
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    sync_folder(path.parent)
    if linked:
        shred(leftover)
    return True


def clear_leftover(leftover: Path, original: Path) -> None:
    """Deal with a `.plaintext-old` name a killed `seal_in_place` left: shred it when the
    original has been sealed; only unlink it when it is still the original's own plaintext
    (overwriting a hard link would destroy the original too)."""
    if not leftover.exists():
        return
    try:
        same = original.exists() and os.path.samefile(leftover, original)
    except OSError:
        same = False
    if same:
        leftover.unlink()
    else:
        shred(leftover)
