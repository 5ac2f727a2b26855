"""Text recognised on scanned pages, kept in the workspace's database page by page.

Each page is committed as soon as it is recognised, so a run that is cancelled or killed
resumes without recognising a page twice; rows belong to the file's content as indexed (its
sha256), and a file that changed starts over. The passage viewer reads the lines' boxes back.
Nothing here touches the disk outside the database (page images are never stored).
"""

from __future__ import annotations

from sqlalchemy import delete, select

from localai_desktop.core.documents.ocr import RecognisedPage
from localai_desktop.core.storage.db import Database
from localai_desktop.core.storage.tables import DocumentFileRow, DocumentPageRow


class RecognisedPageStore:
    """Reads and writes recognised pages; each call is one short transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, file_id: int, page: int, file_sha256: str | None = None) -> RecognisedPage | None:
        """The page as recognised (for that content of the file, when `file_sha256` is given)."""
        with self._db.session() as session:
            row = session.scalar(
                select(DocumentPageRow).where(
                    DocumentPageRow.file_id == file_id, DocumentPageRow.page == page
                )
            )
            if row is None or (file_sha256 is not None and row.file_sha256 != file_sha256):
                return None
            return RecognisedPage.from_json(row.lines)

    def put(self, file_id: int, page: int, file_sha256: str, recognised: RecognisedPage) -> None:
        with self._db.session() as session:
            if session.get(DocumentFileRow, file_id) is None:
                return  # removed from its collection meanwhile
            session.execute(
                delete(DocumentPageRow).where(
                    DocumentPageRow.file_id == file_id, DocumentPageRow.page == page
                )
            )
            session.add(
                DocumentPageRow(
                    file_id=file_id,
                    page=page,
                    file_sha256=file_sha256,
                    confidence=recognised.confidence,
                    lines=recognised.to_json(),
                )
            )

    def forget_other_content(self, file_id: int, file_sha256: str) -> None:
        """Drop pages recognised from an earlier version of the file."""
        with self._db.session() as session:
            session.execute(
                delete(DocumentPageRow).where(
                    DocumentPageRow.file_id == file_id,
                    DocumentPageRow.file_sha256 != file_sha256,
                )
            )
