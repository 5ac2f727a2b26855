"""The `localai` command line: the same Qt-free core as the app, for scripts and power users."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from localai_desktop import __version__
from localai_desktop.cli import (
    audit_commands,
    chat_commands,
    data_commands,
    docs_commands,
    eval_commands,
    finetune_commands,
    hub_commands,
    model_commands,
    prompt_commands,
    quantize_commands,
    remotes_commands,
    serve_commands,
    speed_commands,
    workspace_commands,
)
from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_PASSPHRASE
from localai_desktop.cli.output import TerminalSafeStream
from localai_desktop.cli.passphrases import existing_passphrase
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.logs import DEBUG_LOGGING_WARNING, configure_logging
from localai_desktop.core.common.private_files import keep_new_files_private
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.datafolder.workspace import PassphraseNeededError, Workspace
from localai_desktop.core.vault.keys import WrongPassphraseError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localai", description="Chat with language models on this computer, offline."
    )
    parser.add_argument("--version", action="version", version=f"localai {__version__}")
    parser.add_argument(
        "--data-dir", help="data folder (default: $LOCALAI_DATA_DIR or the platform's)"
    )
    _add_workspace_options(parser)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="debug log: detail, and what you type and the answers (a warning says so)",
    )
    hub_commands.add_global_options(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    models = commands.add_parser("models", help="manage local models").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    model_commands.add_commands(models)
    hub_commands.add_model_commands(models)
    quantize_commands.add_commands(models)
    speed_commands.add_commands(models)
    chat_commands.add_commands(commands)
    hub_commands.add_commands(commands)
    finetune_commands.add_commands(commands)
    data_commands.add_commands(commands)
    docs_commands.add_commands(commands)
    serve_commands.add_commands(commands)
    audit_commands.add_commands(commands)
    prompt_commands.add_commands(commands)
    eval_commands.add_commands(commands)
    remotes_commands.add_commands(commands)
    workspace_commands.add_commands(commands)
    for leaf in _leaf_parsers(parser):
        _add_workspace_options(leaf, default=argparse.SUPPRESS)
    return parser


def _add_workspace_options(parser: argparse.ArgumentParser, *, default: object = None) -> None:
    """--workspace and --passphrase-stdin: accepted before the command and after it (where a
    script writes them); given after, they win."""
    parser.add_argument(
        "--workspace",
        metavar="NAME",
        default=default,
        help="the workspace to use (default: the default one)",
    )
    parser.add_argument(
        "--passphrase-stdin",
        action="store_true",
        default=default if default is not None else False,
        help="read a protected workspace's passphrase from standard input (one line each)",
    )


def _leaf_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    subparsers = [
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ]
    if not subparsers:
        return [parser]
    leaves: list[argparse.ArgumentParser] = []
    for action in subparsers:
        for child in dict.fromkeys(action.choices.values()):
            leaves += _leaf_parsers(child)
    return leaves


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keep_new_files_private()  # everything written from here on is this user's alone
    # Names, passages and answers may hold terminal control characters: printed escaped.
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalSafeStream(stdout), TerminalSafeStream(stderr)
    workspace: Workspace | None = None
    try:
        if not getattr(args, "opens_workspace", True):
            root = init_data_paths(args.data_dir)
            configure_logging(root.logs, "cli", verbose=args.verbose)
            return int(args.handler(root, args))
        workspace = Workspace.open(
            args.data_dir, workspace=args.workspace, passphrase=existing_passphrase(args)
        )
        paths = workspace.paths
        if getattr(args, "offline", False):
            workspace.remotes.go_offline()  # --offline: no remote engine but those allowed
        debug = args.verbose or workspace.load_settings().debug_logging
        configure_logging(paths.logs, "cli", verbose=debug)
        if debug:
            print(f"Warning: {DEBUG_LOGGING_WARNING.format(folder=paths.logs)}", file=sys.stderr)
        return int(args.handler(workspace, args))
    except (WrongPassphraseError, PassphraseNeededError) as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return EXIT_PASSPHRASE
    except LocalAIError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"Error: {error.strerror or error} ({error.filename or ''})", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if workspace is not None:
            workspace.close()
        sys.stdout, sys.stderr = stdout, stderr
