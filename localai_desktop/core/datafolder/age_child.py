"""The age child process: encrypts or decrypts an export with a passphrase, off the app's process.

pyrage keeps Python's global lock through age's scrypt (measured: 1 s on a quiet 2-core
machine, over 4 s on a busy one), so doing it on any thread of the desktop app froze its
window for that long. A child process holds its own lock. Run as

    python -m localai_desktop.core.datafolder.age_child encrypt|decrypt

with, on standard input, the passphrase's length (4 bytes, big-endian), the passphrase in
UTF-8, then the data; the result comes on standard output. Exit code 3: the passphrase does not
open the file; 1: anything else (said on standard error). Neither the passphrase nor the data
ever touch a disk or a command line.
"""

from __future__ import annotations

import struct
import sys

WRONG_PASSPHRASE_EXIT = 3
_LENGTH = struct.Struct(">I")


def pack_input(passphrase: str, data: bytes) -> bytes:
    """What the parent writes to the child's standard input."""
    secret = passphrase.encode("utf-8")
    return _LENGTH.pack(len(secret)) + secret + data


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args not in (["encrypt"], ["decrypt"]):
        print("usage: age_child encrypt|decrypt", file=sys.stderr)
        return 1
    import pyrage

    given = sys.stdin.buffer.read()
    (length,) = _LENGTH.unpack_from(given)
    passphrase = given[_LENGTH.size : _LENGTH.size + length].decode("utf-8")
    data = given[_LENGTH.size + length :]
    try:
        if args[0] == "encrypt":
            result = bytes(pyrage.passphrase.encrypt(data, passphrase))
        else:
            result = bytes(pyrage.passphrase.decrypt(data, passphrase))
    except pyrage.DecryptError as error:
        print(f"age: {error}", file=sys.stderr)
        return WRONG_PASSPHRASE_EXIT
    except Exception as error:  # pyrage's own errors: the parent says it plainly
        print(f"age: {error}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(result)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
