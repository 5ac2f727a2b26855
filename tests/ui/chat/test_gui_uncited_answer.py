"""Under an answer from documents, the sources say when the answer cites none of them."""

from __future__ import annotations

from datetime import datetime

from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.documents.grounding import UNCITED_NOTE
from localai_desktop.ui.chat.message_view import MessageView

SOURCE = {
    "n": 1,
    "collection": "Ward",
    "file": "/letters/visiting.txt",
    "file_name": "visiting.txt",
    "page": None,
    "heading": "",
    "text": "Visiting hours end at 8 pm.",
    "similarity": 0.71,
    "truncated": False,
}


def answer(text: str, sources: list[dict[str, object]] | None = None) -> Message:
    now = datetime(2026, 12, 4, 15, 0)
    provenance = Provenance.from_dict({"collections": ["Ward"], "sources": sources or [SOURCE]})
    return Message(1, 1, "assistant", text, MessageStatus.COMPLETE, None, provenance, now, now)


def test_an_answer_that_cites_nothing_is_marked_and_one_that_cites_is_not(qtbot: QtBot) -> None:
    uncited = MessageView(answer("Visits are any time."))
    qtbot.addWidget(uncited)
    assert uncited.sources.note.text() == UNCITED_NOTE
    assert len(uncited.sources.cards()) == 1  # the passages stay there to check against

    cited = MessageView(answer("Visiting hours end at 8 pm [1]."))
    qtbot.addWidget(cited)
    assert cited.sources.note.text() == "Sources"
    assert cited.sources.cards()[0].match.text() == "Close match (0.71)"  # said in words


def test_a_long_source_file_name_is_shortened_not_widening_the_answer(qtbot: QtBot) -> None:
    name = "a-very-long-file-name-for-the-intensive-care-unit-visiting-policy-2026-revision.pdf"
    long_source = dict(SOURCE, file_name=name, file=f"/letters/{name}")
    message = answer("Visiting hours end at 8 pm [1].", sources=[long_source])
    view = MessageView(message)
    qtbot.addWidget(view)
    view.resize(420, view.heightForWidth(420) if view.hasHeightForWidth() else 300)
    view.show()
    qtbot.waitExposed(view)
    assert view.minimumSizeHint().width() <= 420
    title = view.sources.cards()[0].title
    assert title.width() <= 420 and "…" in title.text()
    assert name in title.toolTip() and name in view.sources.cards()[0].text()
