"""What every command needs: the data folder, opened once, and the exit codes."""

from __future__ import annotations

from localai_desktop.core.conversations import ConversationStore
from localai_desktop.core.paths import DataPaths
from localai_desktop.core.registry import ModelRegistry
from localai_desktop.core.storage import Database

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class CliContext:
    """The database and stores of one --data-dir."""

    def __init__(self, paths: DataPaths) -> None:
        self.paths = paths
        self.db = Database(paths.database)
        self.store = ConversationStore(self.db)
        self.registry = ModelRegistry(self.db, paths.models)

    def close(self) -> None:
        self.db.close()
