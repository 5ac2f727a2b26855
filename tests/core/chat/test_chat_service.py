"""The chat service on real models: streaming, stop, provenance, templates and trimming."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import WRITE_THROUGH_SECONDS, ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.inference.prompt import FALLBACK_ASSISTANT, plan_prompt
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database

STORIES_SHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"


@pytest.fixture
def service(data_dir: Path) -> ChatService:
    db = Database(data_dir / "localai.db")
    chat = ChatService(ConversationStore(db), ModelRegistry(db, data_dir / "models"), LlamaEngine())
    yield chat
    chat.engine.unload()
    db.close()


def test_answer_streams_and_records_how_it_was_made(
    service: ChatService, stories260k: Path
) -> None:
    model = service.registry.import_model(stories260k, name="stories")
    conversation = service.store.create(system_prompt="You tell stories.")
    pieces: list[str] = []
    answer = service.send(
        conversation.id,
        "Tell me a story about a cat.",
        model_id=model.id,
        settings=GenerationSettings(seed=7, max_tokens=120, temperature=0.8),
        on_text=pieces.append,
    )
    assert len(pieces) > 10  # streamed piece by piece, not in one go
    assert answer.content == "".join(pieces)
    assert answer.status == "complete"
    assert len(answer.content.split()) > 20
    provenance = answer.provenance
    assert provenance["model_sha256"] == STORIES_SHA256
    assert provenance["model_file"] == str(stories260k.resolve())
    assert provenance["settings"]["seed"] == 7
    assert provenance["settings"]["temperature"] == 0.8
    assert 0 < provenance["completion_tokens"] <= 120
    assert provenance["tokens_per_second"] > 0
    assert provenance["time_to_first_token_s"] >= 0
    assert provenance["backend"] == "CPU"  # this llama.cpp build has no GPU backend
    saved = service.store.get(conversation.id).messages
    assert [m.role for m in saved] == ["user", "assistant"]
    assert saved[1].content == answer.content


def test_a_streaming_answer_is_saved_about_every_second(
    service: ChatService, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create()
    cancel = Cancellation()
    streamed: list[tuple[float, str]] = []  # (when, the text streamed by then)
    checks: list[tuple[str, str]] = []  # (saved text, text streamed WRITE_THROUGH + 1 s before)

    def on_text(text: str) -> None:
        now = time.monotonic()
        streamed.append((now, (streamed[-1][1] if streamed else "") + text))
        if now - streamed[0][0] < 2.5:
            return
        saved = service.store.get(conversation.id).messages[-1]
        older = [t for when, t in streamed if when <= now - WRITE_THROUGH_SECONDS - 1.0]
        checks.append((saved.content, older[-1]))
        cancel.set()

    answer = service.send(
        conversation.id,
        "Talk for a long time.",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=100_000, context_length=32768),
        on_text=on_text,
        cancel=cancel,
    )
    saved, streamed_before = checks[0]
    # While it streamed, the database held the answer as written until a moment ago.
    assert streamed_before and saved.startswith(streamed_before)
    assert answer.content.startswith(saved)
    assert answer.status == "stopped"


def test_same_seed_gives_the_same_answer(service: ChatService, stories260k: Path) -> None:
    model = service.registry.import_model(stories260k, name="stories")
    answers = []
    for _ in range(2):
        conversation = service.store.create()
        answers.append(
            service.send(
                conversation.id,
                "Once upon a time",
                model_id=model.id,
                settings=GenerationSettings(seed=42, max_tokens=60),
            ).content
        )
    assert answers[0] == answers[1]


def test_stop_keeps_the_partial_answer(service: ChatService, tiny_chat_model: Path) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create()
    cancel = Cancellation()
    pieces: list[str] = []

    def on_text(text: str) -> None:
        pieces.append(text)
        if len(pieces) == 30:
            cancel.set()

    answer = service.send(
        conversation.id,
        "Talk for a long time.",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=5000, context_length=8192),
        on_text=on_text,
        cancel=cancel,
    )
    assert answer.status == "stopped"
    assert answer.content == "".join(pieces)
    assert 30 <= answer.provenance["completion_tokens"] < 40  # stopped within a token or so
    assert service.store.get(conversation.id).messages[-1].content == answer.content


def test_chat_template_from_the_gguf_is_used(service: ChatService, tiny_chat_model: Path) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    assert model.has_chat_template
    service.load_model(model, 2048)
    turns = [ChatTurn("system", "Be brief."), ChatTurn("user", "Hello there")]
    plan = plan_prompt(
        turns,
        service.engine.formatter,
        service.engine.tokenize,
        n_ctx=2048,
        max_tokens=100,
        bos_token_ids=service.engine.bos_token_ids,
    )
    assert plan.used_template
    # Phi-3's own turn markers, rendered by its template, each one token.
    assert "<|user|>" in plan.text and "<|assistant|>" in plan.text
    assert "Hello there" in plan.text
    assert service.engine.tokenize("<|user|>") == [service.engine.tokenize("<|user|>")[0]]


def test_model_without_template_gets_the_fallback_format(
    service: ChatService, stories260k: Path
) -> None:
    model = service.registry.import_model(stories260k, name="stories")
    service.load_model(model, 512)
    plan = plan_prompt(
        [ChatTurn("user", "Hi")],
        service.engine.formatter,
        service.engine.tokenize,
        n_ctx=512,
        max_tokens=100,
        bos_token_ids=service.engine.bos_token_ids,
    )
    assert not plan.used_template
    assert plan.text.endswith(FALLBACK_ASSISTANT)
    assert plan.tokens[0] == 1  # stories260K wants a BOS token first


def test_long_history_is_trimmed_oldest_first_keeping_the_system_prompt(
    service: ChatService, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create(system_prompt="SYSTEM-RULES stay.")
    for index in range(40):
        service.store.add_message(conversation.id, "user", f"question {index} " + "word " * 60)
        service.store.add_message(conversation.id, "assistant", f"answer {index} " + "word " * 60)
    service.store.add_message(conversation.id, "user", "FINAL QUESTION")
    answer = service.reply(
        conversation.id,
        model_id=model.id,
        settings=GenerationSettings(context_length=1024, max_tokens=100, seed=1),
    )
    assert answer.status == "complete"
    assert answer.provenance["trimmed_messages"] > 0
    assert answer.provenance["prompt_tokens"] + answer.provenance["completion_tokens"] <= 1024
    service.load_model(model, 1024)
    turns = [ChatTurn("system", "SYSTEM-RULES stay.")]
    turns += [ChatTurn(m.role, m.content) for m in service.store.get(conversation.id).messages]
    plan = plan_prompt(
        turns[:-1],  # without the new answer
        service.engine.formatter,
        service.engine.tokenize,
        n_ctx=1024,
        max_tokens=100,
    )
    assert "SYSTEM-RULES stay." in plan.text
    assert "FINAL QUESTION" in plan.text
    assert "question 0 " not in plan.text  # the oldest went first
    assert "answer 39" in plan.text  # the newest stayed


def test_a_single_message_longer_than_the_context_is_cut_not_an_error(
    service: ChatService, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(tiny_chat_model, name="tiny")
    conversation = service.store.create()
    answer = service.send(
        conversation.id,
        "start " + "lorem ipsum " * 2000 + " THE END",
        model_id=model.id,
        settings=GenerationSettings(context_length=512, max_tokens=50, seed=1),
    )
    assert answer.status == "complete"
    assert answer.provenance["prompt_tokens"] + answer.provenance["completion_tokens"] <= 512
    assert answer.provenance["prompt_warnings"]


def test_regenerate_replaces_the_last_answer(service: ChatService, stories260k: Path) -> None:
    model = service.registry.import_model(stories260k, name="stories")
    conversation = service.store.create()
    first = service.send(
        conversation.id,
        "Once upon a time",
        model_id=model.id,
        settings=GenerationSettings(seed=1, max_tokens=40),
    )
    second = service.regenerate(
        conversation.id, model_id=model.id, settings=GenerationSettings(seed=2, max_tokens=40)
    )
    messages = service.store.get(conversation.id).messages
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].id == second.id
    assert messages[1].content == second.content
    assert second.content != first.content
    # The first answer is kept as version 1 of 2.
    assert messages[1].version_ids == (first.id, second.id) and messages[1].version == 2


def test_an_edit_answers_the_new_version_and_the_history_follows_the_version_shown(
    service: ChatService, stories260k: Path
) -> None:
    model = service.registry.import_model(stories260k, name="stories")
    settings = GenerationSettings(seed=1, max_tokens=20)
    conversation = service.store.create()
    service.send(conversation.id, "Once upon a time", model_id=model.id, settings=settings)
    question = service.store.get(conversation.id).messages[0]
    long_question = "Once upon a time there was a little girl who loved the big blue sea " * 3
    answer = service.edit(
        conversation.id, question.id, long_question, model_id=model.id, settings=settings
    )
    shown = service.store.get(conversation.id).messages
    assert [m.content for m in shown] == [long_question, answer.content]
    assert (shown[0].version, shown[0].version_count) == (2, 2)

    def prompt_tokens_of_a_follow_up() -> int:
        reply = service.send(conversation.id, "Next", model_id=model.id, settings=settings)
        assert reply.provenance.stats is not None
        return reply.provenance.stats.prompt_tokens

    with_edit = prompt_tokens_of_a_follow_up()
    service.store.show_version(question.id)
    assert service.store.get(conversation.id).messages[0].content == "Once upon a time"
    with_original = prompt_tokens_of_a_follow_up()
    # The model read the short original, not the long edit hidden behind it.
    assert with_original < with_edit - 30


def test_an_answer_cut_off_by_a_limit_says_which(
    service: ChatService, tiny_chat_model: Path
) -> None:
    from localai_desktop.core.inference.generation import (
        CutOff,
        cut_off_by,
    )
    from localai_desktop.ui.chat.message_view import describe_status

    model = service.registry.import_model(tiny_chat_model, name="tiny")
    short = service.send(
        service.store.create().id,
        "Talk for a long time.",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=25, seed=1),
    )
    assert short.status == "complete" and short.provenance["completion_tokens"] == 25
    assert short.provenance.cut_off is CutOff.LONGEST_ANSWER
    assert describe_status(short).startswith("Cut off at the longest-answer limit (25 tokens).")

    # Asking for more than the context can hold: the answer ends where the memory does.
    full = service.send(
        service.store.create().id,
        "Talk for a long time.",
        model_id=model.id,
        settings=GenerationSettings(max_tokens=5000, context_length=512, seed=1),
    )
    assert full.status == "complete"
    assert full.provenance["prompt_tokens"] + full.provenance["completion_tokens"] == 512
    assert full.provenance.cut_off is CutOff.MEMORY
    assert "filled the model's memory (512 tokens)" in describe_status(full)

    # Ended by the model, or stopped by the person: not cut off.
    assert cut_off_by({**full.provenance, "finish_reason": "stop"}) is None
    assert cut_off_by({**full.provenance, "finish_reason": "cancelled"}) is None
