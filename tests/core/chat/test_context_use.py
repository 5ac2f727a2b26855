"""Memory on Automatic, the estimate before sending, and what an answer says was left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.chat.context_use import (
    WHAT_TO_DO,
    ContextLevel,
    estimate_tokens,
    left_out_notes,
    measure_context_use,
)
from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.documents.grounding import ground_question
from localai_desktop.core.documents.retrieval import SearchHit
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import GenerationSettings
from localai_desktop.core.models.context_choice import (
    LEAST_AUTOMATIC_TOKENS,
    MOST_AUTOMATIC_TOKENS,
    automatic_context,
    choose_context,
)
from localai_desktop.core.models.hardware import ModelFacts
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database

GiB = 1024**3
# Llama 3.1 8B: 32 layers, 8 KV heads of 128 (128 KiB of F16 cache per token), Q4_K_M 4.9 GB.
LLAMA_8B = ModelFacts(
    parameter_count=8_030_000_000,
    context_length=131072,
    block_count=32,
    head_count_kv=8,
    key_length=128,
    value_length=128,
)
LLAMA_8B_FILE = int(4.9 * GiB)


@pytest.fixture
def service(data_dir: Path) -> ChatService:
    db = Database(data_dir / "localai.db")
    chat = ChatService(ConversationStore(db), ModelRegistry(db, data_dir / "models"), LlamaEngine())
    yield chat
    chat.engine.unload()
    db.close()


def test_automatic_memory_follows_the_computers_ram() -> None:
    laptop = choose_context(LLAMA_8B, LLAMA_8B_FILE, 16 * GiB)
    # Half of 16 GiB less the weights leaves about 2.5 GiB for the cache: 17k tokens.
    assert 16384 <= laptop.tokens <= 18432
    assert laptop.kv_cache_bytes <= 0.5 * 16 * GiB - LLAMA_8B_FILE
    assert "17," in laptop.describe() and "16.0 GB" in laptop.describe()
    workstation = choose_context(LLAMA_8B, LLAMA_8B_FILE, 64 * GiB)
    assert workstation.tokens == MOST_AUTOMATIC_TOKENS  # not 128k: minutes to read on a CPU
    small = choose_context(LLAMA_8B, LLAMA_8B_FILE, 8 * GiB)
    assert small.tokens == LEAST_AUTOMATIC_TOKENS  # tight: the load will say if it cannot
    short_model = choose_context(LLAMA_8B, LLAMA_8B_FILE, 64 * GiB, model_most=8192)
    assert short_model.tokens == 8192  # never beyond what the model was trained for


def test_automatic_memory_reads_the_model_file(stories260k: Path, tiny_chat_model: Path) -> None:
    assert automatic_context(stories260k, 2048, ram_bytes=16 * GiB).tokens == 2048
    assert automatic_context(tiny_chat_model, 32768, ram_bytes=16 * GiB).tokens == 32768
    missing = automatic_context(Path("/nonexistent/model.gguf"), 32768, ram_bytes=16 * GiB)
    assert missing.tokens == 4096


def test_a_new_chat_loads_with_the_automatic_memory_not_4096(
    service: ChatService, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create()
    answer = service.send(
        conversation.id,
        "Hello",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=8, seed=1),
    )
    expected = automatic_context(model.path, model.context_length).tokens
    assert answer.provenance.n_ctx == expected > 4096
    assert answer.provenance.settings is not None
    assert answer.provenance.settings.context_length == 0  # stored as "automatic"
    assert left_out_notes(answer.provenance) == []


def test_dropped_turns_and_a_cut_message_are_said_with_what_to_do(
    service: ChatService, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create()
    for index in range(12):
        service.store.add_message(conversation.id, "user", f"question {index} " + "word " * 60)
        service.store.add_message(conversation.id, "assistant", f"answer {index} " + "word " * 60)
    answer = service.send(
        conversation.id,
        "Please summarise: " + "clause " * 1500,
        model_id=model.id,
        settings=GenerationSettings(context_length=1024, max_tokens=50, seed=1),
    )
    notes = left_out_notes(answer.provenance)
    assert notes[0].startswith("24 earlier messages were left out")
    assert "(1,024 tokens)" in notes[0]
    assert any("beginning was left out" in note for note in notes)
    assert notes[-1] == WHAT_TO_DO


def test_passages_that_do_not_fit_are_counted() -> None:
    hits = [
        SearchHit(
            rank=n,
            chunk_id=n,
            collection_id=1,
            collection_name="Ward",
            file_id=n,
            file_path=Path(f"/docs/file{n}.txt"),
            page=None,
            heading=None,
            text=f"passage {n} " + "dose " * 300,
            score=1.0,
            similarity=0.8,
            keyword_rank=n,
            vector_rank=n,
            relevant=True,
        )
        for n in range(1, 4)
    ]
    grounding = ground_question(
        "What dose?", hits, ["Ward"], tokenize=lambda t: t.split(), token_budget=400
    )
    assert len(grounding.sources) == 1
    assert grounding.left_out == 2


def test_the_estimate_warns_before_sending() -> None:
    assert estimate_tokens("") == 0
    assert 9 <= estimate_tokens("The quick brown fox jumps over the lazy dog.") <= 16

    def use(draft: str, messages: int = 0, documents: bool = False) -> ContextLevel:
        return measure_context_use(
            n_ctx=4096,
            max_tokens=1024,
            system_prompt="Be brief.",
            messages=["word " * 100] * messages,
            draft=draft,
            with_documents=documents,
        ).level

    assert use("Hello") is ContextLevel.FINE
    assert use("Hello", messages=20) is ContextLevel.NEARLY_FULL
    assert use("Hello", messages=40) is ContextLevel.TOO_FULL
    long_paste = measure_context_use(
        n_ctx=4096, max_tokens=1024, system_prompt="", messages=[],
        draft="clause " * 5000, with_documents=False,
    )  # fmt: skip
    assert long_paste.message_alone_too_long
    assert "its beginning would be left out" in long_paste.describe()
    with_documents = measure_context_use(
        n_ctx=4096, max_tokens=1024, system_prompt="", messages=[], draft="Hi",
        with_documents=True,
    )  # fmt: skip
    assert with_documents.documents > 1000
    assert "documents up to" in with_documents.describe()


def test_files_about_to_be_attached_count_in_the_estimate(tmp_path: Path) -> None:
    from localai_desktop.core.chat.attachments import WHOLE_LIMIT_CHARS, attached_sizes

    short = tmp_path / "note.txt"
    short.write_text("Rent is due on the first. " * 200, "utf-8")  # 5,200 characters
    long = tmp_path / "lease.md"
    long.write_text("clause " * WHOLE_LIMIT_CHARS, "utf-8")
    assert attached_sizes([short]) == (5200, False)
    assert attached_sizes([short, long, tmp_path / "gone.pdf"]) == (5200, True)

    def use(paths: list[Path]) -> object:
        whole, searched = attached_sizes(paths)
        return measure_context_use(
            n_ctx=2048, max_tokens=512, system_prompt="", messages=[], draft="Summarise it.",
            with_documents=searched, attached_chars=whole,
        )  # fmt: skip

    bare, with_note = use([]), use([short])
    assert with_note.message >= bare.message + 1300  # the note's ~1,300 tokens go with it
    assert use([long]).documents > 0  # a long file is searched: room kept for its passages
