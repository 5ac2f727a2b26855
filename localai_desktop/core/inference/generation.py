"""Plain data for one generation: the settings a person chose and what came out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from localai_desktop.core.common.enums import StrEnum

DEFAULT_CONTEXT_LENGTH = 4096
# Settings' context_length when the person leaves "Memory" on Automatic: the app chooses from
# the model and this computer's memory (core.models.context_choice) when it loads the model.
AUTOMATIC_CONTEXT_LENGTH = 0


@dataclass(frozen=True)
class GenerationSettings:
    """What a person can tune; stored with every answer so it can be reproduced."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    repeat_penalty: float = 1.1
    max_tokens: int = 1024
    context_length: int = AUTOMATIC_CONTEXT_LENGTH  # tokens, or 0: automatic
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> GenerationSettings:
        """Settings from stored JSON, ignoring keys this version does not know."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in known})

    def with_seed(self, seed: int) -> GenerationSettings:
        return replace(self, seed=seed)


class FinishReason(StrEnum):
    """Why generation ended, as an answer's provenance stores it."""

    STOP = "stop"  # the model ended it, or wrote a stop string
    LENGTH = "length"  # the longest answer setting, or the context window, was reached
    CANCELLED = "cancelled"


class CutOff(StrEnum):
    """What ended an answer before the model finished it."""

    LONGEST_ANSWER = "longest answer"  # the "longest answer" setting
    MEMORY = "memory"  # the context window filled up


def cut_off_by(provenance: Mapping[str, Any]) -> CutOff | None:
    """What ended an answer before the model finished it, from its provenance (as stored):
    the longest answer setting, the context window filling up, or None when the model ended it
    itself (or it was stopped, or failed)."""
    if provenance.get("finish_reason") != FinishReason.LENGTH:
        return None
    limit = (provenance.get("settings") or {}).get("max_tokens")
    tokens = provenance.get("completion_tokens")
    if isinstance(limit, int) and isinstance(tokens, int) and tokens < limit:
        return CutOff.MEMORY  # the prompt left less room than the setting asked for
    return CutOff.LONGEST_ANSWER


@dataclass(frozen=True)
class ChatTurn:
    """One message as the model sees it."""

    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class GenerationStats:
    """How an answer was made; becomes the answer's provenance."""

    prompt_tokens: int
    completion_tokens: int
    time_to_first_token_s: float | None
    generation_time_s: float
    tokens_per_second: float | None
    finish_reason: FinishReason
    seed: int
    trimmed_messages: int
    n_ctx: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationStats:
        """Stats as stored; ValueError when one is missing or of another type."""
        counts = ("prompt_tokens", "completion_tokens", "seed", "trimmed_messages", "n_ctx")
        times = ("time_to_first_token_s", "generation_time_s", "tokens_per_second")
        for name in counts:
            value = data.get(name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{name} is not a count: {value!r}")
        for name in times:
            value = data.get(name)
            optional = name != "generation_time_s"
            if not (isinstance(value, (int, float)) or (optional and value is None)):
                raise ValueError(f"{name} is not a number: {value!r}")
            if isinstance(value, bool):
                raise ValueError(f"{name} is not a number: {value!r}")
        return cls(
            **{name: data[name] for name in (*counts, *times)},
            finish_reason=FinishReason(data.get("finish_reason")),
        )
