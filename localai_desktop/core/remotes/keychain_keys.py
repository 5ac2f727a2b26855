"""Remote engines' API keys in the operating system's keychain, for unprotected workspaces.

An unprotected workspace's database is a plaintext file, so an API key written there could be
read by anyone who gets the disk (issue 16: "kept in the OS keychain or the encrypted
workspace, never in plain settings files"). Its keys are kept in the keychain instead, through
`keyring` (macOS Keychain, Windows Credential Locker, the Secret Service on Linux), as one
entry per workspace: a JSON object from the remote's id to its key. One entry, named after the
data folder and the workspace, so that deleting the workspace removes every key it had
without reading its database. The database row then holds `IN_KEYCHAIN` instead of the key.

A protected workspace keeps its keys in its own (encrypted) database: they are locked with it,
crypto-erased with it, and never readable without its passphrase, which the keychain would
make them.

Where no keychain works (a server without a Secret Service, a test run), `put` raises
`KeychainUnavailableError` rather than let the key fall back to plaintext.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from localai_desktop.core.common.errors import LocalAIError

log = logging.getLogger(__name__)

SERVICE = "LocalAI Desktop: remote engines"
# What the `api_key` column of a remote holds when its key is in the keychain.
IN_KEYCHAIN = "(kept in the keychain of this computer)"


class KeychainUnavailableError(LocalAIError):
    """No working keychain: an unprotected workspace cannot keep an API key safely."""


def keychain_unavailable(name: str, details: str = "") -> KeychainUnavailableError:
    return KeychainUnavailableError(
        f"The API key of '{name}' was not saved: this workspace is not protected with a "
        "passphrase, and this computer has no keychain the app can keep the key in. It is "
        "never written to disk unencrypted.",
        "Protect the workspace with a passphrase (the workspace menu's Protect…, or "
        "'localai workspace encrypt NAME'), then add the remote engine again with its key. "
        "A server that needs no key can be added without one."
        + (f" ({details})" if details else ""),
    )


class RemoteKeychain:
    """The API keys of one workspace's remotes in the OS keychain (see the module's doc)."""

    def __init__(self, root: Path, workspace_id: str) -> None:
        self.account = f"{root.resolve()}#{workspace_id}#remote-keys"

    def get(self, remote_id: int) -> str | None:
        try:
            return self._load().get(str(remote_id))
        except Exception as error:  # keyring's backends raise their own kinds
            log.warning("The keychain did not give the API key of remote %s: %s", remote_id, error)
            return None

    def put(self, remote_id: int, key: str, name: str) -> None:
        """Keep `key`; raises KeychainUnavailableError unless the keychain reads it back."""
        try:
            import keyring

            keys = self._load()
            keys[str(remote_id)] = key
            keyring.set_password(SERVICE, self.account, json.dumps(keys))
            kept = self._load().get(str(remote_id))
        except Exception as error:
            raise keychain_unavailable(name, str(error)) from error
        if kept != key:  # keyring's "null" backend takes everything and keeps nothing
            raise keychain_unavailable(name)

    def delete(self, remote_id: int) -> None:
        try:
            import keyring

            keys = self._load()
            if keys.pop(str(remote_id), None) is None:
                return
            if keys:
                keyring.set_password(SERVICE, self.account, json.dumps(keys))
            else:
                keyring.delete_password(SERVICE, self.account)
        except Exception as error:
            log.warning("The keychain kept the API key of remote %s: %s", remote_id, error)

    def forget_all(self) -> None:
        """Remove every key of the workspace (it is being deleted)."""
        try:
            import keyring

            if keyring.get_password(SERVICE, self.account) is not None:
                keyring.delete_password(SERVICE, self.account)
        except Exception as error:
            log.info("No remote engines' keys to remove from the keychain: %s", error)

    def _load(self) -> dict[str, str]:
        import keyring

        saved = keyring.get_password(SERVICE, self.account)
        if not saved:
            return {}
        try:
            keys = json.loads(saved)
        except ValueError:
            log.warning("The keychain's entry for remote engines' keys is not readable")
            return {}
        return {str(k): str(v) for k, v in keys.items()} if isinstance(keys, dict) else {}
