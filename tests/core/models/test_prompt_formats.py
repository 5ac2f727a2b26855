"""Prompt formats for models without a chat template: guessed, shown, chosen per model."""

from __future__ import annotations

from pathlib import Path

import pytest

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import ChatTurn, GenerationSettings
from localai_desktop.core.models.chat_template import ChatTemplate
from localai_desktop.core.models.prompt_formats import (
    FORMATS,
    PLAIN,
    format_choice,
    guess_format,
    parse_format,
)
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.core.storage import Database
from tests.support import gguf_factory

TURNS = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"},
    {"role": "user", "content": "Bye"},
]


@pytest.fixture(scope="module")
def no_template_model(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random llama with Phi-3's tokenizer (its <|assistant|> token) and no chat template."""
    return gguf_factory.write_random_llama(
        tmp_path_factory.mktemp("formats") / "no-template.gguf",
        tokenizer_from=models_dir / "ggml-vocab-phi-3.gguf",
        chat_template=None,
        name="No Template",
    )


@pytest.fixture
def service(data_dir: Path) -> ChatService:
    db = Database(data_dir / "localai.db")
    chat = ChatService(ConversationStore(db), ModelRegistry(db, data_dir / "models"), LlamaEngine())
    yield chat
    chat.engine.unload()
    db.close()


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("chatml", "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n"),
        ("llama3", "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"),
        ("mistral", "[INST] Bye [/INST]"),
        ("gemma", "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"),
        ("phi3", "<|user|>\nBye<|end|>\n<|assistant|>\n"),
        ("alpaca", "### Instruction:\nBye\n\n### Response:\n"),
    ],
)
def test_each_format_renders_a_conversation(key: str, expected: str) -> None:
    prompt_format = FORMATS[key]
    assert prompt_format.template is not None and prompt_format.stops
    text = ChatTemplate(prompt_format.template).render(
        TURNS, bos_token="<s>", eos_token="</s>", add_generation_prompt=True
    )
    assert text.endswith(expected) or expected in text
    assert "Hello!" in text


def test_the_format_is_guessed_from_tokens_then_architecture(
    models_dir: Path, stories260k: Path, no_template_model: Path
) -> None:
    assert guess_format(no_template_model, "llama") == (
        "phi3",
        "its vocabulary has the <|assistant|> token",
    )
    assert guess_format(stories260k, "llama")[0] == PLAIN  # a base model: the standard transcript
    assert guess_format(stories260k, "qwen2") == ("chatml", "from its architecture (qwen2)")
    assert guess_format(stories260k, "gemma3")[0] == "gemma"


def test_typed_format_names_are_understood_or_refused_plainly() -> None:
    assert parse_format("ChatML") == "chatml"
    assert parse_format("Llama-3") == "llama3"
    assert parse_format("llama2") == "mistral"
    assert parse_format("auto") is None
    with pytest.raises(LocalAIError, match="no prompt format called 'vicuna'") as error:
        parse_format("vicuna")
    assert "chatml" in error.value.todo


def test_a_model_without_template_is_prompted_in_the_guess_then_in_the_chosen_format(
    service: ChatService, no_template_model: Path, tiny_chat_model: Path
) -> None:
    model = service.registry.import_model(no_template_model, name="plainfile")
    choice = format_choice(model)
    assert (choice.key, choice.origin) == ("phi3", "guessed")
    assert model.to_json()["prompt_format"] == "phi3"
    settings = GenerationSettings(max_tokens=5, seed=1, context_length=1024)
    conversation = service.store.create()
    answer = service.send(conversation.id, "Hi", model_id=model.id, settings=settings)
    assert answer.provenance["chat_format"] == "phi3"
    assert answer.provenance["chat_format_origin"] == "guessed"
    assert service.engine.formatter.render([])[1][-3:] == FORMATS["phi3"].stops

    service.registry.set_source(model.id, {"repo": "someone/model"})
    chosen = service.registry.set_prompt_format("plainfile", "chatml")
    assert chosen.source == {"repo": "someone/model", "prompt_format": "chatml"}
    assert format_choice(service.registry.get(model.id)).origin == "chosen"
    loaded = service.engine.loaded
    answer = service.send(conversation.id, "Again", model_id=model.id, settings=settings)
    assert answer.provenance["chat_format"] == "chatml"
    assert service.engine.loaded is loaded  # the format changed without reloading the model
    assert "<|im_start|>" in service.engine.formatter.render([ChatTurn("user", "Again")])[0]

    back = service.registry.set_prompt_format(model.id, None)
    assert back.source == {"repo": "someone/model"}
    with_template = service.registry.import_model(tiny_chat_model, name="own")
    assert format_choice(with_template).origin == "file"
