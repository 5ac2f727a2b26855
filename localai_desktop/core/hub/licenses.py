"""Model licenses: whether a Hugging Face license id allows commercial use, in plain words."""

from __future__ import annotations

# Hugging Face license ids (the `license:` field of a model card). "Allowed" is a summary for a
# badge, not legal advice: several (the Llama and Gemma licenses) allow commercial use under
# conditions, which the license name shown next to the badge tells the reader to check.
_COMMERCIAL_USE_ALLOWED = frozenset(
    {
        "apache-2.0",
        "mit",
        "bsd",
        "bsd-2-clause",
        "bsd-3-clause",
        "cc0-1.0",
        "cc-by-2.0",
        "cc-by-3.0",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "unlicense",
        "mpl-2.0",
        "artistic-2.0",
        "gpl-3.0",
        "lgpl-3.0",
        "afl-3.0",
        "openrail",
        "openrail++",
        "bigscience-openrail-m",
        "creativeml-openrail-m",
        "bigcode-openrail-m",
        "llama2",
        "llama3",
        "llama3.1",
        "llama3.2",
        "llama3.3",
        "llama4",
        "gemma",
    }
)
_COMMERCIAL_USE_FORBIDDEN_PREFIXES = (
    "cc-by-nc",
    "qwen-research",
    "apple-amlr",
    "fair-noncommercial",
)


def commercial_use_allowed(license_id: str | None) -> bool | None:
    """True or False when the license is known; None when it is missing or "other"."""
    if not license_id:
        return None
    key = license_id.strip().lower()
    if key in _COMMERCIAL_USE_ALLOWED:
        return True
    if key.startswith(_COMMERCIAL_USE_FORBIDDEN_PREFIXES):
        return False
    return None


def commercial_use_label(allowed: bool | None) -> str:
    """The badge text next to a license."""
    if allowed is True:
        return "Commercial use allowed"
    if allowed is False:
        return "Not for commercial use"
    return "Check the license before commercial use"
