"""Search latency over many conversations: ConversationSearch on 200,000 messages.

Builds a workspace database with --conversations conversations of --messages messages each
(words drawn from a Zipf-like vocabulary, so some words are in a third of all messages and
others in a handful), written through the app's own migrations and FTS5 triggers, then times
searches as a person types them: a common word, a rare word, two words, a word being typed
(prefix), a phrase-like query with punctuation, and each within one conversation (Ctrl+F).
The goal: p95 under 50 ms across all of them.

    .venv/bin/python bench/bench_search.py            # 10,000 x 20 = 200,000 messages
    .venv/bin/python bench/bench_search.py --conversations 1000   # a quick look
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from benchlib import machine_line, markdown_table, save_json

from localai_desktop.core.chat.search import ConversationSearch
from localai_desktop.core.storage import Database

VOCABULARY = 20_000
WORDS_PER_MESSAGE = (12, 90)


def vocabulary(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(3, 10))))
    return sorted(words)


def build(path: Path, conversations: int, messages: int, seed: int) -> list[str]:
    """Fill a fresh database; returns the vocabulary, most frequent word first."""
    rng = random.Random(seed)
    words = vocabulary(rng)
    # Zipf: word 1 is the commonest. Cumulative once: random.choices would redo it per call.
    cumulative = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    db = Database(path)
    db.close()
    raw = db.connect_plain(flush_to_disk=False)
    start = datetime(2026, 1, 1)
    raw.execute("BEGIN")
    message_id = 0
    for c in range(1, conversations + 1):
        when = start + timedelta(minutes=c)
        raw.execute(
            "INSERT INTO conversations (id, title, system_prompt, settings, created_at, "
            "updated_at) VALUES (?, ?, '', '{}', ?, ?)",
            (c, f"Conversation {c}", when, when),
        )
        rows = []
        for m in range(messages):
            message_id += 1
            text = " ".join(
                rng.choices(words, cum_weights=cumulative, k=rng.randint(*WORDS_PER_MESSAGE))
            )
            rows.append(
                (
                    message_id,
                    c,
                    "user" if m % 2 == 0 else "assistant",
                    text,
                    when,
                    when,
                    message_id - 1 if m else 0,
                )
            )
        raw.executemany(
            "INSERT INTO messages (id, conversation_id, role, content, status, provenance, "
            "created_at, updated_at, parent_id, current) "
            "VALUES (?, ?, ?, ?, 'complete', '{}', ?, ?, ?, 1)",
            rows,
        )
        if c % 500 == 0:
            raw.execute("COMMIT")
            raw.execute("BEGIN")
    raw.execute("COMMIT")
    raw.execute("INSERT INTO messages_fts (messages_fts) VALUES ('optimize')")
    raw.close()
    return words


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=20, help="searches of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--keep", type=Path, help="build the database in this folder once and reuse it after"
    )
    args = parser.parse_args()
    print(machine_line())
    with tempfile.TemporaryDirectory() as folder:
        path = (args.keep or Path(folder)) / "localai.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        if path.exists():
            words = vocabulary(random.Random(args.seed))  # as build() made it
        else:
            words = build(path, args.conversations, args.messages, args.seed)
        built_s = time.perf_counter() - began
        total = args.conversations * args.messages
        size_mb = path.stat().st_size / 1e6
        print(f"Built {total:,} messages in {args.conversations:,} conversations in "
              f"{built_s:.0f} s ({size_mb:.0f} MB)")  # fmt: skip
        db = Database(path)
        search = ConversationSearch(db)
        rng = random.Random(args.seed + 1)
        kinds = {
            "common word": lambda: words[rng.randint(0, 5)],
            "mid word": lambda: words[rng.randint(100, 1000)],
            "rare word": lambda: words[rng.randint(10_000, VOCABULARY - 1)],
            "two words": lambda: f"{words[rng.randint(0, 50)]} {words[rng.randint(50, 2000)]}",
            "typing (prefix)": lambda: words[rng.randint(0, 3000)][: rng.randint(3, 6)],
            "punctuation": lambda: f'"{words[rng.randint(0, 100)]}" AND (x*',
        }
        rows = []
        every: list[float] = []
        results = {}
        for scope in ("all conversations", "one conversation"):
            for kind, make in kinds.items():
                times = []
                found = 0
                for _ in range(args.rounds):
                    query = make()
                    within = rng.randint(1, args.conversations) if scope[0] == "o" else None
                    t0 = time.perf_counter()
                    hits = search.search(query, conversation_id=within)
                    times.append((time.perf_counter() - t0) * 1000)
                    found += len(hits)
                times.sort()
                every += times
                p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
                results[f"{scope}/{kind}"] = times
                rows.append(
                    [scope, kind, f"{statistics.median(times):.1f}", f"{p95:.1f}",
                     f"{times[-1]:.1f}", f"{found / args.rounds:.0f}"]
                )  # fmt: skip
        search.close()
        db.close()
    every.sort()
    p95_all = every[int(0.95 * len(every))]
    print()
    print(markdown_table(["scope", "query", "median ms", "p95 ms", "max ms", "hits"], rows))
    print(f"\nAll {len(every)} searches: median {statistics.median(every):.1f} ms, "
          f"p95 {p95_all:.1f} ms (goal: under 50 ms)")  # fmt: skip
    save_json("search", {"messages": total, "build_s": built_s, "times_ms": results})


if __name__ == "__main__":
    main()
