"""API requests kept as conversations, for people who asked the app to (off by default).

A chat completion becomes a conversation of its messages and the answer; a text completion
one of its prompt and the answer. They are stored in the workspace's database like any other
conversation (so a protected workspace encrypts them), titled so a person sees where they came
from, and the answer's record says it was written for the API, with which model and how it
ended. A request that failed, or whose client left before the answer ended, is not kept.
"""

from __future__ import annotations

from typing import Any

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.server.jobs import CANCELLED, Finished, GenerationJob

API_TITLE_PREFIX = "API: "
# The roles a conversation shows; a client's other roles ("tool", "developer") are kept as
# what is closest to them, so the conversation reads as the model saw it.
_SHOWN_ROLES = {"user": "user", "assistant": "assistant", "tool": "user", "function": "user"}


def save_as_conversation(store: ConversationStore, job: GenerationJob) -> int | None:
    """Keep a finished API job as a new conversation; its id, or None when not kept."""
    outcome = job.outcome
    if not isinstance(outcome, Finished) or outcome.finish_reason == CANCELLED:
        return None
    turns = job.turns if job.prompt is None else (ChatTurn("user", job.prompt),)
    system = "\n\n".join(t.content for t in turns if t.role in ("system", "developer"))
    shown = [t for t in turns if t.role not in ("system", "developer")]
    first_question = next((t.content for t in shown if t.role == "user"), "")
    conversation = store.create(
        API_TITLE_PREFIX + (" ".join(first_question.split())[:50] or job.model.name),
        system_prompt=system,
        model_id=job.model.id,
    )
    for turn in shown:
        store.add_message(conversation.id, _SHOWN_ROLES.get(turn.role, "user"), turn.content)
    store.add_message(
        conversation.id,
        "assistant",
        job.text,
        status=MessageStatus.COMPLETE,
        provenance=_provenance(job, outcome),
    )
    return conversation.id


def _provenance(job: GenerationJob, outcome: Finished) -> dict[str, Any]:
    return {
        "model_id": job.model.id,
        "model_name": job.model.name,
        "model_file": job.model.path.name,
        "model_sha256": job.model.sha256,
        "api_endpoint": "/v1/completions" if job.prompt is not None else "/v1/chat/completions",
        "api_finish_reason": outcome.finish_reason,
        "api_prompt_tokens": outcome.prompt_tokens,
        "api_completion_tokens": outcome.completion_tokens,
    }
