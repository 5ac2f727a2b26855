"""`localai chats export`: a conversation as a Word, PDF, Markdown or HTML file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from localai_desktop.cli.output import print_json
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.export.exporter import (
    FORMATS,
    ConversationExporter,
    default_file_name,
    format_for,
)


def add_chats_commands(chats: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `export` to `localai chats`."""
    export = chats.add_parser(
        "export",
        help="save a conversation as a Word, PDF, Markdown or HTML file (recorded in the audit)",
    )
    export.add_argument("id", type=int, help="the conversation (see 'chats list')")
    export.add_argument(
        "--format",
        choices=list(FORMATS),
        help="file format (default: from the file name given with -o, else pdf)",
    )
    export.add_argument(
        "-o",
        "--output",
        help="the file to write, or a folder (default: the conversation's title, here)",
    )
    export.add_argument(
        "--message",
        type=int,
        action="append",
        metavar="MESSAGE_ID",
        help="export only this message (repeatable; default: the whole conversation)",
    )
    export.add_argument("--json", action="store_true", help="print what was written as JSON")
    export.set_defaults(handler=_export)


def _export(workspace: Workspace, args: argparse.Namespace) -> int:
    output = Path(args.output).expanduser() if args.output else None
    if output is None or output.is_dir():
        chosen = format_for(None, args.format or "pdf")
        title = workspace.conversations.get(args.id).title
        output = (output or Path.cwd()) / default_file_name(title, chosen)
    else:
        chosen = format_for(output, args.format)
    exporter = ConversationExporter(workspace.conversations, workspace.audit)
    result = exporter.export(args.id, output, chosen, message_ids=args.message)
    if workspace.protected:
        print(
            f"Note: {result.path.name} is not encrypted (a document for the record): keep it "
            "where only the right people can read it.",
            file=sys.stderr,
        )
    for note in result.notes:
        print(note, file=sys.stderr)
    if args.json:
        print_json(result.to_json())
        return 0
    count = f"{result.messages} message{'s' if result.messages != 1 else ''}"
    print(
        f"Exported conversation {result.conversation_id} ({count}) to {result.path} "
        f"({FORMATS[result.format][1]}, {format_bytes(result.bytes)})."
    )
    print(f"sha256 {result.sha256} (recorded in the audit trail)")
    return 0
