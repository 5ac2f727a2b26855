"""`localai chat` and `localai chats list|show`: conversations from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from localai_desktop.cli import export_commands, prompt_commands, records_commands
from localai_desktop.cli.exit_codes import EXIT_USAGE
from localai_desktop.cli.output import print_json, print_table, speed_line
from localai_desktop.core.chat.attachments import AttachmentStore, read_attachment
from localai_desktop.core.chat.busy import busy_note
from localai_desktop.core.chat.context_use import left_out_notes
from localai_desktop.core.chat.conversation_files import files_to_index, shown_attachments
from localai_desktop.core.chat.conversations import Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.chat.service import AdapterChoice, ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.documents.grounding import (
    UNCITED_NOTE,
    cites_nothing,
    format_sources,
)
from localai_desktop.core.documents.indexing_state import IndexingState
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import (
    AUTOMATIC_CONTEXT_LENGTH,
    CutOff,
    GenerationSettings,
)
from localai_desktop.core.inference.llama_runtime import KV_CACHE_TYPES
from localai_desktop.core.prompts.fields import MissingFieldError


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `chat` and `chats` to the top-level commands."""
    chat = commands.add_parser("chat", help="ask a model; the answer streams to stdout")
    chat.add_argument("prompt", nargs="?", default="", help="your message")
    chat.add_argument(
        "--model",
        required=True,
        help="model name (see 'models list'), or REMOTE/MODEL_ID for a remote engine's model "
        "(see 'remotes list')",
    )
    chat.add_argument("--system", help="system prompt (for a new conversation)")
    chat.add_argument("--temperature", type=float, default=GenerationSettings.temperature)
    chat.add_argument("--max-tokens", type=int, default=GenerationSettings.max_tokens)
    chat.add_argument(
        "--context-length",
        type=int,
        default=AUTOMATIC_CONTEXT_LENGTH,
        help="tokens the model keeps in mind (default: as much as this computer comfortably "
        "holds, up to the model's own limit)",
    )
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
    chat.add_argument(
        "--attach",
        action="append",
        default=[],
        metavar="FILE",
        help="attach a PDF, Word, text, Markdown or HTML file to the question: a short one is "
        "read whole, a long one is indexed and its best passages cited (repeatable)",
    )
    prompt_commands.add_chat_options(chat)
    chat.add_argument(
        "--threads", type=int, help="CPU threads for the model (default: the physical cores)"
    )
    chat.add_argument(
        "--kv-cache",
        choices=KV_CACHE_TYPES,
        default="f16",
        help="memory type of the model's context: q8_0 halves it, q4_0 quarters it",
    )
    chat.add_argument(
        "--draft",
        choices=("prompt-lookup", "none"),
        default="none",
        help="prompt-lookup: draft tokens copied from the prompt (faster answers that quote or "
        "rework given text; the same answer)",
    )
    chat.set_defaults(handler=_chat)

    chats = commands.add_parser("chats", help="saved conversations").add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    chats_list = chats.add_parser("list", help="list conversations, newest first")
    chats_list.add_argument("--json", action="store_true")
    records_commands.add_list_options(chats_list)
    chats_list.set_defaults(handler=_chats_list)
    show = chats.add_parser("show", help="show one conversation")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_chats_show)
    records_commands.add_chats_commands(chats)
    export_commands.add_chats_commands(chats)


def _chat(workspace: Workspace, args: argparse.Namespace) -> int:
    try:
        args.prompt = prompt_commands.message_from(workspace, args)
    except MissingFieldError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    # A remote engine's model (REMOTE/MODEL_ID) answers on that server; else a local model.
    remote = workspace.remotes.resolve(args.model)
    model = workspace.registry.get(args.model) if remote is None else None
    if remote is not None and args.adapter:
        print(
            "Error: adapters apply to models on this computer, not to a remote engine's.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    settings = GenerationSettings(
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        context_length=args.context_length,
        seed=args.seed,
    )
    # Every attached file is read before anything is saved: one that cannot be read says why.
    files = [read_attachment(path) for path in args.attach]
    indexed = [f for f in files if not f.whole]
    # Files attached to earlier questions count on this turn too (chat.conversation_files).
    earlier = (
        shown_attachments(
            AttachmentStore(workspace.db), workspace.conversations.get(args.conversation).messages
        )
        if args.conversation is not None
        else []
    )
    earlier_long = [a for a in earlier if not a.whole]
    documents = workspace.documents if args.collection or indexed or earlier_long else None
    if documents is not None:
        for name in args.collection:
            documents.get(name)  # refuse an unknown collection before saving anything
    if args.conversation is not None:
        conversation = workspace.conversations.get(args.conversation)
        if args.system is not None:
            workspace.conversations.update(conversation.id, system_prompt=args.system)
    else:
        conversation = workspace.conversations.create(
            system_prompt=args.system or "",
            model_id=model.id if model is not None else None,
            settings=settings.to_dict(),
        )
    service = ChatService(
        workspace.conversations,
        workspace.registry,
        LlamaEngine(n_threads=args.threads, kv_cache=args.kv_cache, draft=args.draft),
        workspace.adapters,
        documents=documents,
        remotes=workspace.remotes,
    )
    adapter = AdapterChoice(args.adapter, args.adapter_scale) if args.adapter else None
    if adapter is not None and model is not None:
        service.adapters.checked_for(adapter.adapter, model)  # refuse before saving anything

    def turn(on_text: Callable[[str], None], cancel: Cancellation) -> Message:
        return service.send(
            conversation.id,
            args.prompt,
            model_id=model.id if model is not None else remote.reference if remote else args.model,
            settings=settings,
            on_text=on_text,
            cancel=cancel,
            adapter=adapter,
            collections=args.collection,
            attach=files,
            indexing=IndexingState(cancel=cancel) if indexed else None,
        )

    if documents is not None and earlier_long:
        # Passages missing (the conversation came back through 'data import' or a backup
        # restore): indexed again from the text saved with the question, before the turn.
        missing = files_to_index(documents, earlier_long)
        if missing:
            names = ", ".join(a.name for a in missing)
            print(
                f"Indexing {names} again from the text saved with the conversation…",
                file=sys.stderr,
            )
            try:
                service.index_saved_files(conversation.id)
            except LocalAIError as error:  # answered without them; the answer says so
                print(f"Note: {error.what} Answering without them.", file=sys.stderr)
    if remote is not None:
        print(f"Note: '{remote.reference}' {remote.remote.where}.", file=sys.stderr)
    for file in files:
        how = "read whole" if file.whole else "indexed; its best passages are used"
        print(f"Attached {file.name} ({how}).", file=sys.stderr)

    # Generation runs on a thread so that the main thread, where Python delivers signals,
    # stays free: Ctrl-C then stops even in the middle of a long prompt.
    message = records_commands.stream_turn(turn)
    service.engine.unload()
    if documents is not None:
        documents.close()
    if args.collection or indexed or earlier_long:
        sources = message.provenance.sources or ()
        if sources:
            sys.stdout.write("\nSources:\n" + format_sources(sources) + "\n")
            if cites_nothing(message.content, sources):
                print(f"Note: {UNCITED_NOTE}", file=sys.stderr)
            _print_support(message.provenance)
        else:
            sys.stdout.write("\nSources: nothing relevant was found in the documents.\n")
    sys.stdout.flush()
    line = speed_line(message.provenance)
    busy = busy_note(message.provenance)  # measured while the answer was written
    if busy and line:
        line += f" ({busy})"
    print(line, file=sys.stderr)
    for left_out in left_out_notes(message.provenance):
        print(f"Left out: {left_out}", file=sys.stderr)
    note = message.provenance.get("chat_format_note")
    if note:
        print(f"Note: '{args.model}': {note}.", file=sys.stderr)
    print(
        f"Saved in conversation {conversation.id} "
        f"(continue with --conversation {conversation.id}).",
        file=sys.stderr,
    )
    code = records_commands.turn_exit_code(message)
    if code is not None:
        return code
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
    conversations = records_commands.arranged(workspace.conversations.list(), args)
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
    attached = AttachmentStore(workspace.db).for_messages([m.id for m in conversation.messages])
    if args.json:
        data = conversation.to_json()
        for message in data["messages"]:
            files = attached.get(message["id"])
            if files:
                message["attachments"] = [a.to_json() for a in files]
        print_json(data)
        return 0
    print(f"# {conversation.title}")
    if conversation.system_prompt:
        print(f"\n[system] {conversation.system_prompt}")
    for message in conversation.messages:
        marker = "" if message.status is MessageStatus.COMPLETE else f" ({message.status})"
        if message.version_count > 1:
            marker += f" (version {message.version} of {message.version_count})"
        print(f"\n[{message.role}] #{message.id}{marker}\n{message.content}")
        for file in attached.get(message.id, ()):
            print(f"  attached: {file.name}")
        stats = message.provenance.stats
        if message.role == "assistant" and stats is not None and stats.completion_tokens:
            print(speed_line(message.provenance))
    return 0
