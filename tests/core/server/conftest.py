"""A real server on 127.0.0.1 (a free port) over a temp data folder with real models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from localai_desktop.core.chat.service import ChatService
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.inference.engine import LlamaEngine
from localai_desktop.core.server.api import ApiRecord, ApiService, audit_recorder
from localai_desktop.core.server.http_server import ApiServer
from localai_desktop.core.server.owner import ThreadedModelOwner

CONTEXT_LENGTH = 4096


@dataclass
class Served:
    """A running server and what a test needs to talk to it."""

    server: ApiServer
    owner: ThreadedModelOwner
    workspace: Workspace
    token: str
    records: list[ApiRecord] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def client(self, **options: object) -> object:
        import openai

        options.setdefault("max_retries", 0)
        options.setdefault("timeout", 30.0)
        return openai.OpenAI(base_url=self.base_url, api_key=self.token, **options)


def start_server(
    data_dir: Path,
    models: dict[str, Path],
    *,
    max_waiting: int = 8,
    max_body_bytes: int | None = None,
    parallel: int | None = None,
) -> Served:
    workspace = Workspace.open(data_dir)
    for name, path in models.items():
        workspace.registry.import_model(path, name=name, probe=False)
    # One thread: other work on a small shared machine slows llama.cpp's threads far more.
    engine = LlamaEngine(n_threads=1)
    service = ChatService(workspace.conversations, workspace.registry, engine)
    more = {} if parallel is None else {"parallel": parallel}
    owner = ThreadedModelOwner(service, max_waiting=max_waiting, **more)
    records: list[ApiRecord] = []
    audit = audit_recorder(workspace.audit)

    def record(entry: ApiRecord) -> None:
        audit(entry)
        records.append(entry)

    api = ApiService(workspace.registry, owner, context_length=CONTEXT_LENGTH, recorder=record)
    token = workspace.settings.server_token()
    extra = {} if max_body_bytes is None else {"max_body_bytes": max_body_bytes}
    server = ApiServer(api, lambda: workspace.settings.load().server_token, port=0, **extra)
    server.start()
    return Served(server, owner, workspace, token, records)


def stop_server(served: Served) -> None:
    served.server.close()
    served.owner.close()
    served.workspace.close()


@pytest.fixture
def served(data_dir: Path, models_dir: Path, tiny_chat_model: Path) -> Iterator[Served]:
    running = start_server(
        data_dir,
        {
            "stories": models_dir / "stories260K.gguf",
            "minilm": models_dir / "all-MiniLM-L6-v2-Q8_0.gguf",
            "tiny-chat": tiny_chat_model,
        },
    )
    yield running
    stop_server(running)
