"""`localai chats search|edit|rm|trash|restore|empty-trash|pin|unpin|folder|tag`.

Conversations as records: find a message, correct a question (the old one is kept as an earlier
version), put conversations in the trash and take them out again, and organise them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from localai_desktop.cli.exit_codes import EXIT_ERROR, EXIT_INTERRUPTED
from localai_desktop.cli.interruptible import run_interruptibly
from localai_desktop.cli.output import print_json, print_table, speed_line
from localai_desktop.core.chat.conversations import Conversation, Message, MessageStatus
from localai_desktop.core.chat.organise import (
    ORDER_RECENT,
    ORDERS,
    TRASH_DAYS,
    ListFilter,
    arrange,
)
from localai_desktop.core.chat.search import ConversationSearch, SearchHit
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine, TextCallback
from localai_desktop.core.inference.generation import GenerationSettings

Turn = Callable[[TextCallback, Cancellation], Message]


def add_chats_commands(chats: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the record-keeping actions to `localai chats`."""
    search = chats.add_parser("search", help="find messages in every conversation, newest first")
    search.add_argument("query", help="words to find (all of them; the last may be a beginning)")
    search.add_argument("--conversation", type=int, help="only in this conversation")
    search.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=_search)

    edit = chats.add_parser(
        "edit", help="ask an edited question again; the old question and answer are kept"
    )
    edit.add_argument("conversation_id", type=int)
    edit.add_argument("message_id", type=int, help="the question to edit (see 'chats show')")
    edit.add_argument("text", help="the new question")
    edit.add_argument("--model", help="model name or REMOTE/MODEL_ID (default: the conversation's)")
    edit.add_argument("--temperature", type=float)
    edit.add_argument("--max-tokens", type=int)
    edit.add_argument("--context-length", type=int)
    edit.add_argument("--seed", type=int)
    edit.set_defaults(handler=_edit)

    rm = chats.add_parser("rm", help=f"move a conversation to the trash (kept {TRASH_DAYS} days)")
    rm.add_argument("id", type=int)
    rm.set_defaults(handler=_rm)
    trash = chats.add_parser("trash", help="list the conversations in the trash")
    trash.add_argument("--json", action="store_true")
    trash.set_defaults(handler=_trash)
    restore = chats.add_parser("restore", help="take a conversation out of the trash")
    restore.add_argument("id", type=int)
    restore.set_defaults(handler=_restore)
    empty = chats.add_parser("empty-trash", help="delete the trash's conversations for good")
    empty.add_argument("--yes", action="store_true", help="yes, delete them for good")
    empty.set_defaults(handler=_empty_trash)

    for name, pinned in (("pin", True), ("unpin", False)):
        pin = chats.add_parser(
            name, help="keep a conversation at the top of the list" if pinned else "stop pinning"
        )
        pin.add_argument("id", type=int)
        pin.set_defaults(handler=_pin, pinned=pinned)
    folder = chats.add_parser("folder", help="put a conversation in a folder ('' for none)")
    folder.add_argument("id", type=int)
    folder.add_argument("folder")
    folder.set_defaults(handler=_folder)
    tag = chats.add_parser("tag", help="set a conversation's tags (none: remove them all)")
    tag.add_argument("id", type=int)
    tag.add_argument("tags", nargs="*")
    tag.set_defaults(handler=_tag)


def add_list_options(chats_list: argparse.ArgumentParser) -> None:
    """`chats list` filters and orders: --pinned, --folder, --tag, --sort."""
    chats_list.add_argument("--pinned", action="store_true", help="only pinned conversations")
    chats_list.add_argument("--folder", help="only the conversations in this folder")
    chats_list.add_argument("--tag", help="only the conversations with this tag")
    chats_list.add_argument(
        "--sort", choices=list(ORDERS), default=ORDER_RECENT, help="order (pinned ones first)"
    )


def arranged(conversations: list[Conversation], args: argparse.Namespace) -> list[Conversation]:
    """The conversations `chats list` shows, as its options ask."""
    list_filter = ListFilter(pinned_only=args.pinned, folder=args.folder, tag=args.tag)
    return arrange(conversations, list_filter, args.sort)


# -- search -------------------------------------------------------------------------------------


def marked(hit: SearchHit) -> str:
    """The snippet with its matches in **bold** (Markdown), on one line."""
    parts, last = [], 0
    for start, end in hit.matches:
        parts += [hit.snippet[last:start], "**", hit.snippet[start:end], "**"]
        last = end
    parts.append(hit.snippet[last:])
    return " ".join("".join(parts).split())


def _search(workspace: Workspace, args: argparse.Namespace) -> int:
    if args.conversation is not None:
        workspace.conversations.get(args.conversation)  # refuse an unknown one plainly
    hits = ConversationSearch(workspace.db).search(
        args.query, conversation_id=args.conversation, limit=args.limit
    )
    if args.json:
        print_json([hit.to_json() for hit in hits])
        return 0
    if not hits:
        print(f"Nothing found for '{args.query}'.")
        return 0
    rows = [
        [str(h.conversation_id), str(h.message_id), h.role, _shorten(h.conversation_title, 30)]
        for h in hits
    ]
    print_table(["CONVERSATION", "MESSAGE", "ROLE", "TITLE"], rows)
    print()
    for hit in hits:
        print(f"{hit.conversation_id}/{hit.message_id}: {marked(hit)}")
    return 0


def _shorten(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


# -- edit ---------------------------------------------------------------------------------------


def _edit(workspace: Workspace, args: argparse.Namespace) -> int:
    store = workspace.conversations
    conversation = store.get(args.conversation_id)
    remote = workspace.remotes.resolve(args.model) if args.model is not None else None
    model_id: int | str
    if remote is not None:
        model_id = remote.reference  # a remote engine's model (REMOTE/MODEL_ID)
    elif args.model is not None:
        model_id = workspace.registry.get(args.model).id
    elif conversation.model_id is not None:
        model_id = workspace.registry.get(conversation.model_id).id
    else:
        raise LocalAIError(
            f"Conversation {conversation.id} has no model yet.", "Choose one with --model NAME."
        )
    saved = GenerationSettings.from_dict(conversation.settings)
    changes = {
        "temperature": args.temperature,
        "max_tokens": args.max_tokens,
        "context_length": args.context_length,
        "seed": args.seed,
    }
    settings = GenerationSettings.from_dict(
        {**saved.to_dict(), **{k: v for k, v in changes.items() if v is not None}}
    )
    service = ChatService(
        store, workspace.registry, LlamaEngine(), workspace.adapters, remotes=workspace.remotes
    )

    def turn(on_text: TextCallback, cancel: Cancellation) -> Message:
        return service.edit(
            conversation.id,
            args.message_id,
            args.text,
            model_id=model_id,
            settings=settings,
            on_text=on_text,
            cancel=cancel,
        )

    try:
        message = stream_turn(turn)
    finally:
        service.engine.unload()
    print(speed_line(message.provenance), file=sys.stderr)
    print(
        f"Saved as a new version in conversation {conversation.id}; the earlier question and "
        f"answer are kept (see 'localai chats show {conversation.id}').",
        file=sys.stderr,
    )
    return turn_exit_code(message) or 0


def stream_turn(turn: Turn) -> Message:
    """Run one chat turn on a thread, streaming its text to stdout; Ctrl-C stops it (the
    partial answer is kept), a second Ctrl-C gives up at once."""
    cancel = Cancellation()

    def on_text(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    message = run_interruptibly(lambda: turn(on_text, cancel), on_interrupt=cancel.set, name="chat")
    sys.stdout.write("\n")
    sys.stdout.flush()
    return message


def turn_exit_code(message: Message) -> int | None:
    """For an answer that failed or was stopped: say so on stderr and give the exit code."""
    if message.status is MessageStatus.FAILED:
        print(f"Error: {message.error}", file=sys.stderr)
        return EXIT_ERROR
    if message.status is MessageStatus.STOPPED:
        print("Stopped; the partial answer is saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return None


# -- trash --------------------------------------------------------------------------------------


def _rm(workspace: Workspace, args: argparse.Namespace) -> int:
    conversation = workspace.conversations.get(args.id)
    workspace.conversations.trash(args.id)
    print(
        f"Moved '{conversation.title}' to the trash. Restore it with "
        f"'localai chats restore {args.id}'; it is deleted for good after {TRASH_DAYS} days."
    )
    return 0


def _trash(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.conversations.empty_expired_trash()
    trashed = workspace.conversations.trashed()
    if args.json:
        print_json([c.to_json(with_messages=False) for c in trashed])
        return 0
    if not trashed:
        print("The trash is empty.")
        return 0
    rows = [
        [str(c.id), c.deleted_at.strftime("%Y-%m-%d %H:%M") if c.deleted_at else "", c.title]
        for c in trashed
    ]
    print_table(["ID", "DELETED (UTC)", "TITLE"], rows)
    return 0


def _restore(workspace: Workspace, args: argparse.Namespace) -> int:
    conversation = workspace.conversations.get(args.id)
    if conversation.deleted_at is None:
        print(f"'{conversation.title}' is not in the trash.")
        return 0
    workspace.conversations.restore(args.id)
    print(f"Restored '{conversation.title}'.")
    return 0


def _empty_trash(workspace: Workspace, args: argparse.Namespace) -> int:
    if not args.yes:
        count = len(workspace.conversations.trashed())
        print(
            f"Error: this deletes the {count} conversation(s) in the trash for good.",
            file=sys.stderr,
        )
        print("Run it again with --yes if that is what you want.", file=sys.stderr)
        return EXIT_ERROR
    deleted = workspace.conversations.empty_trash()
    print(f"Deleted {deleted} conversation(s) for good (recorded in the audit trail).")
    return 0


# -- organise -----------------------------------------------------------------------------------


def _pin(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.conversations.set_pinned(args.id, args.pinned)
    return 0


def _folder(workspace: Workspace, args: argparse.Namespace) -> int:
    workspace.conversations.set_folder(args.id, args.folder)
    return 0


def _tag(workspace: Workspace, args: argparse.Namespace) -> int:
    kept = workspace.conversations.set_tags(args.id, args.tags)
    print("Tags: " + (", ".join(kept) if kept else "none"))
    return 0
