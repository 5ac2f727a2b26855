"""A conversation's title suggested by the model from its first question and answer.

Run on the thread that owns the model (the GUI's chat worker), after the first answer, with the
model already loaded: a few tokens, never a load of its own. A title a person gave is never
replaced (ConversationStore.suggest_title).
"""

from __future__ import annotations

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import plan_prompt

# The first exchange, cut to this many characters each: enough to say what it is about,
# little enough that reading it costs the next answer almost nothing.
EXCERPT_CHARS = 600
TITLE_TOKENS = 16
INSTRUCTION = (
    "Write a short title (at most six words) for the conversation below. Answer with the "
    "title only, without quotes."
)


def first_exchange(store: ConversationStore, conversation_id: int) -> tuple[str, str] | None:
    """The first question and its answer, when a title may be suggested from them."""
    conversation = store.get(conversation_id)
    if conversation.title_origin != "auto" or len(conversation.messages) < 2:
        return None
    question, answer = conversation.messages[:2]
    if question.role != "user" or answer.role != "assistant" or not answer.content.strip():
        return None
    if answer.status is MessageStatus.FAILED:
        return None
    return question.content[:EXCERPT_CHARS], answer.content[:EXCERPT_CHARS]


def suggest_title(
    store: ConversationStore,
    engine: LlamaEngine,
    conversation_id: int,
    *,
    cancel: Cancellation | None = None,
) -> str | None:
    """Ask the loaded model for a title and save it (unless a person titled the conversation
    meanwhile); returns the title saved, or None (no model loaded, nothing to go on, stopped)."""
    exchange = first_exchange(store, conversation_id)
    loaded = engine.loaded
    if exchange is None or loaded is None:
        return None
    question, answer = exchange
    turns = [
        ChatTurn("system", INSTRUCTION),
        ChatTurn("user", f"Question: {question}\n\nAnswer: {answer}\n\nTitle:"),
    ]
    plan = plan_prompt(
        turns,
        engine.formatter,
        engine.tokenize,
        n_ctx=loaded.n_ctx,
        max_tokens=TITLE_TOKENS,
        bos_token_ids=engine.bos_token_ids,
    )
    parts: list[str] = []
    settings = GenerationSettings(temperature=0.2, max_tokens=TITLE_TOKENS, seed=1)
    engine.generate(plan, settings, parts.append, cancel=cancel)
    if cancel is not None and cancel.is_set():
        return None
    title = tidy_title("".join(parts))
    if title and store.suggest_title(conversation_id, title):
        return store.get(conversation_id).title
    return None


def tidy_title(text: str) -> str:
    """The first line of what the model wrote, without "Title:", quotes or a final full stop."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if line.lower().startswith("title:"):
        line = line[len("title:") :].strip()
    words = line.strip(" \"'“”*#.").split()
    return " ".join(words[:10])
