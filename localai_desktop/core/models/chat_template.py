"""A model's chat template, rendered in jinja2's sandbox within limits of time and size.

A GGUF file's `tokenizer.chat_template` is a program written by whoever made the file. jinja2's
sandbox stops it from reaching Python's internals, but not from looping for hours or building a
string of many gigabytes. Every template in the app is rendered through `ChatTemplate`, which
adds what the sandbox lacks:

- values cannot grow past a size: repetition (`"x" * n`), joining, padding and formatting
  are checked before they run, and every piece of text the template writes is counted;
- a deadline, checked on every loop step, call, operator and written piece, so a loop that
  writes nothing still ends;
- a budget for all the text made while rendering, so growing a string in small pieces ends too.

These checks run in the app's own process at every render; a template that breaks them is
refused and the standard format is used instead. They cannot bound one single operation
implemented in C that the checks do not know about, so a model's template is also checked once,
on a long conversation, in a child process with a memory limit and a timeout
(`check_in_child`), and the verdict is kept in the model registry. Run as a module, this file is
that child.
"""

from __future__ import annotations

import contextvars
import functools
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

# The verdicts kept for a model's chat template (registry column chat_template_check).
TEMPLATE_SAFE = "safe"
TEMPLATE_TOO_SLOW = "too_slow"
TEMPLATE_TOO_LARGE = "too_large"
TEMPLATE_TOO_MUCH_MEMORY = "too_much_memory"
TEMPLATE_BROKEN = "broken"
UNSAFE_VERDICTS = (TEMPLATE_TOO_SLOW, TEMPLATE_TOO_LARGE, TEMPLATE_TOO_MUCH_MEMORY)

# What a person is told, in the Models and Chat tabs and by `localai models list|show`.
UNSAFE_TEMPLATE_NOTICE = "its chat format was unsafe or too slow; a standard format is used"
BROKEN_TEMPLATE_NOTICE = "its chat format could not be read; a standard format is used"

# Longer templates are refused unread: the longest real ones (with tool calling) are ~20 KB.
MAX_TEMPLATE_CHARS = 256 * 1024
# A render may write this much plus four times the conversation's own text.
BASE_OUTPUT_CHARS = 1_000_000
# All text made while rendering (pieces, joins, repetitions), as a multiple of the above.
MADE_TEXT_FACTOR = 32
RENDER_SECONDS = 3.0
# range() in a template; jinja2's sandbox default.
MAX_RANGE = 100_000
# Integers past this many bits are refused (2 ** 10 ** 9 would take minutes and gigabytes).
MAX_INT_BITS = 100_000

_FORMAT_WIDTH = re.compile(r"\d{7,}")


class ChatTemplateLimitError(Exception):
    """The template went past a limit while rendering; `verdict` says which kind."""

    def __init__(self, verdict: str, detail: str) -> None:
        super().__init__(detail)
        self.verdict = verdict


def notice_for(verdict: str | None) -> str:
    """What to tell a person about a template with this verdict ("" when nothing)."""
    if verdict in UNSAFE_VERDICTS:
        return UNSAFE_TEMPLATE_NOTICE
    if verdict == TEMPLATE_BROKEN:
        return BROKEN_TEMPLATE_NOTICE
    return ""


# -- the budget of one render --------------------------------------------------------------------


class _Budget:
    """Limits of the render in progress: a deadline, the longest value, all text made."""

    __slots__ = ("deadline", "left", "max_chars")

    def __init__(self, *, seconds: float, max_chars: int, made_chars: int) -> None:
        self.deadline = time.monotonic() + seconds
        self.max_chars = max_chars
        self.left = made_chars

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise ChatTemplateLimitError(TEMPLATE_TOO_SLOW, "the template took too long")

    def allow(self, size: int) -> None:
        """Refuse a value of `size` characters (or items) before it is made."""
        if size > self.max_chars:
            raise ChatTemplateLimitError(
                TEMPLATE_TOO_LARGE, f"the template made a value of {size:,} characters"
            )

    def spend(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise ChatTemplateLimitError(TEMPLATE_TOO_LARGE, "the template wrote too much text")
        self.tick()


def _compile_budget() -> _Budget:
    # jinja2 folds constant expressions while compiling; they are held to the same sizes.
    return _Budget(
        seconds=RENDER_SECONDS,
        max_chars=BASE_OUTPUT_CHARS,
        made_chars=BASE_OUTPUT_CHARS * MADE_TEXT_FACTOR,
    )


_active: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "chat_template_budget", default=None
)


def _budget() -> _Budget:
    budget = _active.get()
    return budget if budget is not None else _compile_budget()


def _size(value: object) -> int | None:
    return len(value) if isinstance(value, (str, bytes, list, tuple)) else None


def _check_result(value: object) -> object:
    size = _size(value)
    if size is not None:
        budget = _budget()
        budget.allow(size)
        budget.spend(size)
    return value


def _bounded_items(iterable: Iterable[Any]) -> list[Any]:
    """The items of `iterable`, refusing to hold more than a value's worth of them."""
    budget = _budget()
    items: list[Any] = []
    chars = 0
    for count, item in enumerate(iterable, 1):
        if not count & 255:
            budget.tick()
        items.append(item)
        chars += len(item) if isinstance(item, str) else 1
        budget.allow(max(count, chars))
    return items


def _occurrences(owner: str | bytes, part: str | bytes) -> int:
    """How often `part` occurs in `owner` (0 when one is text and the other bytes)."""
    if isinstance(owner, str) and isinstance(part, str):
        return owner.count(part)
    if isinstance(owner, bytes) and isinstance(part, bytes):
        return owner.count(part)
    return 0


def _check_int(value: object, name: str) -> None:
    if isinstance(value, int) and value > _budget().max_chars:
        raise ChatTemplateLimitError(TEMPLATE_TOO_LARGE, f"the template asked for {name} {value:,}")


def _check_format_string(text: object, args: Iterable[Any]) -> None:
    """Refuse a format string with a huge width, or huge numbers given to it."""
    if isinstance(text, str) and _FORMAT_WIDTH.search(text):
        raise ChatTemplateLimitError(TEMPLATE_TOO_LARGE, "the template asked for a huge width")
    for value in args:
        _check_int(value, "a width of")
    if isinstance(text, str) and "*" in text:
        _budget().allow(len(text) * 8)


def _check_repeat(sequence: object, times: object) -> None:
    size = _size(sequence)
    if size is not None and isinstance(times, int):
        _budget().allow(size * max(times, 0))


def _check_str_method(
    method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[Any, ...]:
    """Before a str or bytes method that can make its result much longer runs: how long.

    Returns the arguments to call it with (an iterable to join is read once, here).
    """
    owner = getattr(method, "__self__", None)
    name = getattr(method, "__name__", "")
    if not isinstance(owner, (str, bytes)):
        return args
    budget = _budget()
    values = [*args, *kwargs.values()]
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_int(values[0] if values else 0, "a width of")
    elif name == "expandtabs":
        tab = values[0] if values and isinstance(values[0], int) else 8
        tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
        budget.allow(len(owner) + tabs * tab)
    elif name == "replace" and len(values) >= 2:
        old, new = values[0], values[1]
        if isinstance(old, type(owner)) and isinstance(new, type(owner)):
            hits = _occurrences(owner, old) if old else len(owner) + 1
            if len(values) >= 3 and isinstance(values[2], int) and values[2] >= 0:
                hits = min(hits, values[2])
            budget.allow(len(owner) + hits * max(len(new) - len(old), 0))
    elif name == "join" and args:
        items = _bounded_items(args[0])
        budget.allow(sum(map(_length, items)) + len(owner) * max(len(items) - 1, 0))
        return (items, *args[1:])
    elif name in ("format", "format_map"):
        _check_format_string(owner, [*values, *_mapping_values(values)])
    elif name == "translate" and values and isinstance(values[0], Mapping):
        longest = max((len(v) for v in values[0].values() if isinstance(v, str)), default=1)
        budget.allow(len(owner) * longest)
    return args


def _length(value: object) -> int:
    return len(value) if isinstance(value, (str, bytes)) else 1


def _mapping_values(values: Sequence[Any]) -> list[Any]:
    return [v for m in values if isinstance(m, Mapping) for v in m.values()]


# -- filters, with the same checks ---------------------------------------------------------------


def _bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """jinja2's filters, those that can make a long value from a short one checked first."""
    from jinja2 import filters as builtin
    from jinja2.utils import pass_environment, pass_eval_context

    def center(value: Any, width: int = 80) -> Any:
        _check_int(width, "a width of")
        return _check_result(builtin.do_center(value, width))

    def indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> Any:
        step = len(width) if isinstance(width, str) else width
        _budget().allow(len(str(s)) + (str(s).count("\n") + 1) * max(int(step), 0))
        return _check_result(builtin.do_indent(s, width, first, blank))

    @pass_environment
    def wordwrap(
        environment: Any,
        s: Any,
        width: int = 79,
        break_long_words: bool = True,
        wrapstring: str | None = None,
        break_on_hyphens: bool = True,
    ) -> Any:
        text = str(s)
        breaks = len(text) // max(int(width), 1) + 1
        _budget().allow(len(text) + breaks * len(wrapstring or "\n"))
        return _check_result(
            builtin.do_wordwrap(
                environment, s, width, break_long_words, wrapstring, break_on_hyphens
            )
        )

    def format_(value: Any, *args: Any, **kwargs: Any) -> Any:
        _check_format_string(value, [*args, *kwargs.values()])
        return _check_result(builtin.do_format(value, *args, **kwargs))

    @pass_eval_context
    def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> Any:
        _check_str_method(str(s).replace, (str(old), str(new), -1 if count is None else count), {})
        return _check_result(builtin.do_replace(eval_ctx, s, old, new, count))

    def batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
        _check_int(linecount, "batches of")
        return builtin.do_batch(_bounded_items(value), linecount, fill_with)

    def slice_(value: Any, slices: int, fill_with: Any = None) -> Any:
        _check_int(slices, "slices:")
        return builtin.sync_do_slice(_bounded_items(value), slices, fill_with)

    @pass_environment
    def truncate(
        environment: Any,
        s: str,
        length: int = 255,
        killwords: bool = False,
        end: str = "...",
        leeway: int | None = None,
    ) -> Any:
        _budget().allow(len(str(s)) + len(str(end)))
        return builtin.do_truncate(environment, s, length, killwords, end, leeway)

    @pass_eval_context
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        items = _bounded_items(value)
        if attribute is None:
            sizes = sum(len(str(item)) for item in items)
            _budget().allow(sizes + len(str(d)) * max(len(items) - 1, 0))
        return _check_result(builtin.sync_do_join(eval_ctx, items, d, attribute))

    def list_(value: Any) -> Any:
        return _bounded_items(value)

    @pass_environment
    def sum_(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
        items = _bounded_items(iterable)
        if not all(isinstance(i, (int, float)) for i in items) or attribute is not None:
            # Summing lists or strings grows a value step by step: templates only add numbers.
            _budget().allow(sum(_size(i) or 1 for i in items) * len(items))
        return _check_result(builtin.sync_do_sum(environment, items, attribute, start))

    def tojson(value: Any, indent: int | None = None, **kwargs: Any) -> str:
        # As Hugging Face's transformers and llama-cpp-python render templates: plain JSON,
        # not jinja2's HTML-escaped one; models were trained on prompts written this way.
        if isinstance(indent, int):
            _check_int(indent * 1000, "an indent of")
        return str(_check_result(json.dumps(value, ensure_ascii=False, indent=indent, **kwargs)))

    filters.update(
        center=center,
        indent=indent,
        wordwrap=wordwrap,
        format=format_,
        replace=replace,
        batch=batch,
        slice=slice_,
        truncate=truncate,
        join=join,
        list=list_,
        sum=sum_,
        tojson=tojson,
    )
    for name in ("string", "pprint", "xmlattr", "urlize", "striptags", "sort", "map", "unique"):
        original = filters.get(name)
        if original is not None:
            filters[name] = _result_checked(original)
    return filters


def _result_checked(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)  # keeps jinja2's pass_context/pass_eval_context marker
    def checked(*args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        return _check_result(original(*args, **kwargs))

    return checked


def _raise_exception(message: str) -> None:
    from jinja2 import TemplateError

    raise TemplateError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


# -- the environment -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    """One bounded sandbox for every template (built on first use: jinja2 costs 35 ms)."""
    from jinja2 import nodes
    from jinja2.compiler import CodeGenerator, Frame, optimizeconst
    from jinja2.ext import loopcontrols
    from jinja2.runtime import LoopContext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BoundedCodeGenerator(CodeGenerator):
        """Writes `~` joins and captured output ({% set %}, macros) through the checks."""

        @optimizeconst
        def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
            self.write("environment.bounded_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write("))")

        def buffer(self, frame: Frame) -> None:
            frame.buffer = self.temporary_identifier()
            self.writeline(f"{frame.buffer} = environment.bounded_buffer()")

    class BoundedBuffer(list[Any]):
        """The list jinja2 collects captured output in, counting what goes in."""

        def append(self, item: Any) -> None:
            _spend_piece(item)
            super().append(item)

        def extend(self, items: Iterable[Any]) -> None:
            for item in items:
                self.append(item)

    def _spend_piece(item: Any) -> None:
        if isinstance(item, str):
            _budget().spend(len(item))

    class BoundedEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        code_generator_class = BoundedCodeGenerator

        def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
            tree = super()._parse(source, name, filename)
            # Every loop steps through bounded_iter, which watches the clock: a loop that
            # writes nothing and calls nothing must still end.
            for loop in tree.find_all(nodes.For):
                call = nodes.Call(
                    nodes.EnvironmentAttribute("bounded_iter"), [loop.iter], [], None, None
                )
                call.set_lineno(loop.lineno)
                call.set_environment(self)
                loop.iter = call
            return tree

        def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
            # jinja2 >= 3.1.5 sandboxes str.format where it is looked up; the width a format
            # asks for ("{:>999999999}") is checked before it runs.
            sandboxed = super().wrap_str_format(value)
            if sandboxed is None:
                return None
            text = value.__self__

            def bounded_format(*args: Any, **kwargs: Any) -> str:
                _check_format_string(text, [*args, *kwargs.values(), *_mapping_values(args)])
                return str(_check_result(sandboxed(*args, **kwargs)))

            return bounded_format

        def bounded_iter(self, iterable: Iterable[Any]) -> Iterator[Any]:
            budget = _budget()
            for count, item in enumerate(iterable):
                if not count & 15:
                    budget.tick()
                yield item

        def bounded_concat(self, values: Iterable[Any]) -> str:
            pieces = [str(v) for v in values]
            size = sum(map(len, pieces))
            budget = _budget()
            budget.allow(size)
            budget.spend(size)
            return "".join(pieces)

        def bounded_buffer(self) -> list[Any]:
            return BoundedBuffer()

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            budget = _budget()
            budget.tick()
            if operator == "*":
                _check_repeat(left, right)
                _check_repeat(right, left)
                if isinstance(left, int) and isinstance(right, int):
                    _check_bits(abs(left).bit_length() + abs(right).bit_length())
            elif operator == "**":
                if isinstance(left, int) and isinstance(right, int) and abs(left) > 1:
                    _check_bits(abs(left).bit_length() * max(right, 0))
            elif operator == "+":
                sizes = (_size(left), _size(right))
                if sizes[0] is not None and sizes[1] is not None:
                    budget.allow(sizes[0] + sizes[1])
            elif operator == "%" and isinstance(left, (str, bytes)):
                values = right if isinstance(right, tuple) else (right,)
                _check_format_string(left, [*values, *_mapping_values(values)])
            return _check_result(super().call_binop(context, operator, left, right))

        def call(self_, context_: Any, obj_: Any, /, *args: Any, **kwargs: Any) -> Any:
            _budget().tick()
            if isinstance(obj_, LoopContext) and args:
                # A recursive loop's next level: bounded like the first.
                args = (self_.bounded_iter(args[0]), *args[1:])
            args = _check_str_method(obj_, args, kwargs)
            return _check_result(super().call(context_, obj_, *args, **kwargs))

    def _check_bits(bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise ChatTemplateLimitError(TEMPLATE_TOO_LARGE, "the template made a huge number")

    def bounded_range(*args: int) -> range:
        _budget().tick()
        numbers = range(*args)
        if len(numbers) > MAX_RANGE:
            raise ChatTemplateLimitError(
                TEMPLATE_TOO_LARGE, f"the template asked for a range of {len(numbers):,}"
            )
        return numbers

    env = BoundedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters = _bounded_filters(dict(env.filters))
    env.globals.pop("lipsum", None)  # lipsum(n=10**6) is one call making megabytes
    env.globals["range"] = bounded_range
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = _strftime_now
    return env


# -- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderLimits:
    """How long one render may take and how much it may write beyond the conversation."""

    seconds: float = RENDER_SECONDS
    base_output_chars: int = BASE_OUTPUT_CHARS


class ChatTemplate:
    """A GGUF chat template, compiled once, rendered within limits.

    Raises jinja2.TemplateError when the template does not compile, ChatTemplateLimitError
    when it is too long or its compilation goes past a limit.
    """

    def __init__(self, source: str, *, limits: RenderLimits | None = None) -> None:
        self.limits = limits or RenderLimits()
        if len(source) > MAX_TEMPLATE_CHARS:
            raise ChatTemplateLimitError(
                TEMPLATE_TOO_LARGE, f"the template is {len(source):,} characters long"
            )
        env = _environment()
        token = _active.set(_compile_budget())
        try:
            self._template = _guarded(lambda: env.from_string(source))
        finally:
            _active.reset(token)

    def render(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        bos_token: str,
        eos_token: str,
        add_generation_prompt: bool,
        **extra: Any,
    ) -> str:
        """The prompt text; raises TemplateError when the template refuses these messages,
        ChatTemplateLimitError when it goes past a limit."""
        written = sum(len(str(m.get("content") or "")) for m in messages)
        max_chars = self.limits.base_output_chars + 4 * written
        budget = _Budget(
            seconds=self.limits.seconds,
            max_chars=max_chars,
            made_chars=max_chars * MADE_TEXT_FACTOR,
        )
        token = _active.set(budget)
        try:
            return _guarded(
                lambda: self._write(
                    budget,
                    messages=[dict(m) for m in messages],
                    bos_token=bos_token,
                    eos_token=eos_token,
                    add_generation_prompt=add_generation_prompt,
                    **extra,
                )
            )
        finally:
            _active.reset(token)

    def _write(self, budget: _Budget, **variables: Any) -> str:
        pieces: list[str] = []
        size = 0
        for piece in self._template.generate(**variables):
            size += len(piece)
            budget.allow(size)
            budget.tick()
            pieces.append(piece)
        return "".join(pieces)


def _guarded(work: Callable[[], Any]) -> Any:
    """Run compile or render work, turning runaway recursion and memory into limit errors."""
    try:
        return work()
    except RecursionError:
        raise ChatTemplateLimitError(TEMPLATE_TOO_LARGE, "the template nests too deeply") from None
    except MemoryError:
        raise ChatTemplateLimitError(
            TEMPLATE_TOO_MUCH_MEMORY, "the template needed too much memory"
        ) from None
    except OverflowError as error:
        raise ChatTemplateLimitError(TEMPLATE_TOO_LARGE, str(error)) from None


# -- llama-cpp-python's own chat handlers ---------------------------------------------------------


def disarm_llama_cpp_templates() -> None:
    """Make llama-cpp-python compile no chat template while it loads a model.

    `llama_cpp.Llama()` compiles every chat template in a file's metadata as it loads, in a
    plain sandbox, and jinja2 folds constant expressions while compiling: a template such as
    {{ "x" * 3000000000 }} is built there and then, before any limit applies. The app renders
    templates itself (core.inference.prompt); llama-cpp-python's chat handlers, which nothing
    in the app uses, are made to render through ChatTemplate, and only when called.
    Called wherever llama_cpp is imported to load models (llama_runtime, the model probe).
    """
    from llama_cpp import llama_chat_format

    original = llama_chat_format.Jinja2ChatFormatter
    if getattr(original, "renders_within_limits", False):
        return

    class BoundedJinja2ChatFormatter(original):  # type: ignore[misc, valid-type]  # run-time base
        renders_within_limits = True

        def __init__(
            self,
            template: str,
            eos_token: str,
            bos_token: str,
            add_generation_prompt: bool = True,
            stop_token_ids: list[int] | None = None,
        ) -> None:
            # Nothing is compiled here: a model's load must not run its template.
            self.template = template
            self.eos_token = eos_token
            self.bos_token = bos_token
            self.add_generation_prompt = add_generation_prompt
            self.stop_token_ids = set(stop_token_ids) if stop_token_ids is not None else None

        def __call__(self, *, messages: Sequence[Mapping[str, Any]], **_: Any) -> Any:
            prompt = ChatTemplate(self.template).render(
                messages,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
                add_generation_prompt=self.add_generation_prompt,
            )
            return llama_chat_format.ChatFormatterResponse(
                prompt=prompt, stop=[self.eos_token], added_special=True
            )

    llama_chat_format.Jinja2ChatFormatter = BoundedJinja2ChatFormatter  # type: ignore[misc]  # on purpose


# -- the check on import -------------------------------------------------------------------------

# A long conversation with a system prompt: what a template must render quickly and compactly.
_SAMPLE_TURNS = 24
_SAMPLE_CHARS = 4_000
# The child may grow this much past what it uses once started.
CHECK_MEMORY_BYTES = 768 * 1024 * 1024
CHECK_TIMEOUT_SECONDS = 20.0


def sample_conversation() -> list[dict[str, str]]:
    """A system prompt and a long exchange, as the check renders it."""
    words = "The quick brown fox jumps over the lazy dog; it was 1,234 metres, “quoted”. "
    body = (words * (_SAMPLE_CHARS // len(words) + 1))[:_SAMPLE_CHARS]
    messages = [{"role": "system", "content": "You are a helpful assistant. " + body[:2000]}]
    for turn in range(_SAMPLE_TURNS):
        role = "user" if turn % 2 == 0 else "assistant"
        messages.append({"role": role, "content": f"Turn {turn}: {body}"})
    return messages


def check_chat_template(source: str, *, bos_token: str = "", eos_token: str = "") -> str:
    """The verdict for a template, in this process (the child calls this): TEMPLATE_SAFE when it
    renders the sample conversation within the limits, or why not.

    A template that refuses the sample (raise_exception, a missing variable) is not unsafe:
    chat then retries without a system role, or uses the standard format.
    """
    from jinja2 import TemplateError

    try:
        template = ChatTemplate(source)
    except ChatTemplateLimitError as error:
        return error.verdict
    except TemplateError:
        return TEMPLATE_BROKEN
    messages = sample_conversation()
    merged = [{"role": "user", "content": messages[0]["content"] + "\n\n" + messages[1]["content"]}]
    for candidate in (messages, merged + messages[2:]):
        for generation_prompt in (True, False):
            try:
                template.render(
                    candidate,
                    bos_token=bos_token,
                    eos_token=eos_token,
                    add_generation_prompt=generation_prompt,
                )
            except ChatTemplateLimitError as error:
                return error.verdict
            except TemplateError:
                continue
            except Exception:  # a template error jinja2 does not wrap (a TypeError, ...)
                continue
    return TEMPLATE_SAFE


def _limit_own_memory(extra_bytes: int) -> None:
    """Cap this process's address space at what it uses now plus `extra_bytes` (POSIX)."""
    try:
        import resource
    except ImportError:  # Windows: the parent watches the child's memory instead
        return
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            in_use = int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        in_use = 256 * 1024 * 1024
    limit = in_use + extra_bytes
    try:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):  # macOS does not enforce RLIMIT_AS; the parent still watches
        pass


def main() -> int:
    """Child entry: read {"template", "bos_token", "eos_token"} as JSON on stdin, print
    {"verdict": ...} on stdout."""
    request = json.loads(sys.stdin.read() or "{}")
    import jinja2  # noqa: F401  (imported before the limit: its own size is not the template's)

    _environment()
    _limit_own_memory(CHECK_MEMORY_BYTES)
    try:
        verdict = check_chat_template(
            str(request.get("template") or ""),
            bos_token=str(request.get("bos_token") or ""),
            eos_token=str(request.get("eos_token") or ""),
        )
    except MemoryError:
        verdict = TEMPLATE_TOO_MUCH_MEMORY
    print(json.dumps({"verdict": verdict}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
