"""Under an answer from documents, the grounding check names the sentences nothing supports."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtGui import QTextCharFormat, QTextCursor
from pytestqt.qtbot import QtBot

from localai_desktop.core.chat.conversations import Message, MessageStatus
from localai_desktop.core.chat.provenance import Provenance
from localai_desktop.core.documents.sentence_support import check_answer
from localai_desktop.ui.chat.message_view import MessageView
from localai_desktop.ui.chat.unsupported_marks import UNSUPPORTED_PROPERTY

SOURCE = {
    "n": 1,
    "collection": "Ward",
    "file": "/letters/visiting.txt",
    "file_name": "visiting.txt",
    "page": None,
    "heading": "",
    "text": "Visiting hours end at 8 pm. Two visitors may come to each bed.",
    "similarity": 0.71,
    "truncated": False,
}


def answer(text: str) -> Message:
    now = datetime(2026, 12, 4, 15, 0)
    support = check_answer(text, [SOURCE]).to_dict()
    provenance = Provenance.from_dict(
        {"collections": ["Ward"], "sources": [SOURCE], "sentence_support": support}
    )
    return Message(1, 1, "assistant", text, MessageStatus.COMPLETE, None, provenance, now, now)


def test_an_unsupported_sentence_is_marked_with_its_reason(qtbot: QtBot) -> None:
    view = MessageView(
        answer(
            "Visiting hours end at 8 pm [1]. Two visitors may come to each bed [1]. "
            "Children under 12 must bring a signed permission form [1]."
        )
    )
    qtbot.addWidget(view)
    shown = view.sources.support.text()
    assert shown.startswith("Grounding check: 2 of 3 sentences supported by the passages.")
    assert "Not supported: “Children under 12 must bring a signed permission form [1].”" in shown
    assert "No passage gives the number 12" in shown
    view.resize(800, view.heightForWidth(800) if view.hasHeightForWidth() else 400)
    view.show()
    qtbot.waitExposed(view)
    assert view.minimumSizeHint().width() <= 800
    view.grab().save("/tmp/grounding-check-800.png")


def test_a_fully_supported_answer_says_so_without_warnings(qtbot: QtBot) -> None:
    view = MessageView(answer("Visiting hours end at 8 pm [1]."))
    qtbot.addWidget(view)
    assert view.sources.support.text() == (
        "Grounding check: 1 of 1 sentence supported by the passages."
    )


def test_an_unsupported_sentence_is_marked_in_the_answer_itself(qtbot: QtBot) -> None:
    view = MessageView(
        answer(
            "Visiting hours end at **8 pm** [1]. "
            "Children under 12 must bring a signed permission form [1]."
        )
    )
    qtbot.addWidget(view)
    assert view.marked_sentences == ["Children under 12 must bring a signed permission form [1]."]
    document = view.body.document()
    text = document.toPlainText()

    def format_at(words: str) -> QTextCharFormat:
        cursor = QTextCursor(document)
        cursor.setPosition(text.index(words) + 1)
        return cursor.charFormat()

    marked = format_at("Children under 12")
    assert marked.property(UNSUPPORTED_PROPERTY) is True
    assert marked.underlineStyle() == QTextCharFormat.UnderlineStyle.DotLine
    assert marked.toolTip().startswith("Not supported by the passages.")
    assert "No passage gives the number 12" in marked.toolTip()
    supported = format_at("Visiting hours")
    assert supported.property(UNSUPPORTED_PROPERTY) is None and not supported.toolTip()
    # The rest of the view is as before: the list under the answer still names it.
    assert "Not supported:" in view.sources.support.text()
    view.resize(700, 300)
    view.show()
    qtbot.waitExposed(view)
    view.grab().save("/tmp/grounding-marks-700.png")


def test_a_supported_answer_has_no_marks(qtbot: QtBot) -> None:
    view = MessageView(answer("Visiting hours end at 8 pm [1]."))
    qtbot.addWidget(view)
    assert view.marked_sentences == []
