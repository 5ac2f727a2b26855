"""The remote engines of a workspace, kept in its database with their API keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from localai_desktop.core.common.clock import utcnow
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.remotes.addresses import (
    BaseUrl,
    RemoteAddressError,
    check_base_url,
    checked_name,
    looks_local,
)
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import RemoteRow


@dataclass(frozen=True)
class Remote:
    """An OpenAI-compatible server this workspace may answer with."""

    id: int
    name: str
    base_url: str
    api_key: str | None
    allow_offline: bool  # "on this computer or our own network": usable in offline mode
    ca_file: str | None  # a CA certificate file trusted for this remote (besides the system's)

    @property
    def address(self) -> BaseUrl:
        return check_base_url(self.base_url)

    @property
    def host(self) -> str:
        return self.address.host

    @property
    def where(self) -> str:
        """Where text goes, for badges and notes: "runs on HOST: your text is sent there"."""
        return f"runs on {self.host}: your text is sent there"

    def to_json(self) -> dict[str, object]:
        """What `remotes list --json` shows (never the key itself)."""
        return {
            "name": self.name,
            "url": self.base_url,
            "host": self.host,
            "has_api_key": bool(self.api_key),
            "allow_offline": self.allow_offline,
            "ca_file": self.ca_file,
        }


def _remote(row: RemoteRow) -> Remote:
    return Remote(row.id, row.name, row.base_url, row.api_key, row.allow_offline, row.ca_file)


def checked_ca_file(ca_file: str | Path) -> str:
    path = Path(ca_file).expanduser()
    if not path.is_file():
        raise NotFoundError(
            f"The CA file '{path}' does not exist.",
            "Choose the certificate (PEM) of the authority that signed the server's certificate.",
        )
    return str(path.resolve())


class RemoteStore:
    """Reads and writes remotes; every call is its own short, committed transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def list(self) -> list[Remote]:
        with self._db.session() as session:
            rows = session.scalars(select(RemoteRow).order_by(func.lower(RemoteRow.name)))
            return [_remote(row) for row in rows]

    def find(self, name: str) -> Remote | None:
        with self._db.session() as session:
            row = self._row(session, name)
            return _remote(row) if row is not None else None

    def get(self, name: str) -> Remote:
        remote = self.find(name)
        if remote is None:
            raise NotFoundError(
                f"There is no remote engine called '{name}'.",
                "See 'localai remotes list', or add it with 'localai remotes add'.",
            )
        return remote

    def add(
        self,
        name: str,
        url: str,
        *,
        api_key: str | None = None,
        allow_offline: bool = False,
        ca_file: str | Path | None = None,
    ) -> Remote:
        name = checked_name(name)
        address = check_base_url(url)
        if allow_offline and not looks_local(address.host):
            raise RemoteAddressError(
                f"'{address.host}' is not on this computer or an address of your own network, "
                "so it cannot be used in offline mode.",
                "Leave out --allow-offline, or use the server's local-network address.",
            )
        ca = checked_ca_file(ca_file) if ca_file else None
        if ca is not None and address.scheme != "https":
            raise RemoteAddressError(
                "A CA file only matters for https addresses.",
                "Use the https address of the server, or leave out the CA file.",
            )
        key = (api_key or "").strip() or None
        with self._db.session() as session:
            if self._row(session, name) is not None:
                raise LocalAIError(
                    f"There is already a remote engine called '{name}'.",
                    "Choose another name, or remove it first with 'localai remotes rm'.",
                )
            row = RemoteRow(
                name=name,
                base_url=address.url,
                api_key=key,
                allow_offline=allow_offline,
                ca_file=ca,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _remote(row)

    def remove(self, name: str) -> None:
        with self._db.session() as session:
            row = self._row(session, name)
            if row is None:
                raise NotFoundError(
                    f"There is no remote engine called '{name}'.",
                    "See 'localai remotes list'.",
                )
            session.delete(row)

    @staticmethod
    def _row(session: Session, name: str) -> RemoteRow | None:
        return session.scalars(
            select(RemoteRow).where(func.lower(RemoteRow.name) == name.strip().lower())
        ).first()
