"""The per-user app config outside the data folder: where the data folder is.

It lives in the platform's config folder (for example ~/.config/LocalAI Desktop/app.json), so
it can say where the data folder is before any data folder is open. It holds no content.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import StorageError

log = logging.getLogger(__name__)

APP_NAME = "LocalAI Desktop"
CONFIG_DIR_ENV = "LOCALAI_CONFIG_DIR"
CONFIG_FILE_NAME = "app.json"


@dataclass(frozen=True)
class AppConfig:
    """What must be known before a data folder is opened."""

    data_dir: str | None = None  # the folder chosen in the guide or the settings; None: default
    # Set by versions that kept "the welcome guide was seen" for the whole app; it is now kept
    # per data folder (settings.json), and this old answer is moved to the folder it meant.
    welcome_done: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppConfig:
        data_dir = data.get("data_dir")
        welcome_done = data.get("welcome_done")
        return cls(
            data_dir=data_dir if isinstance(data_dir, str) and data_dir.strip() else None,
            welcome_done=welcome_done if isinstance(welcome_done, bool) else False,
        )


def config_dir() -> Path:
    """$LOCALAI_CONFIG_DIR (tests, portable installs), else the platform's config folder."""
    from_env = os.environ.get(CONFIG_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


class AppConfigStore:
    """Reads and writes app.json; every save replaces the file in one step."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else config_dir() / CONFIG_FILE_NAME

    def load(self) -> AppConfig:
        """The saved config; defaults when there is none or it cannot be read."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return AppConfig()
        except (OSError, ValueError) as error:
            # A damaged pointer must not keep the app from starting: the default folder works.
            log.warning("Ignoring unreadable app config %s: %s", self.path, error)
            return AppConfig()
        return AppConfig.from_dict(data) if isinstance(data, dict) else AppConfig()

    def save(self, config: AppConfig) -> None:
        text = json.dumps(asdict(config), indent=2) + "\n"
        try:
            write_atomically(self.path, text.encode("utf-8"), temp_prefix=".app-")
        except OSError as error:
            raise StorageError(
                f"The app's settings could not be saved in {self.path.parent} "
                f"({error.strerror or error}).",
                "Check that you may write to that folder and that the disk is not full.",
            ) from error

    def update(self, **changes: Any) -> AppConfig:
        config = replace(self.load(), **changes)
        self.save(config)
        return config
