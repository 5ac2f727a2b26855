"""Prompt formats for models whose file has no chat template (common for older and base GGUFs).

A chat model was trained on one way of marking turns (ChatML's <|im_start|>, Llama 3's
<|start_header_id|>, Mistral's [INST], ...). Written another way, it rambles and may repeat the
app's hidden instructions. So for a model without a usable template of its own the app guesses
the format from the file's architecture and special tokens, says which and why, and lets the
person choose another; the choice is kept per model in models.source["prompt_format"].

Formats are Jinja templates rendered by the same bounded renderer as a file's own
(core.models.chat_template); "plain" is the app's standard transcript (core.inference.prompt).
"""

from __future__ import annotations

import functools
import mmap
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localai_desktop.core.common.errors import LocalAIError

if TYPE_CHECKING:
    from localai_desktop.core.models.registry import LocalModel

SOURCE_KEY = "prompt_format"  # in models.source
AUTOMATIC = "auto"
PLAIN = "plain"
# Special tokens are looked for in the file's first bytes (where its vocabulary is).
_HEADER_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class PromptFormat:
    """One known way of writing a conversation for a model."""

    key: str
    label: str
    template: str | None  # None: the app's standard transcript
    stops: tuple[str, ...] = ()


_FORMATS = (
    PromptFormat(
        "chatml",
        "ChatML",
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        ("<|im_end|>", "<|im_start|>"),
    ),
    PromptFormat(
        "llama3",
        "Llama 3",
        "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}"
        "<|end_header_id|>\n\n{{ m.content | trim }}<|eot_id|>{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n"
        "{% endif %}",
        ("<|eot_id|>", "<|start_header_id|>"),
    ),
    PromptFormat(
        "mistral",
        "Mistral / Llama 2",
        # No system role: the formatter then puts the system prompt into the first question.
        "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}"
        "[INST] {{ m.content | trim }} [/INST]{% elif m.role == 'assistant' %}"
        " {{ m.content | trim }}{{ eos_token }}{% endif %}{% endfor %}",
        ("[INST]", "[/INST]"),
    ),
    PromptFormat(
        "gemma",
        "Gemma",
        "{{ bos_token }}{% for m in messages %}{% if m.role != 'system' %}<start_of_turn>"
        "{{ 'model' if m.role == 'assistant' else 'user' }}\n{{ m.content | trim }}"
        "<end_of_turn>\n{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
        ("<end_of_turn>", "<start_of_turn>"),
    ),
    PromptFormat(
        "phi3",
        "Phi-3",
        "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}<|end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
        ("<|end|>", "<|user|>", "<|endoftext|>"),
    ),
    PromptFormat(
        "alpaca",
        "Alpaca",
        "{% for m in messages %}{% if m.role == 'system' %}{{ m.content }}\n\n"
        "{% elif m.role == 'user' %}### Instruction:\n{{ m.content }}\n\n"
        "{% else %}### Response:\n{{ m.content }}\n\n{% endif %}{% endfor %}"
        "{% if add_generation_prompt %}### Response:\n{% endif %}",
        ("### Instruction:", "### Response:"),
    ),
    PromptFormat(PLAIN, "Plain", None),
)
FORMATS: Mapping[str, PromptFormat] = {f.key: f for f in _FORMATS}

# A special token in the vocabulary names the format the model was trained with (checked in
# this order: Llama 3 files also hold ChatML-looking reserved tokens in some conversions).
_TOKEN_CLUES = (
    ("<|start_header_id|>", "llama3"),
    ("<|im_start|>", "chatml"),
    ("<start_of_turn>", "gemma"),
    ("<|assistant|>", "phi3"),
    ("[INST]", "mistral"),
)
_ARCHITECTURE_CLUES = {
    "qwen": "chatml",
    "qwen2": "chatml",
    "qwen3": "chatml",
    "qwen2moe": "chatml",
    "gemma": "gemma",
    "gemma2": "gemma",
    "gemma3": "gemma",
    "phi3": "phi3",
    "mistral": "mistral",
    "mixtral": "mistral",
}


@dataclass(frozen=True)
class FormatChoice:
    """The format a model is prompted in and where that came from."""

    key: str  # "model" (the file's own template) or a key of FORMATS
    origin: str  # "file", "guessed" or "chosen"
    reason: str  # in plain words

    @property
    def prompt_format(self) -> PromptFormat | None:
        """The built-in format (None when the file's own template is used)."""
        return FORMATS.get(self.key)

    def describe(self) -> str:
        if self.origin == "file":
            return "The model's own chat template (from its file)."
        label = FORMATS[self.key].label
        if self.origin == "chosen":
            return f"{label}: chosen for this model."
        return f"{label}: guessed, {self.reason}. You can choose another."


def guess_format(path: Path, architecture: str) -> tuple[str, str]:
    """The built-in format a model was probably trained with, and why ("plain" if unknown)."""
    tokens = _special_tokens_in(str(path))
    for token, key in _TOKEN_CLUES:
        if token in tokens:
            return key, f"its vocabulary has the {token} token"
    by_architecture = _ARCHITECTURE_CLUES.get(architecture.lower())
    if by_architecture is not None:
        return by_architecture, f"from its architecture ({architecture})"
    return PLAIN, "no known chat format was found in the file"


@functools.lru_cache(maxsize=32)
def _special_tokens_in(path: str) -> frozenset[str]:
    """Which clue tokens the file's vocabulary holds (as GGUF strings: length, then bytes)."""
    found: set[str] = set()
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            end = min(len(buf), _HEADER_BYTES)
            for token, _key in _TOKEN_CLUES:
                raw = token.encode()
                if buf.find(struct.pack("<Q", len(raw)) + raw, 0, end) >= 0:
                    found.add(token)
    except (OSError, ValueError):
        pass
    return frozenset(found)


def chosen_key(source: Mapping[str, Any]) -> str | None:
    """The format a person chose for a model (None: automatic)."""
    value = source.get(SOURCE_KEY)
    return value if isinstance(value, str) and value in FORMATS else None


def format_choice(model: LocalModel) -> FormatChoice:
    """How `model` is prompted: a chosen format, else its own usable template, else a guess."""
    chosen = chosen_key(model.source)
    if chosen is not None:
        return FormatChoice(chosen, "chosen", "chosen for this model")
    if model.usable_chat_template:
        return FormatChoice("model", "file", "the file has a chat template")
    if model.chat_template:
        # Its own template was refused (core.models.chat_template): the standard format, as
        # the notice about it says.
        return FormatChoice(PLAIN, "guessed", "the file's own template could not be used")
    key, reason = guess_format(model.path, model.architecture)
    return FormatChoice(key, "guessed", reason)


def parse_format(text: str) -> str | None:
    """A format key from what a person typed ("ChatML", "llama3", "auto"); None = automatic."""
    key = text.strip().lower().replace("-", "").replace(" ", "")
    if key in ("auto", "automatic"):
        return None
    aliases = {"llama2": "mistral", "inst": "mistral", "phi": "phi3", "standard": PLAIN}
    key = aliases.get(key, key)
    if key not in FORMATS:
        raise LocalAIError(
            f"There is no prompt format called '{text}'.",
            "Choose one of: auto, " + ", ".join(FORMATS) + ".",
        )
    return key
