"""Token-by-token decoding on a llama-cpp-python `Llama`, without its per-token Python.

`Llama.generate` rebuilds its batch in Python, trims the KV cache and updates numpy state for
every token: about 45 us per token, 4-6% of a tiny model's time per token on this kind of CPU.
`stream_tokens` yields the same tokens (same sampler chain, same seed; see
tests/core/inference/test_token_stream.py) but decodes each new token with one `llama_decode`
call on a prepared one-token batch, and keeps the `Llama`'s own bookkeeping (`input_ids`,
`n_tokens`) as `generate` would, so the cached prefix is reused by the next answer either way.

`TokenSampler` samples as that chain would, with two shortcuts that give the same tokens: the
repeat penalty is applied to the logits of the recent tokens only (llama.cpp's penalties
sampler looks every token of the vocabulary up in its table: about 1 ms a token for a
152k-token vocabulary, 5-7% of a 0.5B model's decoding), and a greedy pick (temperature 0, no
grammar) is numpy's argmax of the logits instead of a copy of them into candidates.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar
    from llama_cpp._internals import LlamaSampler


def stream_tokens(
    llm: Llama,
    prompt: Sequence[int],
    *,
    top_k: int,
    top_p: float,
    min_p: float,
    temp: float,
    repeat_penalty: float,
    grammar: LlamaGrammar | None = None,
) -> Generator[int, None, None]:
    """Sampled tokens that follow `prompt`, one per step, until the caller stops iterating.

    The seed is the `Llama`'s (`llm.set_seed`). A failed or aborted decode raises
    RuntimeError("llama_decode returned N"), as `Llama.generate` does; closing the generator
    after any token leaves the `Llama` ready for the next prompt. A grammar (checked
    beforehand: llama.cpp crashes on one it cannot parse) limits the tokens that can follow.
    """
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
    input_ids = llm.input_ids
    decode = llama_cpp.llama_decode
    batch = llm._batch.batch
    batch.n_tokens = 1
    batch.seq_id[0][0] = 0
    batch.n_seq_id[0] = 1
    batch.logits[0] = True
    token_slot = batch.token
    position_slot = batch.pos
    while True:
        token = sample(-1)  # also records the token in the penalty's history
        yield token
        position = llm.n_tokens
        if position >= n_ctx:
            raise RuntimeError("llama_decode returned 1")  # what a full context gives
        token_slot[0] = token
        position_slot[0] = position
        code = decode(ctx, batch)
        if code != 0:
            raise RuntimeError(f"llama_decode returned {code}")
        input_ids[position] = token
        llm.n_tokens = position + 1


def start_sampling(
    llm: Llama,
    prompt: Sequence[int],
    *,
    top_k: int,
    top_p: float,
    min_p: float,
    temp: float,
    repeat_penalty: float,
    grammar: LlamaGrammar | None,
) -> TokenSampler:
    """The sampler for these settings, with `prompt` decoded and its logits ready."""
    sampler = TokenSampler(
        llm,
        top_k=top_k,
        top_p=top_p,
        min_p=min_p,
        temp=temp,
        repeat_penalty=repeat_penalty,
        grammar=grammar,
    )
    _evaluate_prompt(llm, list(prompt))
    return sampler


class TokenSampler:
    """Samples the next token exactly as the chain `Llama.generate` builds for these settings.

    That chain is: repeat penalty over the last `llm.last_n_tokens_size` sampled tokens, the
    grammar, then top-k, typical, top-p, min-p, temperature and a draw seeded from
    llm.set_seed (or greedy at temperature 0). Here the penalty is applied first, to the logits
    of the tokens in its history only, with llama.cpp's own float arithmetic; the rest of the
    chain is llama.cpp's; a greedy pick is the first largest logit, as llama.cpp's greedy
    sampler takes.
    """

    def __init__(
        self,
        llm: Llama,
        *,
        top_k: int,
        top_p: float,
        min_p: float,
        temp: float,
        repeat_penalty: float,
        grammar: LlamaGrammar | None,
        ctx: Any = None,
    ) -> None:
        """`ctx`: the llama.cpp context whose logits are sampled (default: `llm`'s own)."""
        import llama_cpp
        import numpy as np  # here, not at the top: the window starts without numpy

        self._np = np

        # The chain without the penalty (kept alive as long as this object: it owns the chain).
        self.chain: LlamaSampler = llm._init_sampler(
            top_k=top_k,
            top_p=top_p,
            min_p=min_p,
            temp=temp,
            repeat_penalty=1.0,
            grammar=grammar,
        )
        self._sample_chain = llama_cpp.llama_sampler_sample
        self._logits_at = llama_cpp.llama_get_logits_ith
        self._ctx = ctx if ctx is not None else llm._ctx.ctx
        self._n_vocab = llm.n_vocab()
        self._penalty = np.float32(repeat_penalty)
        self._last_n = max(0, int(llm.last_n_tokens_size))
        self._penalised = self._last_n > 0 and self._penalty != np.float32(1.0)
        self._greedy = temp == 0.0 and grammar is None
        self._recent: deque[int] = deque()
        self._counts: dict[int, int] = {}

    def sample(self, index: int) -> int:
        """The token that follows the logits of batch output `index` (-1: the last), recorded
        in the penalty's history."""
        if (self._penalised and self._counts) or self._greedy:
            np = self._np
            logits = np.ctypeslib.as_array(
                self._logits_at(self._ctx, index), shape=(self._n_vocab,)
            )
            if self._penalised and self._counts:
                ids = np.fromiter(self._counts, dtype=np.intc, count=len(self._counts))
                values = logits[ids]
                logits[ids] = np.where(values <= 0, values * self._penalty, values / self._penalty)
            if self._greedy:
                token = int(np.argmax(logits))
                self._accept(token)
                return token
        token = int(self._sample_chain(self.chain.sampler, self._ctx, index))
        self._accept(token)
        return token

    def close(self) -> None:
        """Free the chain (and its grammar) now rather than when it is collected."""
        self.chain.close()

    def _accept(self, token: int) -> None:
        if not self._penalised:
            return
        counts = self._counts
        counts[token] = counts.get(token, 0) + 1
        recent = self._recent
        if len(recent) >= self._last_n:
            old = recent.popleft()
            if counts[old] == 1:
                del counts[old]
            else:
                counts[old] -= 1
        recent.append(token)


def _evaluate_prompt(llm: Llama, tokens: list[int]) -> None:
    """Decode the prompt, reusing the longest prefix already in the KV cache.

    At least the prompt's last token is decoded again, so sampling starts from fresh logits.
    """
    reuse = 0
    cached = llm.n_tokens
    if cached > 0:
        limit = min(cached, len(tokens) - 1)
        previous = llm.input_ids
        while reuse < limit and previous[reuse] == tokens[reuse]:
            reuse += 1
        # Some memory types (recurrent models) cannot drop part of a sequence.
        if reuse > 0 and not llm._ctx.kv_cache_seq_rm(-1, reuse, -1):
            reuse = 0
    if reuse == 0:
        llm.reset()
    else:
        llm.n_tokens = reuse
    llm.eval(tokens[reuse:])
