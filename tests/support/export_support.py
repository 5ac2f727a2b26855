"""A stored conversation worth exporting: Markdown with a table, a list and code, a cited
source with file and page, and an answer's full provenance (model sha256, adapter, settings)."""

from __future__ import annotations

from typing import Any

from localai_desktop.core.chat.conversations import Conversation, ConversationStore

MODEL_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
ADAPTER_SHA256 = "ab" * 32
QUESTION = "Which clauses of the lease carry a risk? Put them in a table."
ANSWER = """The lease has two clauses to look at [1].

| Clause | Risk |
|---|---|
| 4.2 Indemnity | Uncapped liability |
| 9.1 Break | Six months’ notice — strict |

Points to check:

1. The indemnity has **no cap** [1].
2. The break clause needs *written* notice.
   - by recorded delivery

```
notice_period = 6  # months
```
"""
SOURCE: dict[str, Any] = {
    "n": 1,
    "chunk_id": 7,
    "collection": "Leases",
    "file": "/cases/lease-2024.pdf",
    "file_name": "lease-2024.pdf",
    "file_sha256": "cd" * 32,
    "page": 12,
    "heading": None,
    "text": "The Tenant shall indemnify the Landlord against all losses without limit.",
    "similarity": 0.81,
    "truncated": False,
}
PROVENANCE: dict[str, Any] = {
    "model_id": 1,
    "model_name": "Lease Helper 7B",
    "model_file": "/models/lease-helper.Q4_K_M.gguf",
    "model_sha256": MODEL_SHA256,
    "settings": {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 40,
        "repeat_penalty": 1.1,
        "max_tokens": 512,
        "context_length": 4096,
        "seed": 1234,
    },
    "n_ctx": 4096,
    "n_threads": 2,
    "gpu_offload": False,
    "backend": "CPU",
    "app_version": "0.1.0",
    "llama_cpp_python_version": "0.3.36",
    "adapter_id": 3,
    "adapter_name": "clauses-v2",
    "adapter_sha256": ADAPTER_SHA256,
    "adapter_scale": 0.8,
    "collections": ["Leases"],
    "sources": [SOURCE],
}


def store_lease_conversation(store: ConversationStore) -> Conversation:
    """A conversation with one question and one cited answer, saved in `store`."""
    conversation = store.create("Lease review for Mrs Example")
    store.add_message(conversation.id, "user", QUESTION)
    store.add_message(conversation.id, "assistant", ANSWER, provenance=PROVENANCE)
    return store.get(conversation.id)
