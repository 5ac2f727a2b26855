"""The `localai` command line: the same Qt-free core as the app, for scripts and power users."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

from localai_desktop import __version__
from localai_desktop.core.chat import ChatService
from localai_desktop.core.conversations import ConversationStore
from localai_desktop.core.engine import LlamaEngine
from localai_desktop.core.errors import LocalAIError
from localai_desktop.core.generation import (
    DEFAULT_CONTEXT_LENGTH,
    Cancellation,
    GenerationSettings,
)
from localai_desktop.core.logs import configure_logging
from localai_desktop.core.paths import DataPaths, init_data_paths
from localai_desktop.core.registry import ModelRegistry
from localai_desktop.core.storage import Database
from localai_desktop.core.units import format_bytes, format_parameter_count

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class _Context:
    """What every command needs, opened once from --data-dir."""

    def __init__(self, paths: DataPaths) -> None:
        self.paths = paths
        self.db = Database(paths.database)
        self.store = ConversationStore(self.db)
        self.registry = ModelRegistry(self.db, paths.models)

    def close(self) -> None:
        self.db.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localai", description="Chat with language models on this computer, offline."
    )
    parser.add_argument("--version", action="version", version=f"localai {__version__}")
    parser.add_argument(
        "--data-dir", help="data folder (default: $LOCALAI_DATA_DIR or the platform's)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="detailed log file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    models = commands.add_parser("models", help="manage local models").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    imp = models.add_parser("import", help="add a GGUF model file")
    imp.add_argument("path")
    imp.add_argument("--name", help="name to show (default: from the file)")
    imp.add_argument("--copy", action="store_true", help="copy into the app's model folder")
    lst = models.add_parser("list", help="list local models")
    lst.add_argument("--json", action="store_true")
    rm = models.add_parser("rm", help="remove a model")
    rm.add_argument("name")
    rm.add_argument("--delete-file", action="store_true", help="also delete the file")

    chat = commands.add_parser("chat", help="ask a model; the answer streams to stdout")
    chat.add_argument("prompt")
    chat.add_argument("--model", required=True, help="model name (see 'models list')")
    chat.add_argument("--system", help="system prompt (for a new conversation)")
    chat.add_argument("--temperature", type=float, default=GenerationSettings.temperature)
    chat.add_argument("--max-tokens", type=int, default=GenerationSettings.max_tokens)
    chat.add_argument("--context-length", type=int, default=DEFAULT_CONTEXT_LENGTH)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--conversation", type=int, help="continue this conversation")

    chats = commands.add_parser("chats", help="saved conversations").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    chats_list = chats.add_parser("list", help="list conversations, newest first")
    chats_list.add_argument("--json", action="store_true")
    show = chats.add_parser("show", help="show one conversation")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    context: _Context | None = None
    try:
        paths = init_data_paths(args.data_dir)
        configure_logging(paths.logs, "cli", verbose=args.verbose)
        context = _Context(paths)
        handler = _HANDLERS[(args.command, getattr(args, "action", None))]
        return handler(context, args)
    except LocalAIError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as error:
        print(f"Error: {error.strerror or error} ({error.filename or ''})", file=sys.stderr)
        return EXIT_ERROR
    finally:
        if context is not None:
            context.close()


# -- models -----------------------------------------------------------------------------------


def _models_import(ctx: _Context, args: argparse.Namespace) -> int:
    stages = {"checking": "Checking the file", "hashing": "Fingerprinting", "copying": "Copying"}

    def progress(stage: str, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        end = "\n" if done >= total else ""
        if sys.stderr.isatty() or done >= total:
            print(f"\r{stages.get(stage, stage)}: {percent:3d}%", end=end, file=sys.stderr)

    model = ctx.registry.import_model(args.path, name=args.name, copy=args.copy, progress=progress)
    print(f"Imported '{model.name}' ({_describe(model.to_json())}).")
    return 0


def _models_list(ctx: _Context, args: argparse.Namespace) -> int:
    models = ctx.registry.list()
    if args.json:
        _print_json([m.to_json() for m in models])
        return 0
    if not models:
        print("No models yet. Add one with: localai models import PATH")
        return 0
    rows = [
        [
            m.name,
            m.architecture,
            format_parameter_count(m.parameter_count),
            m.quantization,
            str(m.context_length),
            format_bytes(m.file_size),
            m.license or "-",
            "yes" if m.has_chat_template else "no",
            "" if m.file_exists else "FILE MISSING",
        ]
        for m in models
    ]
    header = ["NAME", "ARCH", "PARAMS", "QUANT", "CONTEXT", "SIZE", "LICENSE", "TEMPLATE", ""]
    _print_table(header, rows)
    return 0


def _models_rm(ctx: _Context, args: argparse.Namespace) -> int:
    model = ctx.registry.remove(args.name, delete_file=args.delete_file)
    deleted = f" and deleted {model.path}" if args.delete_file else ""
    print(f"Removed '{model.name}'{deleted}.")
    return 0


def _describe(model: dict[str, Any]) -> str:
    return (
        f"{model['architecture']}, {format_parameter_count(model['parameter_count'])} parameters, "
        f"{model['quantization']}, {format_bytes(model['file_size'])}"
    )


# -- chat -------------------------------------------------------------------------------------


def _chat(ctx: _Context, args: argparse.Namespace) -> int:
    model = ctx.registry.get(args.model)
    settings = GenerationSettings(
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        context_length=args.context_length,
        seed=args.seed,
    )
    if args.conversation is not None:
        conversation = ctx.store.get(args.conversation)
        if args.system is not None:
            ctx.store.update(conversation.id, system_prompt=args.system)
    else:
        conversation = ctx.store.create(
            system_prompt=args.system or "", model_id=model.id, settings=settings.to_dict()
        )
    service = ChatService(ctx.store, ctx.registry, LlamaEngine())
    cancel = Cancellation()

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if cancel.is_set():  # a second Ctrl-C while stopping: give up at once
            raise KeyboardInterrupt
        cancel.set()

    def on_text(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    # Generation runs on a thread so that the main thread, where Python delivers signals,
    # stays free: Ctrl-C then stops even in the middle of a long prompt.
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["message"] = service.send(
                conversation.id,
                args.prompt,
                model_id=model.id,
                settings=settings,
                on_text=on_text,
                cancel=cancel,
            )
        except BaseException as error:
            outcome["error"] = error

    previous = signal.signal(signal.SIGINT, on_sigint)
    worker = threading.Thread(target=run, name="chat", daemon=True)
    try:
        worker.start()
        while worker.is_alive():
            worker.join(0.1)
    finally:
        signal.signal(signal.SIGINT, previous)
    if "error" in outcome:
        raise outcome["error"]
    service.engine.unload()
    message = outcome["message"]
    sys.stdout.write("\n")
    sys.stdout.flush()
    print(_speed_line(message.provenance), file=sys.stderr)
    print(
        f"Saved in conversation {conversation.id} "
        f"(continue with --conversation {conversation.id}).",
        file=sys.stderr,
    )
    if message.status == "failed":
        print(f"Error: {message.error}", file=sys.stderr)
        return EXIT_ERROR
    if message.status == "stopped":
        print("Stopped; the partial answer is saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _speed_line(provenance: dict[str, Any]) -> str:
    parts = [f"{provenance.get('completion_tokens', 0)} tokens"]
    if provenance.get("tokens_per_second"):
        parts.append(f"{provenance['tokens_per_second']:.1f} tokens/s")
    if provenance.get("time_to_first_token_s") is not None:
        parts.append(f"first token after {provenance['time_to_first_token_s']:.2f} s")
    if provenance.get("trimmed_messages"):
        parts.append(f"{provenance['trimmed_messages']} old messages left out to fit")
    return "[" + ", ".join(parts) + "]"


# -- chats ------------------------------------------------------------------------------------


def _chats_list(ctx: _Context, args: argparse.Namespace) -> int:
    conversations = ctx.store.list()
    if args.json:
        _print_json([c.to_json(with_messages=False) for c in conversations])
        return 0
    if not conversations:
        print("No conversations yet. Start one with: localai chat --model NAME 'Hello'")
        return 0
    rows = [[str(c.id), c.updated_at.strftime("%Y-%m-%d %H:%M"), c.title] for c in conversations]
    _print_table(["ID", "UPDATED (UTC)", "TITLE"], rows)
    return 0


def _chats_show(ctx: _Context, args: argparse.Namespace) -> int:
    conversation = ctx.store.get(args.id)
    if args.json:
        _print_json(conversation.to_json())
        return 0
    print(f"# {conversation.title}")
    if conversation.system_prompt:
        print(f"\n[system] {conversation.system_prompt}")
    for message in conversation.messages:
        marker = "" if message.status == "complete" else f" ({message.status})"
        print(f"\n[{message.role}]{marker}\n{message.content}")
        if message.role == "assistant" and message.provenance.get("completion_tokens"):
            print(_speed_line(message.provenance))
    return 0


# -- output helpers ---------------------------------------------------------------------------


def _print_json(data: object) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


_HANDLERS = {
    ("models", "import"): _models_import,
    ("models", "list"): _models_list,
    ("models", "rm"): _models_rm,
    ("chat", None): _chat,
    ("chats", "list"): _chats_list,
    ("chats", "show"): _chats_show,
}


if __name__ == "__main__":
    sys.exit(main())
