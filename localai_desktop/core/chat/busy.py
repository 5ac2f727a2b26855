"""How busy other programs kept the computer while an answer was written, in plain words.

llama.cpp's decoding threads wait for each other at every token, so another program taking a
core slows an answer several times (core.common.cpu_load). `ChatService` measures the share of
the CPUs other programs used during generation and keeps it in the answer's provenance; the
Chat tab's speed line and `localai chat` say so when it was high enough to matter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localai_desktop.core.speed.measurement import BUSY_SHARE

# The provenance key (0-1, two decimals), absent in answers written before it was measured.
OTHER_PROGRAMS_SHARE = "other_programs_share"


def other_programs_share(provenance: Mapping[str, Any]) -> float | None:
    """The share of the CPUs other programs used while the answer was written, if measured."""
    value = provenance.get(OTHER_PROGRAMS_SHARE)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return min(1.0, max(0.0, float(value)))


def busy_note(provenance: Mapping[str, Any]) -> str:
    """ "the computer was busy: other programs used 60% of it", or "" when it was not."""
    share = other_programs_share(provenance)
    if share is None or share < BUSY_SHARE:
        return ""
    return f"the computer was busy: other programs used {share:.0%} of it"
