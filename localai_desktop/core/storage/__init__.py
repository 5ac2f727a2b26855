"""SQLite storage: ORM tables, numbered migrations and the database handle."""

from localai_desktop.core.storage.db import SCHEMA_VERSION, Database

__all__ = ["SCHEMA_VERSION", "Database"]
