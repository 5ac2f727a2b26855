"""Conversations saved with the old fixed "Memory" of 4,096 tokens: offer Automatic, carefully.

Before Memory became Automatic, every conversation stored `context_length: 4096` whether the
person chose it or simply never touched the setting, so a stored 4,096 cannot tell the two
apart. The app therefore never changes it by itself: it offers Automatic on such a
conversation ("Use Automatic" / "Keep 4,096"), and remembers the answer, or any change the
person makes to Memory, in the conversation's settings JSON under MEMORY_CHOSEN (the settings
are one JSON object, so this needs no migration). A conversation with that mark, or with any
other value, is never asked about.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localai_desktop.core.inference.generation import AUTOMATIC_CONTEXT_LENGTH

# The fixed Memory every conversation got before Automatic existed.
OLD_DEFAULT_CONTEXT_LENGTH = 4096
# In a conversation's settings JSON: the person chose its Memory (kept, changed or answered).
MEMORY_CHOSEN = "context_length_chosen"


def keeps_old_default_memory(settings: Mapping[str, Any]) -> bool:
    """Whether a conversation's Memory is the old default that nobody is known to have chosen."""
    return settings.get("context_length") == OLD_DEFAULT_CONTEXT_LENGTH and not settings.get(
        MEMORY_CHOSEN
    )


def memory_choice_entry(chosen: bool) -> dict[str, Any]:
    """What a conversation's settings JSON keeps about the choice (nothing until one is made)."""
    return {MEMORY_CHOSEN: True} if chosen else {}


def with_automatic_memory(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A conversation's settings switched to Automatic Memory, as the person asked."""
    return {**settings, "context_length": AUTOMATIC_CONTEXT_LENGTH, MEMORY_CHOSEN: True}
