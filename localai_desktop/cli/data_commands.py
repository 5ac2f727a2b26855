"""`localai data info|export|import|delete-all`: the data folder, backups, and deleting it all."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localai_desktop.cli.exit_codes import EXIT_ERROR
from localai_desktop.cli.output import print_json
from localai_desktop.cli.passphrases import existing_passphrase
from localai_desktop.core.datafolder.data_reset import plural
from localai_desktop.core.datafolder.workspace import Workspace


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `data` and its actions to the top-level commands."""
    data = commands.add_parser(
        "data", help="your data: where it is, backup and restore, delete it all"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    info = data.add_parser("info", help="the data folder and what it holds")
    info.add_argument("--json", action="store_true")
    info.set_defaults(handler=_info)
    export = data.add_parser("export", help="save all conversations and settings to one file")
    export.add_argument("file", type=Path)
    export.add_argument(
        "--plaintext",
        action="store_true",
        help="in a protected workspace: write it unencrypted (anyone with the file reads it)",
    )
    export.add_argument("--json", action="store_true")
    export.set_defaults(handler=_export)
    restore = data.add_parser(
        "import", help="merge a file made by 'data export' (nothing is duplicated)"
    )
    restore.add_argument("file", type=Path)
    restore.add_argument("--no-settings", action="store_true", help="keep this computer's settings")
    restore.add_argument("--json", action="store_true")
    restore.set_defaults(handler=_import)
    delete = data.add_parser(
        "delete-all",
        help="delete conversations, document indexes, adapters, downloads, settings and logs",
    )
    delete.add_argument(
        "--include-models", action="store_true", help="also delete the models in the data folder"
    )
    delete.add_argument("--yes", action="store_true", help="really delete (required)")
    delete.add_argument("--json", action="store_true")
    delete.set_defaults(handler=_delete_all)


def _info(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.core.datafolder.data_reset import take_inventory
    from localai_desktop.core.datafolder.paths import data_dir_source

    inventory = take_inventory(workspace.paths, workspace.default_vault)
    source = data_dir_source(getattr(args, "data_dir", None))
    if args.json:
        print_json(
            {
                "data_dir": str(workspace.paths.root),
                "chosen_by": source,
                "records": inventory.row_counts,
                "models": inventory.models,
                "files": [str(p) for p in inventory.files],
            }
        )
        return 0
    print(f"Data folder: {workspace.paths.root} ({_SOURCE_WORDS[source]})")
    for line in inventory.lines(include_models=True):
        print(f"- {line}")
    return 0


_SOURCE_WORDS = {
    "option": "given with --data-dir",
    "environment": "from $LOCALAI_DATA_DIR",
    "chosen": "chosen in the app",
    "default": "the usual place on this system",
}


def _export(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.core.datafolder.backup import export_backup

    passphrase = None if args.plaintext else workspace.export_passphrase
    if workspace.protected and passphrase is None:
        print(
            "Warning: the file is NOT encrypted, though the workspace is protected: anyone "
            "who gets it reads every conversation.",
            file=sys.stderr,
        )
    report = export_backup(
        workspace.db, workspace.settings, args.file, audit=workspace.audit, passphrase=passphrase
    )
    if args.json:
        print_json(
            {
                "file": str(report.path),
                "conversations": report.conversations,
                "messages": report.messages,
                "bytes": report.bytes_written,
                "encrypted": report.encrypted,
            }
        )
        return 0
    conversations = plural(report.conversations, "conversation", "conversations")
    messages = plural(report.messages, "message", "messages")
    print(f"Saved {conversations} ({messages}) and the settings to {report.path}.")
    if report.encrypted:
        print(
            "The file is encrypted with the workspace's passphrase (age format: "
            "'age -d' opens it too)."
        )
    else:
        print("The file is not encrypted: keep it somewhere only you can read.")
    return 0


def _import(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.core.datafolder.backup import import_backup, is_encrypted_export

    passphrase = workspace.export_passphrase
    if is_encrypted_export(args.file) and passphrase is None:
        passphrase = existing_passphrase(args)(workspace.info)
    report = import_backup(
        workspace.db,
        workspace.settings,
        args.file,
        restore_settings=not args.no_settings,
        audit=workspace.audit,
        passphrase=passphrase,
    )
    if args.json:
        print_json(report.to_json())
    else:
        print(report.summary())
    return 0


def _delete_all(workspace: Workspace, args: argparse.Namespace) -> int:
    from localai_desktop.core.datafolder.data_reset import delete_all_data, take_inventory

    if not args.yes:
        inventory = take_inventory(workspace.paths, workspace.default_vault)
        print(f"This would delete, in {workspace.paths.root}:")
        for line in inventory.lines(include_models=args.include_models):
            print(f"- {line}")
        if not args.include_models and inventory.models:
            print(f"Your {inventory.models} models would be kept (add --include-models).")
        print("Nothing was deleted. Close the desktop app, then run again with --yes to delete.")
        return EXIT_ERROR
    # The database must be closed before its file is deleted (Windows refuses otherwise).
    workspace.close()
    report = delete_all_data(
        workspace.paths, include_models=args.include_models, vault=workspace.default_vault
    )
    if args.json:
        print_json(report.to_json())
    else:
        print(report.summary())
    return 0
