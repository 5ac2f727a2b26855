"""The `localai` command line, run as a real process on real models."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import gguf_factory


def localai(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"localai {args} failed: {result.stderr}")
    return result


def start_localai(data_dir: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "localai_desktop.cli", "--data-dir", str(data_dir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def read_until(process: subprocess.Popen[bytes], min_bytes: int, timeout: float) -> bytes:
    """Read the streaming answer until at least min_bytes arrived."""
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    received = b""
    deadline = time.monotonic() + timeout
    while len(received) < min_bytes and time.monotonic() < deadline:
        chunk = process.stdout.read(4096)
        if chunk:
            received += chunk
        else:
            time.sleep(0.01)
    assert len(received) >= min_bytes, f"only {len(received)} bytes streamed"
    return received


def wait_for_stored_answer(data_dir: Path, *, min_bytes: int, timeout: float) -> None:
    """Wait until the answer being written has at least min_bytes in the database."""
    deadline = time.monotonic() + timeout
    stored = b""
    while time.monotonic() < deadline:
        raw = sqlite3.connect(f"file:{data_dir / 'localai.db'}?mode=ro", uri=True)
        try:
            row = raw.execute(
                "SELECT content FROM messages WHERE role = 'assistant' ORDER BY id DESC LIMIT 1"
            ).fetchone()
        except sqlite3.OperationalError:  # not created yet
            row = None
        finally:
            raw.close()
        stored = (row[0] if row else "").encode()
        if len(stored) >= min_bytes:
            return
        time.sleep(0.1)
    raise AssertionError(f"only {len(stored)} bytes of the answer were stored")


def test_import_list_and_remove_a_model(data_dir: Path, stories260k: Path) -> None:
    out = localai(data_dir, "models", "import", str(stories260k), "--name", "stories").stdout
    assert "Imported 'stories'" in out
    listed = json.loads(localai(data_dir, "models", "list", "--json").stdout)
    assert len(listed) == 1
    model = listed[0]
    assert model["name"] == "stories"
    assert model["architecture"] == "llama"
    assert model["quantization"] == "F32"
    assert model["file_size"] == 1_185_376
    assert model["has_chat_template"] is False
    table = localai(data_dir, "models", "list").stdout
    assert "stories" in table and "llama" in table and "1.1 MB" in table
    localai(data_dir, "models", "rm", "stories")
    assert json.loads(localai(data_dir, "models", "list", "--json").stdout) == []
    assert stories260k.is_file()  # removing never deletes a file in place unless asked


def test_import_with_copy_and_remove_with_the_file(data_dir: Path, stories260k: Path) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--copy", "--name", "copied")
    model = json.loads(localai(data_dir, "models", "list", "--json").stdout)[0]
    copy = Path(model["path"])
    assert copy.parent == data_dir / "models" and copy.read_bytes() == stories260k.read_bytes()
    localai(data_dir, "models", "rm", "copied", "--delete-file")
    assert not copy.exists()
    assert stories260k.is_file()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: gguf_factory.write_random_bytes(p), "not a GGUF"),
        (lambda p: gguf_factory.write_fake_pdf(p), "PDF"),
    ],
)
def test_importing_a_bad_file_fails_with_a_message(
    data_dir: Path, tmp_path: Path, make: object, words: str
) -> None:
    bad = make(tmp_path / "bad.gguf")  # type: ignore[operator]
    result = localai(data_dir, "models", "import", str(bad), check=False)
    assert result.returncode == 1
    assert words.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert json.loads(localai(data_dir, "models", "list", "--json").stdout) == []


def test_chat_streams_the_answer_and_stores_the_conversation(
    data_dir: Path, stories260k: Path
) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    result = localai(
        data_dir, "chat", "--model", "stories", "--seed", "3", "--max-tokens", "80",
        "--system", "You tell stories.", "Once upon a time",
    )  # fmt: skip
    assert len(result.stdout.split()) > 10
    assert "tokens/s" in result.stderr
    chats = json.loads(localai(data_dir, "chats", "list", "--json").stdout)
    assert len(chats) == 1 and chats[0]["title"] == "Once upon a time"
    shown = json.loads(localai(data_dir, "chats", "show", str(chats[0]["id"]), "--json").stdout)
    assert shown["system_prompt"] == "You tell stories."
    user, answer = shown["messages"]
    assert user["content"] == "Once upon a time"
    assert answer["status"] == "complete"
    assert answer["content"].strip() == result.stdout.strip()
    assert answer["provenance"]["settings"]["seed"] == 3

    follow_up = localai(
        data_dir, "chat", "--model", "stories", "--conversation", str(chats[0]["id"]),
        "--max-tokens", "20", "--seed", "3", "And then?",
    )  # fmt: skip
    assert "cut off at --max-tokens" in follow_up.stderr  # a story takes more than 20 tokens
    text = localai(data_dir, "chats", "show", str(chats[0]["id"])).stdout
    assert text.count("[user]") == 2 and text.count("[assistant]") == 2


def test_unknown_model_and_conversation_fail_with_a_message(data_dir: Path) -> None:
    result = localai(data_dir, "chat", "--model", "nope", "Hi", check=False)
    assert result.returncode == 1 and "no model called 'nope'" in result.stderr
    result = localai(data_dir, "chats", "show", "99", check=False)
    assert result.returncode == 1 and "does not exist" in result.stderr


def test_sigkill_mid_stream_leaves_the_partial_answer_marked_interrupted(
    data_dir: Path, tiny_chat_model: Path
) -> None:
    localai(data_dir, "models", "import", str(tiny_chat_model), "--name", "tiny")
    process = start_localai(
        data_dir, "chat", "--model", "tiny", "--max-tokens", "30000",
        "--context-length", "32768", "Please write a very long letter.",
    )  # fmt: skip
    try:
        streamed = read_until(process, 600, timeout=180)
        # Kill it once the growing answer has been written through (about every second);
        # waiting on the database rather than a clock keeps this right on a busy machine.
        wait_for_stored_answer(data_dir, min_bytes=300, timeout=120)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert process.stdout is not None
    streamed += process.stdout.read() or b""  # what was still in the pipe

    # The database is readable by anyone, and holds the question and the partial answer.
    raw = sqlite3.connect(data_dir / "localai.db")
    assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    raw.close()
    conversation = json.loads(localai(data_dir, "chats", "show", "1", "--json").stdout)
    user, answer = conversation["messages"]
    assert user["content"] == "Please write a very long letter."
    assert answer["status"] == "interrupted"
    assert len(answer["content"].encode()) >= 300
    assert streamed.lstrip().startswith(answer["content"].encode())
    assert "(interrupted)" in localai(data_dir, "chats", "show", "1").stdout


def test_ctrl_c_stops_the_answer_and_keeps_it(data_dir: Path, tiny_chat_model: Path) -> None:
    localai(data_dir, "models", "import", str(tiny_chat_model), "--name", "tiny")
    process = start_localai(
        data_dir, "chat", "--model", "tiny", "--max-tokens", "30000",
        "--context-length", "32768", "Talk to me.",
    )  # fmt: skip
    streamed = read_until(process, 500, timeout=180)
    sent_at = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - sent_at < 15  # it stops rather than running on to 30,000 tokens
    assert process.returncode == 130
    assert b"partial answer is saved" in stderr
    answer = json.loads(localai(data_dir, "chats", "show", "1", "--json").stdout)["messages"][1]
    assert answer["status"] == "stopped"
    assert answer["content"].encode().startswith(streamed.lstrip()[:400])
