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


def answer(text: str) -> Message:
    now = datetime(2026, 12, 4, 15, 0)
    provenance = Provenance.from_dict({"collections": ["Ward"], "sources": [SOURCE]})
    return Message(1, 1, "assistant", text, MessageStatus.COMPLETE, None, provenance, now, now)


def test_an_answer_that_cites_nothing_is_marked_and_one_that_cites_is_not(qtbot: QtBot) -> None:
    uncited = MessageView(answer("Visits are any time."))
    qtbot.addWidget(uncited)
    assert uncited.sources.note.text() == UNCITED_NOTE
    assert len(uncited.sources.cards()) == 1  # the passages stay there to check against

    cited = MessageView(answer("Visiting hours end at 8 pm [1]."))
    qtbot.addWidget(cited)
    assert cited.sources.note.text() == "Sources"
