"""The Test sets page: the list of sets (new, rename, delete), the question editor, import and
export of JSONL and CSV."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.evaluation.test_sets import TestSet, TestSetStore
from localai_desktop.core.evaluation.testset import (
    TestQuestion,
    read_test_set,
    write_csv,
    write_jsonl,
)
from localai_desktop.ui.evaluate.accessible import name_controls
from localai_desktop.ui.evaluate.question_table import QuestionTable
from localai_desktop.ui.evaluate.split_layout import banner_over_split
from localai_desktop.ui.widgets.named_list import ListPanelTexts, NamedListPanel
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.wrapping import breakable

_TEXTS = ListPanelTexts(
    heading="Test sets",
    description="Your lists of test questions, by name.",
    noun="test set",
    new_button="New test set",
    new_name="New test set",
    new_tip="Start an empty list of questions",
    rename_tip="Give the selected test set another name (or press F2)",
    delete_tip="Delete the selected test set (past runs keep their questions)",
    delete_details="Its questions are deleted. Past runs keep the questions they were run with.",
)
_FILE_FILTER = "Test sets (*.jsonl *.csv);;JSON lines (*.jsonl);;CSV (*.csv)"


def unique_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or "wanted 2", "wanted 3"... when that name is taken."""
    name, n = wanted, 2
    while name in taken:
        name, n = f"{wanted} {n}", n + 1
    return name


def _title(test_set: TestSet) -> str:
    count = len(test_set.questions)
    return f"{test_set.name}: {count} question{'s' if count != 1 else ''}"


class TestSetList(NamedListPanel):
    """The sets by name; the panel's new/rename/delete signals carry the set's id."""

    __test__ = False

    set_selected = Signal(int)
    """The user picked a test set: (test set id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(_TEXTS, parent)
        self._update_buttons()

    def set_sets(self, sets: list[TestSet], current_id: int | None) -> None:
        self.list.blockSignals(True)
        try:
            self.list.clear()
            for test_set in sets:
                count = len(test_set.questions)
                tip = f"{count} question{'s' if count != 1 else ''}"
                self.list.addItem(self.list.new_item(test_set.id, test_set.name, tip))
        finally:
            self.list.blockSignals(False)
        item = self.list.item_for(current_id)
        if item is None and self.list.count():
            item = self.list.item(0)
        if item is not None:
            self.list.setCurrentItem(item)
        self._update_buttons()

    def _announce_selected(self, item_id: int) -> None:
        self.set_selected.emit(item_id)


class TestSetsPanel(QWidget):
    """Sets on the left; the selected set's questions on the right, saved with Save."""

    __test__ = False

    sets_changed = Signal()
    """A set was created, renamed, changed or deleted (the Run page lists them)."""

    def __init__(self, store: TestSetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._current: TestSet | None = None
        self.banner = Banner()
        self.sets = TestSetList()
        self.sets.new_requested.connect(self._on_sets_new_requested)
        self.sets.rename_requested.connect(self._on_sets_rename_requested)
        self.sets.delete_requested.connect(self._on_sets_delete_requested)
        self.sets.set_selected.connect(self._on_sets_set_selected)
        self.import_button = QPushButton("Import…")
        self.import_button.setToolTip("Read a test set from a JSONL or CSV file")
        self.import_button.clicked.connect(self._on_import_button_clicked)
        self.export_button = QPushButton("Export…")
        self.export_button.setToolTip("Write the selected test set to a JSONL or CSV file")
        self.export_button.clicked.connect(self._on_export_button_clicked)
        files = QHBoxLayout()
        files.setContentsMargins(0, 0, 0, 0)
        files.addWidget(self.import_button)
        files.addWidget(self.export_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.sets, 1)
        left_layout.addLayout(files)

        self.title = QLabel("No test set selected")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: 600;")
        self.title.setWordWrap(True)
        self.table = QuestionTable()
        self.table.edited.connect(self._on_table_edited)
        self.add_button = QPushButton("Add question")
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setToolTip("Remove the selected questions (Save keeps the change)")
        self.remove_button.clicked.connect(self.table.remove_selected)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("Check the questions and keep them")
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.save_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.title)
        right_layout.addWidget(self.table, 1)
        right_layout.addLayout(buttons)

        banner_over_split(self, self.banner, left, right, (200, 600))
        name_controls(self)
        self.reload()

    # -- what the tab and tests call --------------------------------------------------------

    def reload(self, current_id: int | None = None) -> None:
        if current_id is None and self._current is not None:
            current_id = self._current.id
        sets = self.store.list()
        self.sets.set_sets(sets, current_id)
        chosen = next((s for s in sets if s.id == self.sets.current_id()), None)
        self._show(chosen)

    def current_set(self) -> TestSet | None:
        return self._current

    def select_set(self, name: str) -> None:
        match = next((s for s in self.store.list() if s.name == name), None)
        if match is not None:
            self.reload(match.id)

    def new_set(self, name: str = "New test set") -> TestSet:
        taken = {s.name for s in self.store.list()}
        created = self.store.save(unique_name(name, taken), [])
        self.reload(created.id)
        self.sets_changed.emit()
        return created

    def add_to_set(self, name: str, question: TestQuestion) -> None:
        """Add a question (made from a conversation) to the set `name` (created if new)."""
        updated = self.store.add_question(name, question)
        self.reload(updated.id)
        self.sets_changed.emit()
        self._notify_info(f"Added the question to “{updated.name}”.")

    def import_file(self, path: Path) -> TestSet | None:
        """Read a JSONL or CSV file into a new set; on problems, name every bad line and
        import nothing."""
        try:
            questions = read_test_set(path)
            taken = {s.name for s in self.store.list()}
            created = self.store.save(unique_name(path.stem, taken), questions)
        except LocalAIError as error:
            self._notify_error(error.message)
            return None
        self.reload(created.id)
        self.sets_changed.emit()
        self._notify_info(f"Imported {len(questions)} questions as “{created.name}”.")
        return created

    def export_file(self, path: Path) -> bool:
        """Write the selected set (as saved) as CSV when the name ends in .csv, else JSONL."""
        if self._current is None:
            return False
        questions = self._current.questions
        text = write_csv(questions) if path.suffix.lower() == ".csv" else write_jsonl(questions)
        try:
            write_atomically(path, text.encode("utf-8"))
        except OSError as error:
            self._notify_error(
                f"The test set could not be written to {path} ({error.strerror or error}). "
                "Choose another folder."
            )
            return False
        self._notify_info(f"Exported {len(questions)} questions to {path}.")
        return True

    def save(self) -> bool:
        """Check the table's questions and keep them; False (with the reason shown) if not."""
        if self._current is None:
            return False
        try:
            questions = self.table.questions()
            saved = self.store.save(self._current.name, questions)
        except LocalAIError as error:
            self._notify_error(error.message)
            return False
        self.banner.hide()
        self._current = saved
        self.title.setText(_title(saved))
        self.save_button.setEnabled(False)
        self.sets_changed.emit()
        return True

    def has_unsaved_changes(self) -> bool:
        return self.save_button.isEnabled()

    def save_if_changed(self) -> bool:
        """Keep edited questions (as Save does) when there are any; True when none are left
        unsaved. Called when the window closes."""
        return not self.has_unsaved_changes() or self.save()

    def _notify_error(self, text: str) -> None:
        # File paths and long names break anywhere: the banner never widens the window.
        self.banner.show_error(breakable(text))

    def _notify_info(self, text: str) -> None:
        self.banner.show_info(breakable(text))

    # -- inside -------------------------------------------------------------------------------

    def _show(self, test_set: TestSet | None) -> None:
        self._current = test_set
        self.table.set_questions(test_set.questions if test_set else [])
        self.title.setText(
            _title(test_set)
            if test_set
            else "No test set yet: make one with New test set, or Import a file."
        )
        for widget in (self.table, self.add_button, self.remove_button, self.export_button):
            widget.setEnabled(test_set is not None)
        self.save_button.setEnabled(False)

    @Slot()
    def _on_sets_new_requested(self) -> None:
        self.new_set()
        self.sets.start_rename()

    @Slot(int, str)
    def _on_sets_rename_requested(self, set_id: int, name: str) -> None:
        old = next((s for s in self.store.list() if s.id == set_id), None)
        if old is None:
            return
        try:
            renamed = self.store.rename(old.name, name)
        except LocalAIError as error:
            self._notify_error(error.message)
            renamed = old
        current = self._current
        if current is not None and current.id == set_id:
            # Only the name changes: rows being edited stay as they are.
            self._current = replace(current, name=renamed.name)
            self.title.setText(_title(renamed))
        self.sets.set_sets(self.store.list(), current.id if current is not None else set_id)
        self.sets_changed.emit()

    @Slot(int)
    def _on_sets_delete_requested(self, set_id: int) -> None:
        old = next((s for s in self.store.list() if s.id == set_id), None)
        if old is not None:
            self.store.delete(old.name)
        if self._current is None or self._current.id == set_id:
            self._show(None)  # its unsaved edits go with it
        self.reload()
        self.sets_changed.emit()

    @Slot(int)
    def _on_sets_set_selected(self, set_id: int) -> None:
        if self._current is not None and self._current.id == set_id:
            return
        current = self._current
        if current is not None and self.has_unsaved_changes() and not self.save():
            # Edits are never dropped: stay on the set until its rows can be saved.
            self.sets.set_sets(self.store.list(), current.id)
            return
        self._show(next((s for s in self.store.list() if s.id == set_id), None))

    @Slot()
    def _on_table_edited(self) -> None:
        self.save_button.setEnabled(self._current is not None)

    @Slot()
    def _on_add_button_clicked(self) -> None:
        self.table.add_question()

    @Slot()
    def _on_save_button_clicked(self) -> None:
        self.save()

    @Slot()
    def _on_import_button_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a test set", "", _FILE_FILTER)
        if path:
            self.import_file(Path(path))

    @Slot()
    def _on_export_button_clicked(self) -> None:
        if self._current is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the test set", f"{self._current.name}.jsonl", _FILE_FILTER
        )
        if path:
            self.export_file(Path(path))
