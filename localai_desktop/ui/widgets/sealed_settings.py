"""QSettings' value/setValue/remove over a workspace's PrivateState, for values that may name a
person's files: a protected workspace keeps them sealed instead of in the plaintext settings.ini."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from PySide6.QtCore import QSettings

from localai_desktop.core.datafolder.private_state import PrivateState

log = logging.getLogger(__name__)


class RememberedValues(Protocol):
    """What a tab needs of QSettings to remember a few values."""

    def value(self, key: str, /) -> Any: ...

    def setValue(self, key: str, value: Any, /) -> None: ...

    def remove(self, key: str, /) -> None: ...


class SealedSettings:
    """Remembers in the PrivateState; moves `keys` found in the plaintext `settings` there
    first (written before the workspace was protected), removing them from the plaintext file."""

    def __init__(
        self, state: PrivateState, *, moved_from: QSettings, keys: Sequence[str] = ()
    ) -> None:
        self._state = state
        for key in keys:
            if moved_from.contains(key):
                if state.get(key) is None:
                    self._set(key, moved_from.value(key))
                moved_from.remove(key)
        moved_from.sync()

    def value(self, key: str, /) -> Any:
        return self._state.get(key)

    def setValue(self, key: str, value: Any, /) -> None:
        self._set(key, value)

    def remove(self, key: str, /) -> None:
        try:
            self._state.remove(key)
        except OSError as error:
            log.warning("Could not forget %s: %s", key, error)

    def _set(self, key: str, value: Any) -> None:
        try:
            self._state.set(key, value)
        except OSError as error:  # a convenience: the work itself goes on
            log.warning("Could not remember %s: %s", key, error)
