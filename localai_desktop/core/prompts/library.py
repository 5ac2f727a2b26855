"""``PromptLibrary``: the workspace's reusable prompts, kept in its database."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError, StorageError
from localai_desktop.core.prompts.fields import prompt_fields
from localai_desktop.core.prompts.starter import STARTER_PROMPTS
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import PromptRow, PromptStarterOfferedRow

EXPORT_FORMAT = "localai-desktop-prompts"
EXPORT_FORMAT_VERSION = 1
MAX_NAME = 80
MAX_TEXT = 20_000
MAX_IMPORT_BYTES = 5_000_000


@dataclass(frozen=True)
class Prompt:
    """One prompt of the library, as plain data."""

    id: int
    name: str
    text: str
    description: str = ""
    category: str = ""
    starter: bool = False  # shipped with the app (the user may have edited it since)
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def fields(self) -> list[str]:
        return prompt_fields(self.text)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "text": self.text,
            "description": self.description,
            "category": self.category,
            "fields": self.fields,
        }


@dataclass(frozen=True)
class ImportReport:
    """What an import did: names added, and names kept as they were (same text already)."""

    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _prompt(row: PromptRow) -> Prompt:
    return Prompt(
        id=row.id,
        name=row.name,
        text=row.text,
        description=row.description,
        category=row.category,
        starter=row.starter_key is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def checked_name(name: str) -> str:
    """A prompt's name as stored: one line, trimmed, not empty, not too long."""
    clean = " ".join(name.split())
    if not clean:
        raise LocalAIError("A prompt needs a name.", "Give it a short name, such as 'key-dates'.")
    if len(clean) > MAX_NAME:
        raise LocalAIError(
            f"The prompt's name is too long ({len(clean)} characters).",
            f"Use at most {MAX_NAME} characters.",
        )
    if clean.startswith("/"):
        raise LocalAIError("A prompt's name cannot start with '/'.", "Remove the '/'.")
    return clean


def checked_text(text: str) -> str:
    if not text.strip():
        raise LocalAIError("A prompt needs some text.", "Write what the prompt should ask.")
    if len(text) > MAX_TEXT:
        raise LocalAIError(
            f"The prompt is too long ({len(text):,} characters).",
            f"Keep it under {MAX_TEXT:,} characters; paste long documents into the chat instead.",
        )
    return text


class PromptLibrary:
    """Reads and writes prompts; every call is its own short, committed transaction.

    The starter prompts (core.prompts.starter) are added the first time the library is used,
    each once: one the user deleted does not come back, one a new version ships is added.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._starters_checked = False

    # -- reading ----------------------------------------------------------------------------

    def list(self) -> list[Prompt]:
        """Every prompt, by name."""
        with self._db.session() as session:
            self._offer_starters(session)
            rows = session.scalars(select(PromptRow).order_by(func.lower(PromptRow.name)))
            return [_prompt(row) for row in rows]

    def get(self, name_or_id: str | int) -> Prompt:
        with self._db.session() as session:
            self._offer_starters(session)
            return _prompt(self._row(session, name_or_id))

    # -- writing ----------------------------------------------------------------------------

    def add(self, name: str, text: str, *, description: str = "", category: str = "") -> Prompt:
        name, text = checked_name(name), checked_text(text)
        now = utcnow()
        with self._db.session() as session:
            self._offer_starters(session)
            self._refuse_taken(session, name)
            row = PromptRow(
                name=name,
                text=text,
                description=description.strip(),
                category=category.strip(),
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return _prompt(row)

    def update(
        self,
        name_or_id: str | int,
        *,
        name: str | None = None,
        text: str | None = None,
        description: str | None = None,
        category: str | None = None,
    ) -> Prompt:
        with self._db.session() as session:
            row = self._row(session, name_or_id)
            if name is not None:
                new_name = checked_name(name)
                if new_name.casefold() != row.name.casefold():
                    self._refuse_taken(session, new_name)
                row.name = new_name
            if text is not None:
                row.text = checked_text(text)
            if description is not None:
                row.description = description.strip()
            if category is not None:
                row.category = category.strip()
            row.updated_at = utcnow()
            session.flush()
            return _prompt(row)

    def duplicate(self, name_or_id: str | int) -> Prompt:
        """A copy to change, named "name (copy)", "name (copy 2)", ..."""
        original = self.get(name_or_id)
        with self._db.session() as session:
            name = self._free_name(session, f"{original.name} (copy)")
        return self.add(
            name, original.text, description=original.description, category=original.category
        )

    def delete(self, name_or_id: str | int) -> None:
        with self._db.session() as session:
            session.delete(self._row(session, name_or_id))

    # -- JSON -------------------------------------------------------------------------------

    def export_json(self, names: Iterable[str] | None = None) -> bytes:
        """The prompts (all, or those named) as a JSON file another workspace can import."""
        prompts = self.list()
        if names is not None:
            wanted = {n.casefold() for n in names}
            prompts = [p for p in prompts if p.name.casefold() in wanted]
        document = {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_FORMAT_VERSION,
            "prompts": [p.to_json() for p in prompts],
        }
        return (json.dumps(document, ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    def export_file(self, path: Path, names: Iterable[str] | None = None) -> int:
        data = self.export_json(names)
        try:
            write_atomically(Path(path), data, temp_prefix=".prompts-")
        except OSError as error:
            raise StorageError(
                f"The prompts could not be saved to {path} ({error.strerror or error}).",
                "Choose another folder, or free some disk space.",
            ) from error
        return len(json.loads(data)["prompts"])

    def import_file(self, path: Path) -> ImportReport:
        try:
            size = Path(path).stat().st_size
            if size > MAX_IMPORT_BYTES:
                raise LocalAIError(
                    f"{Path(path).name} is too large for a prompt file ({size:,} bytes).",
                    "Choose a file exported from the prompt library.",
                )
            data = Path(path).read_bytes()
        except OSError as error:
            raise LocalAIError(
                f"{path} could not be read ({error.strerror or error}).",
                "Check the file's name and that you may read it.",
            ) from error
        return self.import_json(data, source=Path(path).name)

    def import_json(self, data: bytes, *, source: str = "the file") -> ImportReport:
        """Add the prompts of an exported file. A name already taken by the same text is left
        as it is; by another text, the imported one is added as "name (2)"."""
        items = _items_from(data, source)
        report = ImportReport()
        now = utcnow()
        with self._db.session() as session:
            self._offer_starters(session)
            for item in items:
                name, text = checked_name(item["name"]), checked_text(item["text"])
                existing = session.scalar(select(PromptRow).where(PromptRow.name == name))
                if existing is not None and existing.text == text:
                    report.unchanged.append(name)
                    continue
                if existing is not None:
                    name = self._free_name(session, name, first=2)
                session.add(
                    PromptRow(
                        name=name,
                        text=text,
                        description=str(item.get("description") or "").strip(),
                        category=str(item.get("category") or "").strip(),
                        created_at=now,
                        updated_at=now,
                    )
                )
                session.flush()
                report.added.append(name)
        return report

    # -- helpers ----------------------------------------------------------------------------

    def _offer_starters(self, session: Session) -> None:
        if self._starters_checked:
            return
        offered = set(session.scalars(select(PromptStarterOfferedRow.key)))
        now = utcnow()
        for starter in STARTER_PROMPTS:
            if starter.key in offered:
                continue
            taken = session.scalar(select(PromptRow.id).where(PromptRow.name == starter.name))
            if taken is None:
                session.add(
                    PromptRow(
                        name=starter.name,
                        text=starter.text,
                        description=starter.description,
                        category=starter.category,
                        starter_key=starter.key,
                        created_at=now,
                        updated_at=now,
                    )
                )
            session.add(PromptStarterOfferedRow(key=starter.key, offered_at=now))
        session.flush()
        self._starters_checked = True

    @staticmethod
    def _row(session: Session, name_or_id: str | int) -> PromptRow:
        if isinstance(name_or_id, int):
            row = session.get(PromptRow, name_or_id)
        else:
            name = " ".join(name_or_id.split()).lstrip("/")
            row = session.scalar(select(PromptRow).where(PromptRow.name == name))
        if row is None:
            raise NotFoundError(
                f"There is no prompt called '{name_or_id}'.",
                "See the names with 'localai prompts list' (or type / in the message box).",
            )
        return row

    @staticmethod
    def _refuse_taken(session: Session, name: str) -> None:
        if session.scalar(select(PromptRow.id).where(PromptRow.name == name)) is not None:
            raise LocalAIError(
                f"There is already a prompt called '{name}'.",
                "Choose another name, or edit that prompt.",
            )

    @staticmethod
    def _free_name(session: Session, base: str, *, first: int = 1) -> str:
        taken = {n.casefold() for n in session.scalars(select(PromptRow.name))}
        if base.casefold() not in taken:
            return base
        number = max(first, 2)
        while f"{base} ({number})".casefold() in taken:
            number += 1
        return f"{base} ({number})"


def _items_from(data: bytes, source: str) -> list[dict[str, Any]]:
    """The prompts of an exported file, or an error that says what is wrong with it."""
    not_prompts = LocalAIError(
        f"{source} is not a prompt file.",
        "Choose a JSON file exported from the prompt library ('localai prompts export').",
    )
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise not_prompts from error
    # A plain list of {"name", "text"} is accepted too.
    items = document.get("prompts") if isinstance(document, dict) else document
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get("name"), str) and isinstance(i.get("text"), str)
        for i in items
    ):
        raise not_prompts
    return items
