"""Turning a conversation into prompt tokens: the model's chat template, a fallback, trimming."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.models.chat_template import (
    TEMPLATE_BROKEN,
    ChatTemplate,
    ChatTemplateLimitError,
)

log = logging.getLogger(__name__)

Tokenize = Callable[[str], list[int]]
"""Text (with special tokens spelled out) to token ids, without adding BOS."""

# Models without a chat template (base models such as stories260K) still get a readable,
# unambiguous transcript; the stop strings end the answer where the model starts a new turn.
FALLBACK_USER = "### User:\n"
FALLBACK_ASSISTANT = "### Assistant:\n"
FALLBACK_STOPS = ("\n### User:", "\n### Assistant:", "### User:")

# Room always left for the answer, even when the user asked for a long one and the history is
# long: the oldest history goes first.
MIN_ANSWER_TOKENS = 64
# A conversation longer than this many characters per token of room is cut by characters before
# it is rendered: no tokenizer packs more into a token, and rendering and tokenizing the whole of
# a very long one, once per dropped turn, would take long.
MAX_CHARS_PER_TOKEN = 16


@dataclass(frozen=True)
class PromptPlan:
    """The exact tokens sent to the model and how the conversation was fitted into them."""

    tokens: list[int]
    text: str
    stop_strings: tuple[str, ...]
    max_tokens: int
    trimmed_messages: int
    used_template: bool
    warnings: tuple[str, ...] = field(default=())


class ChatFormatter:
    """Renders turns with the GGUF's own `tokenizer.chat_template`, within limits.

    A template that does not compile, or that goes past the renderer's limits of time and size
    (core.models.chat_template), is not used again: from then on the standard format is, and
    `refused` says why (a verdict such as "too_slow").
    """

    def __init__(
        self,
        template: str | None,
        *,
        bos_token: str,
        eos_token: str,
        stops: tuple[str, ...] = (),
    ) -> None:
        self.bos_token = bos_token
        self.eos_token = eos_token
        # A built-in format's turn markers (core.models.prompt_formats): a model that was not
        # trained on them may write them as text rather than end its turn.
        self.stops = stops
        self._template: ChatTemplate | None = None
        self.refused: str | None = None
        if template:
            from jinja2 import TemplateError

            try:
                self._template = ChatTemplate(template)
            except ChatTemplateLimitError as error:
                self._refuse(error)
            except TemplateError as error:
                # A broken template must not make the model unusable; the fallback still works.
                log.warning(
                    "The model's chat template does not compile (%s); using fallback", error
                )
                self.refused = TEMPLATE_BROKEN

    @property
    def has_template(self) -> bool:
        return self._template is not None

    def render(self, turns: Sequence[ChatTurn]) -> tuple[str, tuple[str, ...], bool]:
        """Prompt text, stop strings, and whether the model's template was used."""
        if self._template is not None:
            from jinja2 import TemplateError

            for candidate in (list(turns), _merge_system_into_user(turns)):
                try:
                    text = self._template.render(
                        [{"role": t.role, "content": t.content} for t in candidate],
                        bos_token=self.bos_token,
                        eos_token=self.eos_token,
                        add_generation_prompt=True,
                    )
                except ChatTemplateLimitError as error:
                    self._refuse(error)
                    break
                except (TemplateError, TypeError, ValueError, LookupError) as error:
                    log.info("Chat template refused the messages (%s); retrying", error)
                    continue
                if not _system_prompt_kept(candidate, text):
                    # Some templates (Phi-3's) silently drop the system role; the person's
                    # instructions must still reach the model.
                    continue
                stops = (self.eos_token,) if self.eos_token else ()
                return text, (*stops, *self.stops), True
        return _render_fallback(turns), FALLBACK_STOPS, False

    def _refuse(self, error: ChatTemplateLimitError) -> None:
        log.warning("The model's chat template went past a limit (%s); using fallback", error)
        self._template = None
        self.refused = error.verdict


def _system_prompt_kept(turns: Sequence[ChatTurn], text: str) -> bool:
    return all(t.content.strip() in text for t in turns if t.role == "system")


def _merge_system_into_user(turns: Sequence[ChatTurn]) -> list[ChatTurn]:
    """Some templates (Gemma, Mistral) reject a system role: prepend it to the first user turn."""
    system = "\n\n".join(t.content for t in turns if t.role == "system" and t.content)
    rest = [t for t in turns if t.role != "system"]
    if system and rest and rest[0].role == "user":
        rest[0] = ChatTurn("user", f"{system}\n\n{rest[0].content}")
    return rest


def _render_fallback(turns: Sequence[ChatTurn]) -> str:
    parts: list[str] = []
    for turn in turns:
        if turn.role == "system":
            if turn.content.strip():
                parts.append(turn.content.strip() + "\n\n")
        elif turn.role == "user":
            parts.append(f"{FALLBACK_USER}{turn.content.strip()}\n\n")
        else:
            parts.append(f"{FALLBACK_ASSISTANT}{turn.content.strip()}\n\n")
    parts.append(FALLBACK_ASSISTANT)
    return "".join(parts)


def prompt_room(n_ctx: int, max_tokens: int) -> int:
    """Tokens the prompt may take: the context less the room kept for the answer."""
    answer_room = max(MIN_ANSWER_TOKENS, min(max_tokens, n_ctx // 2))
    answer_room = min(answer_room, max(n_ctx - 16, 1))
    return n_ctx - answer_room


def plan_prompt(
    turns: Sequence[ChatTurn],
    formatter: ChatFormatter,
    tokenize: Tokenize,
    *,
    n_ctx: int,
    max_tokens: int,
    bos_token_ids: Sequence[int] = (),
) -> PromptPlan:
    """Fit the conversation into the context window, dropping the oldest turns first.

    The system prompt is always kept. If the newest message alone is too long, its beginning is
    cut. Never raises for length: a long history is trimmed, not an error.
    """
    budget = prompt_room(n_ctx, max_tokens)
    system = [t for t in turns if t.role == "system" and t.content.strip()]
    history = [t for t in turns if t.role != "system"]
    trimmed = 0
    warnings: list[str] = []
    chars = sum(len(t.content) for t in [*system, *history])
    while len(history) > 1 and chars > budget * MAX_CHARS_PER_TOKEN:
        chars -= len(history.pop(0).content)
        trimmed += 1
        while len(history) > 1 and history[0].role != "user":
            chars -= len(history.pop(0).content)
            trimmed += 1

    while True:
        text, stops, used_template = formatter.render([*system, *history])
        tokens = _with_bos(tokenize(text), text, formatter.bos_token, bos_token_ids)
        if len(tokens) <= budget:
            break
        if len(history) > 1:
            # Drop the oldest turn, and any assistant turn left leading, so the history still
            # starts with the user as most templates require.
            history.pop(0)
            trimmed += 1
            while len(history) > 1 and history[0].role != "user":
                history.pop(0)
                trimmed += 1
            continue
        # Only the newest message is left and it is still too long: keep its end.
        last = history[-1] if history else ChatTurn("user", "")
        overflow = len(tokens) - budget
        content_tokens = tokenize(last.content)
        if len(content_tokens) <= overflow + 8 or not content_tokens:
            # The system prompt itself is too long; drop it rather than fail.
            if system:
                system = []
                warnings.append("The system prompt was too long for the context and was left out.")
                continue
            tokens = tokens[-budget:]
            break
        kept = content_tokens[overflow + 8 :]
        history[-1] = ChatTurn(
            last.role, "…" + _detokenize_hint(last.content, len(kept), len(content_tokens))
        )
        warnings.append("Your message was too long for the context; its beginning was left out.")
    return PromptPlan(
        tokens=tokens,
        text=text,
        stop_strings=stops,
        max_tokens=max(1, min(max_tokens, n_ctx - len(tokens))),
        trimmed_messages=trimmed,
        used_template=used_template,
        warnings=tuple(warnings),
    )


def _detokenize_hint(content: str, kept_tokens: int, total_tokens: int) -> str:
    """The end of `content`, roughly kept_tokens/total_tokens of it (characters stand in)."""
    keep_chars = max(1, int(len(content) * kept_tokens / max(total_tokens, 1)))
    return content[-keep_chars:]


def _with_bos(tokens: list[int], text: str, bos_text: str, bos_ids: Sequence[int]) -> list[int]:
    # Templates usually write the BOS token themselves; add it only where they did not.
    if not bos_ids or (bos_text and text.startswith(bos_text)):
        return tokens
    if tokens[: len(bos_ids)] == list(bos_ids):
        return tokens
    return [*bos_ids, *tokens]
