"""Examples as the model will see them in chat: its own chat template, tokens, and loss masks.

Training must show the model exactly what chat sends it at inference time, or the adapter
learns a format it never meets. So the prompt part of every example is rendered the way
`core.inference.prompt.ChatFormatter` renders a chat (the GGUF's `tokenizer.chat_template`
through the same bounded renderer, or the same "### User:/### Assistant:" fallback for models
without one), tokenized by llama.cpp's own tokenizer, and only the assistant's tokens (with the
end-of-turn marker) carry a loss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.inference.prompt import FALLBACK_ASSISTANT, FALLBACK_USER
from localai_desktop.core.models.chat_template import ChatTemplate, ChatTemplateLimitError

log = logging.getLogger(__name__)

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy skips: no loss on prompt tokens


class Tokenizer(Protocol):
    """What rendering needs from a tokenizer (see `tokenizer.GgufTokenizer`)."""

    bos_ids: tuple[int, ...]
    eos_id: int | None
    bos_text: str
    eos_text: str

    def tokenize(self, text: str) -> list[int]:
        """Token ids of `text`, special tokens recognised, no BOS added."""
        ...


@dataclass(frozen=True)
class TokenizedExample:
    """Model input and labels; labels are IGNORE_INDEX where nothing is learned."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE_INDEX)


class TrainingFormatter:
    """Renders a conversation into (text, learned?) segments, as chat would prompt with it."""

    def __init__(self, template: str | None, *, bos_text: str, eos_text: str) -> None:
        self.bos_text = bos_text
        self.eos_text = eos_text
        self._template: ChatTemplate | None = None
        if template:
            from jinja2 import TemplateError

            try:
                # The same bounded renderer as chat (core.models.chat_template).
                self._template = ChatTemplate(template)
            except (TemplateError, ChatTemplateLimitError):
                self._template = None  # chat falls back too (ChatFormatter does the same)

    @property
    def uses_template(self) -> bool:
        return self._template is not None

    def segments(self, turns: Sequence[ChatTurn]) -> list[tuple[str, bool]]:
        """The conversation as consecutive text pieces, each marked True where it is learned."""
        if self._template is None:
            return _fallback_segments(turns)
        from jinja2 import TemplateError

        for candidate in (list(turns), _merge_system_into_user(turns)):
            try:
                segments = self._template_segments(candidate)
            except ChatTemplateLimitError as error:
                # As chat does: a template past the limits is not used again.
                log.warning("The chat template went past a limit (%s); using fallback", error)
                self._template = None
                break
            except TemplateError:
                continue
            if segments is not None:
                return segments
        return _fallback_segments(turns)

    def _render(self, turns: Sequence[ChatTurn], *, generation_prompt: bool) -> str:
        assert self._template is not None
        return self._template.render(
            [{"role": t.role, "content": t.content} for t in turns],
            bos_token=self.bos_text,
            eos_token=self.eos_text,
            add_generation_prompt=generation_prompt,
        )

    def _template_segments(self, turns: Sequence[ChatTurn]) -> list[tuple[str, bool]] | None:
        full_text = self._render(turns, generation_prompt=False)
        if not all(t.content.strip() in full_text for t in turns if t.role == "system"):
            return None  # the template dropped the system prompt; chat retries merged too
        segments: list[tuple[str, bool]] = []
        done = ""
        answers = [i for i, t in enumerate(turns) if t.role == "assistant"]
        for index in answers:
            prompt = self._render(turns[:index], generation_prompt=True)
            with_answer = self._render(turns[: index + 1], generation_prompt=False)
            if not (prompt.startswith(done) and with_answer.startswith(prompt)):
                # Some templates rewrite earlier turns (for example dropping old reasoning):
                # then only the last answer, with everything before it as prompt, is learned.
                last = answers[-1]
                prompt = self._render(turns[:last], generation_prompt=True)
                if not full_text.startswith(prompt):
                    return None
                return [(prompt, False), (full_text[len(prompt) :], True)]
            segments += [(prompt[len(done) :], False), (with_answer[len(prompt) :], True)]
            done = with_answer
        if full_text[len(done) :]:
            segments.append((full_text[len(done) :], False))
        return segments


def _merge_system_into_user(turns: Sequence[ChatTurn]) -> list[ChatTurn]:
    """As chat does for templates that refuse a system role: prepend it to the first question."""
    system = "\n\n".join(t.content for t in turns if t.role == "system" and t.content)
    rest = [t for t in turns if t.role != "system"]
    if system and rest and rest[0].role == "user":
        rest[0] = ChatTurn("user", f"{system}\n\n{rest[0].content}")
    return rest


def _fallback_segments(turns: Sequence[ChatTurn]) -> list[tuple[str, bool]]:
    """The same transcript as `prompt._render_fallback`; the end of the text is learned as EOS."""
    segments: list[tuple[str, bool]] = []
    for turn in turns:
        if turn.role == "system":
            if turn.content.strip():
                segments.append((turn.content.strip() + "\n\n", False))
        elif turn.role == "user":
            segments.append((f"{FALLBACK_USER}{turn.content.strip()}\n\n", False))
        else:
            segments.append((FALLBACK_ASSISTANT, False))
            segments.append((turn.content.strip(), True))
            segments.append(("\n\n", False))
    while segments and not segments[-1][1]:
        segments.pop()  # nothing after the last answer: it is followed by the end token
    return segments


def tokenize_example(
    formatter: TrainingFormatter, tokenizer: Tokenizer, turns: Sequence[ChatTurn]
) -> TokenizedExample:
    """Input ids and labels for one conversation.

    Text is tokenized cumulatively (the prompt as one string, as chat does), so token
    boundaries are those llama.cpp makes at inference. Without a chat template, the end token
    follows the last answer so the model learns to stop.
    """
    segments = formatter.segments(turns)
    text = ""
    tokens: list[int] = []
    learned: list[bool] = []
    for piece, trained in segments:
        text += piece
        now = _with_bos(tokenizer.tokenize(text), text, tokenizer)
        common = _common_prefix(tokens, now)
        # A merge across the boundary re-tokenizes the end of the previous piece: those
        # tokens now belong to this piece.
        learned = learned[:common] + [trained] * (len(now) - common)
        tokens = now
    if not formatter.uses_template and tokenizer.eos_id is not None:
        tokens.append(tokenizer.eos_id)
        learned.append(True)
    labels = [t if keep else IGNORE_INDEX for t, keep in zip(tokens, learned, strict=True)]
    return TokenizedExample(tokens, labels)


def _with_bos(tokens: list[int], text: str, tokenizer: Tokenizer) -> list[int]:
    # As prompt._with_bos: templates usually write BOS themselves; add it where they did not.
    bos_ids = list(tokenizer.bos_ids)
    if not bos_ids or (tokenizer.bos_text and text.startswith(tokenizer.bos_text)):
        return tokens
    if tokens[: len(bos_ids)] == bos_ids:
        return tokens
    return [*bos_ids, *tokens]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def token_counter(
    formatter: TrainingFormatter, tokenizer: Tokenizer
) -> Callable[[Sequence[ChatTurn]], int]:
    """A function giving the token count of a conversation, as training will see it."""

    def count(turns: Sequence[ChatTurn]) -> int:
        return len(tokenize_example(formatter, tokenizer, turns).input_ids)

    return count
