"""Chat with a collection: retrieved passages in the prompt, numbered citations, sources saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.grounding import (
    ECHO_STOPS,
    INSTRUCTIONS,
    NOT_COVERED_ANSWER,
    format_sources,
    ground_question,
)
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.inference.prompt import PromptPlan
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import documents_support as docs


@pytest.fixture
def chat(data_dir: Path, models_dir: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A chat service on stories260K with an indexed ten-page guideline collection."""
    db = Database(data_dir / "localai.db")
    registry = ModelRegistry(db, data_dir / "models")
    registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False)
    stories = registry.import_model(models_dir / "stories260K.gguf", name="stories", probe=False)
    library = DocumentLibrary(db, registry)
    library.create("Ward guideline")
    pdf = docs.write_pdf(tmp_path / "ward-guideline.pdf", docs.GUIDELINE_PAGES)
    library.add_paths("Ward guideline", [pdf])
    library.index("Ward guideline")
    service = ChatService(ConversationStore(db), registry, LlamaEngine(), documents=library)
    prompts: list[str] = []
    generate = service.engine.generate

    stops: list[tuple[str, ...]] = []

    def recording_generate(plan: PromptPlan, *args: Any, **kwargs: Any) -> Any:
        prompts.append(plan.text)  # what the model really saw
        stops.append(plan.stop_strings)
        return generate(plan, *args, **kwargs)

    service.engine.generate = recording_generate  # type: ignore[method-assign]
    yield {
        "service": service,
        "model": stories,
        "prompts": prompts,
        "stops": stops,
        "library": library,
    }
    service.engine.unload()
    library.close()
    db.close()


def ask(chat: dict[str, Any], question: str) -> Any:
    service: ChatService = chat["service"]
    conversation = service.store.create()
    return service.send(
        conversation.id,
        question,
        model_id=chat["model"].id,
        settings=GenerationSettings(seed=1, max_tokens=40),
        collections=["Ward guideline"],
    )


def test_the_answer_cites_the_passage_it_was_given(chat: dict[str, Any]) -> None:
    answer = ask(chat, "How quickly must antibiotics be given in sepsis?")
    assert answer.status == "complete" and answer.content  # stories260K: nonsense, but an answer
    sources = answer.provenance["sources"]
    assert sources[0]["n"] == 1
    assert sources[0]["file_name"] == "ward-guideline.pdf" and sources[0]["page"] == 7
    assert "within one hour" in sources[0]["text"]
    assert answer.provenance["collections"] == ["Ward guideline"]
    assert answer.provenance["retrieval"]["relevant_found"] is True
    prompt = chat["prompts"][-1]
    assert INSTRUCTIONS in prompt
    assert "[1] (ward-guideline.pdf, page 7)\n" in prompt
    assert sources[0]["text"] in prompt
    assert "Question: How quickly must antibiotics be given in sepsis?" in prompt
    # A model repeating the hidden instruction is stopped before it shows.
    assert set(ECHO_STOPS) <= set(chat["stops"][-1])
    assert any(INSTRUCTIONS.startswith(stop) for stop in ECHO_STOPS)
    # The saved conversation keeps the person's words, not the prompt built around them.
    saved = chat["service"].store.get(answer.conversation_id).messages
    assert saved[0].content == "How quickly must antibiotics be given in sepsis?"


def test_every_cited_source_is_one_the_model_saw(chat: dict[str, Any]) -> None:
    answer = ask(chat, "What happens at discharge and who gets the letter?")
    prompt = chat["prompts"][-1]
    for source in answer.provenance["sources"]:
        assert f"[{source['n']}] (" in prompt and source["text"] in prompt
    assert answer.provenance["sources"][0]["page"] == 9


def test_when_nothing_is_relevant_the_answer_says_so_without_inventing(
    chat: dict[str, Any],
) -> None:
    answer = ask(chat, "What is the capital city of Mongolia?")
    assert answer.provenance["sources"] == []
    assert answer.provenance["retrieval"]["relevant_found"] is False
    assert answer.content == NOT_COVERED_ANSWER.format(names="“Ward guideline”")
    assert answer.status == "complete"
    assert chat["prompts"] == []  # the model was not asked to make something up


def test_the_model_is_told_when_nothing_is_relevant() -> None:
    grounding = ground_question(
        "What is the capital city of Mongolia?", [], ["Ward guideline"],
        tokenize=str.split, token_budget=1000,
    )  # fmt: skip
    assert "nothing relevant to this question was found" in grounding.text
    assert "do not guess" in grounding.text and not grounding.relevant_found


def test_sources_are_cut_to_fit_a_small_context(chat: dict[str, Any]) -> None:
    library: DocumentLibrary = chat["library"]
    hits = library.search(["Ward guideline"], "antibiotics in sepsis", k=5)

    def tokenize(text: str) -> list[int]:
        return list(range(len(text.split())))  # one token per word, for a checkable budget

    roomy = ground_question("Q?", hits, ["W"], tokenize=tokenize, token_budget=10_000)
    tight = ground_question("Q?", hits, ["W"], tokenize=tokenize, token_budget=110)
    assert roomy.sources[0]["page"] == tight.sources[0]["page"] == 7
    assert not roomy.sources[0]["truncated"] and tight.sources[0]["truncated"]
    assert len(tokenize(tight.text)) <= 110 < len(tokenize(roomy.text))
    assert "…" in tight.text


def test_sources_print_as_a_numbered_list() -> None:
    text = format_sources(
        [
            {"n": 1, "file_name": "a.pdf", "page": 7, "heading": None, "text": "Give it fast."},
            {"n": 2, "file_name": "b.md", "page": None, "heading": "Dose", "text": "x " * 300},
        ]
    )
    lines = text.splitlines()
    assert lines[0] == '[1] a.pdf, page 7: "Give it fast."'
    assert lines[1].startswith("[2] b.md, section 'Dose': \"x x") and lines[1].endswith('…"')
