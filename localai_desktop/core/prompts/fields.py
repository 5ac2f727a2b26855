"""Fields in a prompt's text: "{reading level}" asks for a value; "{{" and "}}" are braces."""

from __future__ import annotations

import re
from collections.abc import Mapping

from localai_desktop.core.common.errors import LocalAIError

# A field is a short name in single braces, on one line; "{{x}}" is the literal text "{x}".
_FIELD = re.compile(r"\{\{|\}\}|\{([^{}\n]{1,60})\}")
MAX_FIELDS = 20


class MissingFieldError(LocalAIError):
    """A prompt's field was left without a value; `fields` names them, in order."""

    def __init__(self, prompt_name: str, fields: list[str]) -> None:
        named = ", ".join(f"{{{f}}}" for f in fields)
        example = fields[0]
        super().__init__(
            f"The prompt '{prompt_name}' needs a value for {named}.",
            f"Give it, for example --var '{example}=…' (one --var per field).",
        )
        self.fields = fields


def field_key(name: str) -> str:
    """How a field is matched: case and spacing do not matter ("Reading  level")."""
    return " ".join(name.split()).casefold()


def prompt_fields(text: str) -> list[str]:
    """The fields of a prompt, each once, in the order they first appear."""
    found: dict[str, str] = {}
    for match in _FIELD.finditer(text):
        name = match.group(1)
        if name is not None and name.strip():
            found.setdefault(field_key(name), " ".join(name.split()))
    return list(found.values())[:MAX_FIELDS]


def fill_fields(
    text: str, values: Mapping[str, str], *, prompt_name: str = "prompt", strict: bool = True
) -> str:
    """The prompt with its fields replaced by `values` (keys matched as `field_key` does).

    Raises MissingFieldError naming every field without a (non-empty) value; with
    `strict=False` those fields are left as they are.
    """
    given = {field_key(k): v for k, v in values.items() if v.strip()}
    missing = [f for f in prompt_fields(text) if field_key(f) not in given]
    if missing and strict:
        raise MissingFieldError(prompt_name, missing)

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        return given.get(field_key(name), token) if name.strip() else token

    return _FIELD.sub(replace, text)
