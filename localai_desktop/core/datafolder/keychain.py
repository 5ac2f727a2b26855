"""'Remember on this computer': a workspace's passphrase in the operating system's keychain.

Through `keyring` (macOS Keychain, Windows Credential Locker, the Secret Service on Linux).
Where no keychain is available (a server, a test run) every call quietly does nothing: the
passphrase is then asked for as usual.
"""

from __future__ import annotations

import logging
from pathlib import Path

from localai_desktop.core.datafolder.config import APP_NAME

log = logging.getLogger(__name__)


def _account(root: Path, workspace_id: str) -> str:
    return f"{root.resolve()}#{workspace_id}"


def remembered(root: Path, workspace_id: str) -> str | None:
    try:
        import keyring

        return keyring.get_password(APP_NAME, _account(root, workspace_id))
    except Exception as error:
        log.info("No passphrase from the keychain: %s", error)
        return None


def remember(root: Path, workspace_id: str, passphrase: str) -> bool:
    """True when the keychain kept it."""
    try:
        import keyring

        keyring.set_password(APP_NAME, _account(root, workspace_id), passphrase)
        return True
    except Exception as error:
        log.warning("The keychain could not keep the passphrase: %s", error)
        return False


def forget(root: Path, workspace_id: str) -> None:
    try:
        import keyring

        keyring.delete_password(APP_NAME, _account(root, workspace_id))
    except Exception as error:
        log.info("Nothing to forget in the keychain: %s", error)
