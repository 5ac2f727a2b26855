"""One chat turn answered by a remote engine's model (`NAME/MODEL_ID`), saved as it streams.

The same turn as ChatService.reply for a local model, less what only a local model has (its
file, chat template, adapters): the conversation and its passages go to the remote as
messages, the answer streams back, and its record says where it was made and that the text
was sent there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from localai_desktop import __version__
from localai_desktop.core.chat.conversations import Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.logs import content_for_log
from localai_desktop.core.documents.grounding import (
    ECHO_STOPS,
    NOT_COVERED_ANSWER,
    Retrieval,
)
from localai_desktop.core.inference.generation import (
    ChatTurn,
    GenerationSettings,
)
from localai_desktop.core.remotes.engine import RemoteModel, approximate_tokens, stream_chat

if TYPE_CHECKING:
    from localai_desktop.core.chat.service import ChatService

TextCallback = Callable[[str], None]


def remote_provenance(model: RemoteModel, settings: GenerationSettings, n_ctx: int) -> Provenance:
    """The record of an answer from a remote model, before it is written."""
    return Provenance(
        model_name=model.reference,
        settings=settings,
        n_ctx=n_ctx,
        app_version=__version__,
    ).merged(model.provenance_facts())


def reply_remote(
    service: ChatService,
    model: RemoteModel,
    conversation_id: int,
    *,
    settings: GenerationSettings,
    on_text: TextCallback,
    cancel: Cancellation | None,
    on_started: Callable[[Message], None] | None,
    adapter: object | None,
    collections: Sequence[str | int],
    retrieval: Retrieval | None,
    version_of: int | None,
) -> Message:
    """Answer the conversation with a remote model; see ChatService.reply."""
    from localai_desktop.core.chat.service import _PROMPT_STATUSES, log

    if adapter is not None:
        raise LocalAIError(
            f"'{model.reference}' runs on another computer, so this app's adapters cannot be "
            "applied to it.",
            "Choose no adapter, or a model on this computer.",
        )
    store = service.store
    conversation, question_message = service.question_to_answer(conversation_id, version_of)
    log.debug(
        "Answering in conversation %s with %s: %s",
        conversation_id,
        model.reference,
        content_for_log(question_message.content),
    )
    if service.remotes is not None:
        # Offline mode, reachable, key taken, model known: before anything is saved or sent.
        model = service.remotes.ready(model)
    n_ctx = model.context_length(settings)
    turns = [ChatTurn("system", conversation.system_prompt)] if conversation.system_prompt else []
    turns += [
        ChatTurn(m.role, m.content)
        for m in conversation.messages
        if m.status in _PROMPT_STATUSES and m.content.strip()
    ]
    # The same documents and attached files as a local turn; the long files' passages are
    # found with this computer's embedding model, only the words found are sent.
    grounded = service.ground_with_files(
        conversation.messages,
        question_message,
        turns,
        retrieval,
        collections,
        tokenize=approximate_tokens,
        n_ctx=n_ctx,
        max_tokens=settings.max_tokens,
    )
    turns, document_facts = grounded.turns, grounded.facts
    provenance = remote_provenance(model, settings, n_ctx).merged(document_facts)
    answer = store.add_message(
        conversation_id,
        "assistant",
        "",
        status=MessageStatus.INTERRUPTED,
        provenance=provenance,
        version_of=version_of,
    )
    if on_started is not None:
        on_started(answer)
    if "retrieval" in document_facts and not document_facts["retrieval"]["relevant_found"]:
        names = ", ".join(f"“{n}”" for n in document_facts["collections"])
        text = NOT_COVERED_ANSWER.format(names=names)
        on_text(text)
        return store.finish_answer(
            answer.id,
            question=question_message,
            content=text,
            status=MessageStatus.COMPLETE,
            provenance=provenance,
        )
    return service.write_answer(
        answer,
        question_message,
        provenance,
        lambda on_piece: stream_chat(
            model,
            turns,
            settings,
            on_piece,
            cancel=cancel,
            stop=ECHO_STOPS if document_facts else (),
            n_ctx=n_ctx,
        ),
        on_text,
        with_stats=lambda facts, stats: replace(
            facts, stats=stats, settings=replace(settings, seed=stats.seed)
        ),
    )
