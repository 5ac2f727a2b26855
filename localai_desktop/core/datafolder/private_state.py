"""What the window remembers per workspace that may name a person's files, sealed when protected.

The window's own state (size, last conversation) lives in the plaintext `settings.ini`. Some
of what the tabs remember is closer to content: the fine-tune tab's examples file is often
named after a client or a patient ("smith-v-jones-letters.jsonl"). In a protected workspace
such values live here instead, in one small JSON object sealed with the workspace's file key
(core.vault.workspace_files), so nothing of the sort stays in plaintext on the disk. An
unprotected workspace keeps them in `settings.ini` as before (see ui.widgets.sealed_settings).
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.vault.keys import Vault
from localai_desktop.core.vault.workspace_files import WorkspaceFiles

log = logging.getLogger(__name__)


class PrivateState:
    """A few JSON values, written whole and atomically (sealed when the workspace is)."""

    def __init__(self, path: Path, vault: Vault | None) -> None:
        self.path = Path(path)
        self._files = WorkspaceFiles.for_vault(vault)
        self._lock = threading.Lock()
        self._values = self._load()

    def _load(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self._files.read(self.path))
        except (OSError, ValueError, LocalAIError) as error:
            # Only remembered conveniences: start again rather than refuse to open.
            log.warning("The window's private state could not be read (%s); starting afresh", error)
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            return self._values.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Remember `value` (plain JSON); raises OSError when it cannot be written."""
        with self._lock:
            self._values[key] = value
            self._save()

    def remove(self, key: str) -> None:
        with self._lock:
            if self._values.pop(key, None) is not None:
                self._save()

    def _save(self) -> None:
        data = json.dumps(self._values, sort_keys=True).encode("utf-8")
        self._files.write(self.path, data)
