"""A workspace's data key, kept wrapped by the passphrase in a key file; and the Vault it opens.

The data key is 32 random bytes made once per workspace. The key file holds it encrypted
(AES-256-GCM) under a key derived from the passphrase with scrypt (N=2^17, r=8: 128 MiB and
a fraction of a second, so guessing passphrases is slow and costly). Changing the passphrase
rewraps only the data key; nothing else is re-encrypted. Destroying the key file overwrites
it before removing it: without it, the database and sealed files are noise (crypto-erase).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import LocalAIError, StorageError
from localai_desktop.core.vault import sealed_files

KEY_FILE_FORMAT = "localai-workspace-key"
KEY_FILE_VERSION = 1
DATA_KEY_BYTES = 32
MIN_PASSPHRASE_CHARS = 8
_AAD = b"localai workspace data key v1"


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's parameters; stored in the key file so a later version can raise them."""

    n: int = 2**17
    r: int = 8
    p: int = 1

    @property
    def max_memory(self) -> int:
        return 128 * self.n * self.r * self.p + 1024 * 1024


class WrongPassphraseError(LocalAIError):
    """The passphrase does not unwrap the workspace's key."""


def _wrong_passphrase() -> WrongPassphraseError:
    return WrongPassphraseError(
        "That passphrase is not the one this workspace was protected with.",
        "Check Caps Lock and the keyboard layout, and try again. Nothing was changed.",
    )


def check_new_passphrase(passphrase: str) -> None:
    """Refuse a passphrase too short to protect anything, with a plain reason."""
    if len(passphrase.strip()) < MIN_PASSPHRASE_CHARS:
        raise LocalAIError(
            f"The passphrase is too short: use at least {MIN_PASSPHRASE_CHARS} characters.",
            "A few unrelated words are easy to remember and hard to guess.",
        )


def _passphrase_key(passphrase: str, salt: bytes, cost: ScryptCost) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    return hashlib.scrypt(
        secret, salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=cost.max_memory, dklen=32
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


def _key_check(data_key: bytes) -> str:
    return (
        HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"key check")
        .derive(data_key)
        .hex()
    )


class Vault:
    """An unlocked workspace key: the database's SQLCipher key and the key for sealed files."""

    def __init__(self, data_key: bytes, passphrase: str | None = None) -> None:
        if len(data_key) != DATA_KEY_BYTES:
            raise ValueError("a data key is 32 bytes")
        self._data_key = data_key
        # The passphrase that opened it: encrypts exports in the age format (which the standard
        # tool opens with the same passphrase).
        self.passphrase = passphrase
        self.database_key = self._derive(b"sqlcipher database")
        self.file_key = self._derive(b"sealed files")

    def _derive(self, purpose: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
            self._data_key
        )

    @property
    def sqlcipher_key_pragma(self) -> str:
        """The value for `PRAGMA key`: a raw 256-bit key, so SQLCipher skips its own KDF."""
        return f"\"x'{self.database_key.hex()}'\""

    def write(self, path: Path, data: bytes) -> None:
        sealed_files.write_sealed(self.file_key, path, data)

    def read(self, path: Path) -> bytes:
        return sealed_files.read_sealed(self.file_key, path)


class KeyFile:
    """The key file of one protected workspace."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.is_file()

    def create(self, passphrase: str, *, cost: ScryptCost | None = None) -> Vault:
        """Make a new random data key, wrap it with `passphrase`, and write the key file."""
        check_new_passphrase(passphrase)
        data_key = os.urandom(DATA_KEY_BYTES)
        self._write(data_key, passphrase, cost or ScryptCost())
        return Vault(data_key, passphrase)

    def unlock(self, passphrase: str) -> Vault:
        """The Vault, or WrongPassphraseError; a damaged key file gets its own message."""
        return Vault(self._unwrap(passphrase), passphrase)

    def change_passphrase(self, old: str, new: str) -> None:
        """Rewrap the same data key with a new passphrase (the data is not re-encrypted)."""
        check_new_passphrase(new)
        data_key = self._unwrap(old)
        self._write(data_key, new, ScryptCost())

    def write_recovery_file(self, passphrase: str, target: Path) -> str:
        """Write a recovery file for this key and return its recovery code (shown once).

        The file holds the same data key wrapped by the code (a key file of its own): with the
        file and the code, a forgotten passphrase can be replaced. Neither alone opens
        anything. Destroying the workspace's key does not reach copies kept elsewhere.
        """
        data_key = self._unwrap(passphrase)
        code = "-".join(
            base64.b32encode(os.urandom(5)).decode("ascii") for _ in range(6)
        )  # 240 bits of base32 in six groups of eight: typed from paper without ambiguity
        KeyFile(target)._write(data_key, code, ScryptCost())
        return code

    def recover(self, recovery_file: Path, code: str, new_passphrase: str) -> None:
        """Set a new passphrase with a recovery file and its code; the data is unchanged."""
        check_new_passphrase(new_passphrase)
        clean = "".join(code.split()).upper()
        try:
            data_key = KeyFile(recovery_file)._unwrap(clean)
        except WrongPassphraseError:
            raise WrongPassphraseError(
                "That recovery code does not open this recovery file.",
                "Check the code letter by letter (it uses A-Z and 2-7). Nothing was changed.",
            ) from None
        if self.exists():
            self._check_same_key(data_key)
        self._write(data_key, new_passphrase, ScryptCost())

    def _check_same_key(self, data_key: bytes) -> None:
        # A recovery file of another workspace would lock this one for good: refuse it.
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8")).get("key_check")
        except (OSError, ValueError, AttributeError):
            stored = None
        if stored is not None and stored != _key_check(data_key):
            raise LocalAIError(
                "That recovery file belongs to another workspace.",
                "Use the recovery file saved for this workspace. Nothing was changed.",
            )

    def destroy(self) -> None:
        """Overwrite the key file with random bytes, flush it to the disk, and remove it."""
        try:
            size = self.path.stat().st_size
            with open(self.path, "r+b") as f:
                f.write(os.urandom(max(size, 1)))
                f.flush()
                os.fsync(f.fileno())
            self.path.unlink()
        except FileNotFoundError:
            return
        except OSError as error:
            raise StorageError(
                f"The workspace's key could not be destroyed ({error.strerror or error}).",
                "Check that the data folder is on a disk you can write to, and try again.",
            ) from error

    # -- the file ---------------------------------------------------------------------------------

    def _write(self, data_key: bytes, passphrase: str, cost: ScryptCost) -> None:
        salt, nonce = os.urandom(16), os.urandom(12)
        wrapped = AESGCM(_passphrase_key(passphrase, salt, cost)).encrypt(nonce, data_key, _AAD)
        document = {
            "format": KEY_FILE_FORMAT,
            "version": KEY_FILE_VERSION,
            "kdf": {"name": "scrypt", "n": cost.n, "r": cost.r, "p": cost.p, "salt": _b64(salt)},
            "cipher": "aes-256-gcm",
            "nonce": _b64(nonce),
            "wrapped_key": _b64(wrapped),
            # Which data key this is (one-way, not the key): lets recovery refuse a recovery
            # file made for another workspace.
            "key_check": _key_check(data_key),
        }
        try:
            write_atomically(
                self.path, (json.dumps(document, indent=2) + "\n").encode(), temp_prefix=".key-"
            )
        except OSError as error:
            raise StorageError(
                f"The workspace's key could not be saved ({error.strerror or error}).",
                "Check that the disk is not full and that you may write to the data folder.",
            ) from error

    def _unwrap(self, passphrase: str) -> bytes:
        salt, nonce, wrapped, cost = self._read()
        try:
            key = AESGCM(_passphrase_key(passphrase, salt, cost)).decrypt(nonce, wrapped, _AAD)
        except InvalidTag:
            raise _wrong_passphrase() from None
        return key

    def _read(self) -> tuple[bytes, bytes, bytes, ScryptCost]:
        try:
            document: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise StorageError(
                "This workspace's key file is missing, so its data cannot be opened.",
                "Restore the file 'key.json' from a backup of the workspace folder.",
            ) from error
        except (OSError, ValueError) as error:
            raise self._damaged() from error
        try:
            if document.get("format") != KEY_FILE_FORMAT or document.get("version") != 1:
                raise ValueError("unknown key file")
            kdf = document["kdf"]
            if kdf.get("name") != "scrypt":
                raise ValueError("unknown kdf")
            cost = ScryptCost(int(kdf["n"]), int(kdf["r"]), int(kdf["p"]))
            if not (2**14 <= cost.n <= 2**22 and 1 <= cost.r <= 32 and 1 <= cost.p <= 16):
                raise ValueError("kdf cost out of range")
            return (
                _unb64(kdf["salt"]),
                _unb64(document["nonce"]),
                _unb64(document["wrapped_key"]),
                cost,
            )
        except (AttributeError, KeyError, TypeError, ValueError) as error:
            raise self._damaged() from error

    def _damaged(self) -> StorageError:
        return StorageError(
            "This workspace's key file is damaged, so its data cannot be opened.",
            "Restore the file 'key.json' from a backup of the workspace folder, or use your "
            "recovery file.",
        )
