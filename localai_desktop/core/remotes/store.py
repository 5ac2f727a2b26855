"""The remote engines of a workspace, kept in its database; their API keys there too when the
workspace is protected (its database is encrypted), else in the OS keychain (keychain_keys)."""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from localai_desktop.core.remotes.keychain_keys import IN_KEYCHAIN, RemoteKeychain
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import RemoteRow

log = logging.getLogger(__name__)


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


def checked_ca_file(ca_file: str | Path) -> str:
    path = Path(ca_file).expanduser()
    if not path.is_file():
        raise NotFoundError(
            f"The CA file '{path}' does not exist.",
            "Choose the certificate (PEM) of the authority that signed the server's certificate.",
        )
    return str(path.resolve())


class RemoteStore:
    """Reads and writes remotes; every call is its own short, committed transaction.

    With a `keychain`, API keys are kept there and the database row says only that it has one
    (an unprotected workspace, whose database is plaintext); with `keys_in_database` (a
    protected workspace, whose database is encrypted) they are kept in the database, and the
    keychain is only read for keys it kept before the workspace was protected.
    """

    def __init__(
        self,
        db: Database,
        keychain: RemoteKeychain | None = None,
        *,
        keys_in_database: bool = False,
    ) -> None:
        self._db = db
        self._reader = keychain
        self._keychain = None if keys_in_database else keychain  # where new keys go

    def _remote(self, row: RemoteRow) -> Remote:
        key = row.api_key
        if key == IN_KEYCHAIN:
            key = self._reader.get(row.id) if self._reader is not None else None
            if key is None:
                log.warning("The API key of the remote %s is not in the keychain", row.id)
        return Remote(row.id, row.name, row.base_url, key, row.allow_offline, row.ca_file)

    def list(self) -> list[Remote]:
        with self._db.session() as session:
            rows = session.scalars(select(RemoteRow).order_by(func.lower(RemoteRow.name)))
            return [self._remote(row) for row in rows]

    def find(self, name: str) -> Remote | None:
        with self._db.session() as session:
            row = self._row(session, name)
            return self._remote(row) if row is not None else None

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
            in_keychain = key is not None and self._keychain is not None
            row = RemoteRow(
                name=name,
                base_url=address.url,
                api_key=IN_KEYCHAIN if in_keychain else key,
                allow_offline=allow_offline,
                ca_file=ca,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            if in_keychain:
                assert self._keychain is not None and key is not None
                # Before the commit: a key the keychain refuses leaves no remote behind.
                self._keychain.put(row.id, key, name)
            return Remote(row.id, row.name, row.base_url, key, allow_offline, ca)

    def remove(self, name: str) -> None:
        with self._db.session() as session:
            row = self._row(session, name)
            if row is None:
                raise NotFoundError(
                    f"There is no remote engine called '{name}'.",
                    "See 'localai remotes list'.",
                )
            remote_id, had_key = row.id, row.api_key == IN_KEYCHAIN
            session.delete(row)
        if had_key and self._reader is not None:
            self._reader.delete(remote_id)

    def keep_keys_in_keychain(self) -> int:
        """Move keys written in the (plaintext) database into the keychain, blanking them
        there; how many moved. A key stays where it is when no keychain takes it (logged)."""
        if self._keychain is None:
            return 0
        moved = 0
        for remote_id, name, key in self._keys_where(lambda k: k != IN_KEYCHAIN):
            try:
                self._keychain.put(remote_id, key, name)
            except LocalAIError as error:
                log.warning(
                    "The API key of the remote %s stays in the database: %s",
                    remote_id,
                    error.message,
                )
                return moved
            self._blank_key(remote_id)
            moved += 1
        return moved

    def take_keys_from_keychain(self) -> int:
        """Bring keys kept in the keychain into the (encrypted) database, then remove them
        from the keychain; how many came back. Kill-safe: the database has the key first."""
        if self._reader is None or self._keychain is not None:
            return 0
        moved = 0
        for remote_id, _name, _marker in self._keys_where(lambda k: k == IN_KEYCHAIN):
            key = self._reader.get(remote_id)
            if key is None:
                continue
            self._set_key(remote_id, key)
            self._reader.delete(remote_id)
            moved += 1
        return moved

    def _keys_where(self, wanted: Callable[[str], bool]) -> tuple[tuple[int, str, str], ...]:
        with self._db.session() as session:
            rows = session.scalars(select(RemoteRow).where(RemoteRow.api_key.is_not(None)))
            return tuple((r.id, r.name, r.api_key) for r in rows if r.api_key and wanted(r.api_key))

    def _blank_key(self, remote_id: int) -> None:
        """Replace a key in the plaintext database by IN_KEYCHAIN, overwriting its bytes (not
        only unlinking them) and emptying the WAL, where its old page would stay a while."""
        raw = self._db.connect_plain()
        try:
            raw.execute("PRAGMA secure_delete = ON")
            raw.execute("UPDATE remotes SET api_key = ? WHERE id = ?", (IN_KEYCHAIN, remote_id))
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()

    def _set_key(self, remote_id: int, key: str) -> None:
        with self._db.session() as session:
            row = session.get(RemoteRow, remote_id)
            if row is not None:
                row.api_key = key

    @staticmethod
    def _row(session: Session, name: str) -> RemoteRow | None:
        return session.scalars(
            select(RemoteRow).where(func.lower(RemoteRow.name) == name.strip().lower())
        ).first()
