"""Model files and answers shaped as a careless or hostile uploader (or a prompt hidden in a
document) could shape them: chat templates that loop or build huge strings, and answers whose
Markdown names files, devices and network addresses."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support import gguf_factory

# The four templates of issue 22; each made a person wait for minutes and gigabytes.
HOSTILE_TEMPLATES = {
    "huge_repeat": '{{ "x" * 3000000000 }}',
    "nested_loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}"
    ),
    "silent_loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
        "{{ messages[0]['content'] }}"
    ),
    "gigabyte_in_pieces": (
        "{% for i in range(100000) %}{% for j in range(10) %}{{ 'x' * 1000 }}"
        "{% endfor %}{% endfor %}"
    ),
}

UNSAFE_NOTICE = "its chat format was unsafe or too slow; a standard format is used"


def write_hostile_model(folder: Path, name: str, models_dir: Path) -> Path:
    """A tiny chat model (Phi-3's tokenizer) whose chat template is HOSTILE_TEMPLATES[name]."""
    return gguf_factory.write_random_llama(
        folder / f"{name}.gguf",
        tokenizer_from=models_dir / "ggml-vocab-phi-3.gguf",
        chat_template=HOSTILE_TEMPLATES[name],
        name=f"Hostile {name}",
        context_length=4096,
    )


@dataclass(frozen=True)
class ChildRun:
    """A command run in a child process: its output, time and the peak memory of its tree."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss_bytes: int


_MEASURE = """
import resource, subprocess, sys, time
started = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.monotonic() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
import json
print(json.dumps({"rc": done.returncode, "out": done.stdout, "err": done.stderr,
                  "seconds": seconds, "peak": peak}))
"""


def run_measured(
    command: Sequence[str], *, timeout: float, memory_cap: int = 6 * 1024**3
) -> ChildRun:
    """Run `command` in a child; report its time and the largest resident memory any process of
    it reached. The child's address space is capped (memory_cap), so a regression fails the
    test instead of taking the machine down."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_cap, memory_cap))

    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=cap_memory if sys.platform.startswith("linux") else None,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise AssertionError(f"the measured run gave no report: {result.stderr[-2000:]}")
    report = json.loads(lines[-1])
    return ChildRun(report["rc"], report["out"], report["err"], report["seconds"], report["peak"])


def hostile_answers(port: int, folder: Path) -> list[str]:
    """Answers whose Markdown names a device, a FIFO, a 2 GB sparse file and a local server."""
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    sparse = folder / "sparse.bin"
    with sparse.open("wb") as file:
        file.truncate(2 * 1024**3)
    return [
        "Here is a picture: ![x](/dev/zero)",
        "And another ![x](file:///dev/urandom) inline.",
        f"A pipe: ![x]({fifo})",
        f"A big file: ![x]({sparse}) and as HTML <img src='{sparse}'>",
        f"From the network: ![x](http://127.0.0.1:{port}/pixel.png) "
        f"and [a link](http://127.0.0.1:{port}/page)",
    ]


@contextmanager
def counting_server() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server that counts the requests it gets: (port, paths requested)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
