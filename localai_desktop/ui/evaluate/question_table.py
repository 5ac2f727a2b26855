"""The table editor of a test set's questions: one row a question, one column a field.

A row is turned into a question by core.evaluation.testset's own checks (the same as a JSONL
line), so the editor refuses exactly what an import would, naming the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.evaluation.testset import (
    DEFAULT_SIMILARITY_THRESHOLD,
    Rule,
    TestQuestion,
)

COLUMNS = ("ID", "Question", "Rule", "Expected", "Threshold", "Collection", "Source file", "Page")
ID, QUESTION, RULE, EXPECTED, THRESHOLD, COLLECTION, SOURCE_FILE, PAGE = range(len(COLUMNS))
RULE_NAMES = {
    Rule.CONTAINS: "Contains the words",
    Rule.REGEX: "Matches a pattern",
    Rule.SIMILAR_TO: "Close to the reference",
    Rule.ABSTAIN: "Abstains",
}
RULE_TIPS = {
    Rule.CONTAINS: "The answer must contain every word or number (separate them with |)",
    Rule.REGEX: "The answer must match the regular expression",
    Rule.SIMILAR_TO: "The answer must be close in meaning to the reference answer "
    "(compared with the workspace's embedding model)",
    Rule.ABSTAIN: "The answer must say that the documents do not hold the answer",
}
_TIPS = {
    ID: "A short name for the question, such as q1",
    QUESTION: "What is asked",
    RULE: "What a good answer must do",
    EXPECTED: "Contains: words or numbers separated by | · Pattern: a regular expression · "
    "Close to: the reference answer · Abstain: leave empty",
    THRESHOLD: "For “close to”: how close, from 0 to 1 (default 0.8)",
    COLLECTION: "Answer from this document collection (optional)",
    SOURCE_FILE: "The file a correct answer must cite (optional)",
    PAGE: "The page of that file (optional)",
}


def question_from_cells(cells: Sequence[str], rule: Rule, row_number: int) -> TestQuestion:
    """A question from one row's texts; LocalAIError naming the row when it is not valid."""
    (qid, question, expected, threshold, collection, source_file, page) = (c.strip() for c in cells)
    expect: dict[str, Any] = {}
    if rule is Rule.CONTAINS:
        expect["contains"] = [w.strip() for w in expected.split("|") if w.strip()]
    elif rule is Rule.REGEX:
        expect["regex"] = expected
    elif rule is Rule.SIMILAR_TO:
        expect["similar_to"] = expected
        if threshold:
            try:
                expect["threshold"] = float(threshold)
            except ValueError:
                raise LocalAIError(
                    f"Row {row_number}: the threshold '{threshold}' is not a number.",
                    "Write a number from 0 to 1, such as 0.8.",
                ) from None
    else:
        expect["abstain"] = True
    data: dict[str, Any] = {"id": qid or f"q{row_number}", "question": question, "expect": expect}
    if collection:
        data["collection"] = collection
    if source_file:
        source: dict[str, Any] = {"file": source_file}
        if page:
            if not page.isdigit():
                raise LocalAIError(
                    f"Row {row_number}: the page '{page}' is not a page number.",
                    "Write a page number, or leave it empty.",
                )
            source["page"] = int(page)
        data["source"] = source
    try:
        return TestQuestion.from_dict(data)
    except ValueError as error:
        raise LocalAIError(f"Row {row_number}: {error}.", "Correct the row, then save.") from None


def cells_of(question: TestQuestion) -> list[str]:
    """The texts of a question's row (without its rule, which is a choice)."""
    e = question.expect
    expected = {
        Rule.CONTAINS: " | ".join(e.contains),
        Rule.REGEX: e.regex,
        Rule.SIMILAR_TO: e.similar_to,
        Rule.ABSTAIN: "",
    }[e.rule]
    source = question.source
    return [
        question.id,
        question.question,
        expected,
        f"{e.threshold:g}" if e.rule is Rule.SIMILAR_TO else "",
        question.collection or "",
        source.file if source else "",
        str(source.page) if source and source.page is not None else "",
    ]


class QuestionTable(QTableWidget):
    """Questions as editable rows; `questions()` checks and returns them."""

    edited = Signal()
    """A cell or a rule was changed, or a row added or removed."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setAccessibleName("Questions")
        self.setHorizontalHeaderLabels(list(COLUMNS))
        for column, tip in _TIPS.items():
            header = self.horizontalHeaderItem(column)
            if header is not None:
                header.setToolTip(tip)
        header_view = self.horizontalHeader()
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header_view.setStretchLastSection(False)
        self.setColumnWidth(ID, 60)
        self.setColumnWidth(QUESTION, 260)
        self.setColumnWidth(RULE, 200)
        self.setColumnWidth(EXPECTED, 240)
        self.setColumnWidth(THRESHOLD, 80)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.itemChanged.connect(self._on_item_changed)
        self._loading = False

    def set_questions(self, questions: Sequence[TestQuestion]) -> None:
        self._loading = True
        try:
            self.setRowCount(0)
            for question in questions:
                self._append(cells_of(question), question.expect.rule)
        finally:
            self._loading = False

    def add_question(self) -> int:
        """Add an empty row (rule: contains) and start editing its question; returns the row."""
        self._loading = True
        try:
            row = self._append([f"q{self.rowCount() + 1}", "", "", "", "", "", ""], Rule.CONTAINS)
        finally:
            self._loading = False
        self.setCurrentCell(row, QUESTION)
        self.edited.emit()
        return row

    def remove_selected(self) -> None:
        rows = sorted({index.row() for index in self.selectedIndexes()}, reverse=True)
        for row in rows:
            self.removeRow(row)
        if rows:
            self.edited.emit()

    def set_cell(self, row: int, column: int, text: str) -> None:
        item = self.item(row, column)
        if item is not None:
            item.setText(text)

    def set_rule(self, row: int, rule: Rule) -> None:
        combo = self._rule_box(row)
        combo.setCurrentIndex(combo.findData(rule.value))

    def questions(self) -> list[TestQuestion]:
        """The rows as questions; LocalAIError naming the first row that is not valid."""
        questions = []
        for row in range(self.rowCount()):
            cells = [self._text(row, c) for c in (ID, QUESTION, EXPECTED, THRESHOLD)]
            cells += [self._text(row, c) for c in (COLLECTION, SOURCE_FILE, PAGE)]
            rule = Rule(self._rule_box(row).currentData())
            questions.append(question_from_cells(cells, rule, row + 1))
        return questions

    def _append(self, cells: Sequence[str], rule: Rule) -> int:
        row = self.rowCount()
        self.insertRow(row)
        texts = dict(zip((ID, QUESTION, EXPECTED, THRESHOLD), cells[:4], strict=True))
        texts.update(zip((COLLECTION, SOURCE_FILE, PAGE), cells[4:], strict=True))
        for column, text in texts.items():
            item = QTableWidgetItem(text)
            item.setToolTip(text if column in (QUESTION, EXPECTED) else "")
            self.setItem(row, column, item)
        combo = QComboBox()
        combo.setAccessibleName(f"Rule of row {row + 1}")
        for value, name in RULE_NAMES.items():
            combo.addItem(name, value.value)
            combo.setItemData(combo.count() - 1, RULE_TIPS[value], Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(combo.findData(rule.value))
        combo.currentIndexChanged.connect(self._on_rule_changed)
        self.setCellWidget(row, RULE, combo)
        return row

    def _rule_box(self, row: int) -> QComboBox:
        combo = self.cellWidget(row, RULE)
        assert isinstance(combo, QComboBox)
        return combo

    def _text(self, row: int, column: int) -> str:
        item = self.item(row, column)
        return item.text() if item is not None else ""

    @Slot(int)
    def _on_rule_changed(self, _index: int) -> None:
        combo = self.sender()
        if isinstance(combo, QComboBox):
            for row in range(self.rowCount()):
                if self.cellWidget(row, RULE) is combo:
                    threshold = self.item(row, THRESHOLD)
                    similar = combo.currentData() == Rule.SIMILAR_TO.value
                    if threshold is not None and similar and not threshold.text():
                        threshold.setText(f"{DEFAULT_SIMILARITY_THRESHOLD:g}")
        if not self._loading:
            self.edited.emit()

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() in (QUESTION, EXPECTED):
            item.setToolTip(item.text())
        if not self._loading:
            self.edited.emit()
