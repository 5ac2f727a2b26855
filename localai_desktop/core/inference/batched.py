"""Several answers decoded together: one llama.cpp context, one `llama_decode` per step for all.

On a CPU (and more so on a GPU) decoding one token reads every weight of the model once; eight
sequences decoded in the same batch read them once too, so eight clients get nearly eight times
the tokens per second of one. `BatchedDecoder` keeps a second llama.cpp context on the engine's
loaded model with one KV-cache slot per sequence (`n_seq_max`, each slot as long as the engine's
own context), and each step decodes the next token of every running sequence plus a chunk of
the prompts that are still being read, then samples each sequence from its own logits
(`llama_get_logits_ith`) with its own sampler (token_stream.TokenSampler, as `LlamaEngine.generate`)
(temperature, top-p, top-k, min-p, repeat penalty, seed, grammar), so a sequence's answer is
made as a single one would be. Stop strings and the token limit are per sequence too.

A new sequence does not read again what a cache already holds. It takes a free slot it does
not spoil (an empty one, or the one holding its own conversation so far), else the free slot
sharing the longest start with its prompt; when another slot's cache, a running sequence's or
a finished one's, shares a longer start (the same system prompt, the same conversation head),
that start is copied into its slot (`llama_memory_seq_cp`) instead of being read again. So
conversations stay cached side by side while slots are free. Requests that arrive together
with the same start read it once: the later waits for the earlier to have read it, then copies
it. `Sequence.reused_prompt_tokens` says how many prompt tokens came from a cache.

Cancelling one sequence drops it between two steps (a step is one token, or one prompt chunk,
long) and frees its slot; the others go on undisturbed. Use it from one thread only: the
engine's owner.
"""

from __future__ import annotations

import codecs
import logging
import random
import time
from collections.abc import Callable
from collections.abc import Sequence as Sequence_
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import GenerationError
from localai_desktop.core.inference.engine import LlamaEngine, StopStringFilter
from localai_desktop.core.inference.generation import (
    FinishReason,
    GenerationSettings,
    GenerationStats,
)
from localai_desktop.core.inference.llama_runtime import llama_cpp_module
from localai_desktop.core.inference.prompt import PromptPlan
from localai_desktop.core.inference.token_stream import TokenSampler

if TYPE_CHECKING:
    from llama_cpp import Llama

log = logging.getLogger(__name__)

TextCallback = Callable[[str], None]
FinishCallback = Callable[[GenerationStats], None]
FailCallback = Callable[[GenerationError], None]
# Prompt tokens read per step while other sequences are answering: small enough that their
# streams do not stall for long behind a new prompt, large enough to read it quickly.
PROMPT_CHUNK_WHILE_ANSWERING = 128
# Copying another slot's cached prompt start copies that slot's whole cache (llama.cpp copies
# between separate caches only whole), so it is done only when it saves reading this many tokens.
MIN_COPIED_PREFIX = 16


@dataclass(eq=False)
class Sequence:
    """One answer being made in a batch: its slot, sampler and what it has written so far."""

    slot: int
    plan: PromptPlan
    settings: GenerationSettings
    seed: int
    sampler: Any  # a token_stream.TokenSampler: owns the chain, freed with it
    emitter: StopStringFilter
    on_finished: FinishCallback
    on_failed: FailCallback
    cancel: Cancellation | None
    n_ctx: int
    started: float = field(default_factory=time.perf_counter)
    prompt_read: int = 0  # prompt tokens decoded so far (or reused from the slot's cache)
    reused_prompt_tokens: int = 0  # prompt tokens taken from a cache, not decoded
    # A sequence reading the same prompt start, to copy it from once read (instead of reading
    # it too), and how far.
    waits_for: Sequence | None = None
    wait_until: int = 0
    position: int = 0  # the next token's position in the slot
    last_token: int | None = None  # sampled, not yet decoded
    cached: list[int] = field(default_factory=list)  # the tokens in the slot's KV cache
    logits_index: int = -1  # where this sequence's logits are in the last batch
    completion_tokens: int = 0
    first_token_at: float | None = None
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )

    @property
    def reading_prompt(self) -> bool:
        return self.prompt_read < len(self.plan.tokens)


def affordable_slots(engine: LlamaEngine, wanted: int, *, budget_bytes: int | None = None) -> int:
    """How many of `wanted` slots the loaded model's KV cache can have (at least 1).

    Each slot holds a context as long as the engine's (f16 keys and values for every layer);
    together they may take a quarter of the memory free now, so a large model with a long
    context answers fewer requests at once instead of pushing the computer into swap.
    """
    lib = llama_cpp_module()
    model = engine.llama.model
    loaded = engine.loaded
    assert loaded is not None
    head_dim = lib.llama_model_n_embd(model) // max(1, lib.llama_model_n_head(model))
    per_token = 2 * lib.llama_model_n_layer(model) * lib.llama_model_n_head_kv(model) * head_dim
    per_slot = max(1, per_token * 2 * loaded.n_ctx)
    if budget_bytes is None:
        import psutil

        budget_bytes = psutil.virtual_memory().available // 4
    return max(1, min(wanted, budget_bytes // per_slot))


class BatchedDecoder:
    """Up to `slots` answers at once on the engine's loaded model (see the module docstring).

    Close it before the engine unloads or reloads its model: its context uses that model.
    """

    def __init__(self, engine: LlamaEngine, *, slots: int) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        loaded = engine.loaded
        llm = engine.llama
        if loaded is None:
            raise GenerationError("No model is loaded.", "Choose a model first.")
        self.engine = engine
        self.loaded = loaded
        self._llm: Llama = llm
        self._llama_cpp = llama_cpp_module()
        lib = self._llama_cpp
        self.n_ctx_per_slot = loaded.n_ctx
        self.n_batch = max(1, int(llm.n_batch))
        # The engine's own parameters: the same threads, attention and cache types.
        params = type(llm.context_params).from_buffer_copy(llm.context_params)
        params.n_seq_max = slots
        params.n_ctx = slots * loaded.n_ctx
        # Each sequence its own part of the cache: a long answer cannot crowd out another.
        params.kv_unified = False
        params.n_batch = self.n_batch
        params.n_ubatch = min(int(params.n_ubatch) or self.n_batch, self.n_batch)
        params.embeddings = False
        ctx = lib.llama_init_from_model(llm.model, params)
        if not ctx:
            raise GenerationError(
                f"There is not enough memory to answer {slots} requests at once with "
                f"'{loaded.path.name}'.",
                "Answer fewer requests at once, or use a shorter context length.",
            )
        self._ctx = ctx
        self.slots = slots
        # llama.cpp may give a slot less than asked (capped at the model's training context).
        self.n_ctx_per_slot = min(loaded.n_ctx, int(lib.llama_n_ctx_seq(ctx)))
        self._memory = lib.llama_get_memory(ctx)
        self._batch = lib.llama_batch_init(self.n_batch, 0, 1)
        self._free_slots = list(range(slots))
        # What each free slot's KV cache still holds: a new prompt that starts the same way
        # (a chat template's system prompt, a conversation's earlier turns) is not read again.
        self._slot_tokens: dict[int, list[int]] = {}
        self._sequences: list[Sequence] = []
        self._pieces: dict[int, bytes] = {}
        self._vocab = llm._model.vocab
        # Prompt tokens this decoder has decoded (not taken from a cache), for tests and logs.
        self.prompt_tokens_decoded = 0
        log.info(
            "Batched decoding of %s: %s slots of %s tokens",
            loaded.path.name,
            slots,
            self.n_ctx_per_slot,
        )

    # -- sequences --------------------------------------------------------------------------

    @property
    def active(self) -> int:
        return len(self._sequences)

    @property
    def free(self) -> int:
        return len(self._free_slots)

    def add(
        self,
        plan: PromptPlan,
        settings: GenerationSettings,
        on_text: TextCallback,
        on_finished: FinishCallback,
        on_failed: FailCallback,
        *,
        cancel: Cancellation | None = None,
        grammar: str | None = None,
    ) -> Sequence:
        """Start an answer; it advances with each `step()`. Exactly one of `on_finished` (its
        stats: finish reason stop, length or cancelled) or `on_failed` (llama.cpp failed the
        batch) is called once. A GenerationError raised here (a grammar llama.cpp cannot read,
        no free slot) means it never started."""
        if not self._free_slots:
            raise GenerationError("Every slot is busy.", "Wait for an answer to finish.")
        if not plan.tokens:
            raise GenerationError("The prompt is empty.", "Write something first.")
        llm = self._llm
        rules = LlamaEngine.checked_grammar(self._llama_cpp, llm, grammar) if grammar else None
        seed = settings.seed if settings.seed is not None else random.randrange(2**31 - 1)
        # Llama._init_sampler seeds the chain's draw from the Llama's seed: the chain
        # LlamaEngine.generate builds for the same settings (see token_stream.stream_tokens).
        llm.set_seed(seed)
        sampler = TokenSampler(
            llm,
            top_k=settings.top_k,
            top_p=settings.top_p,
            min_p=0.05,
            temp=settings.temperature,
            repeat_penalty=settings.repeat_penalty,
            grammar=rules,
            ctx=self._ctx,
        )
        sequence = Sequence(
            slot=self._best_slot(plan.tokens),
            plan=plan,
            settings=settings,
            seed=seed,
            sampler=sampler,
            emitter=StopStringFilter(plan.stop_strings, on_text),
            on_finished=on_finished,
            on_failed=on_failed,
            cancel=cancel,
            n_ctx=self.n_ctx_per_slot,
        )
        self._reuse_cached_prefix(sequence)
        self._wait_for_shared_start(sequence)
        self._sequences.append(sequence)
        return sequence

    def _best_slot(self, tokens: list[int]) -> int:
        """The free slot for a prompt: the one sharing the longest start with it, unless
        taking it would drop part of another prompt's cache while a slot that would not is
        free (an empty one, the same conversation's earlier turn, the same prompt again).

        So a conversation cached in a slot is not overwritten by another request that only
        shares its start (the same system prompt) while a slot it would not spoil is free:
        that start is copied from it instead (`_reuse_cached_prefix`)."""

        starts = {
            slot: _common_prefix(self._slot_tokens.get(slot, ()), tokens)
            for slot in self._free_slots
        }

        def shared(slot: int) -> int:
            return starts[slot]

        def dropped(slot: int) -> int:
            return len(self._slot_tokens.get(slot, ())) - starts[slot]

        def spoils(slot: int) -> bool:  # drops some of another prompt's cache to take it
            return dropped(slot) > 0 and shared(slot) < len(tokens) - 1

        best = max(self._free_slots, key=lambda slot: (shared(slot), -dropped(slot), -slot))
        if spoils(best):
            keeping = [slot for slot in self._free_slots if not spoils(slot)]
            if keeping:
                best = max(keeping, key=lambda slot: (shared(slot), -slot))
        self._free_slots.remove(best)
        return best

    def _reuse_cached_prefix(self, sequence: Sequence) -> None:
        """Start the sequence after the longest start of its prompt that a cache holds: its own
        slot's, or another slot's, running or free (copied into its slot)."""
        # As the engine does (token_stream._evaluate_prompt): at least the prompt's last token
        # is decoded again, so sampling starts from fresh logits.
        tokens = sequence.plan.tokens
        limit = len(tokens) - 1
        lib = self._llama_cpp
        slot = sequence.slot
        reuse = min(_common_prefix(self._slot_tokens.pop(slot, []), tokens), limit)
        donor, shared = self._longest_cached_prefix(tokens, slot)
        shared = min(shared, limit)
        if donor is not None and shared >= reuse + MIN_COPIED_PREFIX:
            # Separate caches (kv_unified off) are copied whole, which replaces the slot's;
            # then everything after the shared start is dropped below.
            lib.llama_memory_seq_cp(self._memory, donor, slot, -1, -1)
            reuse = shared
        if reuse > 0 and not lib.llama_memory_seq_rm(self._memory, slot, reuse, -1):
            reuse = 0  # some memory types cannot drop part of a sequence
        if reuse == 0:
            lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
        sequence.prompt_read = sequence.position = sequence.reused_prompt_tokens = reuse
        sequence.cached = list(tokens[:reuse])

    def _wait_for_shared_start(self, sequence: Sequence) -> None:
        """Requests arriving together with the same system prompt: the later one waits until
        the one reading it has read the shared start, then copies it (`_end_waits`)."""
        tokens = sequence.plan.tokens
        longest = sequence.prompt_read + MIN_COPIED_PREFIX - 1
        for reading in self._sequences:
            if not reading.reading_prompt or reading.waits_for is not None:
                continue
            shared = min(_common_prefix(reading.plan.tokens, tokens), len(tokens) - 1)
            if shared > longest and reading.prompt_read < shared:
                sequence.waits_for, sequence.wait_until, longest = reading, shared, shared

    def _end_waits(self) -> None:
        """Copy the shared start into each waiting sequence whose donor has read it (or ended:
        then from whichever cache holds most of it, if any)."""
        for sequence in self._sequences:
            donor = sequence.waits_for
            if donor is None:
                continue
            if donor in self._sequences and donor.prompt_read < sequence.wait_until:
                continue  # still reading it
            sequence.waits_for = None
            tokens = sequence.plan.tokens
            if donor in self._sequences:
                source: int | None = donor.slot
                shared = _common_prefix(donor.cached, tokens)
            else:
                source, shared = self._longest_cached_prefix(tokens, sequence.slot)
            shared = min(shared, len(tokens) - 1)
            if source is None or shared < sequence.prompt_read + MIN_COPIED_PREFIX:
                continue  # it reads its prompt itself
            lib = self._llama_cpp
            lib.llama_memory_seq_cp(self._memory, source, sequence.slot, -1, -1)
            if not lib.llama_memory_seq_rm(self._memory, sequence.slot, shared, -1):
                lib.llama_memory_seq_rm(self._memory, sequence.slot, -1, -1)
                shared = 0  # some memory types cannot drop part of a sequence
            sequence.prompt_read = sequence.position = sequence.reused_prompt_tokens = shared
            sequence.cached = list(tokens[:shared])

    def _longest_cached_prefix(self, tokens: list[int], taker: int) -> tuple[int | None, int]:
        """The other slot whose cache shares the longest start with `tokens`, and how long
        that start is: a free slot's (what its last answer left) or a running sequence's
        (what it has decoded: its cache between two steps)."""
        caches = [(s.slot, s.cached) for s in self._sequences]
        caches += [(slot, cached) for slot, cached in self._slot_tokens.items() if slot != taker]
        best: int | None = None
        longest = 0
        for slot, cached in caches:
            shared = _common_prefix(cached, tokens)
            if shared > longest:
                best, longest = slot, shared
        return best, longest

    def cancel_all(self) -> None:
        """End every sequence now, as cancelled."""
        for sequence in list(self._sequences):
            self._finish(sequence, FinishReason.CANCELLED)

    # -- decoding ---------------------------------------------------------------------------

    def step(self) -> None:
        """Decode one batch: the next token of every answering sequence, and prompt chunks.

        When llama.cpp fails the batch, every sequence in it ends (`on_failed`, or cancelled
        for those whose cancel is set) and the decoder stays usable for new ones.
        """
        for sequence in list(self._sequences):
            if sequence.cancel is not None and sequence.cancel.is_set():
                self._finish(sequence, FinishReason.CANCELLED)
        if not self._sequences:
            return
        self._end_waits()
        batch = self._batch
        count = 0

        def put(sequence: Sequence, token: int, wants_logits: bool) -> None:
            nonlocal count
            batch.token[count] = token
            batch.pos[count] = sequence.position
            batch.n_seq_id[count] = 1
            batch.seq_id[count][0] = sequence.slot
            batch.logits[count] = wants_logits
            if wants_logits:
                sequence.logits_index = count
            sequence.position += 1
            sequence.cached.append(token)
            count += 1

        answering = [s for s in self._sequences if not s.reading_prompt]
        budget = self.n_batch - len(answering)
        if answering:
            budget = min(budget, PROMPT_CHUNK_WHILE_ANSWERING)
        chunks: dict[int, int] = {}  # slot: prompt tokens to read this step (first come first)
        for sequence in self._sequences:
            if not sequence.reading_prompt or sequence.waits_for is not None or budget <= 0:
                continue
            take = min(budget, len(sequence.plan.tokens) - sequence.prompt_read)
            chunks[sequence.slot] = take
            budget -= take
        # In slot order: with a cache per slot, llama.cpp splits a batch into one pass over the
        # weights per run of consecutive slots, in the order the batch names them; sequences in
        # arrival order (slots 2, 0, 1) would cost a pass each.
        sampled = []
        for sequence in sorted(self._sequences, key=lambda s: s.slot):
            if not sequence.reading_prompt:
                assert sequence.last_token is not None
                put(sequence, sequence.last_token, True)
                sampled.append(sequence)
                continue
            take = chunks.get(sequence.slot, 0)
            tokens = sequence.plan.tokens
            for token in tokens[sequence.prompt_read : sequence.prompt_read + take]:
                sequence.prompt_read += 1
                put(sequence, token, not sequence.reading_prompt)
            self.prompt_tokens_decoded += take
            if take and not sequence.reading_prompt:
                sampled.append(sequence)
        if count == 0:
            return  # only sequences waiting for a shared start (never for long)
        batch.n_tokens = count
        code = self._llama_cpp.llama_decode(self._ctx, batch)
        if code != 0:
            log.warning("llama_decode returned %s for a batch of %s tokens", code, count)
            error = GenerationError(
                "The model stopped with an error while answering.",
                "Try again; if it keeps happening, try a smaller context length.",
            )
            for sequence in list(self._sequences):
                sequence.cached = []  # what the failed batch left in its slot is unknown
                if sequence.cancel is not None and sequence.cancel.is_set():
                    self._finish(sequence, FinishReason.CANCELLED)
                else:
                    self._finish(sequence, None, error)
            return
        for sequence in sampled:
            self._advance(sequence)

    def _advance(self, sequence: Sequence) -> None:
        lib = self._llama_cpp
        token = sequence.sampler.sample(sequence.logits_index)
        if sequence.first_token_at is None:
            sequence.first_token_at = time.perf_counter()
        if lib.llama_vocab_is_eog(self._vocab, token):
            self._finish(sequence, FinishReason.STOP)
            return
        sequence.completion_tokens += 1
        piece = self._pieces.get(token)
        if piece is None:
            piece = self._pieces[token] = self._llm._model.detokenize([token])
        if sequence.emitter.feed(sequence.decoder.decode(piece)):
            self._finish(sequence, FinishReason.STOP)
        elif sequence.cancel is not None and sequence.cancel.is_set():
            self._finish(sequence, FinishReason.CANCELLED)
        elif sequence.completion_tokens >= sequence.plan.max_tokens:
            self._finish(sequence, FinishReason.LENGTH)
        elif sequence.position >= sequence.n_ctx:
            self._finish(sequence, FinishReason.LENGTH)  # the slot is full
        else:
            sequence.last_token = token

    def _finish(
        self,
        sequence: Sequence,
        reason: FinishReason | None,
        error: GenerationError | None = None,
    ) -> None:
        if sequence not in self._sequences:
            return
        self._sequences.remove(sequence)
        self._slot_tokens[sequence.slot] = sequence.cached
        self._free_slots.append(sequence.slot)
        sequence.sampler.close()  # frees the chain (and its grammar) now
        sequence.sampler = None
        if reason is None:
            assert error is not None
            self._report(sequence.on_failed, error)
            return
        if reason != FinishReason.STOP or not sequence.emitter.stopped:
            sequence.emitter.feed(sequence.decoder.decode(b"", final=True))
            sequence.emitter.flush()
        now = time.perf_counter()
        first = sequence.first_token_at
        decode_time = now - first if first else 0.0
        n = sequence.completion_tokens
        stats = GenerationStats(
            prompt_tokens=len(sequence.plan.tokens),
            completion_tokens=n,
            time_to_first_token_s=(first - sequence.started) if first else None,
            generation_time_s=now - sequence.started,
            tokens_per_second=(n - 1) / decode_time if n > 1 and decode_time > 0 else None,
            finish_reason=reason,
            seed=sequence.seed,
            trimmed_messages=sequence.plan.trimmed_messages,
            n_ctx=sequence.n_ctx,
        )
        self._report(sequence.on_finished, stats)

    @staticmethod
    def _report(callback: Callable[[Any], None], outcome: object) -> None:
        try:
            callback(outcome)
        except Exception:  # one listener's bug must not end the other sequences
            log.exception("A batched answer's listener failed")

    def close(self) -> None:
        """Cancel what runs and free the context (before the engine's model goes)."""
        self.cancel_all()
        if self._ctx is not None:
            self._llama_cpp.llama_batch_free(self._batch)
            self._llama_cpp.llama_free(self._ctx)
            self._ctx = None


def _common_prefix(a: Sequence_[int], b: Sequence_[int]) -> int:
    """How many tokens `a` and `b` share at their start."""
    if type(a) is not type(b):  # a tuple's slice never equals a list's
        a, b = list(a), list(b)
    n = 0
    limit = min(len(a), len(b))
    step = 256  # compare whole runs first: a long shared conversation costs a few slices
    while n + step <= limit and a[n : n + step] == b[n : n + step]:
        n += step
    for x, y in zip(a[n:limit], b[n:limit], strict=False):
        if x != y:
            break
        n += 1
    return n
