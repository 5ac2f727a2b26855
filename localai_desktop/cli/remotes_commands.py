"""`localai remotes add|list|rm`: OpenAI-compatible engines on other computers."""

from __future__ import annotations

import argparse
import sys

from localai_desktop.cli.exit_codes import EXIT_USAGE
from localai_desktop.cli.output import print_json, print_table
from localai_desktop.core.datafolder.workspace import Workspace


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `remotes` to the top-level commands."""
    remotes = commands.add_parser(
        "remotes", help="engines on other computers (vLLM, llama-server, Ollama, ...)"
    ).add_subparsers(dest="action", required=True, metavar="ACTION")
    add = remotes.add_parser(
        "add",
        help="add an OpenAI-compatible server; use its models as NAME/MODEL_ID",
        description="Add an OpenAI-compatible server. Its models are then used as "
        "NAME/MODEL_ID wherever a model name is taken (chat --model, eval run --model). "
        "Your text is sent to that server.",
    )
    add.add_argument("name", help="a short name, for example gpu-server")
    add.add_argument(
        "--url",
        required=True,
        help="its base URL: https://HOST[:PORT], or http:// only on this computer or your own "
        "network",
    )
    add.add_argument(
        "--api-key-stdin",
        action="store_true",
        help="read its API key from standard input (one line; kept in the workspace's database)",
    )
    add.add_argument(
        "--allow-offline",
        action="store_true",
        help="it runs on this computer or your own network: keep using it in offline mode",
    )
    add.add_argument(
        "--ca-file", metavar="FILE", help="the certificate (PEM) of your own certificate authority"
    )
    add.set_defaults(handler=_add)
    listing = remotes.add_parser("list", help="remotes, whether they answer, and their models")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_list)
    remove = remotes.add_parser("rm", help="forget a remote engine (and its API key)")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)


def _add(workspace: Workspace, args: argparse.Namespace) -> int:
    key = None
    if args.api_key_stdin:
        key = sys.stdin.readline().strip()
        if not key:
            print("Error: no API key on standard input (one line).", file=sys.stderr)
            return EXIT_USAGE
    remote = workspace.remotes.add(
        args.name, args.url, api_key=key, allow_offline=args.allow_offline, ca_file=args.ca_file
    )
    print(f"Added the remote engine '{remote.name}' ({remote.base_url}).")
    status = workspace.remotes.status(remote)
    if status.reachable:
        models = ", ".join(f"{remote.name}/{m}" for m in status.models) or "none listed"
        print(f"It answers. Its models: {models}")
        print(f"Note: answers from it {remote.where}.")
    else:
        print(f"It does not answer now: {status.problem}", file=sys.stderr)
    return 0


def _list(workspace: Workspace, args: argparse.Namespace) -> int:
    statuses = [workspace.remotes.status(r) for r in workspace.remotes.list()]
    if args.json:
        print_json([s.to_json() for s in statuses])
        return 0
    if not statuses:
        print("No remote engines. Add one with: localai remotes add NAME --url URL")
        return 0
    rows = [
        [
            s.remote.name,
            s.remote.base_url,
            "yes" if s.reachable else "no",
            "yes" if s.remote.allow_offline else "no",
            ", ".join(f"{s.remote.name}/{m}" for m in s.models) if s.reachable else "-",
        ]
        for s in statuses
    ]
    print_table(["NAME", "URL", "REACHABLE", "OFFLINE OK", "MODELS"], rows)
    for s in statuses:
        if s.problem:
            print(f"{s.remote.name}: {s.problem}", file=sys.stderr)
    return 0


def _remove(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.remotes.remove(args.name)
    print(f"Removed the remote engine '{args.name}' and its API key.")
    return 0
