"""How much of the model's memory (context) a conversation takes, and what was left out of it.

Before sending, `measure_context_use` estimates what the conversation, the attached documents
and the message being typed will take, so the Chat tab can warn (amber, then red) before
anything is cut. After an answer, `left_out_notes` reads its provenance and says in plain words
what did not fit (earlier messages, passages, the beginning of a long message) and what to do;
the Chat tab shows them on the answer and `localai chat` prints them on stderr.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from localai_desktop.core.chat.conversation_files import FILES_SHARE
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.common.enums import StrEnum
from localai_desktop.core.documents.grounding import sources_budget
from localai_desktop.core.inference.prompt import prompt_room

# Share of the prompt's room from which the counter turns amber: close to full.
NEARLY_FULL_SHARE = 0.8
# Tokens each message costs beyond its words (role markers of the chat format).
_PER_MESSAGE_TOKENS = 6

WHAT_TO_DO = (
    "To keep more, raise “Memory” in the chat's settings (if the model allows), start a new "
    "chat, or add long texts to a document collection instead of pasting them."
)


def estimate_tokens(text: str) -> int:
    """About how many tokens `text` takes, without the model's tokenizer.

    Generous on purpose (a warning a little early beats a cut that was not announced): English
    runs at about four characters or three quarters of a word per token; code, numbers and
    other scripts take more tokens per character.
    """
    if not text:
        return 0
    words = len(text.split())
    non_ascii = sum(1 for c in text if ord(c) > 127)
    by_chars = (len(text) - non_ascii) / 4 + non_ascii
    return math.ceil(max(by_chars, words * 4 / 3))


class ContextLevel(StrEnum):
    """How full the model's memory will be: fine, nearly full (amber), too full (red)."""

    FINE = "fine"
    NEARLY_FULL = "nearly full"
    TOO_FULL = "too full"


@dataclass(frozen=True)
class ContextUse:
    """An estimate of what the next prompt takes, in tokens."""

    n_ctx: int
    room: int  # what the prompt may take (the rest is kept for the answer)
    conversation: int  # system prompt and earlier messages
    documents: int  # at most this much for passages (0 without documents)
    message: int  # the message being typed

    @property
    def used(self) -> int:
        return self.conversation + self.documents + self.message

    @property
    def level(self) -> ContextLevel:
        if self.used > self.room:
            return ContextLevel.TOO_FULL
        if self.used > NEARLY_FULL_SHARE * self.room:
            return ContextLevel.NEARLY_FULL
        return ContextLevel.FINE

    @property
    def message_alone_too_long(self) -> bool:
        return self.message + self.documents > self.room

    def describe(self) -> str:
        """One line under the message box: "About 1,200 of 32,768 tokens of memory used"."""
        parts = [f"conversation {self.conversation:,}"]
        if self.documents:
            parts.append(f"documents up to {self.documents:,}")
        if self.message:
            parts.append(f"your message {self.message:,}")
        text = (
            f"About {self.used:,} of {self.n_ctx:,} tokens of memory ({', '.join(parts)}; "
            f"{self.n_ctx - self.room:,} kept for the answer)."
        )
        if self.level is ContextLevel.TOO_FULL:
            if self.message_alone_too_long:
                text += (
                    " Your message is too long: its beginning would be left out. Raise "
                    "“Memory”, or add the text to a document collection instead."
                )
            else:
                text += (
                    " Too long: the oldest messages would be left out. Raise “Memory” or "
                    "start a new chat to keep them."
                )
        elif self.level is ContextLevel.NEARLY_FULL:
            text += " Nearly full: the oldest messages will soon be left out."
        return text


def measure_context_use(
    *,
    n_ctx: int,
    max_tokens: int,
    system_prompt: str,
    messages: Sequence[str],
    draft: str,
    with_documents: bool,
    attached_chars: int = 0,
    earlier_attached_chars: int = 0,
) -> ContextUse:
    """Estimate what sending `draft` now would take of a context of `n_ctx` tokens.

    `attached_chars`: the text of files attached to it that goes into the prompt whole (about;
    a long attached file is searched like documents: `with_documents`).
    `earlier_attached_chars`: short files attached to earlier questions, read whole again
    while they fit their share (chat.conversation_files.FILES_SHARE; the rest is left out).
    """
    conversation = estimate_tokens(system_prompt) + sum(
        estimate_tokens(m) + _PER_MESSAGE_TOKENS for m in messages
    )
    if earlier_attached_chars:
        share = int(prompt_room(n_ctx, max_tokens) * FILES_SHARE)
        conversation += min(math.ceil(earlier_attached_chars / 4), share)
    message = estimate_tokens(draft) + _PER_MESSAGE_TOKENS if draft.strip() else 0
    message += math.ceil(attached_chars / 4)  # read whole into the question
    documents = (
        sources_budget(n_ctx, max_tokens, estimate_tokens(system_prompt)) if with_documents else 0
    )
    return ContextUse(n_ctx, prompt_room(n_ctx, max_tokens), conversation, documents, message)


def left_out_notes(provenance: Provenance) -> list[str]:
    """What did not fit in the model's memory for this answer, in plain words ([] if nothing).

    The last note says what to do about it.
    """
    notes: list[str] = []
    stats = provenance.stats
    n_ctx = provenance.n_ctx or (stats.n_ctx if stats is not None else 0)
    memory = f" ({n_ctx:,} tokens)" if n_ctx else ""
    trimmed = stats.trimmed_messages if stats is not None else 0
    if trimmed:
        which = "earlier message was" if trimmed == 1 else "earlier messages were"
        notes.append(
            f"{trimmed} {which} left out: the conversation did not fit the model's "
            f"memory{memory}; the answer did not see them."
        )
    notes.extend(provenance.prompt_warnings or ())
    retrieval = provenance.retrieval or {}
    passages = retrieval.get("passages_left_out")
    if isinstance(passages, int) and passages > 0:
        which = "passage" if passages == 1 else "passages"
        notes.append(
            f"{passages} relevant {which} from your documents did not fit the model's "
            f"memory{memory} and {'was' if passages == 1 else 'were'} left out."
        )
    files = provenance.extra.get("attachments_left_out")
    if isinstance(files, list) and files:
        names = ", ".join(f"“{n}”" for n in files if isinstance(n, str))
        which = "file" if len(files) == 1 else "files"
        notes.append(
            f"The {which} {names} attached to an earlier question did not fit the model's "
            f"memory{memory} and {'was' if len(files) == 1 else 'were'} left out; attach "
            f"{'it' if len(files) == 1 else 'them'} again to this question to use "
            f"{'it' if len(files) == 1 else 'them'}."
        )
    unsearched = provenance.extra.get("attachments_not_searched")
    if isinstance(unsearched, list) and unsearched:
        names = ", ".join(f"“{n}”" for n in unsearched if isinstance(n, str))
        notes.append(
            f"{names} could not be searched: its passages are not on this computer (the "
            "conversation was imported) and reading it again needs an embedding model. Import "
            "one in the Models tab, then ask again."
        )
    cut = [s for s in provenance.sources or () if s.get("truncated")]
    if cut:
        numbers = ", ".join(f"[{s.get('n')}]" for s in cut)
        notes.append(f"Source {numbers} was shortened to fit the model's memory.")
    if notes:
        notes.append(WHAT_TO_DO)
    return notes
