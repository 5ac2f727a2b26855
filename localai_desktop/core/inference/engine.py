"""The llama.cpp engine: owns one model, streams tokens, and stops within milliseconds."""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import ctypes.util
import io
import logging
import random
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.cpu_load import OtherProgramsLoad, free_core_threads
from localai_desktop.core.common.errors import GenerationError, ModelLoadError
from localai_desktop.core.inference.generation import (
    FinishReason,
    GenerationSettings,
    GenerationStats,
)
from localai_desktop.core.inference.llama_runtime import (
    check_kv_cache_type,
    compute_backend,
    default_thread_count,
    kv_cache_params,
    llama_cpp_module,
    model_params_for_load,
)
from localai_desktop.core.inference.prompt import ChatFormatter, PromptPlan
from localai_desktop.core.inference.prompt_lookup import stream_tokens_with_lookup
from localai_desktop.core.inference.token_stream import stream_tokens
from localai_desktop.core.models.gguf_info import read_gguf_info

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar

log = logging.getLogger(__name__)
llama_log = logging.getLogger("llama.cpp")

TextCallback = Callable[[str], None]
LoadProgress = Callable[[float], None]
# Gives a path whose bytes are an adapter's plaintext for as long as the block lasts: the file
# itself, or a private copy of a sealed one (core.models.adapters.AdapterRegistry.opened).
AdapterOpener = Callable[[Path], AbstractContextManager[Path]]


def _strlen_address() -> int:
    if sys.platform == "win32":
        libc = ctypes.cdll.msvcrt
    else:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None)
    address = ctypes.cast(libc.strlen, ctypes.c_void_p).value
    assert address is not None
    return address


@dataclass(frozen=True)
class AppliedAdapter:
    """A LoRA adapter switched into the loaded model, and its strength."""

    path: Path
    scale: float


@dataclass(frozen=True)
class LoadedModel:
    path: Path
    n_ctx: int
    load_seconds: float
    gpu_offload: bool
    n_threads: int
    backend: str = "CPU"  # see compute_backend()


class LlamaEngine:
    """One llama.cpp model and its context. Use it from one thread only (its owner)."""

    def __init__(
        self,
        *,
        n_threads: int | None = None,
        flash_attn: bool = True,
        kv_cache: str = "f16",
        draft: str = "none",
    ) -> None:
        # Automatic (None): the physical cores, fewer while other programs keep some busy
        # (measured between answers, so it costs no waiting; see cpu_load.free_core_threads).
        self.automatic_threads = n_threads is None
        self.n_threads = n_threads or default_thread_count()
        self.flash_attn = flash_attn
        self._cores = self.n_threads
        self._since_last_answer: OtherProgramsLoad | None = None
        self.kv_cache = check_kv_cache_type(kv_cache)
        # "prompt-lookup": draft tokens from the prompt (core.inference.prompt_lookup).
        self.draft = draft
        self._llm: Llama | None = None
        self._loaded: LoadedModel | None = None
        self._formatter: ChatFormatter | None = None
        self._format: tuple[str | None, tuple[str, ...]] | None = None
        self._abort_flag = ctypes.create_string_buffer(2)  # [flag, NUL], read by llama.cpp
        self._abort_callback: object | None = None
        # LoRA adapters loaded into the current model (freed with it), and the one applied.
        self._adapters: dict[Path, object] = {}
        self._adapter: AppliedAdapter | None = None
        # Each token's bytes, as the loaded model's vocabulary spells them (asked once).
        self._pieces: dict[int, bytes] = {}

    # -- loading ----------------------------------------------------------------------------

    @property
    def loaded(self) -> LoadedModel | None:
        return self._loaded

    def load(
        self,
        path: Path,
        *,
        n_ctx: int,
        chat_template: str | None = None,
        progress: LoadProgress | None = None,
        cancel: Cancellation | None = None,
        plain_buffers: bool = False,
        stop_strings: tuple[str, ...] = (),
    ) -> LoadedModel:
        """Load a model (validated beforehand); a no-op if it is already loaded the same way.

        plain_buffers: skip llama.cpp's repacked weight buffers, for models whose import check
        crashed with them on this computer (core.models.probe.ProbeReport).
        """
        path = Path(path)
        if self._loaded and self._loaded.path == path and self._loaded.n_ctx == n_ctx:
            if self._format != (chat_template, stop_strings):
                self._new_formatter(chat_template, stop_strings)  # another prompt format
            return self._loaded
        self.unload()
        llama_cpp = llama_cpp_module()

        def on_progress(fraction: float) -> bool:
            if progress is not None:
                progress(fraction)
            return not (cancel is not None and cancel.is_set())

        started = time.perf_counter()
        captured = io.StringIO()
        try:
            # verbose=True keeps llama-cpp-python away from its fd redirection; the few Python
            # prints it makes while loading are captured and logged instead.
            with (
                model_params_for_load(llama_cpp, on_progress, plain_buffers=plain_buffers),
                contextlib.redirect_stderr(captured),
            ):
                llm: Llama = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=n_ctx,
                    n_threads=self.n_threads,
                    n_threads_batch=self.n_threads,
                    n_gpu_layers=-1,
                    flash_attn=self.flash_attn,
                    **kv_cache_params(llama_cpp, self.kv_cache, flash_attn=self.flash_attn),
                    verbose=True,
                )
        except (ValueError, RuntimeError, OSError) as error:
            if cancel is not None and cancel.is_set():
                raise ModelLoadError("Loading the model was cancelled.") from error
            if self.kv_cache != "f16":
                # llama.cpp needs head sizes that are a multiple of the type's block (32).
                raise ModelLoadError(
                    f"The model '{path.name}' could not be loaded with its memory (KV cache) "
                    f"in {self.kv_cache}; small models often cannot.",
                    "Use the f16 memory type for this model.",
                ) from error
            raise ModelLoadError(
                f"The model '{path.name}' could not be loaded.",
                "The file may be damaged or need a newer version of the app; try another model.",
            ) from error
        finally:
            for line in captured.getvalue().splitlines():
                llama_log.debug(line)
        llm.verbose = False
        self._llm = llm
        self._install_abort_callback(llama_cpp, llm)
        self._new_formatter(chat_template, stop_strings)
        self._loaded = LoadedModel(
            path=path,
            n_ctx=llm.n_ctx(),
            load_seconds=time.perf_counter() - started,
            gpu_offload=bool(llama_cpp.llama_supports_gpu_offload()),
            n_threads=self.n_threads,
            backend=compute_backend(),
        )
        log.info("Loaded %s (n_ctx=%s) in %.2f s", path.name, n_ctx, self._loaded.load_seconds)
        return self._loaded

    def _new_formatter(self, chat_template: str | None, stop_strings: tuple[str, ...]) -> None:
        assert self._llm is not None
        self._format = (chat_template, stop_strings)
        self._formatter = ChatFormatter(
            chat_template,
            bos_token=self._token_text(self._llm.token_bos()),
            eos_token=self._token_text(self._llm.token_eos()),
            stops=stop_strings,
        )

    def unload(self) -> None:
        # llama.cpp frees a model's adapters with the model: only forget the pointers.
        self._adapters.clear()
        self._adapter = None
        self._pieces = {}
        if self._llm is not None:
            self._llm.close()
        self._llm = None
        self._loaded = None
        self._formatter = None
        self._abort_callback = None

    # -- LoRA adapters ----------------------------------------------------------------------

    @property
    def llama(self) -> Llama:
        """The loaded `Llama` itself, for decoders built on its model (core.inference.batched);
        only the engine's owner thread may use it."""
        return self._require_llm()

    @property
    def adapter(self) -> AppliedAdapter | None:
        """The LoRA adapter applied to the loaded model, if any."""
        return self._adapter

    def set_adapter(
        self,
        path: Path | None,
        scale: float = 1.0,
        *,
        expected_sha256: str | None = None,
        opener: AdapterOpener | None = None,
    ) -> None:
        """Apply a GGUF LoRA adapter with a strength (`None` removes it); no model reload.

        The file is checked first (a damaged adapter would crash llama.cpp later), loaded
        once per model through llama.cpp's own loader (which refuses one that does not fit
        the model), then switched in. The cached prompt is dropped, as it was computed with
        other weights. A sealed adapter comes with an `opener` that gives its plaintext for
        the load only: llama.cpp reads every tensor into its own buffers and closes the file
        before `llama_adapter_lora_init` returns (no mmap), so the copy is gone at once.
        """
        llm = self._require_llm()
        llama_cpp = llama_cpp_module()
        wanted = AppliedAdapter(Path(path), float(scale)) if path is not None else None
        if wanted == self._adapter:
            return
        if wanted is None:
            llama_cpp.llama_set_adapters_lora(llm.ctx, None, 0, None)
        else:
            handle = self._adapters.get(wanted.path)
            if handle is None:
                open_plain = opener or nullcontext
                with open_plain(wanted.path) as readable:
                    handle = self._load_adapter(
                        llama_cpp, llm, Path(readable), expected_sha256, name=wanted.path.name
                    )
                self._adapters[wanted.path] = handle
            adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(handle)
            scales = (ctypes.c_float * 1)(wanted.scale)
            llama_cpp.llama_set_adapters_lora(llm.ctx, adapters, 1, scales)
        llm.reset()
        self._adapter = wanted

    def _load_adapter(
        self,
        llama_cpp: ModuleType,
        llm: Llama,
        path: Path,
        expected_sha256: str | None,
        *,
        name: str,
    ) -> object:
        from localai_desktop.core.models.adapter_file import AdapterFileError, check_adapter_file

        assert self._loaded is not None
        info = read_gguf_info(self._loaded.path)
        check_adapter_file(
            path,
            architecture=info.architecture,
            expected_sha256=expected_sha256,
            display_name=name,
        )
        handle = llama_cpp.llama_adapter_lora_init(
            llm.model,
            str(path).encode("utf-8"),
        )
        # A failed load is a NULL pointer, which is falsy but not None.
        if not handle:
            raise AdapterFileError(
                f"The adapter {name} does not fit the model '{self._loaded.path.name}'.",
                "Choose an adapter trained on this model.",
            )
        return handle

    def _install_abort_callback(self, llama_cpp: ModuleType, llm: Llama) -> None:
        # llama.cpp polls the abort callback inside llama_decode, from its compute threads,
        # for every graph node. A Python callback there would take the GIL thousands of times
        # per token (slowing decoding and the GUI) and could run during interpreter shutdown.
        # Instead the callback is libc's strlen() on a two-byte buffer: it returns 1 once the
        # first byte is set, 0 before, entirely in C. Stop works mid-prompt within milliseconds.
        callback = llama_cpp.ggml_abort_callback(_strlen_address())
        llama_cpp.llama_set_abort_callback(
            llm.ctx,
            callback,
            ctypes.cast(self._abort_flag, ctypes.c_void_p),
        )
        self._abort_callback = callback  # keep it alive as long as the context

    def _set_abort_flag(self) -> None:
        self._abort_flag[0] = b"\x01"

    def _token_text(self, token: int) -> str:
        if token < 0:  # LLAMA_TOKEN_NULL: the model has no such token
            return ""
        return self._require_llm()._model.token_get_text(token)

    def _require_llm(self) -> Llama:
        if self._llm is None:
            raise GenerationError("No model is loaded.", "Choose a model first.")
        return self._llm

    # -- prompts ----------------------------------------------------------------------------

    @property
    def formatter(self) -> ChatFormatter:
        self._require_llm()
        assert self._formatter is not None
        return self._formatter

    def tokenize(self, text: str) -> list[int]:
        """Tokens of `text`, special tokens recognised, no BOS added."""
        llm = self._require_llm()
        return list(llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    @property
    def bos_token_ids(self) -> tuple[int, ...]:
        llm = self._require_llm()
        llama_cpp = llama_cpp_module()
        if not llama_cpp.llama_vocab_get_add_bos(llm._model.vocab):
            return ()
        bos = llm.token_bos()
        return (bos,) if bos >= 0 else ()

    # -- generation -------------------------------------------------------------------------

    def generate(
        self,
        plan: PromptPlan,
        settings: GenerationSettings,
        on_text: TextCallback,
        *,
        cancel: Cancellation | None = None,
        grammar: str | None = None,
    ) -> GenerationStats:
        """Stream an answer for a prepared prompt; `on_text` gets each new piece of text.

        Setting `cancel` stops within a token (or mid-prompt, via llama.cpp's abort callback);
        what was generated so far has already been passed to `on_text`. `grammar` (GBNF, rule
        `root`) limits the answer to what it allows, such as JSON matching a schema.
        """
        llm = self._require_llm()
        llama_cpp = llama_cpp_module()
        self._adapt_threads(llama_cpp, llm)
        rules = self.checked_grammar(llama_cpp, llm, grammar) if grammar else None
        seed = settings.seed if settings.seed is not None else random.randrange(2**31 - 1)
        llm.set_seed(seed)
        vocab = llm._model.vocab
        is_eog = llama_cpp.llama_vocab_is_eog
        pieces = self._pieces
        detokenize = llm._model.detokenize
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        emitter = StopStringFilter(plan.stop_strings, on_text)
        self._abort_flag[0] = b"\x00"
        remove_hook = cancel.add_callback(self._set_abort_flag) if cancel is not None else None
        started = time.perf_counter()
        first_token_at: float | None = None
        completion_tokens = 0
        finish_reason = FinishReason.LENGTH
        stream = stream_tokens_with_lookup if self.draft == "prompt-lookup" else stream_tokens
        tokens = stream(
            llm,
            plan.tokens,
            top_k=settings.top_k,
            top_p=settings.top_p,
            min_p=0.05,
            temp=settings.temperature,
            repeat_penalty=settings.repeat_penalty,
            grammar=rules,
        )
        try:
            if cancel is not None and cancel.is_set():
                finish_reason = FinishReason.CANCELLED
            else:
                for token in tokens:
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    if is_eog(vocab, token):
                        finish_reason = FinishReason.STOP
                        break
                    completion_tokens += 1
                    piece = pieces.get(token)
                    if piece is None:
                        piece = pieces[token] = detokenize([token])
                    if emitter.feed(decoder.decode(piece)):
                        finish_reason = FinishReason.STOP
                        break
                    if cancel is not None and cancel.is_set():
                        finish_reason = FinishReason.CANCELLED
                        break
                    if completion_tokens >= plan.max_tokens:
                        break
        except RuntimeError as error:
            if cancel is None or not cancel.is_set():
                raise GenerationError(
                    "The model stopped with an error while answering.",
                    "Try again; if it keeps happening, try a smaller context length.",
                ) from error
            finish_reason = FinishReason.CANCELLED
        finally:
            tokens.close()
            self._since_last_answer = OtherProgramsLoad()
            if remove_hook is not None:
                remove_hook()
            self._abort_flag[0] = b"\x00"
        if finish_reason != FinishReason.STOP or not emitter.stopped:
            emitter.feed(decoder.decode(b"", final=True))
            emitter.flush()
        elapsed = time.perf_counter() - started
        decode_time = time.perf_counter() - first_token_at if first_token_at else 0.0
        return GenerationStats(
            prompt_tokens=len(plan.tokens),
            completion_tokens=completion_tokens,
            time_to_first_token_s=(first_token_at - started) if first_token_at else None,
            generation_time_s=elapsed,
            tokens_per_second=(completion_tokens - 1) / decode_time
            if completion_tokens > 1 and decode_time > 0
            else None,
            finish_reason=finish_reason,
            seed=seed,
            trimmed_messages=plan.trimmed_messages,
            n_ctx=self._loaded.n_ctx if self._loaded else 0,
        )

    def _adapt_threads(self, llama_cpp: ModuleType, llm: Llama) -> None:
        """With automatic threads, use the cores other programs left free since the last
        answer (a second's look at least; before the first answer, all cores)."""
        since = self._since_last_answer
        if not self.automatic_threads or since is None or since.elapsed < 1.0:
            return
        threads = free_core_threads(self._cores, since.share())
        if threads != self.n_threads:
            log.info("Decoding with %s of %s threads: the computer is busy", threads, self._cores)
            self.n_threads = threads
            llama_cpp.llama_set_n_threads(llm._ctx.ctx, threads, threads)

    @staticmethod
    def checked_grammar(llama_cpp: ModuleType, llm: Llama, grammar: str) -> LlamaGrammar:
        # llama.cpp returns no sampler for a grammar it cannot parse, and a sampler chain given
        # none crashes the process: parse it once here first.
        probe = llama_cpp.llama_sampler_init_grammar(
            llm._model.vocab, grammar.encode("utf-8"), b"root"
        )
        if not probe:
            raise GenerationError(
                "The format the answer must follow (a grammar) could not be read.",
                "Check the JSON schema or grammar that was sent with the request.",
            )
        llama_cpp.llama_sampler_free(probe)
        return llama_cpp.LlamaGrammar.from_string(grammar, verbose=False)


class StopStringFilter:
    """Passes text on, holding back anything that could be the start of a stop string."""

    def __init__(self, stops: tuple[str, ...], on_text: TextCallback) -> None:
        self._stops = tuple(s for s in stops if s)
        self._on_text = on_text
        self._pending = ""
        self._started = False
        self.stopped = False

    def feed(self, text: str) -> bool:
        """Add text; True when a stop string was reached (the text before it is passed on)."""
        if not text:
            return False
        if not self._started:
            # The first piece after "Assistant:" usually carries the separator's whitespace.
            text = text.lstrip()
            if not text:
                return False
            self._started = True
        if not self._stops:
            self._on_text(text)
            return False
        self._pending += text
        hits = [i for i in (self._pending.find(s) for s in self._stops) if i >= 0]
        if hits:
            self._emit(self._pending[: min(hits)].rstrip())
            self._pending = ""
            self.stopped = True
            return True
        keep = self._longest_stop_prefix_suffix()
        self._emit(self._pending[: len(self._pending) - keep])
        self._pending = self._pending[len(self._pending) - keep :]
        return False

    def flush(self) -> None:
        self._emit(self._pending)
        self._pending = ""

    def _emit(self, text: str) -> None:
        if text:
            self._on_text(text)

    def _longest_stop_prefix_suffix(self) -> int:
        best = 0
        for stop in self._stops:
            for length in range(min(len(stop) - 1, len(self._pending)), best, -1):
                if self._pending.endswith(stop[:length]):
                    best = length
                    break
        return best
