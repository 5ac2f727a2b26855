"""Tables and goal lines of bench_generation.py, computed from the runs (also from a saved JSON)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from typing import Any

from benchlib import fmt, markdown_table, median, spread
from generation_paths import Run

BASELINE = "plain `generate` on the app's Llama (**baseline**)"
OWN = "plain `generate` on its own `Llama(...)`"
APP = "**app: ChatWorker**"
ENGINE = "ladder: `LlamaEngine.generate` only (no DB, no Qt)"
SERVICE = "ladder: `ChatService.reply` only (+ DB write-through, no Qt)"
RATIO_GOAL = 0.98
TTFT_GOAL_MS = 10.0

HEADER = (
    "path",
    "tok/s median",
    "range",
    "÷ baseline (paired median)",
    "tok/s by median token gap",
    "÷ baseline",
    "TTFT ms median",
    "TTFT − baseline ms (paired median)",
    "foreign load",
    "tokens",
)

Key = Callable[[Run], float | None]


def _tok_s(r: Run) -> float | None:
    return r.tok_s


def _gap_tok_s(r: Run) -> float | None:
    return r.extra.get("median_gap_tok_s")


def _ttft(r: Run) -> float | None:
    return r.ttft_s


def _wall_ttft(r: Run) -> float | None:
    return r.extra.get("wall_ttft_s")


def paired(runs: list[Run], base: list[Run], key: Key, base_key: Key, op: str) -> list[float]:
    """Per-round ratios (op "/") or differences in ms (op "-") of two paths."""
    values = []
    for run, ref in zip(runs, base, strict=True):
        a, b = key(run), base_key(ref)
        if a is None or not b:
            continue
        values.append(a / b if op == "/" else (a - b) * 1000)
    return values


def quartiles(values: Iterable[float]) -> tuple[float, float] | None:
    ordered = sorted(values)
    if len(ordered) < 4:
        return None
    q = statistics.quantiles(ordered, n=4)
    return q[0], q[2]


def _row(name: str, runs: list[Run], base: list[Run], ttft: Key) -> list[str]:
    lo_hi = spread(r.tok_s for r in runs)
    return [
        name,
        fmt(median(r.tok_s for r in runs)),
        f"{fmt(lo_hi[0], 0)}–{fmt(lo_hi[1], 0)}" if lo_hi else "n/a",
        fmt(median(paired(runs, base, _tok_s, _tok_s, "/")), 3),
        fmt(median(_gap_tok_s(r) for r in runs)),
        fmt(median(paired(runs, base, _gap_tok_s, _gap_tok_s, "/")), 3),
        fmt(median(ttft(r) * 1000 for r in runs if ttft(r) is not None), 1),
        fmt(median(paired(runs, base, ttft, _ttft, "-")), 1),
        f"{median(r.extra['foreign_load'] for r in runs):.0%}",
        str(int(median(r.tokens for r in runs) or 0)),
    ]


def summarize(
    results: dict[str, list[Run]], ttft_results: dict[str, list[Run]]
) -> tuple[list[list[str]], list[str]]:
    """Table rows and the goal lines."""
    base, app = results[BASELINE], results[APP]
    rows = [_row(BASELINE, base, base, _ttft), _row(OWN, results[OWN], base, _ttft)]
    rows += [
        _row(name, results[name], base, _ttft) for name in (ENGINE, SERVICE) if name in results
    ]
    rows.append(_row(f"{APP}, from the saved answer's provenance", app, base, _ttft))
    rows.append(_row(f"{APP}, GUI receiver's clock", app, base, _wall_ttft))

    def verdict(ok: bool) -> str:
        return "met" if ok else "**MISSED**"

    ratios = paired(app, base, _tok_s, _tok_s, "/")
    gap_ratio = median(paired(app, base, _gap_tok_s, _gap_tok_s, "/"))
    ratio, ratio_q = median(ratios), quartiles(ratios)
    t_app, t_base = ttft_results.get(APP) or app, ttft_results.get(BASELINE) or base
    extra = paired(t_app, t_base, _wall_ttft, _ttft, "-")
    ttft_extra, ttft_q = median(extra), quartiles(extra)
    # Inside one answer: the GUI's clock (request emitted → first batch) minus the engine's own
    # TTFT (generate called → first token). Free of the prompt-evaluation noise between runs.
    pipeline = median(
        (r.extra["wall_ttft_s"] - r.ttft_s) * 1000
        for r in t_app
        if r.extra.get("wall_ttft_s") is not None and r.ttft_s is not None
    )
    same = sum(
        a.tokens == b.tokens and a.text.strip() == b.text.strip()
        for a, b in zip(app, base, strict=True)
    )
    lines = [
        f"- tok/s, app ÷ plain (goal ≥ {RATIO_GOAL}): {fmt(ratio, 3)} (paired median of "
        f"{len(ratios)} rounds, quartiles {fmt(ratio_q and ratio_q[0], 3)}–"
        f"{fmt(ratio_q and ratio_q[1], 3)}); by median token gap {fmt(gap_ratio, 3)} → "
        + ("n/a" if ratio is None else verdict(ratio >= RATIO_GOAL)),
        f"- time to first token, app − plain (goal < {TTFT_GOAL_MS:.0f} ms): {fmt(ttft_extra, 1)} "
        f"ms (paired median of {len(extra)} pairs"
        f"{' of short answers' if ttft_results.get(APP) else ''}, quartiles "
        f"{fmt(ttft_q and ttft_q[0], 1)}–{fmt(ttft_q and ttft_q[1], 1)} ms; plain TTFT "
        f"{fmt(median(r.ttft_s * 1000 for r in t_base if r.ttft_s is not None), 1)} ms); "
        f"the app's pipeline alone (GUI clock − engine TTFT, same answer) {fmt(pipeline, 1)} ms"
        " → " + ("n/a" if ttft_extra is None else verdict(ttft_extra < TTFT_GOAL_MS)),
        f"- app's answer identical to the plain loop's (same tokens and text): "
        f"{same}/{len(app)} rounds; streamed text equals saved text: "
        f"{sum(bool(r.extra.get('streamed_equals_saved')) for r in app)}/{len(app)}",
    ]
    return rows, lines


def print_reports(reports: list[dict[str, Any]], machine: str) -> None:
    """The tables of each model, computed from its runs."""
    print(f"\n# Generation benchmark\n{machine}")
    print(
        f"llama.cpp extra buffer types (AMX/repack): {reports[0].get('extra_bufts', '?')}; "
        + (
            "cold: each run right after the quiet gate's idle wait"
            if reports[0].get("cold", True)
            else "each run right after a throwaway 2-token answer on the same path"
        )
    )
    for report in reports:
        results = {name: [Run(**r) for r in runs] for name, runs in report["runs"].items()}
        ttft = {name: [Run(**r) for r in runs] for name, runs in report["ttft_runs"].items()}
        rows, lines = summarize(results, ttft)
        print(
            f"\n### {report['label']} ({report['prompt_tokens']} prompt tokens, up to "
            f"{report['n_tokens']} answer tokens, n_ctx {report['n_ctx']}, "
            f"{report['n_threads']} threads, {report['rounds']} interleaved rounds)\n"
        )
        print(markdown_table(HEADER, rows))
        print()
        print("\n".join(lines))
