"""What an answer stores: its status and its provenance keep the JSON and strings of before."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from sqlalchemy import text

from localai_desktop.core.chat.conversations import ConversationStore, MessageStatus
from localai_desktop.core.chat.provenance import AdapterUse, Provenance
from localai_desktop.core.inference.generation import (
    CutOff,
    FinishReason,
    GenerationSettings,
    GenerationStats,
)
from localai_desktop.core.storage import Database


def test_a_message_status_is_stored_and_read_back_as_its_plain_string(tmp_path: Path) -> None:
    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create()
    answer = store.add_message(conversation.id, "assistant", "", status=MessageStatus.INTERRUPTED)
    store.update_message(answer.id, content="Done.", status=MessageStatus.STOPPED)
    with db.session() as session:
        raw = session.execute(
            text("SELECT status, typeof(status) FROM messages WHERE id = :id"), {"id": answer.id}
        ).one()
    assert tuple(raw) == ("stopped", "text")
    [stored] = store.get(conversation.id).messages
    assert stored.status is MessageStatus.STOPPED and stored.to_json()["status"] == "stopped"
    db.close()


# An answer's record as an early version stored it: no backend, chat format, adapter, sources,
# prompt warnings or llama-cpp-python version yet.
OLD_RECORD = {
    "model_id": 1,
    "model_name": "stories",
    "model_file": "/models/stories260K.gguf",
    "model_sha256": "ab" * 32,
    "settings": {
        "temperature": 0.7,
        "top_p": 0.95,
        "top_k": 40,
        "repeat_penalty": 1.1,
        "max_tokens": 1024,
        "context_length": 4096,
        "seed": 7,
    },
    "n_ctx": 4096,
    "n_threads": 2,
    "gpu_offload": False,
    "app_version": "0.1.0",
    "prompt_tokens": 12,
    "completion_tokens": 230,
    "time_to_first_token_s": None,
    "generation_time_s": 5.5,
    "tokens_per_second": 42.1,
    "finish_reason": "length",
    "seed": 7,
    "trimmed_messages": 0,
}


def test_an_old_record_without_the_newer_keys_loads_shows_and_is_kept_as_it_was() -> None:
    from localai_desktop.ui.chat.message_view import describe_provenance, describe_speed

    provenance = Provenance.from_dict(OLD_RECORD)
    assert provenance.to_dict() == OLD_RECORD
    assert list(provenance.to_dict()) == list(OLD_RECORD)
    assert provenance.extra == {}
    assert provenance.stats is not None and provenance.stats.finish_reason is FinishReason.LENGTH
    assert provenance.backend is None and provenance.adapter is None
    assert provenance.cut_off is CutOff.MEMORY  # 230 tokens of the 1024 asked for
    assert describe_speed(provenance) == "42.1 tokens/s · 230 tokens"
    assert "Seed: 7" in describe_provenance(provenance)
    assert "creativity 0.7, longest answer 1024 tokens" in describe_provenance(provenance)


def test_what_a_version_does_not_know_is_kept_through_a_save() -> None:
    odd = {
        **OLD_RECORD,
        "n_threads": "two",  # another type than expected
        "future_key": {"kept": True},
        "finish_reason": "tool_calls",  # a reason this version has no name for
    }
    provenance = Provenance.from_dict(odd)
    assert provenance.to_dict() == odd
    assert provenance.n_threads is None and provenance.extra["n_threads"] == "two"
    assert provenance.stats is None  # the stats are kept, as JSON, in extra
    assert Provenance.from_dict(None).to_dict() == {}


def test_a_new_record_is_stored_with_the_keys_and_order_of_before(tmp_path: Path) -> None:
    settings = GenerationSettings(seed=7)
    stats = GenerationStats(
        prompt_tokens=12,
        completion_tokens=230,
        time_to_first_token_s=None,
        generation_time_s=5.5,
        tokens_per_second=None,
        finish_reason=FinishReason.STOP,
        seed=7,
        trimmed_messages=1,
        n_ctx=4096,
    )
    base = Provenance(
        model_id=1,
        model_name="stories",
        model_file="/models/stories260K.gguf",
        model_sha256="ab" * 32,
        settings=GenerationSettings(),
        n_ctx=4096,
        n_threads=2,
        gpu_offload=False,
        backend="CPU",
        app_version="0.1.0",
        llama_cpp_python_version="0.3.36",
        adapter=AdapterUse(3, "bluebell", "cd" * 32, 0.8),
    ).merged({"collections": ["Ward"], "sources": [{"n": 1, "page": 7}], "retrieval": {}})
    record = replace(base, stats=stats, settings=settings, prompt_warnings=("trimmed",))

    # What ChatService wrote when the record was a dict: its first part, then merged in.
    first = {
        "model_id": 1,
        "model_name": "stories",
        "model_file": "/models/stories260K.gguf",
        "model_sha256": "ab" * 32,
        "settings": GenerationSettings().to_dict(),
        "n_ctx": 4096,
        "n_threads": 2,
        "gpu_offload": False,
        "backend": "CPU",
        "app_version": "0.1.0",
        "llama_cpp_python_version": "0.3.36",
        "adapter_id": 3,
        "adapter_name": "bluebell",
        "adapter_sha256": "cd" * 32,
        "adapter_scale": 0.8,
        "collections": ["Ward"],
        "sources": [{"n": 1, "page": 7}],
        "retrieval": {},
    }
    before = {
        **first,
        **stats.to_dict(),
        "settings": settings.to_dict(),
        "prompt_warnings": ["trimmed"],
    }
    assert json.dumps(base.to_dict()) == json.dumps(first)
    assert json.dumps(record.to_dict()) == json.dumps(before)
    assert record["adapter_scale"] == 0.8 and record["tokens_per_second"] is None

    db = Database(tmp_path / "app.db")
    store = ConversationStore(db)
    conversation = store.create()
    answer = store.add_message(conversation.id, "assistant", "Hi", provenance=record)
    with db.session() as session:
        stored = session.execute(
            text("SELECT provenance FROM messages WHERE id = :id"), {"id": answer.id}
        ).scalar_one()
    assert json.loads(stored) == before
    [read] = store.get(conversation.id).messages
    assert read.provenance == record and read.provenance.adapter == record.adapter
    assert read.provenance.stats == stats and read.to_json()["provenance"] == before
    db.close()
