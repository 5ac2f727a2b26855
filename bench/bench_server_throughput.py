"""Throughput of the local server: 1 client against 8 at once, with and without batching.

Run by hand:  PYTHONPATH=. .venv/bin/python bench/bench_server_throughput.py [--tokens 48]
(about a minute per model on 2 cores; makes bench/models/random-qwen2-0.5b-Q8_0.gguf first,
about 2 minutes, if it is missing). It starts the app's own server (ApiServer over a
ThreadedModelOwner, as `localai serve` does) on 127.0.0.1 in a temp data folder and streams
chats at temperature 0 with the official openai client:

- one client, its 8 requests one after another, on the one-at-a-time path (`--parallel 1`):
  the baseline, and the "alone" text of each request;
- one client on the batching server (`--parallel 8`), to see what batching costs one client;
- 8 clients at once on the batching server: aggregate tokens/s, and how many of the 8 texts
  are identical to the same request's text alone.

Tokens are the server's own completion counts (its audit records); a run's tokens/s is all
completion tokens over the wall time from the first request to the last answer's end.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchlib import (  # also puts the repo on sys.path
    BENCH_DIR,
    STORIES_260K,
    ForeignLoad,
    batch_decode_crashes,
    disable_extra_buffer_types,
    machine_line,
    markdown_table,
    quiet_llama_logs,
    save_json,
)

MODEL_0_5B_Q8 = BENCH_DIR / "models" / "random-qwen2-0.5b-Q8_0.gguf"
CLIENTS = 8
PROMPTS = tuple(
    f"Story {n}: " + text
    for n, text in enumerate(
        (
            "a cat who finds a key.",
            "a dog who runs to the sea.",
            "two friends build a boat.",
            "the moon visits a small town.",
            "a girl plants a tree.",
            "a bird learns to sing.",
            "a boy loses his red ball.",
            "the rain talks to the sun.",
        )
    )
)


def make_0_5b_q8() -> Path:
    """The random-weight Qwen2-0.5B-shaped model of make_models.py, in Q8_0."""
    if MODEL_0_5B_Q8.is_file():
        return MODEL_0_5B_Q8
    from make_models import QWEN2_0_5B, write_random_qwen2

    from tests.support import gguf_factory

    MODEL_0_5B_Q8.parent.mkdir(parents=True, exist_ok=True)
    f16 = MODEL_0_5B_Q8.with_name("random-qwen2-0.5b-F16.gguf")
    print(f"writing {f16.name} ...", flush=True)
    if not f16.is_file():
        partial = f16.with_suffix(".partial")
        write_random_qwen2(partial, QWEN2_0_5B)
        partial.replace(f16)
    print(f"quantizing to {MODEL_0_5B_Q8.name} ...", flush=True)
    partial = MODEL_0_5B_Q8.with_suffix(".partial")
    gguf_factory.quantize(f16, partial, "Q8_0")
    partial.replace(MODEL_0_5B_Q8)
    f16.unlink()
    return MODEL_0_5B_Q8


class Server:
    """The app's server over a temp data folder holding one chat model named "m"."""

    def __init__(self, model: Path, *, parallel: int, context_length: int, threads: int) -> None:
        from localai_desktop.core.chat.service import ChatService
        from localai_desktop.core.datafolder.workspace import Workspace
        from localai_desktop.core.inference.engine import LlamaEngine
        from localai_desktop.core.server.api import ApiRecord, ApiService
        from localai_desktop.core.server.http_server import ApiServer
        from localai_desktop.core.server.owner import ThreadedModelOwner

        self._folder = tempfile.TemporaryDirectory(prefix="bench-serve-")
        self.workspace = Workspace.open(Path(self._folder.name))
        local = self.workspace.registry.import_model(model, name="m", probe=False)
        service = ChatService(
            self.workspace.conversations, self.workspace.registry, LlamaEngine(n_threads=threads)
        )
        self.owner = ThreadedModelOwner(service, max_waiting=CLIENTS, parallel=parallel)
        self.records: list[ApiRecord] = []
        api = ApiService(
            self.workspace.registry,
            self.owner,
            context_length=context_length,
            recorder=self.records.append,
        )
        self.token = self.workspace.settings.server_token()
        self.server = ApiServer(api, lambda: self.token, port=0)
        self.server.start()
        self.owner.load(local, context_length)

    def client(self) -> Any:
        import openai

        return openai.OpenAI(
            base_url=self.server.base_url, api_key=self.token, max_retries=0, timeout=600
        )

    def close(self) -> None:
        self.server.close()
        self.owner.close()
        self.workspace.close()
        self._folder.cleanup()


def stream_chat(server: Server, prompt: str, tokens: int) -> str:
    stream = server.client().chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": prompt}],
        temperature=0,
        max_tokens=tokens,
        stream=True,
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def warm_up(server: Server) -> None:
    stream_chat(server, "warm up", 4)
    time.sleep(0.2)  # its record is written just after its last chunk
    server.records.clear()


def one_client(server: Server, tokens: int) -> tuple[list[str], float]:
    started = time.perf_counter()
    texts = [stream_chat(server, prompt, tokens) for prompt in PROMPTS]
    return texts, time.perf_counter() - started


def many_clients(server: Server, tokens: int) -> tuple[list[str], float]:
    texts = [""] * len(PROMPTS)
    start = threading.Barrier(len(PROMPTS) + 1)

    def client(index: int) -> None:
        start.wait()
        texts[index] = stream_chat(server, PROMPTS[index], tokens)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(PROMPTS))]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return texts, time.perf_counter() - started


def measure(model: Path, tokens: int, context_length: int, threads: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(path: str, clients: int, texts: list[str], wall: float, server: Server) -> None:
        # A request's record is written just after its last chunk reaches the client.
        deadline = time.monotonic() + 30
        while len(server.records) < len(texts) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(server.records) == len(texts), f"{len(server.records)} records"
        completion = sum(r.completion_tokens for r in server.records)
        server.records.clear()
        rows.append(
            {
                "model": model.name,
                "path": path,
                "clients": clients,
                "tokens": completion,
                "wall_s": wall,
                "tokens_per_s": completion / wall,
                "texts": texts,
            }
        )
        print(f"  {path:>24}, {clients} client(s): {completion / wall:7.1f} tok/s", flush=True)

    print(f"{model.name}:", flush=True)
    single = Server(model, parallel=1, context_length=context_length, threads=threads)
    try:
        warm_up(single)
        texts, wall = one_client(single, tokens)
        row("one at a time (parallel 1)", 1, texts, wall, single)
    finally:
        single.close()
    batching = Server(model, parallel=CLIENTS, context_length=context_length, threads=threads)
    try:
        warm_up(batching)
        texts, wall = one_client(batching, tokens)
        row(f"batched (parallel {CLIENTS})", 1, texts, wall, batching)
        texts, wall = many_clients(batching, tokens)
        row(f"batched (parallel {CLIENTS})", CLIENTS, texts, wall, batching)
    finally:
        batching.close()
    alone = rows[0]["texts"]
    base = rows[0]["tokens_per_s"]
    for entry in rows:
        entry["vs_one_client"] = entry["tokens_per_s"] / base
        entry["same_as_alone"] = sum(a == b for a, b in zip(entry["texts"], alone, strict=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128, help="answer length (default 128)")
    parser.add_argument("--context-length", type=int, default=2048)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="llama.cpp threads (default 1: on a shared 2-core machine a preempted second "
        "thread stalls every decode)",
    )
    parser.add_argument("--skip-0-5b", action="store_true", help="stories260K only")
    args = parser.parse_args()
    quiet_llama_logs()
    models = [STORIES_260K] if args.skip_0_5b else [STORIES_260K, make_0_5b_q8()]
    if not args.skip_0_5b and batch_decode_crashes(models[1]):
        print("llama.cpp's AMX kernel crashes here: loading without extra buffer types")
        disable_extra_buffer_types()
    print(machine_line())
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"before: {uptime}")
    load = ForeignLoad()
    rows = [
        r
        for model in models
        for r in measure(model, args.tokens, args.context_length, args.threads)
    ]
    foreign = load.stop()
    print(f"after: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    print(f"other programs kept {foreign:.0%} of the machine busy during the run\n")
    print(
        markdown_table(
            [
                "model",
                "server",
                "clients",
                "tokens",
                "wall s",
                "tokens/s (all clients)",
                "vs 1 client, one at a time",
                "texts = alone (temp 0)",
            ],
            [
                [
                    r["model"],
                    r["path"],
                    r["clients"],
                    r["tokens"],
                    f"{r['wall_s']:.2f}",
                    f"{r['tokens_per_s']:.1f}",
                    f"{r['vs_one_client']:.2f}x",
                    f"{r['same_as_alone']}/{len(PROMPTS)}",
                ]
                for r in rows
            ],
        )
    )
    saved = save_json("server_throughput", {"rows": rows, "uptime": uptime, "foreign": foreign})
    print(f"\nsaved {saved}")


if __name__ == "__main__":
    sys.exit(main())
