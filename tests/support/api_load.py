"""Many streaming OpenAI clients at once, in rounds: how each request ended and how fast.

Used by the GUI server's load test and by bench/bench_server_load.py. Run it as a child
process (`python -m tests.support.api_load ...`, JSON on stdout) so the clients' own Python
work does not run on the process whose GUI thread is being timed: real clients are other
programs.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import asdict, dataclass

import openai


@dataclass(frozen=True)
class RequestResult:
    round: int
    client: int
    outcome: str  # "completed", "429", "hanging" or "error: ..."
    time_to_first_token_s: float | None
    completion_tokens: int
    seconds: float
    retry_after: str = ""


def one_request(
    client: openai.OpenAI, model: str, round_: int, index: int, max_tokens: int, usage: bool
) -> RequestResult:
    started = time.perf_counter()
    first: float | None = None
    tokens = 0
    chunks = 0
    reason = None
    options = {"stream_options": {"include_usage": True}} if usage else {}
    try:
        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": f"Story number {round_ * 100 + index}."}],
            max_tokens=max_tokens,
            seed=round_ * 100 + index,
            temperature=0.8,
            stream=True,
            **options,  # type: ignore[arg-type]
        )
        for chunk in stream:
            if chunk.usage is not None:
                tokens = chunk.usage.completion_tokens
            for choice in chunk.choices:
                if choice.delta.content:
                    chunks += 1
                    if first is None:
                        first = time.perf_counter() - started
                reason = choice.finish_reason or reason
        completed = reason in ("stop", "length") and chunks > 0
        outcome = "completed" if completed else f"error: ended with {reason!r}"
    except openai.RateLimitError as error:
        return RequestResult(
            round_,
            index,
            "429",
            None,
            0,
            time.perf_counter() - started,
            error.response.headers.get("retry-after", ""),
        )
    except Exception as error:
        outcome = f"error: {type(error).__name__}: {error}"
    return RequestResult(
        round_, index, outcome, first, tokens or chunks, time.perf_counter() - started
    )


def run_round(
    base_url: str,
    token: str,
    model: str,
    round_: int,
    *,
    clients: int,
    max_tokens: int,
    usage: bool,
    deadline_s: float,
) -> list[RequestResult]:
    """`clients` streaming chats started together; a request not ended within `deadline_s`
    counts as "hanging"."""
    results: dict[int, RequestResult] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(clients)

    def one_client(index: int) -> None:
        client = openai.OpenAI(base_url=base_url, api_key=token, max_retries=0, timeout=deadline_s)
        barrier.wait()
        result = one_request(client, model, round_, index, max_tokens, usage)
        with lock:
            results[index] = result

    threads = [threading.Thread(target=one_client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    end = time.monotonic() + deadline_s
    for thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
    with lock:
        return [
            results.get(i, RequestResult(round_, i, "hanging", None, 0, deadline_s))
            for i in range(clients)
        ]


def run_rounds(
    base_url: str,
    token: str,
    model: str,
    *,
    clients: int,
    rounds: int,
    max_tokens: int,
    usage: bool = True,
    deadline_s: float = 60.0,
) -> tuple[list[RequestResult], float]:
    """`rounds` rounds of `run_round`: every result, and the wall time of all rounds."""
    results: list[RequestResult] = []
    began = time.perf_counter()
    for round_ in range(rounds):
        results += run_round(
            base_url,
            token,
            model,
            round_,
            clients=clients,
            max_tokens=max_tokens,
            usage=usage,
            deadline_s=deadline_s,
        )
    return results, time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--no-usage", action="store_true")
    parser.add_argument("--deadline", type=float, default=60.0)
    args = parser.parse_args()
    # Connect once first: the client's first request imports and sets up a lot.
    openai.OpenAI(base_url=args.base_url, api_key=args.token, max_retries=0).models.list()
    results, wall = run_rounds(
        args.base_url,
        args.token,
        args.model,
        clients=args.clients,
        rounds=args.rounds,
        max_tokens=args.max_tokens,
        usage=not args.no_usage,
        deadline_s=args.deadline,
    )
    json.dump({"wall_s": wall, "results": [asdict(r) for r in results]}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
