"""`StrEnum` on every Python we support: states that are stored as their plain string value."""

from __future__ import annotations

import sys
from enum import Enum

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:

    class StrEnum(str, Enum):
        """Python 3.11's `enum.StrEnum` for 3.10: each member is a `str` equal to its value.

        So a member goes into SQLite and JSON as that string, and a string read back compares
        equal to the member: what is stored never changes. `str()` and f-strings give the
        value too (a plain `(str, Enum)` would give "Class.MEMBER").
        """

        def __str__(self) -> str:
            return str(self.value)


__all__ = ["StrEnum"]
