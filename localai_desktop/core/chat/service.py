"""One chat turn end to end: load the model, fit the prompt, stream, save as it streams."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from localai_desktop import __version__
from localai_desktop.core.chat.attachments import (
    AttachedFile,
    AttachmentStore,
    read_attachment,
)
from localai_desktop.core.chat.busy import OTHER_PROGRAMS_SHARE
from localai_desktop.core.chat.conversation_files import (
    GroundedTurn,
    files_to_index,
    ground_with_files,
    index_saved_files,
    shown_attachments,
)
from localai_desktop.core.chat.conversations import (
    Conversation,
    ConversationStore,
    Message,
    MessageStatus,
)
from localai_desktop.core.chat.provenance import AdapterUse, Provenance
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.cpu_load import OtherProgramsLoad
from localai_desktop.core.common.errors import LocalAIError, NotFoundError
from localai_desktop.core.common.logs import content_for_log
from localai_desktop.core.documents.collections import DocumentLibrary
from localai_desktop.core.documents.grounding import (
    ECHO_STOPS,
    NOT_COVERED_ANSWER,
    Retrieval,
)
from localai_desktop.core.documents.indexing_state import IndexingState
from localai_desktop.core.documents.sentence_support import check_answer
from localai_desktop.core.inference.engine import (
    LlamaEngine,
    LoadedModel,
    LoadProgress,
    TextCallback,
)
from localai_desktop.core.inference.generation import (
    AUTOMATIC_CONTEXT_LENGTH,
    ChatTurn,
    FinishReason,
    GenerationSettings,
    GenerationStats,
)
from localai_desktop.core.inference.prompt import plan_prompt
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.chat_template import notice_for
from localai_desktop.core.models.context_choice import automatic_context
from localai_desktop.core.models.gguf_info import check_fits_in_memory, read_gguf_info
from localai_desktop.core.models.prompt_formats import format_choice
from localai_desktop.core.models.registry import LocalModel, ModelRegistry
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.speed.layout import prefers_plain_layout

log = logging.getLogger(__name__)

# The answer is saved while it streams, so a killed app loses at most about a second of it.
# Not more often: each write takes the interpreter's lock from the decoding thread for a
# moment (longer still on a machine whose idle memory is slow to touch), which costs a small,
# fast model a measurable share of its speed.
WRITE_THROUGH_SECONDS = 0.9
# Messages that carry meaning for the model; a failed answer with nothing in it is left out.
_PROMPT_STATUSES = (
    MessageStatus.COMPLETE,
    MessageStatus.STOPPED,
    MessageStatus.INTERRUPTED,
    MessageStatus.FAILED,
)


def _no_text(_text: str) -> None:
    pass


class _WriteThrough:
    """Saves the growing answer from a helper thread so decoding never waits on the disk."""

    def __init__(self, store: ConversationStore, message_id: int) -> None:
        self._writer = store.partial_answer_writer(message_id)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="answer-writer")
        self._pending: Future[Any] | None = None
        self._last_write = time.monotonic()
        self.parts: list[str] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        now = time.monotonic()
        if now - self._last_write < WRITE_THROUGH_SECONDS:
            return
        if self._pending is not None and not self._pending.done():
            return  # the disk is slow; the next tick writes the newer text
        self._last_write = now
        self._pending = self._executor.submit(self._writer.write, "".join(self.parts))

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._writer.close()
        if self._pending is not None and self._pending.exception() is not None:
            log.warning("Saving part of an answer failed: %s", self._pending.exception())


@dataclass(frozen=True)
class AdapterChoice:
    """A fine-tuned adapter (name or id) to answer with, and its strength (1.0 as trained)."""

    adapter: str | int
    scale: float = 1.0


@dataclass(frozen=True)
class ChatRequest:
    """What the chat worker is asked to do: answer a conversation as it stands (or, with
    `regenerate`, write its last answer again) with a model and settings, and optionally a
    fine-tuned adapter and the passages found for the question ahead (see ChatService.reply)."""

    conversation_id: int
    model_id: int | str  # a local model's id, or a remote engine's NAME/MODEL_ID
    settings: GenerationSettings
    adapter: AdapterChoice | None = None
    regenerate: bool = False
    retrieval: Retrieval | None = None


def _chat_format_facts(
    model: LocalModel, used_template: bool, engine: LlamaEngine
) -> dict[str, Any]:
    """Which format the prompt was written in, for the answer's record.

    "model": the model's own chat template; "standard": the app's; or a built-in format's key
    ("chatml", "llama3", ...) guessed or chosen for the model. When the model's template was
    refused (by the check, or at this render by chat's limits), the record says so.
    """
    choice = format_choice(model)
    if used_template and choice.prompt_format is not None:
        return {"chat_format": choice.key, "chat_format_origin": choice.origin}
    refused = engine.formatter.refused or (
        model.chat_template_check
        if model.chat_template and not model.usable_chat_template
        else None
    )
    facts: dict[str, Any] = {"chat_format": "model" if used_template else "standard"}
    if refused:
        facts["chat_template_refused"] = refused
        facts["chat_format_note"] = notice_for(refused)
    return facts


class ChatService:
    """Answers conversations with a local model; shared by the CLI and the GUI's chat worker."""

    def __init__(
        self,
        store: ConversationStore,
        registry: ModelRegistry,
        engine: LlamaEngine,
        adapters: AdapterRegistry | None = None,
        documents: DocumentLibrary | None = None,
        remotes: Remotes | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.engine = engine
        self.adapters = adapters
        self.documents = documents
        # Remote engines: a model named `NAME/MODEL_ID` whose NAME is one of them answers there.
        self.remotes = remotes
        self.attachments = AttachmentStore(store.database)

    # -- models -----------------------------------------------------------------------------

    def context_length_for(self, model: LocalModel, settings: GenerationSettings) -> int:
        """The context to load with: the user's choice, capped at the model's training context;
        on Automatic (0), as much as this computer comfortably holds (core.models.context_choice).
        """
        if settings.context_length <= AUTOMATIC_CONTEXT_LENGTH:
            return automatic_context(model.path, model.context_length).tokens
        wanted = settings.context_length
        if model.context_length:
            wanted = min(wanted, model.context_length)
        return max(256, wanted)

    def load_model(
        self,
        model: LocalModel,
        n_ctx: int,
        *,
        progress: LoadProgress | None = None,
        cancel: Cancellation | None = None,
    ) -> LoadedModel:
        """Check the file again (it may have changed or vanished) and load it.

        A chat template never checked (the model came before the check) is checked now, once;
        one that was refused is not given to the engine, which then uses the standard format.
        """
        if model.is_embedding_model:
            raise LocalAIError(
                f"'{model.name}' is an embedding model, which cannot chat.",
                "Choose a chat model.",
            )
        if not model.file_exists:
            raise NotFoundError(
                f"The file of the model '{model.name}' is missing ({model.path}).",
                "Put the file back, or remove the model and import it again.",
            )
        loaded = self.engine.loaded
        if loaded is None or loaded.path != model.path or loaded.n_ctx != n_ctx:
            info = read_gguf_info(model.path)
            check_fits_in_memory(info, n_ctx)
            model = self.registry.check_chat_template(model)
        choice = format_choice(model)
        built_in = choice.prompt_format
        return self.engine.load(
            model.path,
            n_ctx=n_ctx,
            chat_template=built_in.template if built_in else model.usable_chat_template,
            progress=progress,
            cancel=cancel,
            plain_buffers=prefers_plain_layout(model),
            stop_strings=built_in.stops if built_in else (),
        )

    # -- turns ------------------------------------------------------------------------------

    def send(
        self,
        conversation_id: int,
        text: str,
        *,
        model_id: int | str,
        settings: GenerationSettings,
        on_text: TextCallback = _no_text,
        cancel: Cancellation | None = None,
        on_started: Callable[[Message], None] | None = None,
        adapter: AdapterChoice | None = None,
        collections: Sequence[str | int] = (),
        attach: Sequence[str | Path | AttachedFile] = (),
        indexing: IndexingState | None = None,
    ) -> Message:
        """Save the user's message (committed first), then answer it.

        `attach`: files attached to the question (paths, or files already read). Each is read
        before anything is saved (a file that cannot be read raises, saving nothing); a short
        one goes into the prompt whole, a long one is indexed in the conversation's own
        collection (progress and cancel through `indexing`) and its best passages are used.
        """
        files = [f if isinstance(f, AttachedFile) else read_attachment(f) for f in attach]
        if any(not f.whole for f in files) and self.documents is None:
            raise LocalAIError(
                "Long attached files are indexed with an embedding model, which is not "
                "available here."
            )
        # The question and its files' text in one transaction; long files are indexed after.
        question = self.store.add_message(conversation_id, "user", text, attachments=files)
        self.index_attached(conversation_id, question.id, files, indexing=indexing)
        return self.reply(
            conversation_id,
            model_id=model_id,
            settings=settings,
            on_text=on_text,
            cancel=cancel,
            on_started=on_started,
            adapter=adapter,
            collections=collections,
        )

    def index_attached(
        self,
        conversation_id: int,
        message_id: int,
        files: Sequence[AttachedFile],
        *,
        indexing: IndexingState | None = None,
    ) -> None:
        """Index the long `files` kept with the question `message_id` in the conversation's own
        collection; each is marked once indexed, so a cancel keeps what is done (and every
        file's text is kept with the question whatever happens here)."""
        kept = self.attachments.for_message(message_id)  # in the order they were kept
        for file, attachment in zip(files, kept[-len(files) :] if files else [], strict=True):
            if file.whole:
                continue
            assert self.documents is not None
            collection = self.documents.conversation_collection(conversation_id)
            self.documents.add_paths(collection.id, [file.path])
            self.documents.index(collection.id, indexing)
            if indexing is not None and indexing.is_interruption_requested():
                raise LocalAIError(
                    f"Indexing {file.name} was stopped; the question was kept without an answer.",
                    "Send it again to finish indexing the file and answer.",
                )
            self.attachments.set_collection(attachment.id, collection.id)

    def regenerate(
        self,
        conversation_id: int,
        *,
        model_id: int | str,
        settings: GenerationSettings,
        on_text: TextCallback = _no_text,
        cancel: Cancellation | None = None,
        on_started: Callable[[Message], None] | None = None,
        adapter: AdapterChoice | None = None,
        collections: Sequence[str | int] = (),
        retrieval: Retrieval | None = None,
    ) -> Message:
        """Write the last answer again, as a new version of it (the old one is kept)."""
        conversation = self.store.get(conversation_id)
        last = conversation.messages[-1] if conversation.messages else None
        return self.reply(
            conversation_id,
            model_id=model_id,
            settings=settings,
            on_text=on_text,
            cancel=cancel,
            on_started=on_started,
            adapter=adapter,
            collections=collections,
            retrieval=retrieval,
            version_of=last.id if last is not None and last.role == "assistant" else None,
        )

    def edit(
        self,
        conversation_id: int,
        message_id: int,
        text: str,
        *,
        model_id: int | str,
        settings: GenerationSettings,
        on_text: TextCallback = _no_text,
        cancel: Cancellation | None = None,
        on_started: Callable[[Message], None] | None = None,
        adapter: AdapterChoice | None = None,
        collections: Sequence[str | int] = (),
    ) -> Message:
        """Save `text` as a new version of the question `message_id` (committed first; the
        old question and what followed it are kept as the earlier version), then answer it."""
        self.store.save_edit(conversation_id, message_id, text)
        return self.reply(
            conversation_id,
            model_id=model_id,
            settings=settings,
            on_text=on_text,
            cancel=cancel,
            on_started=on_started,
            adapter=adapter,
            collections=collections,
        )

    def answer(
        self,
        request: ChatRequest,
        *,
        on_text: TextCallback = _no_text,
        cancel: Cancellation | None = None,
        on_started: Callable[[Message], None] | None = None,
    ) -> Message:
        """Do what the chat worker was asked: reply, or write the last answer again."""
        run = self.regenerate if request.regenerate else self.reply
        return run(
            request.conversation_id,
            model_id=request.model_id,
            settings=request.settings,
            on_text=on_text,
            cancel=cancel,
            on_started=on_started,
            adapter=request.adapter,
            retrieval=request.retrieval,
        )

    def reply(
        self,
        conversation_id: int,
        *,
        model_id: int | str,
        settings: GenerationSettings,
        on_text: TextCallback = _no_text,
        cancel: Cancellation | None = None,
        on_started: Callable[[Message], None] | None = None,
        load_progress: LoadProgress | None = None,
        adapter: AdapterChoice | None = None,
        collections: Sequence[str | int] = (),
        retrieval: Retrieval | None = None,
        version_of: int | None = None,
    ) -> Message:
        """Answer the conversation as it stands and return the saved answer.

        With `version_of` (the last answer shown), the answer is a new version of that one,
        written from the conversation before it; the old answer is kept.

        The answer row is created as "interrupted" before the first token, so a process killed
        mid-answer leaves it correctly marked; it is rewritten every WRITE_THROUGH_SECONDS.
        `adapter` applies a fine-tuned LoRA of this model (switched without reloading it);
        None answers with the plain model. `retrieval` (passages searched ahead, by the GUI's
        embedding worker) grounds the question instead of searching `collections` here.
        A remote model (`NAME/MODEL_ID`, see core.remotes) answers through chat.remote_turn.
        """
        remote = (
            self.remotes.resolve(model_id) if isinstance(model_id, str) and self.remotes else None
        )
        if remote is not None:
            from localai_desktop.core.chat.remote_turn import reply_remote

            return reply_remote(
                self,
                remote,
                conversation_id,
                settings=settings,
                on_text=on_text,
                cancel=cancel,
                on_started=on_started,
                adapter=adapter,
                collections=collections,
                retrieval=retrieval,
                version_of=version_of,
            )
        conversation, question_message = self.question_to_answer(conversation_id, version_of)
        question = question_message.content
        log.debug("Answering in conversation %s: %s", conversation_id, content_for_log(question))
        model = self.registry.get(model_id)
        loaded = self.load_model(
            model, self.context_length_for(model, settings), progress=load_progress, cancel=cancel
        )
        adapter_use = self._apply_adapter(model, adapter)
        turns = (
            [ChatTurn("system", conversation.system_prompt)] if conversation.system_prompt else []
        )
        turns += [
            ChatTurn(m.role, m.content)
            for m in conversation.messages
            if m.status in _PROMPT_STATUSES and m.content.strip()
        ]
        grounded = self.ground_with_files(
            conversation.messages,
            question_message,
            turns,
            retrieval,
            collections,
            tokenize=self.engine.tokenize,
            n_ctx=loaded.n_ctx,
            max_tokens=settings.max_tokens,
        )
        turns, document_facts = grounded.turns, grounded.facts
        plan = plan_prompt(
            turns,
            self.engine.formatter,
            self.engine.tokenize,
            n_ctx=loaded.n_ctx,
            max_tokens=settings.max_tokens,
            bos_token_ids=self.engine.bos_token_ids,
        )
        if document_facts:
            plan = replace(plan, stop_strings=(*plan.stop_strings, *ECHO_STOPS))
        provenance = replace(self._provenance(model, loaded, settings), adapter=adapter_use)
        # Facts found elsewhere as JSON keys (the documents' sources) join the record.
        provenance = provenance.merged(
            {
                **_chat_format_facts(self.registry.get(model.id), plan.used_template, self.engine),
                **document_facts,
            }
        )
        answer = self.store.add_message(
            conversation_id,
            "assistant",
            "",
            status=MessageStatus.INTERRUPTED,
            provenance=provenance,
            version_of=version_of,
        )
        if model.id != conversation.model_id:
            self.store.update(conversation_id, model_id=model.id)
        if on_started is not None:
            on_started(answer)
        if "retrieval" in document_facts and not document_facts["retrieval"]["relevant_found"]:
            # Nothing in the documents is close to the question: say so rather than let the
            # model invent an answer "from" them (see documents.grounding.COVERED_MARGIN).
            names = ", ".join(f"“{n}”" for n in document_facts["collections"])
            text = NOT_COVERED_ANSWER.format(names=names)
            on_text(text)
            return self.store.finish_answer(
                answer.id,
                question=question_message,
                content=text,
                status=MessageStatus.COMPLETE,
                provenance=provenance,
            )
        load = OtherProgramsLoad()  # the speed line says when other programs slowed it
        return self.write_answer(
            answer,
            question_message,
            provenance,
            lambda on_piece: self.engine.generate(plan, settings, on_piece, cancel=cancel),
            on_text,
            with_stats=lambda facts, stats: replace(
                facts,
                stats=stats,
                settings=replace(settings, seed=stats.seed),
                prompt_warnings=tuple(plan.warnings),
            ).merged({OTHER_PROGRAMS_SHARE: round(load.share(), 2)}),
        )

    def ground_with_files(
        self,
        messages: Sequence[Message],
        question: Message,
        turns: list[ChatTurn],
        retrieval: Retrieval | None,
        collections: Sequence[str | int],
        *,
        tokenize: Callable[[str], list[int]],
        n_ctx: int,
        max_tokens: int,
    ) -> GroundedTurn:
        """The turns with the newest question grounded in the collections and in every file
        attached to the conversation's questions as shown (chat.conversation_files), and the
        facts the answer's provenance keeps. Used for this computer's engine and for remote
        engines alike, each with its own tokenizer and context."""
        return ground_with_files(
            self.documents,
            self.attachments,
            messages,
            question,
            turns,
            retrieval,
            collections,
            tokenize=tokenize,
            n_ctx=n_ctx,
            max_tokens=max_tokens,
        )

    def index_saved_files(self, conversation_id: int, indexing: IndexingState | None = None) -> int:
        """Index again, from their saved text, the long files of the conversation (as shown)
        whose passages are missing, as after `localai data import` or a backup restore; how
        many were indexed (chat.conversation_files.index_saved_files)."""
        if self.documents is None:
            return 0
        conversation = self.store.get(conversation_id)
        attached = shown_attachments(self.attachments, conversation.messages)
        if not files_to_index(self.documents, attached):
            return 0
        return index_saved_files(
            self.documents, self.attachments, conversation_id, attached, indexing
        )

    def question_to_answer(
        self, conversation_id: int, version_of: int | None
    ) -> tuple[Conversation, Message]:
        """The conversation as the answer will read it (up to the message `version_of` is a new
        version of, when given) and the question it answers; an error when there is none."""
        conversation = self.store.get(conversation_id)
        if version_of is not None:
            shown = [m.id for m in conversation.messages]
            if version_of in shown:
                conversation = replace(
                    conversation, messages=conversation.messages[: shown.index(version_of)]
                )
        if not any(m.role == "user" for m in conversation.messages):
            raise LocalAIError("There is no question to answer yet.", "Type a message first.")
        return conversation, next(m for m in reversed(conversation.messages) if m.role == "user")

    def write_answer(
        self,
        answer: Message,
        question: Message,
        provenance: Provenance,
        generate: Callable[[TextCallback], GenerationStats],
        on_text: TextCallback,
        *,
        with_stats: Callable[[Provenance, GenerationStats], Provenance],
    ) -> Message:
        """Stream `generate`'s text into the saved `answer` (written through as it comes) and
        finish it: complete, stopped or failed with its error, the grounding check done.

        Used by this computer's engine and by remote engines (chat.remote_turn). Ctrl-C keeps
        what was written as a stopped answer before it is raised again.
        """
        writer = _WriteThrough(self.store, answer.id)

        def on_piece(piece: str) -> None:
            writer.add(piece)
            on_text(piece)

        stats: GenerationStats | None = None
        error: LocalAIError | None = None
        try:
            stats = generate(on_piece)
        except LocalAIError as failure:
            error = failure
        except KeyboardInterrupt:
            writer.close()
            self.store.finish_answer(
                answer.id,
                question=question,
                content=writer.text,
                status=MessageStatus.STOPPED,
                provenance=provenance,
            )
            raise
        finally:
            writer.close()
        if stats is not None:
            provenance = with_stats(provenance, stats)
        log.debug(
            "Answer in conversation %s: %s", answer.conversation_id, content_for_log(writer.text)
        )
        if provenance.sources and writer.text.strip() and error is None:
            provenance = self._checked_sentences(writer.text, provenance)
        if error is not None:
            status = MessageStatus.FAILED
        elif stats is not None and stats.finish_reason == FinishReason.CANCELLED:
            status = MessageStatus.STOPPED
        else:
            status = MessageStatus.COMPLETE
        # Recorded in the audit trail (when the store keeps one) as it is saved.
        return self.store.finish_answer(
            answer.id,
            question=question,
            content=writer.text,
            status=status,
            error=error.message if error else None,
            provenance=provenance,
        )

    def _checked_sentences(self, answer: str, provenance: Provenance) -> Provenance:
        """The provenance with the grounding check of each sentence of the answer.

        By words alone, here as in the GUI: the embedding model added nothing to the check's
        precision or recall and cost seconds per answer (bench/bench_grounding_check.py).
        """
        support = check_answer(answer, provenance.sources or ())
        return replace(provenance, sentence_support=support.to_dict())

    def _apply_adapter(self, model: LocalModel, choice: AdapterChoice | None) -> AdapterUse | None:
        """Switch the engine to the chosen adapter (or none); what the provenance says of it."""
        if choice is None:
            self.engine.set_adapter(None)
            return None
        if self.adapters is None:
            raise LocalAIError("Adapters are not available here.")
        adapter = self.adapters.checked_for(choice.adapter, model)
        self.engine.set_adapter(
            adapter.path,
            choice.scale,
            expected_sha256=adapter.sha256,
            opener=self.adapters.opened,  # a sealed adapter is opened only while it loads
        )
        return AdapterUse(adapter.id, adapter.name, adapter.sha256, choice.scale)

    def _provenance(
        self, model: LocalModel, loaded: LoadedModel, settings: GenerationSettings
    ) -> Provenance:
        import llama_cpp

        return Provenance(
            model_id=model.id,
            model_name=model.name,
            model_file=str(model.path),
            model_sha256=model.sha256,
            settings=settings,
            n_ctx=loaded.n_ctx,
            n_threads=loaded.n_threads,
            gpu_offload=loaded.gpu_offload,
            backend=loaded.backend,
            app_version=__version__,
            llama_cpp_python_version=getattr(llama_cpp, "__version__", "unknown"),
        )
