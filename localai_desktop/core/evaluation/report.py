"""A run as a self-contained HTML report (bar charts as inline SVG) or as CSV.

The HTML has no external asset (no script, no stylesheet link, no font, no image file): it opens
offline, in any browser, and can be mailed as one file. Every text from a model or a test set
is escaped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from html import escape

from localai_desktop.core.evaluation.metrics import (
    TargetSummary,
    context_tokens,
    memory_setting,
    summarize,
)
from localai_desktop.core.evaluation.store import EvalResult, EvalRun

# (key, title, unit, whether higher is better)
CHARTS: tuple[tuple[str, str, str, bool], ...] = (
    ("accuracy", "Accuracy", "%", True),
    ("made_up", "Made-up answers", "", False),
    ("citation_accuracy", "Citation accuracy", "%", True),
    ("ttft_ms_median", "Time to first token (median)", "ms", False),
    ("tokens_per_second_median", "Tokens per second (median)", "tok/s", True),
    ("peak_memory_mb", "Peak memory", "MB", False),
)
CSV_COLUMNS = (
    "run_id",
    "question_id",
    "question",
    "model",
    "adapter",
    "passed",
    "reason",
    "answer",
    "abstained",
    "made_up",
    "citation_ok",
    "ttft_ms",
    "tokens_per_second",
    "peak_memory_mb",
    "n_ctx",
)
_PALETTE = ("#3366cc", "#dc8a00", "#109618", "#990099", "#0099c6", "#dd4477", "#66aa00")


def chart_value(summary: TargetSummary, key: str) -> float | None:
    value = getattr(summary, key)
    if value is None:
        return None
    if key in ("accuracy", "citation_accuracy"):
        return float(value) * 100
    return float(value)


def bar_chart_svg(
    title: str, labels: Sequence[str], values: Sequence[float | None], unit: str
) -> str:
    """A horizontal bar chart as an SVG element (no script, no external reference)."""
    row, left, width = 26, 180, 300
    height = 34 + row * len(labels)
    top = max([v for v in values if v is not None] or [0.0]) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{left + width + 90}" '
        f'height="{height}" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = 28 + i * row
        shown = label if len(label) <= 26 else label[:25] + "…"
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(shown)}</text>')
        if value is None:
            parts.append(f'<text x="{left}" y="{y + 15}" font-size="12" fill="#777">n/a</text>')
            continue
        bar = max(1.0, width * value / top)
        color = _PALETTE[i % len(_PALETTE)]
        parts.append(
            f'<rect x="{left}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" fill="{color}"/>'
        )
        text = f"{value:.1f} {unit}".strip() if unit else f"{value:g}"
        parts.append(f'<text x="{left + bar + 6:.1f}" y="{y + 15}" font-size="12">{text}</text>')
    parts.append("</svg>")
    return "".join(parts)


def html_report(run: EvalRun, results: Sequence[EvalResult]) -> str:
    summaries = summarize(run, results)
    labels = [t.label for t in run.targets]
    charts = "\n".join(
        bar_chart_svg(title, labels, [chart_value(s, key) for s in summaries], unit)
        for key, title, unit, _higher in CHARTS
    )
    head = (
        "<tr><th>Model</th><th>Answered</th><th>Passed</th><th>Accuracy</th><th>Made up</th>"
        "<th>Citation accuracy</th><th>First token (ms)</th><th>Tokens/s</th>"
        "<th>Peak memory (MB)</th><th>Memory (tokens)</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{escape(label)}</td><td>{s.total}</td><td>{s.passed}</td>"
        f"<td>{_percent(s.accuracy)}</td><td>{s.made_up}</td>"
        f"<td>{_percent(s.citation_accuracy)}</td><td>{_number(s.ttft_ms_median)}</td>"
        f"<td>{_number(s.tokens_per_second_median)}</td><td>{_number(s.peak_memory_mb)}</td>"
        f"<td>{_tokens(context)}</td></tr>"
        for label, s, context in zip(labels, summaries, context_tokens(run, results), strict=True)
    )
    by_key = {(r.target_index, r.question_index): r for r in results}
    questions: list[str] = []
    for q_index, question in enumerate(run.questions):
        cells: list[str] = []
        for t_index, label in enumerate(labels):
            result = by_key.get((t_index, q_index))
            if result is None:
                cells.append(f"<td><b>{escape(label)}</b><br><i>not answered yet</i></td>")
                continue
            mark = "passed" if result.passed else "failed"
            cells.append(
                f'<td class="{mark}"><b>{escape(label)}</b>: {mark}<br>'
                f"<small>{escape(result.reason)}</small>"
                f"<pre>{escape(result.answer)}</pre></td>"
            )
        questions.append(
            f"<h3>{escape(question.id)}: {escape(question.question)}</h3>"
            f"<p>Expected: {escape(question.expect.describe())}"
            + (f"; cites {escape(question.source.describe())}" if question.source else "")
            + f"</p><table><tr>{''.join(cells)}</tr></table>"
        )
    settings = run.settings
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Evaluation {run.id}: {escape(run.name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }}
td.passed {{ background: #eef8ee; }} td.failed {{ background: #fbeeee; }}
pre {{ white-space: pre-wrap; max-width: 40em; font-size: 12px; }}
svg {{ display: block; margin: 1em 0; }}
</style></head><body>
<h1>Evaluation {run.id}: {escape(run.name)}</h1>
<p>Status: {escape(str(run.status))}. {len(run.questions)} questions, {len(run.targets)} models.
Settings: memory {memory_setting(settings)}, temperature {settings.temperature:g},
longest answer {settings.max_tokens} tokens, seed {settings.seed}.
Started {run.created_at:%Y-%m-%d %H:%M} UTC.</p>
<h2>Results per model</h2>
<table>{head}{rows}</table>
<h2>Charts</h2>
{charts}
<h2>Each question</h2>
{"".join(questions)}
</body></html>
"""


def csv_report(run: EvalRun, results: Sequence[EvalResult]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for r in results:
        target = run.targets[r.target_index]
        question = run.questions[r.question_index]
        writer.writerow(
            [
                run.id,
                r.question_id,
                question.question,
                target.model_name,
                target.adapter_name or "",
                "yes" if r.passed else "no",
                r.reason,
                r.answer,
                _flag(r.facts.get("abstained")),
                _flag(r.facts.get("made_up")),
                _flag(r.facts.get("citation_ok")),
                r.facts.get("ttft_ms", ""),
                r.facts.get("tokens_per_second", ""),
                r.facts.get("peak_memory_mb", ""),
                r.facts.get("n_ctx", ""),
            ]
        )
    return out.getvalue()


def _flag(value: object) -> str:
    return "" if value is None else ("yes" if value else "no")


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _tokens(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
