"""The Evaluate tab: test sets, a run against several models, and the results."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QInputDialog, QTabWidget, QVBoxLayout, QWidget

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.evaluation.runner import EvalProgress
from localai_desktop.core.evaluation.store import EvalRun, EvalStore, RunStatus
from localai_desktop.core.evaluation.test_sets import TestSetStore, question_from_answer
from localai_desktop.core.evaluation.testset import TestQuestion
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.ui.evaluate.results_panel import ResultsPanel
from localai_desktop.ui.evaluate.run_panel import RunChoice, RunPanel
from localai_desktop.ui.evaluate.test_sets_panel import TestSetsPanel
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.wrapping import breakable
from localai_desktop.ui.workers.evaluation import EvaluationWorker
from localai_desktop.ui.workers.remotes import RemoteListing
from localai_desktop.ui.workers.request_ids import CurrentRequest, RequestIds

REFERENCE_SET = "From conversations"


class EvaluateTab(QWidget):
    """Assembles the Test sets, Run and Results pages and talks to the EvaluationWorker."""

    run_finished = Signal(int)
    """A run ended (finished, cancelled or failed) and its results are shown: (run_id)."""
    _start_run = Signal(int, str, object, object, object, object)
    _resume_run = Signal(int, int)

    def __init__(
        self,
        test_sets: TestSetStore,
        runs: EvalStore,
        registry: ModelRegistry,
        adapters: AdapterRegistry,
        conversations: ConversationStore,
        worker: EvaluationWorker,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.registry = registry
        self.adapters = adapters
        self.conversations = conversations
        self.worker = worker
        self._ids = RequestIds()
        self._request = CurrentRequest(self._ids)
        self._running_run: int | None = None
        self.banner = Banner()
        self.test_sets = TestSetsPanel(test_sets)
        self.run_panel = RunPanel()
        self.results = ResultsPanel(runs)
        self.sections = QTabWidget()
        self.sections.setAccessibleName("Evaluate sections")
        self.sections.addTab(self.test_sets, "Test sets")
        self.sections.addTab(self.run_panel, "Run")
        self.sections.addTab(self.results, "Results")
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addWidget(self.sections, 1)
        self.sections.currentChanged.connect(self._on_sections_current_changed)

        self.test_sets.sets_changed.connect(self._on_test_sets_sets_changed)
        self.run_panel.run_requested.connect(self._on_run_panel_run_requested)
        self.run_panel.cancel_requested.connect(self._on_run_panel_cancel_requested)
        self.results.resume_requested.connect(self._on_results_resume_requested)
        self._start_run.connect(worker.start_run)
        self._resume_run.connect(worker.resume_run)
        worker.run_started.connect(self._on_worker_run_started)
        worker.run_progress.connect(self._on_worker_run_progress)
        worker.run_ended.connect(self._on_worker_run_ended)
        worker.run_failed.connect(self._on_worker_run_failed)
        self.run_panel.set_test_sets(test_sets.list())
        self.refresh_models()

    # -- what the main window calls ---------------------------------------------------------

    @Slot()
    def refresh_models(self) -> None:
        """Models or adapters were added or removed: list them again on the Run page."""
        self.run_panel.set_models(self.registry.list(), self.adapters.list())

    @Slot(object)
    def set_remote_models(self, listings: Sequence[RemoteListing]) -> None:
        """The remote engines' models, listed on the Run page after this computer's."""
        self.run_panel.set_remote_models(listings)

    def is_running(self) -> bool:
        return self._request.is_pending()

    def add_reference(
        self, message_id: int, conversation_id: int, set_name: str | None = None
    ) -> None:
        """Make a question from an answer in a conversation (the answer as its reference)
        and add it to a test set: `set_name`, or the one the person picks or names."""
        try:
            question = question_from_answer(self.conversations, message_id, conversation_id)
        except LocalAIError as error:
            self._notify_error(error.message)
            return
        if set_name is not None:
            self._add_question_to(set_name, question)
            return
        names = [s.name for s in self.test_sets.store.list()]
        current = self.test_sets.current_set()
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Add to a test set")
        dialog.setLabelText("Add this question, with the answer as its reference, to the test set:")
        dialog.setComboBoxEditable(True)
        dialog.setComboBoxItems(names or [REFERENCE_SET])
        if current is not None:
            dialog.setTextValue(current.name)
        dialog.textValueSelected.connect(
            lambda name: self._add_question_to(name.strip() or REFERENCE_SET, question)
        )
        dialog.finished.connect(dialog.deleteLater)
        self.reference_dialog = dialog
        dialog.open()

    def _notify_error(self, text: str) -> None:
        # File paths and long names break anywhere: the banner never widens the window.
        self.banner.show_error(breakable(text))

    # -- inside -------------------------------------------------------------------------------

    def _add_question_to(self, name: str, question: TestQuestion) -> None:
        try:
            self.test_sets.add_to_set(name, question)
        except LocalAIError as error:
            self._notify_error(error.message)
            return
        self.sections.setCurrentWidget(self.test_sets)

    @Slot(int)
    def _on_sections_current_changed(self, _index: int) -> None:
        # Runs made meanwhile by `localai eval` show up too.
        if self.sections.currentWidget() is self.results and not self.is_running():
            self.results.reload()

    @Slot()
    def _on_test_sets_sets_changed(self) -> None:
        self.run_panel.set_test_sets(self.test_sets.store.list())

    @Slot(object)
    def _on_run_panel_run_requested(self, choice: RunChoice) -> None:
        if self.is_running():
            return
        current = self.test_sets.current_set()
        if (
            current is not None
            and current.name == choice.test_set
            and self.test_sets.has_unsaved_changes()
            and not self.test_sets.save()
        ):
            self.sections.setCurrentWidget(self.test_sets)
            return  # the editor shows what is wrong with its questions
        try:
            questions = self.test_sets.store.get(choice.test_set).questions
        except LocalAIError as error:
            self._notify_error(error.message)
            return
        if not questions:
            self._notify_error(
                f"The test set “{choice.test_set}” has no questions. Add some on the "
                "Test sets page first."
            )
            return
        self.banner.hide()
        request_id = self._request.new()
        self.run_panel.set_running(True)
        self._start_run.emit(
            request_id,
            choice.test_set,
            questions,
            choice.models,
            choice.adapters,
            choice.settings,
        )

    @Slot()
    def _on_run_panel_cancel_requested(self) -> None:
        if self.is_running():
            self.run_panel.show_message("Stopping after the current answer…")
            self.worker.cancel_run()

    @Slot(int)
    def _on_results_resume_requested(self, run_id: int) -> None:
        if self.is_running():
            return
        self.banner.hide()
        request_id = self._request.new()
        self.run_panel.set_running(True)
        self.sections.setCurrentWidget(self.run_panel)
        self._resume_run.emit(request_id, run_id)

    @Slot(int, object)
    def _on_worker_run_started(self, request_id: int, run: EvalRun) -> None:
        if not self._request.is_answered_by(request_id):
            return
        self._running_run = run.id
        self.results.set_running(run.id)
        self.run_panel.show_message(f"Run #{run.id}: {run.done} of {run.total} answered so far")
        self.run_panel.progress.setRange(0, max(1, run.total))
        self.run_panel.progress.setValue(run.done)

    @Slot(int, object)
    def _on_worker_run_progress(self, run_id: int, progress: EvalProgress) -> None:
        if run_id == self._running_run:
            self.run_panel.show_progress(progress)

    @Slot(int, object)
    def _on_worker_run_ended(self, run_id: int, run: EvalRun) -> None:
        if run_id != self._running_run:
            return
        self._finish(run_id)
        if run.status is RunStatus.FINISHED:
            self.run_panel.show_message(f"Run #{run.id} finished: {run.total} answers.")
            self.sections.setCurrentWidget(self.results)
        else:
            self.run_panel.show_message(
                f"Run #{run.id} stopped: {run.done} of {run.total} answers are kept. "
                "Resume it from the Results page."
            )

    @Slot(int, int, str)
    def _on_worker_run_failed(self, request_id: int, run_id: int, message: str) -> None:
        if not self._request.is_answered_by(request_id):
            return
        self._finish(run_id if run_id >= 0 else None)
        self.run_panel.show_message("The run stopped.")
        self._notify_error(message)

    def _finish(self, run_id: int | None) -> None:
        self._request.forget()
        self._running_run = None
        self.run_panel.set_running(False)
        self.results.set_running(None)
        self.results.reload(run_id)
        if run_id is not None:
            self.run_finished.emit(run_id)
