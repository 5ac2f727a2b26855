"""End to end: the app's hidden document instruction never appears in an answer (issue 19).

With a model that echoes its prompt (tests/support/echo_model.py: without a chat template, it
writes the instruction's first sentence over and over), a question about an indexed
collection is answered through the real retrieval and prompt; the echo stops
(documents.grounding.ECHO_STOPS) keep every word of the instruction out of what is saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.grounding import INSTRUCTIONS
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs
from tests.support.echo_model import ECHO_TEXT, write_echo_model

# The instruction's first sentence, and a later one: an echo may start anywhere in the prompt.
ECHOES = [ECHO_TEXT, INSTRUCTIONS.split(". ")[1] + "."]


@pytest.fixture(params=ECHOES, ids=["from its start", "from its second sentence"])
def chat(
    data_dir: Path, models_dir: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    db = Database(data_dir / "localai.db")
    registry = ModelRegistry(db, data_dir / "models")
    registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
    echo_file = write_echo_model(tmp_path / "echo.gguf", text=request.param)
    echo = registry.import_model(echo_file, name="echo")
    assert not echo.has_chat_template  # the case of the report: the generic fallback format
    library = DocumentLibrary(db, registry)
    library.create("Ward guideline")
    pdf = docs.write_pdf(tmp_path / "ward-guideline.pdf", docs.GUIDELINE_PAGES)
    library.add_paths("Ward guideline", [pdf])
    library.index("Ward guideline")
    service = ChatService(ConversationStore(db), registry, LlamaEngine(), documents=library)
    yield {"service": service, "model": echo, "echo": request.param}
    service.engine.unload()
    library.close()
    db.close()


def _ask(chat: dict[str, Any], question: str, collections: list[str]) -> Any:
    service: ChatService = chat["service"]
    conversation = service.store.create()
    return service.send(
        conversation.id,
        question,
        model_id=chat["model"].id,
        settings=GenerationSettings(seed=1, max_tokens=60, temperature=0.7),
        collections=collections,
    )


def test_the_document_instruction_never_appears_in_an_answer(chat: dict[str, Any]) -> None:
    # The model does echo: asked without documents, it writes the instruction's words.
    plain = _ask(chat, "How quickly must antibiotics be given in sepsis?", [])
    assert chat["echo"] in plain.content

    answer = _ask(chat, "How quickly must antibiotics be given in sepsis?", ["Ward guideline"])

    assert answer.provenance["sources"]  # the question was answered from the documents
    saved = chat["service"].store.get(answer.conversation_id).messages[-1].content
    for text in (answer.content, saved):
        assert "Answer the question" not in text
        assert "numbered sources" not in text
        assert "Sources:" not in text
        sentences = [s.strip(" .") for s in INSTRUCTIONS.split(". ")]
        assert not any(s and s in text for s in sentences)
