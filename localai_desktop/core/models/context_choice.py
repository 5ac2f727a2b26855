"""How much context ("Memory") a model gets when the person leaves it on Automatic.

As much of the model's trained context as this computer's memory comfortably holds: the
weights plus the KV cache (see FACTS.md, "Memory a model needs") may take COMFORTABLE_SHARE of
the RAM, so the rest of the system and other programs keep room. A fixed 4,096 tokens cut long
documents short on machines that could hold eight times as much.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.models.gguf_info import read_gguf_info, total_memory_bytes
from localai_desktop.core.models.hardware import COMPUTE_OVERHEAD, ModelFacts

log = logging.getLogger(__name__)

# Weights + KV cache may use this share of the RAM when Memory is automatic.
COMFORTABLE_SHARE = 0.5
# Beyond this a CPU takes minutes to read a full prompt, and few conversations need more.
MOST_AUTOMATIC_TOKENS = 32768
# Below this a chat with a document hardly works; used even when memory is tight (the load
# itself then says plainly if the model does not fit).
LEAST_AUTOMATIC_TOKENS = 2048
# When the model file cannot be read (missing, unreadable): the app's former fixed default.
FALLBACK_TOKENS = 4096
_STEP = 1024


@dataclass(frozen=True)
class ContextChoice:
    """The context chosen for a model on this computer, and what it costs in memory."""

    tokens: int
    kv_cache_bytes: int  # the conversation's memory in llama.cpp (F16 KV cache) at `tokens`
    ram_bytes: int
    model_most: int  # the model's trained context (0 when unknown)

    def describe(self) -> str:
        """ "Automatic: 32,768 tokens (about 4.0 GB of this computer's 16.0 GB)"."""
        return (
            f"Automatic: {self.tokens:,} tokens, using about "
            f"{format_bytes(self.kv_cache_bytes)} of this computer's "
            f"{format_bytes(self.ram_bytes)} for the conversation's memory."
        )


def kv_cache_bytes(facts: ModelFacts, tokens: int) -> int:
    """Bytes of the F16 KV cache for `tokens` tokens (with llama.cpp's compute overhead)."""
    return int(facts.kv_bytes_per_token * tokens * COMPUTE_OVERHEAD)


def choose_context(
    facts: ModelFacts, file_bytes: int, ram_bytes: int, *, model_most: int = 0
) -> ContextChoice:
    """The largest context, in steps of 1,024 tokens, that fits the comfortable share."""
    most = model_most or facts.context_length or FALLBACK_TOKENS
    room = COMFORTABLE_SHARE * ram_bytes - file_bytes * COMPUTE_OVERHEAD
    per_token = max(1.0, facts.kv_bytes_per_token * COMPUTE_OVERHEAD)
    fits = int(room / per_token) // _STEP * _STEP if room > 0 else 0
    tokens = min(most, MOST_AUTOMATIC_TOKENS, max(LEAST_AUTOMATIC_TOKENS, fits))
    tokens = max(256, tokens)
    return ContextChoice(tokens, kv_cache_bytes(facts, tokens), ram_bytes, most)


@functools.lru_cache(maxsize=16)
def _facts_of(path: str, size: int, mtime_ns: int) -> tuple[ModelFacts, int]:
    info = read_gguf_info(Path(path))
    return ModelFacts.from_gguf_info(info), info.file_size


def automatic_context(
    path: Path, model_most: int = 0, ram_bytes: int | None = None
) -> ContextChoice:
    """The automatic context for the model file at `path` on this computer.

    Reads only the file's header (cached per file version), so it is quick enough for the GUI
    to call when a model is chosen. A file that cannot be read gets FALLBACK_TOKENS.
    """
    ram = total_memory_bytes() if ram_bytes is None else ram_bytes
    try:
        stat = path.stat()
        facts, file_bytes = _facts_of(str(path), stat.st_size, stat.st_mtime_ns)
    except (OSError, LocalAIError) as error:
        log.info("Automatic memory for %s: header not readable (%s)", path, error)
        tokens = min(model_most or FALLBACK_TOKENS, FALLBACK_TOKENS)
        return ContextChoice(tokens, kv_cache_bytes(ModelFacts(), tokens), ram, model_most)
    return choose_context(facts, file_bytes, ram, model_most=model_most)
