"""`localai workspace list|create|encrypt|rekey|rename|rm`: separate, protectable workspaces.

These act on the data folder's list of workspaces, so they do not open one first (a protected
workspace would ask for its passphrase); each asks for what it needs itself.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_PASSPHRASE
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.cli.passphrases import existing_passphrase, new_passphrase, recovery_code
from localai_desktop.core.datafolder import keychain
from localai_desktop.core.datafolder.desktop_app_lock import desktop_app_closed
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.datafolder.protection import protect
from localai_desktop.core.datafolder.workspace import Workspace, passphrase_needed
from localai_desktop.core.datafolder.workspaces import WorkspaceDirectory, WorkspaceInfo
from localai_desktop.core.vault.keys import check_new_passphrase

REMEMBER_HELP = "keep the passphrase in the OS keychain"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `workspace` and its actions to the top-level commands."""
    workspace = commands.add_parser(
        "workspace", help="separate workspaces (one per client or patient group), protected"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = workspace.add_parser("list", help="the workspaces and which are protected")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list, opens_workspace=False)
    create = workspace.add_parser("create", help="a new, empty workspace")
    create.add_argument("name")
    create.add_argument(
        "--encrypt", action="store_true", help="protect it with a passphrase (recommended)"
    )
    create.add_argument(
        "--remember", action="store_true", help="keep the passphrase in the OS keychain"
    )
    create.add_argument("--json", action="store_true")
    create.set_defaults(handler=_create, opens_workspace=False)
    encrypt = workspace.add_parser(
        "encrypt", help="protect an existing workspace: its data is encrypted in place"
    )
    encrypt.add_argument("name")
    encrypt.add_argument(
        "--remember", action="store_true", help="keep the passphrase in the OS keychain"
    )
    encrypt.set_defaults(handler=_encrypt, opens_workspace=False)
    rekey = workspace.add_parser(
        "rekey", help="change a protected workspace's passphrase (the data is not rewritten)"
    )
    rekey.add_argument("name")
    rekey.set_defaults(handler=_rekey, opens_workspace=False)
    recovery = workspace.add_parser(
        "recovery-file",
        help="save a recovery file and print its code: together they replace a lost passphrase",
    )
    recovery.add_argument("name")
    recovery.add_argument("file", type=Path)
    recovery.set_defaults(handler=_recovery_file, opens_workspace=False)
    recover = workspace.add_parser(
        "recover", help="set a new passphrase with a recovery file and its code"
    )
    recover.add_argument("name")
    recover.add_argument("file", type=Path)
    recover.set_defaults(handler=_recover, opens_workspace=False)
    rename = workspace.add_parser("rename", help="give a workspace another name")
    rename.add_argument("old")
    rename.add_argument("new")
    rename.set_defaults(handler=_rename, opens_workspace=False)
    remove = workspace.add_parser(
        "rm", help="delete a workspace and everything in it (its key is destroyed first)"
    )
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="really delete (required)")
    remove.set_defaults(handler=_remove, opens_workspace=False)


def _describe(info: WorkspaceInfo) -> dict[str, object]:
    return {
        "id": info.id,
        "name": info.name,
        "protected": info.protected,
        "default": info.is_default,
        "folder": str(info.folder),
    }


def _list(paths: DataPaths, args: argparse.Namespace) -> int:
    listed = WorkspaceDirectory(paths).list()
    if args.json:
        print_json([_describe(info) for info in listed])
        return 0
    rows = [
        [
            info.name + (" (default)" if info.is_default else ""),
            "protected" if info.protected else "not protected",
        ]
        for info in listed
    ]
    print_table(["WORKSPACE", "PASSPHRASE"], rows)
    return 0


def _no_new_passphrase() -> int:
    print(
        "Error: No passphrase was given. Type it when asked, or set LOCALAI_NEW_PASSPHRASE "
        "(or LOCALAI_PASSPHRASE), or pass it on standard input with --passphrase-stdin.",
        file=sys.stderr,
    )
    return EXIT_PASSPHRASE


def _create(paths: DataPaths, args: argparse.Namespace) -> int:
    directory = WorkspaceDirectory(paths)
    passphrase = None
    if args.encrypt:
        passphrase = new_passphrase(args, args.name)
        if not passphrase:
            return _no_new_passphrase()
        check_new_passphrase(passphrase)
    info = directory.create(args.name)
    if passphrase is not None:
        # The key comes first: the database is then encrypted from its very first page.
        info.key_file.create(passphrase)
        if args.remember:
            keychain.remember(paths.root, info.id, passphrase)
    # Opening it once makes its database (and, protected, checks the key opens it).
    Workspace.open(paths.root, workspace=info.id, passphrase=lambda _i: passphrase).close()
    if args.json:
        print_json(_describe(info))
    else:
        protection = "protected with a passphrase" if info.protected else "not protected"
        print(f"Created the workspace '{info.name}' ({protection}).")
        if not info.protected:
            print("Tip: 'localai workspace encrypt' protects it with a passphrase.")
    return 0


def _encrypt(paths: DataPaths, args: argparse.Namespace) -> int:
    info = WorkspaceDirectory(paths).find(args.name)
    ws_paths = paths.for_workspace(info.folder)
    if info.protected:
        # Already has a key: finish what an interrupted conversion left (idempotent).
        given = existing_passphrase(args)(info)
        if given is None:
            raise passphrase_needed(info)
        passphrase = given
    else:
        new = new_passphrase(args, info.name)
        if not new:
            return _no_new_passphrase()
        check_new_passphrase(new)
        passphrase = new
    with desktop_app_closed(paths, "encrypted"):
        protect(ws_paths, passphrase)
    if args.remember:
        keychain.remember(paths.root, info.id, passphrase)
    print(
        f"The workspace '{info.name}' is protected: its database is encrypted and the "
        "plaintext copies were overwritten and removed."
    )
    return 0


def _rekey(paths: DataPaths, args: argparse.Namespace) -> int:
    info = WorkspaceDirectory(paths).find(args.name)
    if not info.protected:
        print(
            f"Error: The workspace '{info.name}' has no passphrase yet. "
            "Use 'localai workspace encrypt' to protect it.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    old = existing_passphrase(args)(info)
    if old is None:
        raise passphrase_needed(info)
    info.key_file.unlock(old)  # a wrong one: exit 2 before asking for a new one
    new = new_passphrase(args, info.name, replacing=True)
    if not new:
        return _no_new_passphrase()
    info.key_file.change_passphrase(old, new)
    if keychain.remembered(paths.root, info.id) is not None:
        keychain.remember(paths.root, info.id, new)
    print(f"The passphrase of '{info.name}' was changed. The old one no longer opens it.")
    return 0


def _protected_info(paths: DataPaths, name: str) -> WorkspaceInfo | None:
    info = WorkspaceDirectory(paths).find(name)
    if info.protected:
        return info
    print(
        f"Error: The workspace '{info.name}' has no passphrase, so it needs no recovery file. "
        "Use 'localai workspace encrypt' to protect it.",
        file=sys.stderr,
    )
    return None


def _recovery_file(paths: DataPaths, args: argparse.Namespace) -> int:
    info = _protected_info(paths, args.name)
    if info is None:
        return EXIT_ERROR
    passphrase = existing_passphrase(args)(info)
    if passphrase is None:
        raise passphrase_needed(info)
    if args.file.exists():
        print(f"Error: {args.file} already exists; choose a new file name.", file=sys.stderr)
        return EXIT_ERROR
    code = info.key_file.write_recovery_file(passphrase, args.file)
    print(f"Saved the recovery file of '{info.name}' to {args.file}.")
    print(f"Recovery code (write it down now; it is not shown again): {code}")
    print(
        "Keep the file and the code apart (for example the file on a USB stick in a safe, the "
        "code on paper): together they replace a forgotten passphrase; neither alone opens "
        "anything."
    )
    return 0


def _recover(paths: DataPaths, args: argparse.Namespace) -> int:
    info = _protected_info(paths, args.name)
    if info is None:
        return EXIT_ERROR
    code = recovery_code(args)
    if not code:
        print(
            "Error: No recovery code was given. Type it when asked, or set "
            "LOCALAI_RECOVERY_CODE, or pass it on standard input with --passphrase-stdin.",
            file=sys.stderr,
        )
        return EXIT_PASSPHRASE
    new = new_passphrase(args, info.name, replacing=True)
    if not new:
        return _no_new_passphrase()
    info.key_file.recover(args.file, code, new)
    keychain.forget(paths.root, info.id)
    print(f"'{info.name}' has a new passphrase. The old one no longer opens it.")
    return 0


def _rename(paths: DataPaths, args: argparse.Namespace) -> int:
    info = WorkspaceDirectory(paths).rename(args.old, args.new)
    print(f"Renamed the workspace to '{info.name}'.")
    return 0


def _remove(paths: DataPaths, args: argparse.Namespace) -> int:
    directory = WorkspaceDirectory(paths)
    info = directory.find(args.name)
    if not args.yes:
        print(
            f"Error: This deletes the workspace '{info.name}' and everything in it for good. "
            "Add --yes to do it.",
            file=sys.stderr,
        )
        return EXIT_ERROR
    with desktop_app_closed(paths, "deleted"):
        directory.remove(info.id)
    keychain.forget(paths.root, info.id)
    print(f"Deleted the workspace '{info.name}'.")
    return 0
