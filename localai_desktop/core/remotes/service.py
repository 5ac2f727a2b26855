"""Remote engines for the rest of the app: add, list, remove, resolve `NAME/MODEL_ID`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.remotes.addresses import parse_reference
from localai_desktop.core.remotes.client import RemoteClient, RemoteError
from localai_desktop.core.remotes.engine import RemoteModel, check_model_known
from localai_desktop.core.remotes.keychain_keys import RemoteKeychain
from localai_desktop.core.remotes.store import Remote, RemoteStore
from localai_desktop.core.storage.db import Database


class OfflineBlockedError(LocalAIError):
    """Offline mode is on and this remote is not marked as on this computer or our network."""


@dataclass(frozen=True)
class RemoteStatus:
    """What `remotes list` shows: reachable or not, and its models (or why not)."""

    remote: Remote
    reachable: bool
    models: tuple[str, ...]
    problem: str | None

    def to_json(self) -> dict[str, object]:
        return {
            **self.remote.to_json(),
            "reachable": self.reachable,
            "models": list(self.models),
            "problem": self.problem,
        }


def _never_offline() -> bool:
    return False


class Remotes:
    """A workspace's remote engines; `is_offline` tells whether offline mode is on now.
    API keys: see RemoteStore (`keychain`, `keys_in_database`)."""

    def __init__(
        self,
        db: Database,
        is_offline: Callable[[], bool] = _never_offline,
        *,
        keychain: RemoteKeychain | None = None,
        keys_in_database: bool = False,
    ) -> None:
        self.store = RemoteStore(db, keychain, keys_in_database=keys_in_database)
        self._workspace_offline = is_offline
        self._offline_here = False

    def go_offline(self) -> None:
        """Treat offline mode as on for this object whatever the workspace says (the command
        line's --offline for one command)."""
        self._offline_here = True

    def _is_offline(self) -> bool:
        return self._offline_here or self._workspace_offline()

    def add(
        self,
        name: str,
        url: str,
        *,
        api_key: str | None = None,
        allow_offline: bool = False,
        ca_file: str | Path | None = None,
    ) -> Remote:
        return self.store.add(
            name, url, api_key=api_key, allow_offline=allow_offline, ca_file=ca_file
        )

    def remove(self, name: str) -> None:
        self.store.remove(name)

    def list(self) -> list[Remote]:
        return self.store.list()

    def status(self, remote: Remote) -> RemoteStatus:
        """Ask the remote for its models (short timeout); never raises for a remote's fault."""
        try:
            self.check_allowed(remote)
            models = RemoteClient(remote, local_only=self._is_offline()).models()
        except LocalAIError as error:
            return RemoteStatus(remote, False, (), error.message)
        return RemoteStatus(remote, True, tuple(models), None)

    def check_allowed(self, remote: Remote) -> None:
        """Offline mode blocks every remote but those marked "on this computer or our own
        network" (and the client then connects to those only at a local address)."""
        if not self._is_offline():
            return
        if not remote.allow_offline:
            raise OfflineBlockedError(
                f"Offline mode is on, so the remote engine '{remote.name}' "
                f"({remote.host}) is not used.",
                "Turn offline mode off to use it, or, if it runs on this computer or your own "
                "network, add it again with --allow-offline.",
            )

    def resolve(self, reference: str) -> RemoteModel | None:
        """The remote model `NAME/MODEL_ID` names, or None when NAME is not a remote (then
        the reference is a local model's name)."""
        parsed = parse_reference(reference)
        if parsed is None:
            return None
        remote = self.store.find(parsed.remote)
        if remote is None:
            return None
        return RemoteModel(remote, parsed.model_id)

    def ready(self, model: RemoteModel) -> RemoteModel:
        """Check before sending anything: offline mode, reachable, key taken, model known."""
        self.check_allowed(model.remote)
        model = replace(model, local_only=self._is_offline())
        check_model_known(model.client(), model.model_id)
        return model


__all__ = ["OfflineBlockedError", "RemoteError", "RemoteModel", "RemoteStatus", "Remotes"]
