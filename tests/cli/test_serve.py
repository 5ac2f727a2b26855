"""`localai serve` and `localai server token`, run as real processes."""

from __future__ import annotations

import select
import signal
import socket
import subprocess
import time
from pathlib import Path

import openai
import pytest

from localai_desktop.core.datafolder.workspace import Workspace
from tests.cli.test_cli import localai, start_localai


def first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, "the server printed nothing"
    return process.stdout.readline().decode().strip()


def stop(process: subprocess.Popen[bytes]) -> tuple[int, str]:
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    return process.returncode, stderr.decode()


def test_the_token_is_made_once_and_regenerated_on_request(data_dir: Path) -> None:
    token = localai(data_dir, "server", "token").stdout.strip()
    assert len(token) >= 32
    assert localai(data_dir, "server", "token").stdout.strip() == token
    regenerated = localai(data_dir, "server", "token", "--regenerate")
    assert regenerated.stdout.strip() != token
    assert "old token no longer works" in regenerated.stderr
    settings = data_dir / "settings.json"
    assert settings.stat().st_mode & 0o077 == 0  # readable by this user alone


@pytest.mark.slow
def test_serve_prints_the_base_url_answers_with_the_token_and_stops_on_ctrl_c(
    data_dir: Path, stories260k: Path
) -> None:
    localai(data_dir, "models", "import", str(stories260k), "--name", "stories")
    token = localai(data_dir, "server", "token").stdout.strip()
    process = start_localai(data_dir, "serve", "--port", "0", "--model", "stories")
    try:
        base_url = first_line(process, timeout=60)
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        client = openai.OpenAI(base_url=base_url, api_key=token, max_retries=0, timeout=30)
        assert [model.id for model in client.models.list()] == ["stories"]
        answer = client.chat.completions.create(
            model="stories", messages=[{"role": "user", "content": "Hello"}], max_tokens=8
        )
        assert answer.choices[0].message.content
        # Regenerating while it runs refuses the old token at once.
        new_token = localai(data_dir, "server", "token", "--regenerate").stdout.strip()
        with pytest.raises(openai.AuthenticationError):
            client.models.list()
        renewed = openai.OpenAI(base_url=base_url, api_key=new_token, max_retries=0)
        assert renewed.models.list().data
        started = time.monotonic()
        code, stderr = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, stderr
    assert time.monotonic() - started < 10
    assert "Ctrl-C" in stderr and "Stopped." in stderr and "Traceback" not in stderr
    with Workspace.open(data_dir) as workspace:
        kinds = [entry.kind for entry in workspace.audit.entries()]
        assert kinds.count("api_request") == 1
        assert workspace.conversations.list() == []


def test_listening_beyond_this_computer_needs_allow_network(data_dir: Path) -> None:
    result = localai(data_dir, "serve", "--host", "0.0.0.0", check=False)
    assert result.returncode == 1
    assert "--allow-network" in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_named(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = localai(data_dir, "serve", "--port", str(port), check=False)
    assert result.returncode == 1
    assert f"Port {port}" in result.stderr and "--port" in result.stderr


def test_an_unknown_model_is_refused_at_start(data_dir: Path) -> None:
    result = localai(data_dir, "serve", "--port", "0", "--model", "nope", check=False)
    assert result.returncode == 1
    assert "'nope'" in result.stderr and "Traceback" not in result.stderr


def test_a_parallel_below_one_is_refused_plainly(data_dir: Path) -> None:
    result = localai(data_dir, "serve", "--port", "0", "--parallel", "0", check=False)
    assert result.returncode == 1
    assert "--parallel" in result.stderr and "Traceback" not in result.stderr
