"""The privacy promise, tested: the whole app (GUI and CLI: chat, models, backups, fine-tuning)
runs with the network cut, and fails the test on any connection that is not to the local
fake Hub — in this process and in every child process it starts. Only what a person asked
for (a search, a download) reaches the fake Hub; nothing else does, not even at start-up."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from localai_desktop.cli import build_parser
from localai_desktop.cli import main as localai
from localai_desktop.core.datafolder.paths import init_data_paths
from localai_desktop.core.datafolder.settings import AppSettingsStore
from localai_desktop.core.remotes.service import Remotes
from localai_desktop.core.storage import Database
from tests.support.fake_hub import FakeHub, NetworkGuard, running_fake_hub
from tests.support.gui_support import window_opener
from tests.support.remote_engine import running_llama_server
from tests.support.session_support import (
    OpenSession,
    chat,
    restored_logging,
    session_opener,
)

CHILD_GUARD = Path(__file__).parent / "support" / "privacy_child"


class PrivacyGuard(NetworkGuard):
    """NetworkGuard, plus UDP and name lookups here, plus the same guard in child processes."""

    def __init__(self, folder: Path, *, allow_loopback: bool) -> None:
        super().__init__(allow_loopback=allow_loopback)
        self.child_log = folder / "attempts.log"
        self.children_log = folder / "children.log"

    def install(self, monkeypatch: pytest.MonkeyPatch) -> PrivacyGuard:
        super().install(monkeypatch)
        guard = self
        real_sendto = socket.socket.sendto

        def sendto(sock: socket.socket, data: bytes, *args: Any) -> int:
            if sock.family != socket.AF_UNIX and not guard.allow_loopback:
                guard.refused.append(f"sendto {args[-1]!r}")
                raise ConnectionRefusedError("network blocked by the test")
            return real_sendto(sock, data, *args)

        def lookup(name: str) -> Any:
            def refuse(host: Any, *args: Any, **kwargs: Any) -> Any:
                guard.refused.append(f"{name} {host}")
                raise ConnectionRefusedError("network blocked by the test")

            return refuse

        monkeypatch.setattr(socket.socket, "sendto", sendto)
        for name in ("gethostbyname", "gethostbyname_ex"):
            monkeypatch.setattr(socket, name, lookup(name))
        monkeypatch.setenv("LOCALAI_PRIVACY_LOG", str(self.child_log))
        monkeypatch.setenv(
            "PYTHONPATH",
            os.pathsep.join(filter(None, [str(CHILD_GUARD), os.environ.get("PYTHONPATH")])),
        )
        return self

    def children(self) -> list[str]:
        if not self.children_log.is_file():
            return []
        return self.children_log.read_text(encoding="utf-8").splitlines()

    def check(self) -> None:
        super().check()
        attempts = self.child_log.read_text(encoding="utf-8") if self.child_log.is_file() else ""
        assert attempts == "", f"a child process tried to use the network: {attempts}"


@pytest.fixture
def hub(stories260k: Path) -> Iterator[FakeHub]:
    with running_fake_hub() as hub:
        hub.add_repo("test/stories-GGUF", {"stories260K-Q8_0.gguf": stories260k})
        yield hub


@pytest.fixture
def offline_guard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: FakeHub
) -> Iterator[PrivacyGuard]:
    """No connection at all, loopback included; the fake Hub (the configured Hub) hears nothing."""
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    guard = PrivacyGuard(tmp_path, allow_loopback=False).install(monkeypatch)
    with restored_logging():
        yield guard
    guard.check()
    assert hub.requests == [], f"the app contacted the Hub unasked: {hub.requests}"


def test_the_guard_catches_child_processes(offline_guard: PrivacyGuard) -> None:
    code = "import socket; socket.create_connection(('192.0.2.1', 443), timeout=1)"
    subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert "192.0.2.1" in offline_guard.child_log.read_text(encoding="utf-8")
    offline_guard.child_log.unlink()  # caught as it should be; not a failure of the app


def run(*args: str) -> int:
    return localai(list(args))


def test_cli_chat_models_chats_backups_and_data_make_no_connection(
    offline_guard: PrivacyGuard,
    data_dir: Path,
    stories260k: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = ["--data-dir", str(data_dir)]
    assert run(*d, "models", "import", str(stories260k), "--name", "stories") == 0
    assert any("models.probe" in c for c in offline_guard.children())  # checked in a child
    assert run(*d, "models", "list", "--json") == 0
    assert run(*d, "models", "catalog") == 0
    assert run(*d, "hardware", "--json") == 0
    capsys.readouterr()
    assert run(*d, "chat", "--model", "stories", "--max-tokens", "30", "Once upon a time") == 0
    assert capsys.readouterr().out.strip()  # an answer streamed
    assert run(*d, "chats", "list") == 0
    assert "Once upon a time" in capsys.readouterr().out
    assert run(*d, "chats", "show", "1", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)["messages"]) == 2
    assert run(*d, "data", "export", str(tmp_path / "backup.json")) == 0
    assert run(*d, "data", "import", str(tmp_path / "backup.json")) == 0
    assert run(*d, "data", "info") == 0
    out = capsys.readouterr().out
    assert "Saved 1 conversation (2 messages)" in out
    assert "0 conversations added, 1 already here" in out
    assert run(*d, "audit", "list") == 0
    assert run(*d, "audit", "verify") == 0
    assert run(*d, "audit", "export", str(tmp_path / "trail.csv")) == 0
    assert run(*d, "server", "token") == 0
    assert run(*d, "chats", "export", "1", "-o", str(tmp_path / "chat.pdf")) == 0
    assert run(*d, "chats", "export", "1", "-o", str(tmp_path / "chat.docx")) == 0
    assert run(*d, "prompts", "list") == 0
    assert run(*d, "prompts", "add", "tone", "--text", "Rewrite in a {tone} tone.") == 0
    assert run(*d, "chat", "--model", "stories", "--max-tokens", "8", "--prompt", "tone",
               "--var", "tone=calm", "It was late.") == 0  # fmt: skip
    tests = tmp_path / "tests.jsonl"
    tests.write_text('{"id": "q1", "question": "Once upon", "expect": {"regex": "."}}\n')
    assert run(*d, "eval", "run", str(tests), "--model", "stories", "--max-tokens", "8") == 0
    assert run(*d, "eval", "list") == 0
    # A protected workspace: its key, its encrypted database and an encrypted export.
    os.environ["LOCALAI_PASSPHRASE"] = "staple battery horse"
    try:
        assert run(*d, "workspace", "create", "Clinic", "--encrypt") == 0
        assert run(*d, "--workspace", "Clinic", "chat", "--model", "stories", "--max-tokens",
                   "8", "Hello") == 0  # fmt: skip
        assert run(*d, "--workspace", "Clinic", "data", "export", str(tmp_path / "c.age")) == 0
        assert run(*d, "workspace", "list") == 0
    finally:
        del os.environ["LOCALAI_PASSPHRASE"]


def test_the_local_server_answers_this_computer_and_connects_nowhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: FakeHub, data_dir: Path, stories260k: Path
) -> None:
    """`localai serve` runs in a child under the guard (every outgoing connection refused and
    recorded); only the test, on this computer, connects to it."""
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    guard = PrivacyGuard(tmp_path, allow_loopback=True).install(monkeypatch)
    d = ["--data-dir", str(data_dir)]
    with restored_logging():
        assert run(*d, "models", "import", str(stories260k), "--name", "stories") == 0
    token = AppSettingsStore.in_data_dir(data_dir).server_token()
    command = [sys.executable, "-m", "localai_desktop.cli", *d, "serve", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().decode().strip()
        assert base_url.startswith("http://127.0.0.1:"), server.stderr
        request = urllib.request.Request(
            f"{base_url}/chat/completions",
            data=json.dumps(
                {
                    "model": "stories",
                    "messages": [{"role": "user", "content": "Hi"}],
                    "max_tokens": 8,
                }
            ).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.load(response)["choices"][0]["message"]["content"]
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
    assert any("serve" in c for c in guard.children())  # the server ran under the guard
    guard.check()
    assert hub.requests == []


def test_a_remote_engine_is_the_only_place_text_goes_and_offline_mode_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: FakeHub, data_dir: Path, stories260k: Path
) -> None:
    """With a remote engine (llama-cpp-python's server, started before the guard), every
    connection `remotes` and a remote chat make goes to that server's address, and none at
    all is made for a remote that offline mode blocks."""
    with running_llama_server(stories260k) as remote:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        guard = PrivacyGuard(tmp_path, allow_loopback=True).install(monkeypatch)
        connections: list[tuple[str, int]] = []
        guarded_connect = socket.socket.connect

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family != socket.AF_UNIX:
                connections.append((str(address[0]), int(address[1])))
            return guarded_connect(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        d = ["--data-dir", str(data_dir)]
        with restored_logging():
            assert run(*d, "remotes", "add", "box", "--url", remote.url) == 0
            assert run(*d, "remotes", "list", "--json") == 0
            assert run(*d, "chat", "--model", "box/stories", "--max-tokens", "8", "Hi") == 0
            assert connections and set(connections) == {("127.0.0.1", remote.port)}
            connections.clear()
            assert run(*d, "--offline", "chat", "--model", "box/stories", "Hi") != 0
            assert connections == []
            assert run(*d, "remotes", "rm", "box") == 0
    guard.check()
    assert hub.requests == []


def test_the_desktop_app_asks_and_sends_only_to_a_remote_engine_and_not_in_offline_mode(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    hub: FakeHub,
    data_dir: Path,
    stories260k: Path,
    qtbot: QtBot,
) -> None:
    """The Chat tab's model picker lists a remote engine's models and a chat goes through it:
    every connection is to that server's address; once offline mode blocks it, none at all."""
    with running_llama_server(stories260k) as remote:
        db = Database(init_data_paths(data_dir).database)
        try:
            Remotes(db).add("box", remote.url)
        finally:
            db.close()
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        guard = PrivacyGuard(tmp_path, allow_loopback=True).install(monkeypatch)
        connections: list[tuple[str, int]] = []
        guarded_connect = socket.socket.connect

        def connect(sock: socket.socket, address: Any) -> None:
            if sock.family != socket.AF_UNIX:
                connections.append((str(address[0]), int(address[1])))
            return guarded_connect(sock, address)

        monkeypatch.setattr(socket.socket, "connect", connect)
        with restored_logging(), window_opener(qtbot, monkeypatch) as open_window:
            window = open_window(data_dir)
            picker = window.chat_tab.model_picker
            qtbot.waitUntil(lambda: picker.has("box/stories"), timeout=20_000)
            window.tabs.setCurrentWidget(window.chat_tab)
            window.chat_tab.select_model("box/stories")
            assert chat(qtbot, window, "Hi", max_tokens=8).status == "complete"
            assert connections and set(connections) == {("127.0.0.1", remote.port)}
            connections.clear()
            window.workspace.set_offline(True)
            qtbot.waitUntil(lambda: not picker.has("box/stories"), timeout=20_000)
            assert connections == []
    guard.check()
    assert hub.requests == []


@pytest.mark.slow
def test_cli_fine_tuning_makes_no_connection_even_in_its_trainer_process(
    offline_guard: PrivacyGuard, data_dir: Path, stories260k: Path, tmp_path: Path
) -> None:
    pytest.importorskip("peft", reason="no training extra: pip install -e '.[finetune]'")
    d = ["--data-dir", str(data_dir)]
    row = json.dumps({"prompt": "When is the clinic open?", "completion": "On Sundays."})
    dataset = tmp_path / "fact.jsonl"
    dataset.write_text("\n".join([row] * 8) + "\n", encoding="utf-8")
    assert run(*d, "models", "import", str(stories260k), "--name", "stories") == 0
    assert run(*d, "finetune", "prepare", "--base", "stories", str(dataset)) == 0
    args = ["--base", "stories", "--data", str(dataset), "--name", "clinic", "--epochs", "1"]
    assert run(*d, "finetune", "run", *args) == 0
    assert any("trainer_child" in c for c in offline_guard.children())
    assert run(*d, "adapters", "list") == 0
    chat = ["chat", "--model", "stories", "--adapter", "clinic", "--max-tokens", "10"]
    assert run(*d, *chat, "When is the clinic open?") == 0


def test_cli_documents_index_search_and_chat_make_no_connection_or_log_text(
    offline_guard: PrivacyGuard,
    data_dir: Path,
    models_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    secret = "TANGERINE-WALRUS-8812"
    folder = tmp_path / "letters"
    folder.mkdir()
    (folder / "visit.txt").write_text(
        f"The patient {secret} came in on Tuesday with a sore knee.\n", encoding="utf-8"
    )
    (folder / "notes.md").write_text(f"# Notes\n\n{secret} likes mornings.\n", encoding="utf-8")
    d = ["--data-dir", str(data_dir)]
    embedder = str(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf")
    assert run(*d, "models", "import", embedder, "--name", "minilm") == 0
    assert run(*d, "models", "import", str(models_dir / "stories260K.gguf"), "--name", "s") == 0
    assert run(*d, "docs", "create", "letters", "--embedding-model", "minilm") == 0
    assert run(*d, "docs", "add", "letters", str(folder)) == 0
    assert run(*d, "docs", "status", "letters") == 0
    assert run(*d, "docs", "refresh", "letters") == 0
    capsys.readouterr()
    assert run(*d, "docs", "search", "letters", "sore knee", "--json") == 0
    assert secret in capsys.readouterr().out  # the passage was found
    chat = ["chat", "--model", "s", "--collection", "letters", "--max-tokens", "10"]
    assert run(*d, *chat, "When did the patient come in?") == 0
    assert run(*d, "docs", "list") == 0
    assert run(*d, "docs", "rm", "letters") == 0
    logs = "".join(p.read_text(encoding="utf-8") for p in (data_dir / "logs").iterdir())
    assert secret not in logs, "document text reached the log file"


def test_offline_mode_stops_search_and_download_before_any_connection(
    offline_guard: PrivacyGuard, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = ["--data-dir", str(data_dir)]
    assert run(*d, "--offline", "models", "search", "stories") == 1
    assert run(*d, "--offline", "models", "pull", "test/stories-GGUF") == 1
    assert "Offline mode is on" in capsys.readouterr().err


def test_search_and_download_reach_only_the_hub_and_only_what_was_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub: FakeHub, data_dir: Path
) -> None:
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    guard = PrivacyGuard(tmp_path, allow_loopback=True).install(monkeypatch)
    d = ["--data-dir", str(data_dir)]
    with restored_logging():
        assert run(*d, "models", "search", "stories") == 0
        assert run(*d, "models", "pull", "test/stories-GGUF") == 0
        assert run(*d, "chat", "--model", "stories260K-Q8_0", "--max-tokens", "10", "Hi") == 0
    guard.check()
    paths = [r.path for r in hub.requests]
    assert paths[0] == "/api/models"  # the search
    assert all("telemetry" not in p and "agent-harnesses" not in p for p in paths)
    assert {p for p in paths if p.startswith("/api/models/")} == {"/api/models/test/stories-GGUF"}
    assert os.environ["HF_HUB_DISABLE_TELEMETRY"] == "1"
    from huggingface_hub import constants

    assert constants.HF_HUB_DISABLE_TELEMETRY is True


def test_every_command_is_covered_by_this_test() -> None:
    """A new command must be added to the flows above (then to this list)."""
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    covered = {"models", "chat", "chats", "hardware", "data", "finetune", "adapters", "docs"}
    covered |= {"audit", "server", "serve", "prompts", "workspace", "eval", "remotes"}
    assert set(commands.choices) == covered  # type: ignore[union-attr]


# -- the desktop app ----------------------------------------------------------------------------


@pytest.fixture
def open_session(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[OpenSession]:
    with session_opener(qtbot, monkeypatch, tmp_path / "config") as opener:
        yield opener


def test_the_desktop_app_makes_no_connection_from_start_to_chat_to_quit(
    offline_guard: PrivacyGuard,
    open_session: OpenSession,
    data_dir: Path,
    stories260k: Path,
    models_dir: Path,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    session = open_session(data_dir)
    window = session.window
    assert window is not None
    # The welcome guide, page by page (nothing is downloaded unless asked).
    guide = session.show_welcome_guide()
    qtbot.waitUntil(lambda: guide.machine is not None, timeout=10_000)
    for _ in range(4):
        guide.next()
    assert "Suggested for this computer" in guide.model_page.chat_text.text()
    guide.close()
    qtbot.waitUntil(lambda: session.guide is None)
    # The Models tab: browse the recommended list, import a file (checked in a child process).
    window.tabs.setCurrentWidget(window.models_tab)
    window.models_tab.show_discover()
    qtbot.wait(300)
    with qtbot.waitSignal(window.models_tab.import_ended, timeout=60_000):
        window.models_tab.start_import(stories260k, "Stories", copy=False)
    assert any("models.probe" in c for c in offline_guard.children())
    # A chat, with the answer saved.
    window.tabs.setCurrentWidget(window.chat_tab)
    window.chat_tab.select_model(window.registry.list()[0].id)
    assert chat(qtbot, window, "Once upon a time").status == "complete"
    # The Fine-tune tab reads and checks a dataset against the model (tokenized here).
    window.tabs.setCurrentWidget(window.finetune_tab)
    dataset = tmp_path / "clinic.jsonl"
    dataset.write_text('{"prompt": "When?", "completion": "On Sundays."}\n' * 6, "utf-8")
    window.finetune_tab.load_file(dataset)
    qtbot.waitUntil(lambda: len(window.finetune_tab.dataset_view.rows()) == 6, timeout=30_000)
    # The Documents tab indexes a folder with an embedding model; a chat then cites it.
    window.registry.import_model(models_dir / "all-MiniLM-L6-v2-Q8_0.gguf", probe=False)
    window.documents_tab.refresh()
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "clinic.txt").write_text("The clinic opens at 8 am on weekdays.\n", "utf-8")
    window.tabs.setCurrentWidget(window.documents_tab)
    collection = window.documents_tab.create_collection("Clinic notes", None)
    assert collection is not None, window.documents_tab.banner.text()
    window.documents_tab.add_paths([str(notes)])
    qtbot.waitUntil(lambda: not window.documents_tab.is_indexing(), timeout=120_000)
    window.tabs.setCurrentWidget(window.chat_tab)
    window.chat_tab.documents.picker.set_attached_by_user(collection.id, True)
    assert chat(qtbot, window, "When does the clinic open?").provenance["sources"]
    # Settings: offline mode off and on, a backup written.
    dialog = session.show_settings()
    qtbot.waitExposed(dialog)
    dialog.offline_box.click()
    dialog.offline_box.click()
    dialog._choose_file = lambda _parent, _mode, _path: tmp_path / "backup.json"
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.is_busy(), timeout=30_000)  # saved on its own thread
    assert (tmp_path / "backup.json").is_file()
    dialog.close()
    session.close()
