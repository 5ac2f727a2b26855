"""`localai prompts list|show|add|rm|export|import`, and `chat --prompt NAME --var KEY=VALUE`."""

from __future__ import annotations

import argparse
from pathlib import Path

from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.prompts.fields import fill_fields


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `prompts` to the top-level commands."""
    prompts = commands.add_parser(
        "prompts", help="the prompt library: reusable prompts with {fields}"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = prompts.add_parser("list", help="list the prompts and their fields")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    show = prompts.add_parser("show", help="show one prompt's text")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)
    add = prompts.add_parser("add", help="add a prompt; write fields as {field name}")
    add.add_argument("name")
    add.add_argument("--text", required=True, help="the prompt, e.g. 'Explain at a {level} level'")
    add.add_argument("--description", default="", help="one line saying what it is for")
    add.add_argument("--category", default="", help="e.g. Legal, Medical")
    add.set_defaults(handler=_add)
    remove = prompts.add_parser("rm", help="delete a prompt")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)
    export = prompts.add_parser("export", help="save prompts to a JSON file")
    export.add_argument("file")
    export.add_argument("--name", action="append", help="only this prompt (repeatable)")
    export.set_defaults(handler=_export)
    imported = prompts.add_parser("import", help="add the prompts of a JSON file")
    imported.add_argument("file")
    imported.set_defaults(handler=_import)


def add_chat_options(chat: argparse.ArgumentParser) -> None:
    """`--prompt NAME` and `--var KEY=VALUE` for `localai chat`."""
    chat.add_argument(
        "--prompt",
        dest="library_prompt",
        metavar="NAME",
        help="start the message with this prompt of the library (see 'prompts list')",
    )
    chat.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a value for one of the prompt's {fields} (repeatable)",
    )


def message_from(workspace: Workspace, args: argparse.Namespace) -> str:
    """The message `localai chat` sends: the library prompt with its fields filled, then the
    PROMPT argument (the text the prompt works on), or the PROMPT argument alone.

    Raises MissingFieldError (naming the field) when a field has no --var.
    """
    typed = args.prompt or ""
    if not args.library_prompt:
        if args.var:
            raise LocalAIError("--var fills the fields of a --prompt.", "Add --prompt NAME.")
        if not typed.strip():
            raise LocalAIError("There is no message to send.", "Write one, or use --prompt NAME.")
        return typed
    values: dict[str, str] = {}
    for item in args.var:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LocalAIError(f"--var '{item}' is not KEY=VALUE.", "Write --var 'field=value'.")
        values[key] = value
    prompt = workspace.prompts.get(args.library_prompt)
    text = fill_fields(prompt.text, values, prompt_name=prompt.name)
    if not typed.strip():
        return text.strip()
    return f"{text.rstrip()}\n\n{typed}" if not text.endswith("\n") else f"{text}{typed}"


def _list(workspace: Workspace, args: argparse.Namespace) -> int:
    prompts = workspace.prompts.list()
    if args.json:
        print_json([p.to_json() for p in prompts])
        return 0
    if not prompts:
        print("No prompts yet. Add one with: localai prompts add NAME --text 'TEXT'")
        return 0
    rows = [
        [p.name, p.category, ", ".join(f"{{{f}}}" for f in p.fields), p.description]
        for p in prompts
    ]
    print_table(["NAME", "CATEGORY", "FIELDS", "WHAT IT IS FOR"], rows)
    return 0


def _show(workspace: Workspace, args: argparse.Namespace) -> int:
    prompt = workspace.prompts.get(args.name)
    if args.json:
        print_json(prompt.to_json())
        return 0
    print(f"# {prompt.name}" + (f" ({prompt.category})" if prompt.category else ""))
    if prompt.description:
        print(prompt.description)
    print()
    print(prompt.text.rstrip())
    if prompt.fields:
        fields = " ".join(f"--var '{f}=…'" for f in prompt.fields)
        print(f"\nFields: fill them with: localai chat --prompt {prompt.name} {fields}")
    return 0


def _add(workspace: Workspace, args: argparse.Namespace) -> int:
    prompt = workspace.prompts.add(
        args.name, args.text, description=args.description, category=args.category
    )
    fields = ", ".join(f"{{{f}}}" for f in prompt.fields) or "none"
    print(f"Added the prompt '{prompt.name}' (fields: {fields}).")
    return 0


def _remove(workspace: Workspace, args: argparse.Namespace) -> int:
    prompt = workspace.prompts.get(args.name)
    workspace.prompts.delete(prompt.id)
    print(f"Deleted the prompt '{prompt.name}'.")
    return 0


def _export(workspace: Workspace, args: argparse.Namespace) -> int:
    count = workspace.prompts.export_file(Path(args.file).expanduser(), args.name)
    print(f"Saved {count} prompt{'s' if count != 1 else ''} to {args.file}.")
    return 0


def _import(workspace: Workspace, args: argparse.Namespace) -> int:
    report = workspace.prompts.import_file(Path(args.file).expanduser())
    print(f"Added {len(report.added)} prompt{'s' if len(report.added) != 1 else ''}.")
    for name in report.added:
        print(f"  + {name}")
    if report.unchanged:
        print(f"Already there, unchanged: {', '.join(report.unchanged)}")
    return 0
