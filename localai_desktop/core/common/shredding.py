"""Overwrite a file's contents before removing it, so plaintext does not linger in free blocks."""

from __future__ import annotations

import os
from pathlib import Path

_CHUNK = 1024 * 1024


def shred(path: Path) -> None:
    """Overwrite a file with zeros, flush it to the disk, and remove it. (On SSDs and
    copy-on-write file systems the old blocks may survive elsewhere: the encryption of
    everything written after protection is what counts.)"""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as f:
            left = size
            zeros = bytes(_CHUNK)
            while left > 0:
                f.write(zeros[: min(left, _CHUNK)])
                left -= _CHUNK
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        return
