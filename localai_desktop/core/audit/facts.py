"""What an answer's audit entry records, taken from the answer and its provenance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from localai_desktop import __version__
from localai_desktop.core.audit.entries import sha256_text


def answer_facts(
    *,
    question: str,
    question_message_id: int | None,
    answer: str,
    status: str,
    provenance: Mapping[str, Any],
) -> dict[str, Any]:
    """The facts of one answer: hashes of its texts, never the texts themselves.

    The model and adapter are named by their files' sha256; the settings include the seed the
    answer was sampled with; each cited source is its file's sha256 and page.
    """
    settings = dict(provenance.get("settings") or {})
    sources = [
        {
            "n": source.get("n"),
            "file_sha256": source.get("file_sha256"),
            "page": source.get("page"),
        }
        for source in provenance.get("sources") or []
        if isinstance(source, Mapping)
    ]
    return {
        "question_message_id": question_message_id,
        "question_sha256": sha256_text(question),
        "answer_sha256": sha256_text(answer),
        "status": status,
        "model_name": provenance.get("model_name"),
        "model_sha256": provenance.get("model_sha256"),
        "adapter_name": provenance.get("adapter_name"),
        "adapter_sha256": provenance.get("adapter_sha256"),
        "adapter_scale": provenance.get("adapter_scale"),
        "settings": settings,
        "seed": settings.get("seed"),
        "sources": sources,
        "app_version": provenance.get("app_version") or __version__,
    }
