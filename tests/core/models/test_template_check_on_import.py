"""A model's chat template is checked once (import or first load) and the verdict is kept;
a refused template leaves the model usable with the standard format."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.errors import ModelLoadError
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models import probe
from localai_desktop.core.models.chat_template import TEMPLATE_SAFE, UNSAFE_VERDICTS
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support.hostile_content import UNSAFE_NOTICE, write_hostile_model


@pytest.fixture
def service(data_dir: Path) -> Iterator[ChatService]:
    db = Database(data_dir / "localai.db")
    chat = ChatService(ConversationStore(db), ModelRegistry(db, data_dir / "models"), LlamaEngine())
    yield chat
    chat.engine.unload()
    db.close()


def test_import_keeps_a_model_whose_template_is_unsafe_and_says_so(
    service: ChatService, models_dir: Path, tmp_path: Path
) -> None:
    path = write_hostile_model(tmp_path, "nested_loops", models_dir)
    started = time.monotonic()
    model = service.registry.import_model(path, name="Loops")
    assert time.monotonic() - started < 30
    assert model.chat_template_check in UNSAFE_VERDICTS
    assert model.chat_template_notice == UNSAFE_NOTICE
    assert model.usable_chat_template is None
    facts = service.registry.get("Loops").to_json()
    assert facts["chat_format"] == "standard" and facts["chat_template_notice"] == UNSAFE_NOTICE

    answer = service.send(
        service.store.create().id,
        "Hello",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=8, seed=1, context_length=512),
    )
    assert answer.status == "complete" and answer.content
    assert answer.provenance["chat_format"] == "standard"
    assert answer.provenance["chat_format_note"] == UNSAFE_NOTICE


def test_a_safe_template_is_checked_on_import_and_used(
    service: ChatService, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="Tiny")
    assert model.chat_template_check == TEMPLATE_SAFE and model.chat_template_notice == ""
    answer = service.send(
        service.store.create().id,
        "Hello",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=4, seed=1, context_length=512),
    )
    assert answer.provenance["chat_format"] == "model"
    assert "chat_format_note" not in answer.provenance


def test_a_model_never_checked_is_checked_at_its_first_load(
    service: ChatService, models_dir: Path, tmp_path: Path
) -> None:
    # As a model imported before the check existed: no verdict in the registry.
    path = write_hostile_model(tmp_path, "silent_loops", models_dir)
    model = service.registry.import_model(path, name="Silent", probe=False)
    assert model.chat_template_check is None
    started = time.monotonic()
    answer = service.send(
        service.store.create().id,
        "Hello",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=8, seed=1, context_length=512),
    )
    assert time.monotonic() - started < 30
    assert answer.status == "complete"
    assert answer.provenance["chat_format"] == "standard"
    assert answer.provenance["chat_format_note"] == UNSAFE_NOTICE
    assert service.registry.get(model.id).chat_template_check in UNSAFE_VERDICTS


def test_a_probe_that_times_out_says_it_was_too_slow(tiny_chat_model: Path) -> None:
    with pytest.raises(ModelLoadError) as raised:
        probe.probe_load(tiny_chat_model, timeout_s=0.05)
    assert "too slow" in raised.value.message
    assert "llama.cpp said" not in raised.value.message


def test_a_probe_killed_for_memory_says_so_not_what_llama_cpp_logged(tmp_path: Path) -> None:
    killed = subprocess.CompletedProcess(["probe"], -9, b"", b"bad special token seperator")
    with pytest.raises(ModelLoadError) as raised:
        probe._raise_for(tmp_path / "m.gguf", {}, killed)
    assert "more memory" in raised.value.message and "seperator" not in raised.value.message
    reported = subprocess.CompletedProcess(["probe"], 1, b"", b"")
    with pytest.raises(ModelLoadError) as raised:
        probe._raise_for(
            tmp_path / "m.gguf",
            {"ok": False, "error": "out of memory", "kind": "memory"},
            reported,
        )
    assert "more memory" in raised.value.message
