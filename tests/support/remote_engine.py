"""llama-cpp-python's own OpenAI-compatible server on 127.0.0.1, as a remote engine for tests."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.certificates import ServerCertificate

MODEL_ALIAS = "stories"


@dataclass(frozen=True)
class RunningServer:
    url: str  # the base URL, http://127.0.0.1:PORT
    port: int
    api_key: str | None
    process: subprocess.Popen[bytes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_llama_server(
    model: Path,
    *,
    api_key: str | None = None,
    log: Path | None = None,
    tls: ServerCertificate | None = None,
) -> Iterator[RunningServer]:
    """Start `python -m llama_cpp.server` with the model as MODEL_ALIAS (over https with
    `tls`); stop it after."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        "--n_threads",
        "1",
    ]
    if api_key:
        command += ["--api_key", api_key]
    if tls is not None:
        command += ["--ssl_keyfile", str(tls.key_file), "--ssl_certfile", str(tls.cert_file)]
    output = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(tls.ca_file)) if tls else None
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server ended at start ({process.returncode})")
            request = urllib.request.Request(f"{url}/v1/models")
            if api_key:
                request.add_header("Authorization", f"Bearer {api_key}")
            try:
                with urllib.request.urlopen(request, timeout=2, context=context) as response:
                    json.load(response)
                    break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield RunningServer(url, port, api_key, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log and output is not subprocess.DEVNULL:
            output.close()  # type: ignore[union-attr]
