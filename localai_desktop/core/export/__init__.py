"""Conversations as documents for the record: Markdown, HTML, Word and PDF.

- ``document``: ``ExportDocument``, the conversation (or the chosen messages) as plain data to
  write out: speaker labels, times, Markdown text with its citations numbered as footnotes
  through the whole document, and each answer's provenance as rows for the appendix.
- ``markdown``: the one Markdown reader all writers share (markdown-it: tables, lists, code;
  raw HTML and images off), and the marks that stand for footnotes in the text.
- ``markdown_writer``, ``html_writer``, ``docx_writer``, ``pdf_writer``: one format each, all
  from the same ``ExportDocument``. The PDF is written by fpdf2 (pure Python, no Qt), so the
  command line and the app make the very same file; the app prints the HTML.
- ``exporter``: ``ConversationExporter``: read, render, write the file atomically, and record
  the export in the audit trail.
"""
