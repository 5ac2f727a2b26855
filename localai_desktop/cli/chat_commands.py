"""`localai chat` and `localai chats list|show`: conversations from the command line."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType
from typing import Any

from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED
from localai_desktop.cli.output import print_json, print_table, speed_line
from localai_desktop.core.chat.conversations import MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.documents.grounding import (
    UNCITED_NOTE,
    cites_nothing,
    format_sources,
)
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import (
    DEFAULT_CONTEXT_LENGTH,
    CutOff,
    GenerationSettings,
)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `chat` and `chats` to the top-level commands."""
    chat = commands.add_parser("chat", help="ask a model; the answer streams to stdout")
    chat.add_argument("prompt")
    chat.add_argument("--model", required=True, help="model name (see 'models list')")
    chat.add_argument("--system", help="system prompt (for a new conversation)")
    chat.add_argument("--temperature", type=float, default=GenerationSettings.temperature)
    chat.add_argument("--max-tokens", type=int, default=GenerationSettings.max_tokens)
    chat.add_argument("--context-length", type=int, default=DEFAULT_CONTEXT_LENGTH)
    chat.add_argument("--seed", type=int)
    chat.add_argument("--adapter", help="a fine-tuned adapter of the model (see 'adapters list')")
    chat.add_argument(
        "--adapter-scale", type=float, default=1.0, help="the adapter's strength (default 1.0)"
    )
    chat.add_argument("--conversation", type=int, help="continue this conversation")
    chat.add_argument(
        "--collection",
        action="append",
        default=[],
        metavar="NAME",
        help="answer from this document collection, with cited sources (repeatable)",
    )
    chat.set_defaults(handler=_chat)

    chats = commands.add_parser("chats", help="saved conversations").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    chats_list = chats.add_parser("list", help="list conversations, newest first")
    chats_list.add_argument("--json", action="store_true")
    chats_list.set_defaults(handler=_chats_list)
    show = chats.add_parser("show", help="show one conversation")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_chats_show)


def _chat(workspace: Workspace, args: argparse.Namespace) -> int:
    model = workspace.registry.get(args.model)
    settings = GenerationSettings(
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        context_length=args.context_length,
        seed=args.seed,
    )
    documents = workspace.documents if args.collection else None
    if documents is not None:
        for name in args.collection:
            documents.get(name)  # refuse an unknown collection before saving anything
    if args.conversation is not None:
        conversation = workspace.conversations.get(args.conversation)
        if args.system is not None:
            workspace.conversations.update(conversation.id, system_prompt=args.system)
    else:
        conversation = workspace.conversations.create(
            system_prompt=args.system or "", model_id=model.id, settings=settings.to_dict()
        )
    service = ChatService(
        workspace.conversations,
        workspace.registry,
        LlamaEngine(),
        workspace.adapters,
        documents=documents,
    )
    adapter = AdapterChoice(args.adapter, args.adapter_scale) if args.adapter else None
    if adapter is not None:
        service.adapters.checked_for(adapter.adapter, model)  # refuse before saving anything
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
                adapter=adapter,
                collections=args.collection,
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
    if documents is not None:
        documents.close()
    message = outcome["message"]
    sys.stdout.write("\n")
    if args.collection:
        sources = message.provenance.sources or ()
        if sources:
            sys.stdout.write("\nSources:\n" + format_sources(sources) + "\n")
            if cites_nothing(message.content, sources):
                print(f"Note: {UNCITED_NOTE}", file=sys.stderr)
            _print_support(message.provenance)
        else:
            sys.stdout.write("\nSources: nothing relevant was found in the documents.\n")
    sys.stdout.flush()
    print(speed_line(message.provenance), file=sys.stderr)
    note = message.provenance.get("chat_format_note")
    if note:
        print(f"Note: '{model.name}': {note}.", file=sys.stderr)
    print(
        f"Saved in conversation {conversation.id} "
        f"(continue with --conversation {conversation.id}).",
        file=sys.stderr,
    )
    if message.status is MessageStatus.FAILED:
        print(f"Error: {message.error}", file=sys.stderr)
        return EXIT_ERROR
    if message.status is MessageStatus.STOPPED:
        print("Stopped; the partial answer is saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    cut = message.provenance.cut_off
    if cut is CutOff.LONGEST_ANSWER:
        print(
            "The answer was cut off at --max-tokens; raise it for longer answers.", file=sys.stderr
        )
    elif cut is CutOff.MEMORY:
        print(
            "The answer was cut off: the conversation filled the model's context. Start a new "
            "conversation for a longer answer.",
            file=sys.stderr,
        )
    return 0


def _print_support(provenance: Provenance) -> None:
    """The grounding check: how many sentences the passages support, and why the others not."""
    support = provenance.support
    if support is None or not support.claims:
        return
    print(f"Grounding check: {support.summary}.", file=sys.stderr)
    for sentence in support.unsupported:
        print(f"  Not supported: {sentence.text}\n    {sentence.explanation}", file=sys.stderr)


def _chats_list(workspace: Workspace, args: argparse.Namespace) -> int:
    conversations = workspace.conversations.list()
    if args.json:
        print_json([c.to_json(with_messages=False) for c in conversations])
        return 0
    if not conversations:
        print("No conversations yet. Start one with: localai chat --model NAME 'Hello'")
        return 0
    rows = [[str(c.id), c.updated_at.strftime("%Y-%m-%d %H:%M"), c.title] for c in conversations]
    print_table(["ID", "UPDATED (UTC)", "TITLE"], rows)
    return 0


def _chats_show(workspace: Workspace, args: argparse.Namespace) -> int:
    conversation = workspace.conversations.get(args.id)
    if args.json:
        print_json(conversation.to_json())
        return 0
    print(f"# {conversation.title}")
    if conversation.system_prompt:
        print(f"\n[system] {conversation.system_prompt}")
    for message in conversation.messages:
        marker = "" if message.status is MessageStatus.COMPLETE else f" ({message.status})"
        print(f"\n[{message.role}]{marker}\n{message.content}")
        stats = message.provenance.stats
        if message.role == "assistant" and stats is not None and stats.completion_tokens:
            print(speed_line(message.provenance))
    return 0
