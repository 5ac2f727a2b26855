"""Files attached to a conversation's questions, used on every later turn.

A person who attached a letter and asks a follow-up expects the letter still to count. For the
question being answered, every file attached to the questions of the conversation as shown
(the versions on the shown path only, up to that question) is used:

- long files (indexed in the conversation's own collection): their passages are searched on
  every turn, beside the collections picked;
- short files: the question's own files go into the prompt whole, as before; earlier ones,
  newest first, while they fit FILES_SHARE of the prompt's room; the rest are named as left
  out (the answer's provenance says so, and `context_use.left_out_notes` says it on screen).

`files_to_index` finds long files with no usable index (a conversation that came back through
`localai data import` or a backup restore keeps the files' text, not their passages), and
`index_saved_files` indexes them again from the text kept with the question: the file itself
may exist nowhere on this computer. The same `ground_with_files` serves this computer's
engine and remote engines (chat.remote_turn), each with its own tokenizer and context.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localai_desktop.core.chat.attachments import Attachment, AttachmentStore, prompt_with_files
from localai_desktop.core.chat.conversations import Message
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.documents.blocks import TextBlock
from localai_desktop.core.documents.collections import (
    DocumentLibrary,
    conversation_collection_name,
)
from localai_desktop.core.documents.grounding import (
    Retrieval,
    ground_retrieved,
    retrieve,
)
from localai_desktop.core.documents.index_store import DocumentFile, FileStatus
from localai_desktop.core.documents.indexing_state import IndexingState
from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.inference.prompt import prompt_room

# Share of the prompt's room that short files of earlier questions may take, with the
# question (and its own files and passages): the rest keeps the recent conversation.
FILES_SHARE = 0.6
# Where a file indexed again from its saved text is said to be (it is named, never opened).
SAVED_TEXT_FOLDER = Path("saved with the conversation")
USED_WHOLE = "whole"
USED_PASSAGES = "best passages"
USED_LEFT_OUT = "left out"

Tokenize = Callable[[str], list[int]]
_PAGE_MARK = re.compile(r"^\[page (\d+)\]$")


def shown_attachments(store: AttachmentStore, messages: Sequence[Message]) -> list[Attachment]:
    """The files attached to the questions among `messages` (the conversation as shown),
    oldest question first, each question's files in the order they were attached."""
    ids = [m.id for m in messages if m.role == "user"]
    found = store.for_messages(ids)
    return [a for message_id in ids for a in found.get(message_id, [])]


def _indexed_files(documents: DocumentLibrary, attachment: Attachment) -> list[DocumentFile]:
    """The indexed files of a long attached file's name in its collection (none when it has
    no collection, or the collection is gone)."""
    if attachment.collection_id is None:
        return []
    try:
        files = documents.store.files(attachment.collection_id)
    except NotFoundError:
        return []
    return [f for f in files if f.name == attachment.name and f.status == FileStatus.INDEXED]


def has_usable_index(documents: DocumentLibrary, attachment: Attachment) -> bool:
    """Whether a long file's passages are in its collection, ready to be searched."""
    if attachment.whole:
        return True
    return any(f.chunks > 0 for f in _indexed_files(documents, attachment))


def files_to_index(
    documents: DocumentLibrary, attachments: Sequence[Attachment]
) -> list[Attachment]:
    """The long files among `attachments` whose passages are missing (never indexed here, or
    their collection gone or empty): they must be indexed again from their saved text."""
    return [a for a in attachments if not a.whole and not has_usable_index(documents, a)]


def saved_text_blocks(text: str) -> Iterator[TextBlock]:
    """The saved text of an attached file as blocks, with the pages marked in it
    (attachments.read_attachment writes "[page N]" before each page)."""
    page: int | None = None
    for part in text.split("\n\n"):
        part = part.strip()
        mark = _PAGE_MARK.match(part)
        if mark:
            page = int(mark.group(1))
        elif part:
            yield TextBlock(" ".join(part.split()), page=page)


def index_saved_files(
    documents: DocumentLibrary,
    store: AttachmentStore,
    conversation_id: int,
    attachments: Sequence[Attachment],
    state: IndexingState | None = None,
) -> int:
    """Index again, from the text kept with their question, the long files whose passages are
    missing, in the conversation's own collection; how many were indexed. A cancel (through
    `state`) keeps those done; the rest are found missing and indexed again next time."""
    missing = files_to_index(documents, attachments)
    if not missing:
        return 0
    collection = documents.conversation_collection(conversation_id)
    done = 0
    for attachment in missing:
        if state is not None and state.is_interruption_requested():
            break
        # A row of the same file left half indexed (the app was closed while it was read)
        # would otherwise be read again from its old place and give its passages twice.
        for stale in documents.store.files(collection.id):
            if stale.name == attachment.name and stale.status != FileStatus.INDEXED:
                documents.store.remove_file(stale.id)
        report = documents.index_saved_text(
            collection.id,
            SAVED_TEXT_FOLDER / str(attachment.id) / attachment.name,
            saved_text_blocks(attachment.text),
            kind=attachment.kind,
            pages=attachment.pages,
            sha256=hashlib.sha256(attachment.text.encode("utf-8")).hexdigest(),
            state=state,
        )
        if report.cancelled:
            break
        store.set_collection(attachment.id, collection.id)
        done += 1
    return done


@dataclass(frozen=True)
class GroundedTurn:
    """The turns to send, with the documents and files in the newest question, and the facts
    the answer's provenance keeps (empty: no documents nor files)."""

    turns: list[ChatTurn]
    facts: dict[str, Any]


def ground_with_files(
    documents: DocumentLibrary | None,
    store: AttachmentStore,
    messages: Sequence[Message],
    question: Message,
    turns: list[ChatTurn],
    retrieval: Retrieval | None,
    collections: Sequence[str | int],
    *,
    tokenize: Tokenize,
    n_ctx: int,
    max_tokens: int,
) -> GroundedTurn:
    """The newest question grounded in the collections picked and in every file attached to
    the conversation's questions (see the module's docstring), and the provenance facts.

    `retrieval`: passages already searched (by the GUI's embedding worker); else the
    collections and the long files' collections are searched here.
    """
    files = shown_attachments(store, messages)
    long = [
        a
        for a in files
        if not a.whole
        and a.collection_id is not None
        and (documents is None or has_usable_index(documents, a))
    ]
    long_collections = sorted({a.collection_id for a in long if a.collection_id is not None})
    searched: list[str | int] = [*collections, *long_collections]
    if retrieval is None and searched and documents is not None:
        retrieval = retrieve(documents, turns[_last_question(turns)].content, searched)
    if retrieval is not None:
        retrieval = only_shown_files(retrieval, long)
    facts: dict[str, Any] = {}
    turns_before = list(turns)
    if retrieval is not None or collections:
        if retrieval is None:
            raise LocalAIError("Document collections are not available here.")
        turns, facts = ground_retrieved(
            turns, retrieval, tokenize=tokenize, n_ctx=n_ctx, max_tokens=max_tokens
        )
        hidden = conversation_collection_name(question.conversation_id)
        only_earlier_files = (
            bool(long)
            and not any(a.message_id == question.id for a in long)
            and set(retrieval.collection_names) <= {hidden}
        )
        if not facts["retrieval"]["relevant_found"] and only_earlier_files:
            # Only earlier questions' files were searched, and this question is about
            # something else: answer it as it is rather than refuse it.
            turns, facts = list(turns_before), {}
        elif long:
            # The hidden collection is named by the files in it, not by its inner name.
            shown = [n for n in facts["collections"] if n != hidden]
            facts["collections"] = shown + list(dict.fromkeys(a.name for a in long))
    if not files:
        return GroundedTurn(turns, facts)
    turns = list(turns)
    last = _last_question(turns)
    own = [a for a in files if a.message_id == question.id and a.whole]
    with_own = prompt_with_files(turns[last].content, own)
    used = sum(len(tokenize(t.content)) for t in turns if t.role == "system")
    room = int(prompt_room(n_ctx, max_tokens) * FILES_SHARE) - used - len(tokenize(with_own))
    earlier: list[Attachment] = []
    left_out: list[Attachment] = []
    for attachment in reversed([a for a in files if a.message_id != question.id and a.whole]):
        cost = len(tokenize(prompt_with_files("", [attachment]))) + 2
        if cost <= room:
            earlier.insert(0, attachment)
            room -= cost
        else:
            left_out.append(attachment)
    turns[last] = ChatTurn("user", prompt_with_files(turns[last].content, [*earlier, *own]))
    # Long files whose passages are missing here (not indexed again: no embedding model).
    unsearched = [a for a in files if not a.whole and a not in long]
    facts = {
        **facts,
        "attachments": [_used(a, question, [*left_out, *unsearched]) for a in files],
    }
    if left_out:
        facts["attachments_left_out"] = [a.name for a in reversed(left_out)]
    if unsearched:
        facts["attachments_not_searched"] = [a.name for a in unsearched]
    return GroundedTurn(turns, facts)


def _last_question(turns: Sequence[ChatTurn]) -> int:
    return max(i for i, t in enumerate(turns) if t.role == "user")


def only_shown_files(retrieval: Retrieval, long: Sequence[Attachment]) -> Retrieval:
    """The passages found, less those of files attached to versions of questions not shown
    (the conversation's collection holds every version's files)."""
    hidden = {a.collection_id for a in long}
    names = {a.name for a in long}
    hits = tuple(h for h in retrieval.hits if h.collection_id not in hidden or h.file_name in names)
    if len(hits) == len(retrieval.hits):
        return retrieval
    return Retrieval(retrieval.question, retrieval.collection_names, hits, retrieval.seconds)


def _used(attachment: Attachment, question: Message, left_out: list[Attachment]) -> dict[str, Any]:
    facts = attachment.to_json()
    if attachment in left_out:
        facts["used"] = USED_LEFT_OUT
    if attachment.message_id != question.id:
        facts["earlier_question"] = attachment.message_id
    return facts


def passage_to_open(
    documents: DocumentLibrary,
    attachment: Attachment,
    answers: Sequence[Message],
) -> dict[str, Any] | None:
    """Where the passage viewer opens a long attached file: at the first passage of it that
    one of `answers` (those after its question, first one first) cites, else at the file's
    first passage; None when it has no passages here (see files_to_index)."""
    for answer in answers:
        for source in answer.provenance.sources or ():
            cited_collection = source.get("collection")
            same_file = source.get("file_name") == attachment.name
            if same_file and (
                cited_collection is None
                or _is_collection(documents, cited_collection, attachment.collection_id)
            ):
                return {k: v for k, v in source.items() if k != "collection"}
    if attachment.whole:
        return None
    for file in _indexed_files(documents, attachment):
        chunk = documents.store.first_chunk(file.id)
        if chunk is not None:
            return {
                "chunk_id": chunk.id,
                "file": str(chunk.file_path),
                "file_name": attachment.name,
                "page": chunk.page,
                "heading": chunk.heading,
                "text": chunk.text,
            }
    return None


def _is_collection(documents: DocumentLibrary, name: object, collection_id: int | None) -> bool:
    try:
        return documents.get(str(name)).id == collection_id
    except NotFoundError:
        return False
