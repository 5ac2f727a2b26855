"""Token-by-token decoding on a llama-cpp-python `Llama`, without its per-token Python.

`Llama.generate` rebuilds its batch in Python, trims the KV cache and updates numpy state for
every token: about 45 us per token, 4-6% of a tiny model's time per token on this kind of CPU.
`stream_tokens` yields the same tokens (same sampler chain, same seed; see
tests/core/inference/test_token_stream.py) but decodes each new token with one `llama_decode`
call on a prepared one-token batch, and keeps the `Llama`'s own bookkeeping (`input_ids`,
`n_tokens`) as `generate` would, so the cached prefix is reused by the next answer either way.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import TYPE_CHECKING

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
    chain = sampler.sampler
    ctx = llm._ctx.ctx
    n_ctx = llm._n_ctx
    input_ids = llm.input_ids
    sample = llama_cpp.llama_sampler_sample
    decode = llama_cpp.llama_decode
    batch = llm._batch.batch
    batch.n_tokens = 1
    batch.seq_id[0][0] = 0
    batch.n_seq_id[0] = 1
    batch.logits[0] = True
    token_slot = batch.token
    position_slot = batch.pos
    while True:
        token = sample(chain, ctx, -1)  # also records the token in the penalties' history
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
) -> LlamaSampler:
    """The sampler chain for these settings, with `prompt` decoded and its logits ready.

    The chain is the one Llama.generate builds for these arguments: penalties, top-k, typical,
    top-p, min-p, temperature, then a draw seeded from llm.set_seed; a grammar goes right after
    the penalties. Keep the returned object alive while sampling from its `.sampler`.
    """
    sampler = llm._init_sampler(
        top_k=top_k,
        top_p=top_p,
        min_p=min_p,
        temp=temp,
        repeat_penalty=repeat_penalty,
        grammar=grammar,
    )
    _evaluate_prompt(llm, list(prompt))
    return sampler


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
