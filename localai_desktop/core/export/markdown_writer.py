"""The conversation as a Markdown file: the answers' own Markdown, footnotes as [^n]."""

from __future__ import annotations

from localai_desktop.core.export.document import ExportDocument
from localai_desktop.core.export.markdown import replace_marks


def render_markdown(document: ExportDocument) -> str:
    """Markdown any editor reads; footnotes in the common `[^n]` syntax (GitHub, Pandoc)."""
    lines = [f"# {document.title}", "", f"*{document.subtitle}*", ""]
    if document.system_prompt:
        lines += ["**System prompt:**", "", _quoted(document.system_prompt), ""]
    for message in document.messages:
        lines += [f"## {message.heading}", ""]
        lines += [replace_marks(message.markdown, lambda n: f"[^{n}]").rstrip(), ""]
        for footnote in message.footnotes:
            lines += [f"[^{footnote.number}]: {footnote.text}", ""]
    answers = document.answers_with_provenance
    if answers:
        lines += ["---", "", "## Appendix: how each answer was made", ""]
        for message in answers:
            lines += [f"### {message.speaker} (message {message.id})", ""]
            lines += ["| | |", "|---|---|"]
            lines += [f"| {label} | {_cell(value)} |" for label, value in message.appendix]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
