"""ExportWorker: conversations written to Word, PDF, Markdown or HTML off the GUI thread."""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal, Slot

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.export.document import ExportDocument
from localai_desktop.core.export.exporter import ConversationExporter
from localai_desktop.ui.workers.base import ThreadWorker

log = logging.getLogger(__name__)

UNEXPECTED_EXPORT_ERROR = (
    "Something went wrong inside the app while exporting the conversation. Try again; if it "
    "keeps happening, the log file in the app's data folder says more."
)


class ExportWorker(ThreadWorker):
    """Runs the core exporter (the same code as `localai chats export`) on its own thread.

    A long conversation takes seconds as Word or PDF; the window stays responsive meanwhile.
    Each request carries the asker's id, repeated in the answer.
    """

    exported = Signal(int, object)
    """A file was written and recorded in the audit trail: (request_id, ExportResult)."""
    print_ready = Signal(int, str, str)
    """The conversation as HTML to print: (request_id, title, html)."""
    export_failed = Signal(int, str)
    """An export or print could not be made: (request_id, message for the user)."""

    thread_name = "export-worker"
    shutdown_wait_ms = 30_000  # a file being written is finished, never left half-done

    def __init__(self, exporter: ConversationExporter) -> None:
        super().__init__()
        self._exporter = exporter
        self._to_print: dict[int, ExportDocument] = {}  # request id -> document handed out

    @Slot(int, int, str, str, object)
    def export(
        self,
        request_id: int,
        conversation_id: int,
        path: str,
        file_format: str,
        message_ids: object = None,
    ) -> None:
        """Write the conversation (or the messages in the list `message_ids`) to `path`."""
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            ids = list(message_ids) if isinstance(message_ids, (list, tuple)) else None
            try:
                result = self._exporter.export(conversation_id, path, file_format, message_ids=ids)
            except LocalAIError as error:
                self.export_failed.emit(request_id, error.message)
                return
            except Exception:
                log.exception("Exporting conversation %s failed", conversation_id)
                self.export_failed.emit(request_id, UNEXPECTED_EXPORT_ERROR)
                return
            self.exported.emit(request_id, result)

    @Slot(int, int)
    def render_for_print(self, request_id: int, conversation_id: int) -> None:
        """The conversation as the HTML export's page, for Qt to lay out on the printer."""
        with self._requests.running(request_id) as cancel:
            if cancel.is_set():
                return
            try:
                document, data = self._exporter.render(conversation_id, "html")
            except LocalAIError as error:
                self.export_failed.emit(request_id, error.message)
                return
            except Exception:
                log.exception("Preparing conversation %s for print failed", conversation_id)
                self.export_failed.emit(request_id, UNEXPECTED_EXPORT_ERROR)
                return
            self._to_print[request_id] = document
            self.print_ready.emit(request_id, document.title, data.decode("utf-8"))

    @Slot(int, bool)
    def finish_print(self, request_id: int, printed: bool) -> None:
        """The document of `request_id` went to the printer (recorded in the audit trail, as
        an export is) or the person cancelled (nothing recorded)."""
        document = self._to_print.pop(request_id, None)
        if document is None or not printed:
            return
        try:
            self._exporter.record_printed(document)
        except LocalAIError as error:
            log.warning(
                "Printing conversation %s was not recorded: %s",
                document.conversation_id,
                error.message,
            )
        except Exception:
            log.exception("Recording the print of conversation %s failed", document.conversation_id)
