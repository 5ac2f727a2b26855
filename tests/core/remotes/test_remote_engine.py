"""Chat, document chat and an evaluation through a remote engine (llama-cpp-python's server
with stories260K on 127.0.0.1), and the ways a remote fails, each said plainly."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localai_desktop.core.chat import remote_turn
from localai_desktop.core.chat.conversations import MessageStatus
from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.common.cancellation import Cancellation
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.evaluation.runner import Evaluator
from localai_desktop.core.evaluation.store import EvalStore, RunStatus
from localai_desktop.core.evaluation.testset import parse_jsonl
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.inference.generation import FinishReason, GenerationSettings
from localai_desktop.core.remotes.client import RemoteError, RemoteUnreachableError
from localai_desktop.core.remotes.engine import stream_chat
from localai_desktop.core.remotes.service import OfflineBlockedError
from tests.core.remotes.conftest import API_KEY
from tests.support import documents_support as docs
from tests.support.certificates import ServerCertificate
from tests.support.keychain_support import memory_keyring
from tests.support.remote_engine import MODEL_ALIAS, RunningServer, free_port

SETTINGS = GenerationSettings(seed=7, max_tokens=24, context_length=1024)


@pytest.fixture
def workspace(data_dir: Path) -> Iterator[Workspace]:
    # An unprotected workspace keeps API keys in the keychain: one in memory here.
    with memory_keyring():
        workspace = Workspace.open(data_dir)
        yield workspace
        workspace.close()


def service_for(workspace: Workspace) -> ChatService:
    return ChatService(
        workspace.conversations,
        workspace.registry,
        LlamaEngine(),
        workspace.adapters,
        documents=workspace.documents,
        remotes=workspace.remotes,
    )


def ask(workspace: Workspace, model: str, text: str = "Tell me a story.", **kw: Any) -> Any:
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    pieces: list[str] = []
    answer = service.send(
        conversation.id,
        text,
        model_id=model,
        settings=kw.pop("settings", SETTINGS),
        on_text=pieces.append,
        **kw,
    )
    return answer, pieces


def test_list_says_reachable_and_names_the_models(
    workspace: Workspace, llama_server: RunningServer
) -> None:
    workspace.remotes.add("box", llama_server.url)
    workspace.remotes.add("gone", f"http://127.0.0.1:{free_port()}")
    statuses = {s.remote.name: s for s in map(workspace.remotes.status, workspace.remotes.list())}
    assert statuses["box"].reachable and statuses["box"].models == (MODEL_ALIAS,)
    assert not statuses["gone"].reachable and statuses["gone"].models == ()
    assert "cannot be reached" in (statuses["gone"].problem or "")


def test_a_chat_streams_from_the_remote_and_its_record_says_where(
    workspace: Workspace, llama_server: RunningServer
) -> None:
    workspace.remotes.add("box", llama_server.url)
    answer, pieces = ask(workspace, f"box/{MODEL_ALIAS}")
    assert answer.status is MessageStatus.COMPLETE
    assert len(pieces) > 3 and "".join(pieces) == answer.content and answer.content.strip()
    record = answer.provenance
    assert record["model_name"] == "box/stories" and record["backend"] == "remote"
    assert record["remote"] == {
        "name": "box",
        "address": llama_server.url,
        "host": "127.0.0.1",
        "model_id": "stories",
        "text_sent": True,
    }
    assert record.stats is not None and record.stats.seed == 7
    assert record.stats.completion_tokens > 0 and record.stats.time_to_first_token_s
    assert record.settings is not None and record.settings.max_tokens == 24
    # The same seed gives the same story again (the seed is sent).
    again, _ = ask(workspace, f"box/{MODEL_ALIAS}")
    assert again.content == answer.content
    saved = workspace.conversations.get(answer.conversation_id).messages[-1]
    assert saved.content == answer.content and saved.provenance["remote"]["model_id"] == "stories"


def test_cancel_closes_the_stream_at_once_and_keeps_the_partial_answer(
    workspace: Workspace, llama_server: RunningServer
) -> None:
    workspace.remotes.add("box", llama_server.url)
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    cancel = Cancellation()
    pieces: list[str] = []
    cancelled_at: list[float] = []

    def on_text(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 3:
            cancelled_at.append(time.perf_counter())
            threading.Thread(target=cancel.set).start()  # as the GUI's Stop does

    answer = service.send(
        conversation.id,
        "Tell me a long story.",
        model_id="box/stories",
        settings=GenerationSettings(seed=1, max_tokens=1500, context_length=2048),
        on_text=on_text,
        cancel=cancel,
    )
    stopped_after = time.perf_counter() - cancelled_at[0]
    assert answer.status is MessageStatus.STOPPED
    assert stopped_after < 1.0
    assert answer.provenance.stats is not None
    assert answer.provenance.stats.finish_reason is FinishReason.CANCELLED
    assert answer.content.startswith("".join(pieces[:3]))


def test_an_unknown_model_and_an_unreachable_remote_are_said_plainly(
    workspace: Workspace, llama_server: RunningServer
) -> None:
    workspace.remotes.add("box", llama_server.url)
    with pytest.raises(RemoteError, match=r"has no model 'llama-70b'.*stories"):
        ask(workspace, "box/llama-70b")
    workspace.remotes.add("gone", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(RemoteUnreachableError, match=r"cannot be reached.*server is running"):
        ask(workspace, "gone/stories")


def test_a_wrong_or_missing_key_is_refused_and_the_right_one_works(
    workspace: Workspace, keyed_server: RunningServer
) -> None:
    workspace.remotes.add("nokey", keyed_server.url)
    workspace.remotes.add("wrong", keyed_server.url, api_key="not-the-key")
    workspace.remotes.add("right", keyed_server.url, api_key=API_KEY)
    with pytest.raises(RemoteError, match="'nokey' needs an API key"):
        ask(workspace, "nokey/stories")
    with pytest.raises(RemoteError, match="'wrong' refused the API key"):
        ask(workspace, "wrong/stories")
    answer, _ = ask(workspace, "right/stories")
    assert answer.status is MessageStatus.COMPLETE and answer.content


def test_https_to_a_plain_http_server_fails_and_never_falls_back(
    workspace: Workspace, llama_server: RunningServer
) -> None:
    workspace.remotes.add("tls", f"https://127.0.0.1:{llama_server.port}")
    with pytest.raises(RemoteError, match=r"secure \(TLS\) connection .* failed"):
        ask(workspace, "tls/stories")
    status = workspace.remotes.status(workspace.remotes.store.get("tls"))
    assert not status.reachable and "TLS" in (status.problem or "")


def test_https_is_verified_and_the_practice_s_own_ca_file_is_honoured(
    workspace: Workspace, tls_server: RunningServer, certificate: ServerCertificate
) -> None:
    workspace.remotes.add("untrusted", tls_server.url)
    with pytest.raises(RemoteError, match=r"certificate of .* is not trusted.*--ca-file"):
        ask(workspace, "untrusted/stories")
    workspace.remotes.add("clinic", tls_server.url, ca_file=certificate.ca_file)
    answer, _ = ask(workspace, "clinic/stories")
    assert answer.status is MessageStatus.COMPLETE and answer.content.strip()
    assert answer.provenance["remote"]["address"].startswith("https://127.0.0.1:")
    # By name as well as by address (the certificate names both), with the same CA file.
    by_name = tls_server.url.replace("127.0.0.1", "localhost")
    workspace.remotes.add("by-name", by_name, ca_file=certificate.ca_file)
    status = workspace.remotes.status(workspace.remotes.store.get("by-name"))
    assert status.reachable and status.models == ("stories",)


def test_offline_mode_blocks_remotes_except_those_allowed(
    workspace: Workspace, llama_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.remotes.add("box", llama_server.url)
    workspace.remotes.add("here", llama_server.url, allow_offline=True)
    workspace.set_offline(True)
    connections: list[Any] = []
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        connections.append(address)
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    with pytest.raises(OfflineBlockedError, match=r"Offline mode is on.*'box'.*--allow-offline"):
        ask(workspace, "box/stories")
    assert connections == []  # refused before any connection
    status = workspace.remotes.status(workspace.remotes.store.get("box"))
    assert not status.reachable and "Offline mode" in (status.problem or "")
    answer, _ = ask(workspace, "here/stories")
    assert answer.status is MessageStatus.COMPLETE
    assert {a[0] for a in connections} == {"127.0.0.1"}


def test_a_remote_call_connects_only_to_the_remote_s_address(
    workspace: Workspace, llama_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The privacy promise for remotes: the text goes to the remote, and nowhere else."""
    workspace.remotes.add("box", f"http://localhost:{llama_server.port}")
    connections: list[Any] = []
    lookups: list[Any] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family != socket.AF_UNIX:
            connections.append(tuple(address[:2]))
        return real_connect(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        lookups.append(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    answer, _ = ask(workspace, "box/stories")
    assert answer.status is MessageStatus.COMPLETE
    assert connections and set(connections) <= {
        ("127.0.0.1", llama_server.port),
        ("::1", llama_server.port),
    }
    assert set(lookups) <= {"localhost", "127.0.0.1", "::1"}


def test_document_chat_sends_the_passages_and_cites_them_as_usual(
    workspace: Workspace, llama_server: RunningServer, models_dir: Path, tmp_path: Path
) -> None:
    workspace.registry.import_model(
        models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm", probe=False
    )
    library = workspace.documents
    library.create("Ward")
    library.add_paths("Ward", [docs.write_pdf(tmp_path / "g.pdf", docs.GUIDELINE_PAGES)])
    library.index("Ward")
    workspace.remotes.add("box", llama_server.url)
    answer, _ = ask(
        workspace,
        "box/stories",
        "How quickly must antibiotics be given in sepsis?",
        collections=["Ward"],
    )
    assert answer.status is MessageStatus.COMPLETE
    record = answer.provenance
    assert record.collections == ("Ward",) and record.sources
    assert record.retrieval is not None and record.retrieval["relevant_found"]
    assert record.support is not None  # the grounding check ran on the remote's answer
    assert record["remote"]["address"] == llama_server.url


def test_an_evaluation_runs_through_the_remote(
    workspace: Workspace, llama_server: RunningServer, models_dir: Path
) -> None:
    workspace.registry.import_model(models_dir / "stories260K.gguf", name="st", probe=False)
    workspace.remotes.add("box", llama_server.url)
    chat = service_for(workspace)
    evaluator = Evaluator(
        EvalStore(workspace.db), workspace.registry, workspace.adapters, workspace.documents, chat
    )
    questions = parse_jsonl(
        "\n".join(
            f'{{"id": "q{i}", "question": "Story {i}?", "expect": {{"contains": ["the"]}}}}'
            for i in range(2)
        )
    )
    targets = evaluator.targets_for(["box/stories", "st"])
    assert [t.label for t in targets] == ["box/stories", "st"]
    run = evaluator.prepare("remote", questions, targets, GenerationSettings(max_tokens=24))
    finished = evaluator.run(run.id)
    chat.engine.unload()
    assert finished.status is RunStatus.FINISHED and finished.done == 4
    results = evaluator.store.results(run.id)
    remote_results = [r for r in results if r.target_index == 0]
    assert all(r.answer for r in remote_results)
    assert all(r.facts["remote"]["model_id"] == "stories" for r in remote_results)
    assert "remote" not in results[-1].facts
    # A remote that moved is refused on resume, as a changed model file is.
    workspace.remotes.remove("box")
    workspace.remotes.add("box", f"http://127.0.0.1:{free_port()}")
    rerun = evaluator.prepare("again", questions, targets, GenerationSettings(max_tokens=8))
    with pytest.raises(LocalAIError, match="another address"):
        evaluator.run(rerun.id)


def test_a_remote_turn_uses_the_attached_files_as_a_local_one(
    workspace: Workspace,
    llama_server: RunningServer,
    models_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Short files go whole into the prompt sent; long ones are searched with this computer's
    # embedding model and only their passages are sent, cited as for a local model; and the
    # files of earlier questions still count on later turns.
    workspace.registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", name="minilm")
    workspace.remotes.add("box", llama_server.url)
    service = service_for(workspace)
    conversation = workspace.conversations.create()
    sent_turns: list[list[Any]] = []

    def recording(model: Any, turns: Any, *args: Any, **kwargs: Any) -> Any:
        sent_turns.append(list(turns))  # what is sent, then sent for real
        return stream_chat(model, turns, *args, **kwargs)

    monkeypatch.setattr(remote_turn, "stream_chat", recording)
    letter = tmp_path / "letter.txt"
    letter.write_text("Take one tablet of 5 mg of amlodipine each morning.", "utf-8")
    pdf = docs.write_pdf(tmp_path / "guideline.pdf", docs.GUIDELINE_PAGES, filler=4)
    service.send(conversation.id, "Hello.", model_id="box/stories", settings=SETTINGS)
    first = service.send(
        conversation.id,
        "How quickly must antibiotics be given in sepsis?",
        model_id="box/stories",
        settings=SETTINGS,
        attach=[letter, pdf],
    )
    used = {a["name"]: a["used"] for a in first.provenance["attachments"]}
    assert used == {"letter.txt": "whole", "guideline.pdf": "best passages"}
    sources = first.provenance.sources or ()
    assert sources and sources[0]["file_name"] == "guideline.pdf" and sources[0]["page"] == 7
    assert first.provenance["remote"]["text_sent"] is True
    # What went to the remote: the letter whole and the sepsis page, above the question.
    sent = sent_turns[-1][-1].content
    assert "5 mg of amlodipine" in sent and "[1] (guideline.pdf, page 7" in sent
    assert "5 mg of amlodipine" not in sent_turns[0][-1].content  # not before it was attached
    later = service.send(
        conversation.id,
        "And how quickly must antibiotics be given in sepsis?",
        model_id="box/stories",
        settings=SETTINGS,
    )
    assert {a["name"] for a in later.provenance["attachments"]} == {"letter.txt", "guideline.pdf"}
    assert (later.provenance.sources or ())[0]["file_name"] == "guideline.pdf"
