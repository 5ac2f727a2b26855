"""`localai remotes add|list|rm`, and a remote's model in `chat --model` and `eval run --model`
(llama-cpp-python's own server with stories260K on 127.0.0.1 as the remote)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localai_desktop.core.datafolder.settings import AppSettingsStore
from tests.support.keychain_support import FileKeyring, file_keyring
from tests.support.remote_engine import RunningServer, free_port, running_llama_server

CLI = (sys.executable, "-m", "localai_desktop.cli")
KEY = "cli-test-key-42"


def localai(
    data_dir: Path, *args: str, stdin: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*CLI, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        input=stdin,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"localai {args} failed ({result.returncode}): {result.stderr}")
    return result


@pytest.fixture(autouse=True)
def keychain(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FileKeyring]:
    """The `localai` commands share a keychain (a file): the workspace is not protected, so
    API keys are kept there, not in its database."""
    with file_keyring(monkeypatch, tmp_path / "keychain.json") as backend:
        yield backend


@pytest.fixture(scope="module")
def server(models_dir: Path) -> Iterator[RunningServer]:
    with running_llama_server(models_dir / "stories260K.gguf", api_key=KEY) as running:
        yield running


def test_add_list_chat_eval_and_remove_a_remote(
    data_dir: Path, server: RunningServer, tmp_path: Path, keychain: FileKeyring
) -> None:
    added = localai(
        data_dir, "remotes", "add", "box", "--url", server.url, "--api-key-stdin", stdin=KEY + "\n"
    )
    assert "It answers. Its models: box/stories" in added.stdout
    assert "runs on 127.0.0.1: your text is sent there" in added.stdout
    localai(data_dir, "remotes", "add", "gone", "--url", f"http://127.0.0.1:{free_port()}")

    listed = json.loads(localai(data_dir, "remotes", "list", "--json").stdout)
    by_name = {r["name"]: r for r in listed}
    assert by_name["box"]["reachable"] and by_name["box"]["models"] == ["stories"]
    assert by_name["box"]["has_api_key"] and KEY not in json.dumps(listed)
    assert [KEY in value for value in keychain.entries().values()] == [True]
    assert not [p for p in data_dir.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert not by_name["gone"]["reachable"] and "cannot be reached" in by_name["gone"]["problem"]
    table = localai(data_dir, "remotes", "list")
    assert "box/stories" in table.stdout and "REACHABLE" in table.stdout

    chat = localai(
        data_dir, "chat", "--model", "box/stories", "--max-tokens", "16", "--seed", "3", "Hi"
    )
    assert chat.stdout.strip()
    assert "your text is sent there" in chat.stderr and "Saved in conversation" in chat.stderr
    shown = json.loads(localai(data_dir, "chats", "show", "1", "--json").stdout)
    answer = shown["messages"][-1]
    assert answer["content"].strip() == chat.stdout.strip()
    assert answer["provenance"]["remote"]["address"] == server.url
    question = shown["messages"][0]["id"]
    edited = localai(
        data_dir, "chats", "edit", "1", str(question), "Hello", "--model", "box/stories"
    )
    assert "Saved as a new version" in edited.stderr and edited.stdout.strip()

    tests = tmp_path / "t.jsonl"
    tests.write_text(
        json.dumps({"id": "q1", "question": "A story?", "expect": {"contains": ["the"]}}) + "\n",
        encoding="utf-8",
    )
    run = localai(
        data_dir, "eval", "run", str(tests), "--model", "box/stories", "--max-tokens", "16"
    )
    assert "box/stories" in run.stdout

    localai(data_dir, "remotes", "rm", "box")
    after = json.loads(localai(data_dir, "remotes", "list", "--json").stdout)
    assert [r["name"] for r in after] == ["gone"]
    assert keychain.entries() == {}  # its key went with it


def test_a_key_is_refused_where_no_keychain_keeps_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    refused = localai(
        data_dir,
        "remotes",
        "add",
        "gpu",
        "--url",
        "https://gpu.example.com",
        "--api-key-stdin",
        stdin=KEY,
        check=False,
    )
    assert refused.returncode != 0
    assert "was not saved" in refused.stderr and "Protect the workspace" in refused.stderr
    assert json.loads(localai(data_dir, "remotes", "list", "--json").stdout) == []


def test_bad_addresses_and_a_wrong_key_get_plain_errors(
    data_dir: Path, server: RunningServer
) -> None:
    public = localai(data_dir, "remotes", "add", "x", "--url", "http://8.8.8.8:8000", check=False)
    assert public.returncode != 0 and "unencrypted" in public.stderr and "https" in public.stderr
    bad = localai(data_dir, "remotes", "add", "x", "--url", "gpu-server:8000", check=False)
    assert bad.returncode != 0 and "Error:" in bad.stderr
    wrong = localai(
        data_dir, "remotes", "add", "w", "--url", server.url, "--api-key-stdin", stdin="nope\n"
    )
    assert "refused the API key" in wrong.stderr
    chat = localai(data_dir, "chat", "--model", "w/stories", "Hi", check=False)
    assert chat.returncode != 0 and "refused the API key" in chat.stderr


def test_offline_blocks_remotes_except_those_allowed(data_dir: Path, server: RunningServer) -> None:
    localai(data_dir, "remotes", "add", "box", "--url", server.url, "--api-key-stdin", stdin=KEY)
    localai(
        data_dir,
        "remotes",
        "add",
        "here",
        "--url",
        server.url,
        "--allow-offline",
        "--api-key-stdin",
        stdin=KEY,
    )
    blocked = localai(data_dir, "--offline", "chat", "--model", "box/stories", "Hi", check=False)
    assert blocked.returncode != 0 and "Offline mode is on" in blocked.stderr
    listed = json.loads(localai(data_dir, "--offline", "remotes", "list", "--json").stdout)
    assert [(r["name"], r["reachable"]) for r in listed] == [("box", False), ("here", True)]
    allowed = localai(
        data_dir, "--offline", "chat", "--model", "here/stories", "--max-tokens", "8", "Hi"
    )
    assert allowed.stdout.strip()


def test_another_copy_of_this_app_serves_as_a_remote(
    data_dir: Path, tmp_path: Path, stories260k: Path
) -> None:
    other = tmp_path / "server-copy"
    other.mkdir()
    localai(other, "models", "import", str(stories260k), "--name", "stories")
    token = AppSettingsStore.in_data_dir(other).server_token()
    command = [*CLI, "--data-dir", str(other), "serve", "--port", "0"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().decode().strip()  # http://127.0.0.1:PORT/v1
        added = localai(
            data_dir, "remotes", "add", "office", "--url", base_url, "--api-key-stdin", stdin=token
        )
        assert "Its models: office/stories" in added.stdout
        chat = localai(data_dir, "chat", "--model", "office/stories", "--max-tokens", "8", "Hi")
        assert chat.stdout.strip()
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=30)
