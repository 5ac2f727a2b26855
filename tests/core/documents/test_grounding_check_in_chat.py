"""Chat with documents: each sentence of the answer is checked, and the result is saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.grounding import retrieve
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs


@pytest.fixture
def setup(data_dir: Path, models_dir: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    db = Database(data_dir / "localai.db")
    registry = ModelRegistry(db, data_dir / "models")
    registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
    stories = registry.import_model(models_dir / "stories260K.gguf", name="stories", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Ward")
    library.add_paths("Ward", [docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES)])
    library.index("Ward")
    store = ConversationStore(db)
    yield {"db": db, "registry": registry, "library": library, "store": store, "model": stories}
    library.close()
    db.close()


def test_the_answer_s_sentences_are_checked_and_the_result_is_kept(setup: dict[str, Any]) -> None:
    service = ChatService(
        setup["store"], setup["registry"], LlamaEngine(), documents=setup["library"]
    )
    conversation = service.store.create()
    answer = service.send(
        conversation.id,
        "How quickly must antibiotics be given in sepsis?",
        model_id=setup["model"].id,
        settings=GenerationSettings(seed=3, max_tokens=48),
        collections=["Ward"],
    )
    service.engine.unload()
    support = answer.provenance.support
    assert support is not None and support.claims  # stories260K writes a story: unsupported
    assert support.supported_count == 0
    assert all(s.explanation for s in support.unsupported)
    saved = service.store.get(conversation.id).messages[-1].provenance
    assert saved.support == support
    assert saved["sentence_support"]["claims"] == len(support.claims)
    assert all(s.similarity is None for s in support.claims)  # by words (see the benchmark)


def test_the_gui_s_chat_worker_path_checks_by_words_without_the_documents(
    setup: dict[str, Any],
) -> None:
    # The chat worker's service has no document library: passages come searched ahead.
    retrieval = retrieve(setup["library"], "antibiotics in sepsis", ["Ward"])
    service = ChatService(setup["store"], setup["registry"], LlamaEngine())
    conversation = service.store.create()
    service.store.add_message(conversation.id, "user", "antibiotics in sepsis")
    answer = service.reply(
        conversation.id,
        model_id=setup["model"].id,
        settings=GenerationSettings(seed=3, max_tokens=32),
        retrieval=retrieval,
    )
    service.engine.unload()
    support = answer.provenance.support
    assert support is not None
    assert all(s.similarity is None for s in support.claims)  # words alone
