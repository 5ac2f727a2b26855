"""Prompt lookup decoding: draft tokens copied from the prompt, checked in one batch.

Answers that quote or rework given text (a document question, "rewrite this paragraph") repeat
runs of the prompt's tokens. After each token the last few tokens are looked up in everything
so far; the tokens that followed them there are the draft. One `llama_decode` of the new token
plus the draft gives logits for every position; the sampler chain then samples each position
in turn, exactly as one-by-one decoding would, and keeps the draft while it agrees. The first
disagreement is itself the right next token (sampled from the right logits), and the rest of
the draft is dropped from the KV cache. Same sampler calls, same order: the same text as
`stream_tokens` at temperature 0 (tests/core/inference/test_prompt_lookup.py).
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING

from localai_desktop.core.inference.token_stream import start_sampling

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar

DRAFT_TOKENS = 8
NGRAM_SIZES = (3, 2)


class _NgramIndex:
    """Where each recent n-gram last appeared, updated as tokens are appended."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.tokens: list[int] = []
        self._after: dict[tuple[int, ...], int] = {}
        for token in tokens:
            self.append(token)

    def append(self, token: int) -> None:
        # Record, for each size, that the n-gram ending just before `token` is followed by it.
        self.tokens.append(token)
        end = len(self.tokens) - 1
        for size in NGRAM_SIZES:
            if end >= size:
                self._after[tuple(self.tokens[end - size : end])] = end

    def draft(self, limit: int) -> list[int]:
        """The tokens that followed the latest earlier occurrence of the current suffix."""
        for size in NGRAM_SIZES:
            if len(self.tokens) <= size:
                continue
            start = self._after.get(tuple(self.tokens[-size:]))
            if start is not None and start < len(self.tokens):
                return self.tokens[start : start + limit]
        return []


def stream_tokens_with_lookup(
    llm: Llama,
    prompt: Sequence[int],
    *,
    top_k: int,
    top_p: float,
    min_p: float,
    temp: float,
    repeat_penalty: float,
    grammar: LlamaGrammar | None = None,
    draft_tokens: int = DRAFT_TOKENS,
) -> Generator[int, None, None]:
    """Like token_stream.stream_tokens (same arguments, same tokens), drafting from the prompt."""
    import llama_cpp

    sampler = start_sampling(
        llm,
        prompt,
        top_k=top_k,
        top_p=top_p,
        min_p=min_p,
        temp=temp,
        repeat_penalty=repeat_penalty,
        grammar=grammar,
    )
    sample = sampler.sample
    ctx = llm._ctx.ctx
    n_ctx = llm._n_ctx
    n_batch = llm.n_batch
    input_ids = llm.input_ids
    decode = llama_cpp.llama_decode
    batch = llm._batch.batch
    history = _NgramIndex(prompt)

    token = sample(-1)
    yield token
    while True:
        history.append(token)
        position = llm.n_tokens
        room = min(draft_tokens, n_ctx - position - 1, n_batch - 1)
        draft = history.draft(room) if room > 0 else []
        if position >= n_ctx:
            raise RuntimeError("llama_decode returned 1")  # what a full context gives
        batch.n_tokens = 1 + len(draft)
        for slot, value in enumerate([token, *draft]):
            batch.token[slot] = value
            batch.pos[slot] = position + slot
            batch.n_seq_id[slot] = 1
            batch.seq_id[slot][0] = 0
            batch.logits[slot] = True
        code = decode(ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")
        input_ids[position] = token
        llm.n_tokens = position + 1
        accepted = 0
        for index, drafted in enumerate(draft):
            token = sample(index)
            if token != drafted:
                break
            input_ids[llm.n_tokens] = drafted
            llm.n_tokens += 1
            history.append(drafted)
            accepted += 1
            yield drafted
        else:
            token = sample(len(draft))
        if accepted < len(draft):
            # Drop the rejected part of the draft from the cache; `token` is decoded next.
            llm._ctx.kv_cache_seq_rm(0, llm.n_tokens, -1)
        yield token
