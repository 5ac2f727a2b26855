"""Chat templates render within limits: hostile ones are refused fast, real ones as before."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from gguf import GGUFReader
from jinja2.sandbox import ImmutableSandboxedEnvironment

from localai_desktop.core.inference.generation import ChatTurn
from localai_desktop.core.inference.prompt import ChatFormatter, plan_prompt
from localai_desktop.core.models.chat_template import (
    TEMPLATE_SAFE,
    UNSAFE_TEMPLATE_NOTICE,
    UNSAFE_VERDICTS,
    ChatTemplate,
    ChatTemplateLimitError,
    check_chat_template,
    disarm_llama_cpp_templates,
    notice_for,
)
from localai_desktop.core.models.probe import check_chat_template_in_child
from tests.support.hostile_content import HOSTILE_TEMPLATES, UNSAFE_NOTICE

# More ways a template can try to run long or grow large, each one operation the limits know.
MORE_HOSTILE = {
    "concat_doubling": (
        '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}'
        "{% endfor %}{{ ns.s }}"
    ),
    "plus_doubling": (
        '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}'
        "{% endfor %}{{ ns.s }}"
    ),
    "captured_block": (
        "{% set s %}{% for i in range(100000) %}{% for j in range(10000) %}"
        + "y" * 200
        + "{% endfor %}{% endfor %}{% endset %}{{ s|length }}"
    ),
    "center_filter": '{{ "x"|center(3000000000) }}',
    "ljust_method": '{{ "x".ljust(3000000000) }}',
    "format_width": '{{ "{:>3000000000}".format(1) }}',
    "printf_width": '{{ "%3000000000d" % 1 }}',
    "power": "{{ 10 ** 100000000 }}",
    "replace_growth": (
        '{% set ns = namespace(s="x" * 1000) %}{% for i in range(10) %}'
        '{% set ns.s = ns.s.replace("x", ns.s) %}{% endfor %}'
    ),
    "join_separator": '{{ range(100000)|map("string")|join("x" * 100000) }}',
    "macro_fanout": (
        "{% macro f(n) %}{% if n < 40 %}{{ f(n + 1) }}{{ f(n + 1) }}{% endif %}{% endmacro %}"
        "{{ f(0) }}"
    ),
    "recursive_loop": (
        "{% for x in range(100000) recursive %}{{ loop(range(100000)) }}{% endfor %}"
    ),
    "list_repeat": "{{ ([1] * 1000000) * 1000 }}",
    "slice_filter": "{{ (range(10)|slice(3000000000)|list)|length }}",
    "indent_filter": '{{ ("x\\n" * 100000)|indent(100000) }}',
}

PHI3_LIKE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + '<|end|>\\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)
QWEN_LIKE = """{%- if messages[0]['role'] == 'system' %}
{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(last_user=0) %}
{%- for message in messages[::-1] %}
  {%- if message.role == 'user' and ns.last_user == 0 %}
    {%- set ns.last_user = loop.index %}
  {%- endif %}
{%- endfor %}
{%- for message in messages %}
  {%- if message.role == 'system' and loop.first %}{% continue %}{% endif %}
  {{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}
{{- {"n": messages | length} | tojson }}"""
GEMMA_LIKE = (
    "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}<start_of_turn>{{ message['role'] }}\n"
    "{{ message['content'] | trim }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
CONVERSATION = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "Hello there"},
    {"role": "assistant", "content": "Hi! How can I help?"},
    {"role": "user", "content": "Say <b>bold</b> & “quoted”"},
]


def _plain_sandbox_render(source: str, messages: list[dict[str, str]]) -> str:
    from jinja2.ext import loopcontrols

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols]
    )
    env.filters["tojson"] = __import__("json").dumps
    return env.from_string(source).render(
        messages=messages, bos_token="<s>", eos_token="</s>", add_generation_prompt=True
    )


@pytest.mark.parametrize("source", [PHI3_LIKE, QWEN_LIKE])
def test_real_templates_render_as_jinja2_renders_them(source: str) -> None:
    template = ChatTemplate(source)
    text = template.render(
        CONVERSATION, bos_token="<s>", eos_token="</s>", add_generation_prompt=True
    )
    assert text == _plain_sandbox_render(source, CONVERSATION)
    assert "Say <b>bold</b> & “quoted”" in text
    assert check_chat_template(source) == TEMPLATE_SAFE


def test_phi3_template_from_its_gguf_is_safe(models_dir: Path) -> None:
    reader = GGUFReader(models_dir / "ggml-vocab-phi-3.gguf")
    source = reader.fields["tokenizer.chat_template"].contents()
    assert check_chat_template(source) == TEMPLATE_SAFE
    formatter = ChatFormatter(source, bos_token="<s>", eos_token="<|endoftext|>")
    text, _stops, used = formatter.render([ChatTurn("user", "Hi")])
    assert used and "<|user|>" in text and formatter.refused is None


def test_a_template_refusing_the_system_role_is_retried_merged_and_is_safe() -> None:
    formatter = ChatFormatter(GEMMA_LIKE, bos_token="<bos>", eos_token="<eos>")
    text, _stops, used = formatter.render([ChatTurn("system", "Be kind."), ChatTurn("user", "Hi")])
    assert used and "Be kind.\n\nHi" in text
    assert check_chat_template(GEMMA_LIKE) == TEMPLATE_SAFE


@pytest.mark.parametrize("name", sorted({**HOSTILE_TEMPLATES, **MORE_HOSTILE}))
def test_hostile_template_is_refused_within_seconds_and_chat_uses_the_standard_format(
    name: str,
) -> None:
    source = {**HOSTILE_TEMPLATES, **MORE_HOSTILE}[name]
    started = time.monotonic()
    formatter = ChatFormatter(source, bos_token="<s>", eos_token="</s>")
    turns = [ChatTurn("system", "Be brief."), ChatTurn("user", "Hello")]
    text, _stops, used = formatter.render(turns)
    first = time.monotonic() - started
    assert not used and text.startswith("Be brief.") and "### User:\nHello" in text
    assert formatter.refused in UNSAFE_VERDICTS
    assert notice_for(formatter.refused) == UNSAFE_TEMPLATE_NOTICE == UNSAFE_NOTICE
    assert first < 6.0
    # Refused once, not tried again: the next render is immediate.
    started = time.monotonic()
    assert formatter.render(turns)[2] is False
    assert time.monotonic() - started < 0.1


@pytest.mark.parametrize("name", sorted(HOSTILE_TEMPLATES))
def test_the_check_in_a_child_refuses_each_hostile_template(name: str) -> None:
    started = time.monotonic()
    verdict = check_chat_template_in_child(HOSTILE_TEMPLATES[name])
    assert verdict in UNSAFE_VERDICTS
    assert time.monotonic() - started < 20


def test_the_check_in_a_child_is_stopped_by_its_timeout_and_memory_watch() -> None:
    # Limits far below what even a harmless render needs: the parent's watch decides.
    assert check_chat_template_in_child(PHI3_LIKE, timeout_s=0.001) == "too_slow"
    assert check_chat_template_in_child(PHI3_LIKE, memory_bytes=1) == "too_much_memory"
    assert check_chat_template_in_child(PHI3_LIKE) == TEMPLATE_SAFE


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os.popen('touch {marker}').read() }}",
        "{{ self._TemplateReference__context.cycler.__init__.__globals__.os"
        ".popen('touch {marker}').read() }}",
        "{{ joiner.__init__.__globals__.os.popen('touch {marker}').read() }}",
        "{{ namespace.__init__.__globals__.os.popen('touch {marker}').read() }}",
    ],
)
def test_the_sandbox_still_keeps_python_out_of_reach(source: str, tmp_path: Path) -> None:
    marker = tmp_path / "popen-ran"
    source = source.replace("{marker}", str(marker))
    formatter = ChatFormatter(source, bos_token="<s>", eos_token="</s>")
    text, _stops, used = formatter.render([ChatTurn("user", "Hello")])
    assert not marker.exists()
    assert "subclasses" not in text and "<class" not in text
    # Refused by the sandbox: the standard format answers instead.
    assert not used and "### User:\nHello" in text
    check_chat_template(source)
    assert not marker.exists()


def test_limits_raise_their_own_error_not_a_template_error() -> None:
    template = ChatTemplate(HOSTILE_TEMPLATES["huge_repeat"])
    with pytest.raises(ChatTemplateLimitError) as raised:
        template.render(CONVERSATION, bos_token="", eos_token="", add_generation_prompt=True)
    assert raised.value.verdict == "too_large"


def test_an_overlong_template_is_refused_unread() -> None:
    with pytest.raises(ChatTemplateLimitError):
        ChatTemplate("x" * (300 * 1024))


def test_llama_cpp_compiles_no_template_when_disarmed() -> None:
    pytest.importorskip("llama_cpp")
    from llama_cpp import llama_chat_format

    disarm_llama_cpp_templates()
    started = time.monotonic()
    # What Llama() does for every template in a file, as it loads it.
    formatter = llama_chat_format.Jinja2ChatFormatter(
        template=HOSTILE_TEMPLATES["huge_repeat"], eos_token="</s>", bos_token="<s>"
    )
    assert time.monotonic() - started < 0.5
    with pytest.raises(ChatTemplateLimitError):
        formatter(messages=[{"role": "user", "content": "Hi"}])
    safe = llama_chat_format.Jinja2ChatFormatter(
        template=PHI3_LIKE, eos_token="</s>", bos_token="<s>"
    )
    assert "<|user|>\nHi<|end|>" in safe(messages=[{"role": "user", "content": "Hi"}]).prompt


def test_a_very_long_conversation_is_cut_by_characters_before_it_is_rendered() -> None:
    rendered: list[int] = []

    class CountingFormatter(ChatFormatter):
        def render(self, turns):  # type: ignore[no-untyped-def]
            rendered.append(sum(len(t.content) for t in turns))
            return super().render(turns)

    formatter = CountingFormatter(PHI3_LIKE, bos_token="<s>", eos_token="</s>")
    turns = [ChatTurn("user" if i % 2 == 0 else "assistant", "word " * 2000) for i in range(400)]
    plan = plan_prompt(
        turns, formatter, lambda text: list(range(len(text) // 4)), n_ctx=4096, max_tokens=256
    )
    assert plan.used_template and plan.trimmed_messages > 300
    # Never the whole 4 MB conversation: at most 16 characters per token of room.
    assert max(rendered) <= 4096 * 16
