"""What the batching path costs one client: the same requests, alternately, on both servers.

Run by hand (about a minute):
  PYTHONPATH=. .venv/bin/python bench/bench_server_single_client.py [--model PATH]
      [--tokens 48] [--rounds 6] [--threads 2]

Two of the app's servers run side by side on one model (`--parallel 1`, the one-at-a-time
path, and `--parallel 8`, the batching path, as `localai serve` builds them); one client sends
each prompt to one then the other, alternating which goes first, so a busy machine slows both
alike. A request's decoding speed is its completion tokens after the first (the server's
count) over the time from its first streamed chunk to its last; its time to first token covers
reading the prompt. The report gives the medians per path, their ratio and whether the texts
(temperature 0) are the same.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_server_throughput import PROMPTS, Server, warm_up
from benchlib import BENCH_DIR, ForeignLoad, machine_line, quiet_llama_logs

MODEL = BENCH_DIR / "models" / "random-qwen2-0.5b-Q4_K_M.gguf"


def timed_stream(server: Server, prompt: str, tokens: int) -> tuple[str, float, float]:
    """The text, the decoding tokens/s after the first chunk (the server's token count: a
    stream merges tokens that wait into one chunk, so chunks are no count), the time to it."""
    server.records.clear()
    asked = time.perf_counter()
    stream = server.client().chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": prompt}],
        temperature=0,
        max_tokens=tokens,
        stream=True,
    )
    parts: list[str] = []
    first: float | None = None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter()
            parts.append(chunk.choices[0].delta.content)
    end = time.perf_counter()
    deadline = time.monotonic() + 30  # the record is written just after the last chunk
    while not server.records and time.monotonic() < deadline:
        time.sleep(0.01)
    tokens_after_first = server.records[0].completion_tokens - 1
    if first is None:
        return "".join(parts), 0.0, end - asked
    return "".join(parts), tokens_after_first / (end - first), first - asked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context-length", type=int, default=2048)
    args = parser.parse_args()
    quiet_llama_logs()
    print(machine_line())
    print("before:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    servers = {
        name: Server(
            args.model,
            parallel=parallel,
            context_length=args.context_length,
            threads=args.threads,
        )
        for name, parallel in (("one at a time", 1), ("batching", 8))
    }
    load = ForeignLoad()
    rates: dict[str, list[float]] = {name: [] for name in servers}
    ttft: dict[str, list[float]] = {name: [] for name in servers}
    same = 0
    try:
        for server in servers.values():
            warm_up(server)
        for n in range(args.rounds):
            prompt = PROMPTS[n % len(PROMPTS)]
            order = list(servers) if n % 2 == 0 else list(reversed(servers))
            texts = {}
            for name in order:
                texts[name], rate, first = timed_stream(servers[name], prompt, args.tokens)
                rates[name].append(rate)
                ttft[name].append(first)
            same += len(set(texts.values())) == 1
            print(f"  round {n}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in rates.items()))
    finally:
        for server in servers.values():
            server.close()
    foreign = load.stop()
    print("after:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    print(f"other programs kept {foreign:.0%} of the machine busy during the run")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in medians.items():
        first = statistics.median(ttft[name]) * 1000
        print(
            f"{args.model.name}, {name}: {value:.1f} tokens/s, first token after "
            f"{first:.0f} ms (medians of {args.rounds})"
        )
    print(f"batching / one at a time: {medians['batching'] / medians['one at a time']:.3f}")
    print(f"same text on both: {same}/{args.rounds}")


if __name__ == "__main__":
    sys.exit(main())
