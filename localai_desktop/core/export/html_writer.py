"""The conversation as one HTML page (also what the app prints): Markdown rendered, no images,
no scripts, no outside resources, so it opens the same anywhere and offline."""

from __future__ import annotations

from html import escape

from localai_desktop.core.export.document import ExportDocument, ExportMessage
from localai_desktop.core.export.markdown import markdown_parser, replace_marks

_STYLE = """
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; font-size: 11pt;
       line-height: 1.45; max-width: 48em; margin: 2em auto; padding: 0 1em; color: #111; }
h1 { font-size: 18pt; margin-bottom: 0.2em; }
.subtitle { color: #555; font-size: 9.5pt; margin-top: 0; }
h2.speaker { font-size: 12pt; border-bottom: 1px solid #ccc; padding-bottom: 2px;
             margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: left; vertical-align: top; }
pre { background: #f4f4f4; padding: 8px; white-space: pre-wrap; }
code { font-family: Consolas, "DejaVu Sans Mono", monospace; font-size: 9.5pt; }
blockquote { border-left: 3px solid #ccc; margin-left: 0; padding-left: 1em; color: #333; }
.footnotes { font-size: 9pt; color: #333; }
.appendix td:first-child { white-space: nowrap; font-weight: bold; }
.appendix td { font-size: 9pt; word-break: break-all; }
"""


def message_body_html(message: ExportMessage) -> str:
    """The message's Markdown as HTML, its footnote marks as superscript numbers."""
    html = markdown_parser().render(message.markdown)
    return replace_marks(html, lambda n: f'<sup><a href="#fn-{n}">{n}</a></sup>')


def render_html(document: ExportDocument) -> str:
    """A complete, self-contained HTML page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(document.title)}</title>",
        '<meta name="generator" content="LocalAI Desktop">',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{escape(document.title)}</h1>",
        f'<p class="subtitle">{escape(document.subtitle)}</p>',
    ]
    if document.system_prompt:
        parts.append(
            "<p><strong>System prompt:</strong></p>"
            f"<blockquote>{_paragraphs(document.system_prompt)}</blockquote>"
        )
    for message in document.messages:
        parts.append(f'<h2 class="speaker">{escape(message.heading)}</h2>')
        parts.append(message_body_html(message))
        if message.footnotes:
            parts.append('<ol class="footnotes">')
            parts += [
                f'<li value="{f.number}" id="fn-{f.number}">{escape(f.text)}</li>'
                for f in message.footnotes
            ]
            parts.append("</ol>")
    answers = document.answers_with_provenance
    if answers:
        parts.append("<hr><h2>Appendix: how each answer was made</h2>")
        for message in answers:
            parts.append(f"<h3>{escape(message.speaker)} (message {message.id})</h3>")
            parts.append('<table class="appendix">')
            parts += [
                f"<tr><td>{escape(label)}</td><td>{escape(value)}</td></tr>"
                for label, value in message.appendix
            ]
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip())
