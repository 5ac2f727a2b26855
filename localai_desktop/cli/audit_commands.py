"""`localai audit list|verify|export`: the data folder's audit trail, checked and exported."""

from __future__ import annotations

import argparse
from pathlib import Path

from localai_desktop.cli.exit_codes import EXIT_ERROR
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.audit.export import FORMATS
from localai_desktop.core.datafolder.workspace import Workspace

TAMPERED_ADVICE = (
    "What is stored no longer matches what was recorded. Keep the data folder as it is (make "
    "a copy of it), and compare with an earlier export of the trail ('localai audit export')."
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit` and its actions to the top-level commands."""
    audit = commands.add_parser(
        "audit", help="the audit trail: answers, exports, imports and deletions, as hashes"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = audit.add_parser("list", help="the entries, newest first")
    listing.add_argument("--limit", type=int, default=50, help="how many (0: all; default 50)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    verify = audit.add_parser(
        "verify", help="recompute the chain and check the messages (exit 1 when it fails)"
    )
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=_verify)
    export = audit.add_parser("export", help="save the trail as CSV or JSON, for the record")
    export.add_argument("file", type=Path)
    export.add_argument(
        "--format", choices=FORMATS, help="csv or json (default: from the file's suffix, else json)"
    )
    export.add_argument("--json", action="store_true")
    export.set_defaults(handler=_export)


def _list(workspace: Workspace, args: argparse.Namespace) -> int:
    entries = workspace.audit.entries(newest_first=True)
    if args.limit > 0:
        entries = entries[: args.limit]
    if args.json:
        print_json([entry.to_json() for entry in entries])
        return 0
    if not entries:
        print("The audit trail is empty: nothing has been recorded yet.")
        return 0
    rows = [
        [str(e.id), e.recorded_at[:19].replace("T", " "), e.describe(), e.short_hash]
        for e in entries
    ]
    print_table(["ENTRY", "TIME (UTC)", "WHAT", "HASH"], rows)
    return 0


def _verify(workspace: Workspace, args: argparse.Namespace) -> int:
    report = workspace.audit.verify()
    if args.json:
        print_json(report.to_json())
    else:
        print(report.summary())
        if not report.ok:
            print(TAMPERED_ADVICE)
    return 0 if report.ok else EXIT_ERROR


def _export(workspace: Workspace, args: argparse.Namespace) -> int:
    result = workspace.audit.export(args.file, args.format)
    if args.json:
        print_json(result.to_json())
        return 0
    entries = f"{result.entries} {'entry' if result.entries == 1 else 'entries'}"
    print(f"Saved the audit trail ({entries}, {result.format.upper()}) to {result.path}.")
    print(f"File sha256: {result.sha256}")
    print(result.report.summary())
    return 0
