"""The Fine-tune tab: examples, a base model, settings, and a training run with live progress."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.chat.conversations import ConversationStore
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.finetune import stack as training_stack
from localai_desktop.core.finetune.dataset_rows import describe_summary
from localai_desktop.core.finetune.events import TrainingEvent
from localai_desktop.core.finetune.jobs import FineTuneJob, JobStore
from localai_desktop.core.finetune.runner import FineTuneResult
from localai_desktop.core.models.adapters import AdapterRegistry
from localai_desktop.core.models.registry import ModelRegistry
from localai_desktop.ui.finetune.adapters import AdapterList
from localai_desktop.ui.finetune.compare_view import CompareView
from localai_desktop.ui.finetune.dataset_view import DatasetView
from localai_desktop.ui.finetune.example_sources import ExamplesSection
from localai_desktop.ui.finetune.requests import FineTuneRequests
from localai_desktop.ui.finetune.setup import (
    BaseModelChooser,
    NotInstalledNotice,
    TrainingSettingsForm,
)
from localai_desktop.ui.finetune.training_controls import TrainingControls
from localai_desktop.ui.finetune.training_panel import TrainingPanel
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.sealed_settings import RememberedValues
from localai_desktop.ui.workers.finetune import FineTuneWorker, PreparedDataset

RECHECK_DELAY_MS = 400  # settings are re-checked against the examples after typing pauses
# The examples last imported, kept in the data folder's window state and read again at start.
EXAMPLES_FILE_KEY = "finetune/examples_file"
EXAMPLES_ANSWERS_KEY = "finetune/examples_answers"


def _free_name(adapters: AdapterRegistry, wanted: str) -> str:
    """`wanted`, or "wanted 2", "wanted 3"... when an adapter already has that name."""
    base = wanted.strip() or "adapter"
    name, number = base, 2
    while adapters.name_taken(name):
        name, number = f"{base} {number}", number + 1
    return name


class FineTuneTab(QWidget):
    """Collects what a run needs, asks for it through FineTuneRequests, shows what comes back."""

    chat_requested = Signal(int, int)
    """The user wants to chat with a new adapter: (base model_id, adapter_id)."""
    adapters_changed = Signal()
    """An adapter was added or removed (lists of adapters elsewhere should be refreshed)."""

    def __init__(
        self,
        registry: ModelRegistry,
        store: ConversationStore,
        adapters: AdapterRegistry,
        jobs: JobStore,
        worker: FineTuneWorker,
        settings: QSettings | RememberedValues,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._registry, self._store, self._adapters, self._jobs = registry, store, adapters, jobs
        self._settings = settings
        self.requests = FineTuneRequests(worker, self)
        self._source: object = None  # a file path (str) or answer ids (list) being shown
        self._resumable: FineTuneJob | None = None
        self._chart_job: int | None = None
        self._stack_problem = training_stack.training_stack_problem()
        self._build()
        self._connect_requests()
        self.refresh_models()
        self.refresh_jobs()
        self.refresh_adapters()
        self._restore_examples()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = Banner()
        self.examples = ExamplesSection("1. Examples to learn from", self._store)
        self.examples.file_chosen.connect(self._on_examples_file_chosen)
        self.examples.answers_chosen.connect(self._on_examples_answers_chosen)

        self.base_chooser = BaseModelChooser()
        self.base_chooser.model_chosen.connect(self._on_base_chooser_model_chosen)
        self.settings_form = TrainingSettingsForm()
        self.settings_form.settings_changed.connect(self._on_settings_form_settings_changed)
        self.settings_form.name_changed.connect(self._on_settings_form_name_changed)

        self.controls = TrainingControls("4. Training")
        self.controls.start_clicked.connect(self._on_controls_start_clicked)
        self.controls.cancel_clicked.connect(self._on_controls_cancel_clicked)
        self.controls.resume_clicked.connect(self._on_controls_resume_clicked)
        self.controls.discard_clicked.connect(self._on_controls_discard_clicked)

        steps = QWidget()
        column = QVBoxLayout(steps)
        column.addWidget(self.examples)
        column.addWidget(self._section("2. Model to teach", self.base_chooser))
        column.addWidget(self._section("3. Settings", self.settings_form))
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(steps)
        scroll.setWidgetResizable(True)
        scroll.setAccessibleName("Fine-tuning steps")
        # Start, Cancel and Resume stay in view under the steps, however small the window.
        left = QWidget()
        left.setMinimumWidth(360)
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(scroll, 1)
        left_column.addWidget(self.controls)

        self.dataset_view = DatasetView()
        self.training_panel = TrainingPanel()
        self.compare_view = CompareView()
        self.compare_view.chat_requested.connect(self.chat_requested)
        self.adapter_list = AdapterList()
        self.adapter_list.remove_confirmed.connect(self._on_adapter_list_remove_confirmed)
        self.pages = QTabWidget()
        self.pages.setAccessibleName("Fine-tuning views")
        self.pages.addTab(self.dataset_view, "Examples")
        self.pages.addTab(self.training_panel, "Progress")
        self.pages.addTab(self.compare_view, "Before and after")
        self.pages.addTab(self.adapter_list, "Your adapters")
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(1, 1)
        # The steps at their narrowest, so that at 800 pixels the views' tabs all fit.
        splitter.setSizes([360, 800])
        splitter.setChildrenCollapsible(False)
        work = QWidget()
        work_layout = QVBoxLayout(work)
        work_layout.setContentsMargins(0, 0, 0, 0)
        work_layout.addWidget(self.banner)
        work_layout.addWidget(splitter, 1)

        self.not_installed = NotInstalledNotice(training_stack.missing_training_packages())
        self.stack = QStackedWidget()
        self.stack.addWidget(work)
        self.stack.addWidget(self.not_installed)
        self.stack.setCurrentIndex(1 if self._stack_problem else 0)
        layout = QVBoxLayout(self)
        layout.addWidget(self.stack)

        self._recheck_timer = QTimer(self)
        self._recheck_timer.setSingleShot(True)
        self._recheck_timer.setInterval(RECHECK_DELAY_MS)
        self._recheck_timer.timeout.connect(self._on_recheck_timer_timeout)

    @staticmethod
    def _section(title: str, content: QWidget) -> QGroupBox:
        box = QGroupBox(title)
        QVBoxLayout(box).addWidget(content)
        return box

    def _connect_requests(self) -> None:
        requests = self.requests
        requests.dataset_checked.connect(self._on_requests_dataset_checked)
        requests.dataset_check_failed.connect(self._on_requests_dataset_check_failed)
        requests.training_start_failed.connect(self._on_requests_training_start_failed)
        requests.request_failed.connect(self._on_requests_request_failed)
        requests.training_started.connect(self._on_requests_training_started)
        requests.training_progressed.connect(self._on_requests_training_progressed)
        requests.training_ended.connect(self._on_requests_training_ended)
        requests.training_failed.connect(self._on_requests_training_failed)
        requests.job_discarded.connect(self._on_requests_job_discarded)

    # -- what the main window and tests call ----------------------------------------------

    def is_available(self) -> bool:
        """Whether the training packages are installed (else the tab explains how)."""
        return self._stack_problem is None

    def is_training(self) -> bool:
        return self.requests.is_training()

    def refresh_models(self) -> None:
        before = self.base_chooser.current_id()
        self.base_chooser.set_models(self._registry.list())
        if self.base_chooser.current_id() != before:
            self._recheck()
        self._update_controls()

    def refresh_jobs(self) -> None:
        """Offer to resume the newest unfinished job (one left by a closed app, too)."""
        if self.is_training():
            return
        try:
            jobs = [j for j in self._jobs.list() if j.resumable]
        except LocalAIError as error:
            self.banner.show_error(error.message)
            return
        self._resumable = jobs[0] if jobs else None
        self._update_controls()

    def refresh_adapters(self) -> None:
        try:
            self.adapter_list.set_adapters(self._adapters.list())
        except LocalAIError as error:
            self.banner.show_error(error.message)

    def load_file(self, path: Path) -> None:
        """Read a dataset file and check it against the chosen model."""
        if not self.settings_form.name():
            self.settings_form.set_name(_free_name(self._adapters, path.stem))
        self._check(str(path))

    def load_answers(self, message_ids: list[int]) -> None:
        self._check(list(message_ids))

    def _restore_examples(self) -> None:
        """Check again the examples imported last time in this data folder (a file or
        answers); say so plainly when the file is no longer where it was."""
        if self._stack_problem is not None:
            return
        path = self._settings.value(EXAMPLES_FILE_KEY)
        raw = self._settings.value(EXAMPLES_ANSWERS_KEY) or []
        answers = [int(v) for v in (raw if isinstance(raw, list) else [raw]) if str(v).isdigit()]
        if isinstance(path, str) and path:
            if Path(path).is_file():
                self.load_file(Path(path))
            else:
                self.examples.show_text(
                    f"The examples file you imported last time is no longer there ({path}). "
                    "Import it again from where it is now, or choose other examples."
                )
        elif answers:
            self.load_answers(answers)

    def _remember_examples(self, source: str | list[int]) -> None:
        if isinstance(source, str):
            self._settings.setValue(EXAMPLES_FILE_KEY, source)
            self._settings.remove(EXAMPLES_ANSWERS_KEY)
        else:
            self._settings.setValue(EXAMPLES_ANSWERS_KEY, [str(i) for i in source])
            self._settings.remove(EXAMPLES_FILE_KEY)

    # -- helpers --------------------------------------------------------------------------

    def _check(self, source: object) -> None:
        self._source = source
        self._recheck()

    def _recheck(self) -> None:
        if self._source is None:
            return
        self._recheck_timer.stop()
        self.examples.show_text("Checking the examples…")
        self.requests.check(
            self._source, self.base_chooser.current_id(), self.settings_form.settings().to_dict()
        )
        self._update_controls()

    def _start_blocker(self) -> str:
        """Why Start is not possible now, in words ("" when it is)."""
        prepared = self.requests.dataset()
        if prepared is None:
            return "Import examples or pick answers from your chats first."
        if not self.requests.dataset_is_current():
            return "Checking the examples…"
        if self.base_chooser.current_id() is None:
            return "Import a model that can be fine-tuned in the Models tab first."
        if not prepared.summary.train:
            return "None of the examples can be used; fix the rows marked in red."
        if prepared.problem:
            return prepared.problem
        name = self.settings_form.name()
        if not name:
            return "Give the adapter a name."
        if self._adapters.name_taken(name):
            return f"You already have an adapter called “{name}”; choose another name."
        if self._resumable is not None and self._resumable.name == name:
            return f"An unfinished training is called “{name}”: resume or discard it first."
        return ""

    def _update_controls(self) -> None:
        running = self.is_training()
        for widget in (self.examples, self.base_chooser, self.settings_form):
            widget.setEnabled(not running)
        self.controls.set_state(
            running=running,
            can_cancel=self.requests.is_running(),
            blocker="" if running else self._start_blocker(),
            unfinished=self._resumable,
        )

    def _begin_run(self, *, fresh: bool, name: str) -> None:
        self.banner.hide()
        self.training_panel.begin(fresh=fresh, name=name)
        self.pages.setCurrentWidget(self.training_panel)
        self._update_controls()

    def _show_failure(self, message: str) -> None:
        self.banner.show_error(message)
        self.refresh_jobs()
        self._update_controls()

    # -- slots: the user ------------------------------------------------------------------

    @Slot(str)
    def _on_examples_file_chosen(self, path: str) -> None:
        self._remember_examples(path)
        self.load_file(Path(path))

    @Slot(object)
    def _on_examples_answers_chosen(self, message_ids: list[int]) -> None:
        self._remember_examples(list(message_ids))
        if not self.settings_form.name():
            self.settings_form.set_name(_free_name(self._adapters, "my answers"))
        self.load_answers(message_ids)

    @Slot(int)
    def _on_base_chooser_model_chosen(self, _model_id: int) -> None:
        self._recheck()

    @Slot()
    def _on_settings_form_settings_changed(self) -> None:
        if self._source is not None:
            # The split and the length checks depend on the settings: no Start until rechecked.
            self.requests.mark_outdated()
            self._recheck_timer.start()
            self._update_controls()

    @Slot()
    def _on_recheck_timer_timeout(self) -> None:
        self._recheck()

    @Slot(str)
    def _on_settings_form_name_changed(self, _name: str) -> None:
        self._update_controls()

    @Slot()
    def _on_controls_start_clicked(self) -> None:
        base = self.base_chooser.current_id()
        if self._start_blocker() or base is None:
            return
        name = self.settings_form.name()
        self.requests.start(name, base, self.settings_form.settings().to_dict())
        self._chart_job = None
        self._begin_run(fresh=True, name=name)

    @Slot()
    def _on_controls_cancel_clicked(self) -> None:
        self.requests.cancel()
        self.controls.set_stopping()
        self.training_panel.phase.setText("Stopping after the current step…")

    @Slot()
    def _on_controls_resume_clicked(self) -> None:
        job = self._resumable
        if job is None or self.is_training():
            return
        self.requests.resume(job.id)
        self._begin_run(fresh=self._chart_job != job.id, name=job.name)

    @Slot(int)
    def _on_adapter_list_remove_confirmed(self, adapter_id: int) -> None:
        try:
            adapter = self._adapters.remove(adapter_id)
        except LocalAIError as error:
            self.banner.show_error(error.message)
        else:
            self.banner.show_info(f"Removed the adapter “{adapter.name}” and deleted its file.")
            if self.compare_view.adapter_id() == adapter.id:
                self.compare_view.clear()
        self.refresh_adapters()
        self._update_controls()  # its name is free again
        self.adapters_changed.emit()

    @Slot()
    def _on_controls_discard_clicked(self) -> None:
        if self._resumable is not None and not self.is_training():
            self.requests.discard(self._resumable.id)

    # -- slots: the worker, through FineTuneRequests --------------------------------------

    @Slot(object)
    def _on_requests_dataset_checked(self, prepared: PreparedDataset) -> None:
        self.dataset_view.show_rows(prepared.rows, prepared.summary)
        self.examples.show_text(describe_summary(prepared.summary, short=True))
        if prepared.estimate is not None and not prepared.problem:
            self.base_chooser.show_estimate(prepared.estimate.describe(), refusal=False)
        else:
            self.base_chooser.show_estimate(prepared.problem or "", refusal=True)
        if not self.is_training():
            self.pages.setCurrentWidget(self.dataset_view)
        self._update_controls()

    @Slot(str)
    def _on_requests_dataset_check_failed(self, message: str) -> None:
        self.dataset_view.clear()
        self.examples.show_text("The examples could not be read; see the message above.")
        self._show_failure(message)

    @Slot(str)
    def _on_requests_training_start_failed(self, message: str) -> None:
        self.training_panel.show_stopped("The training did not start.")
        self._show_failure(message)

    @Slot(str)
    def _on_requests_request_failed(self, message: str) -> None:
        self._show_failure(message)

    @Slot(object)
    def _on_requests_training_started(self, job: FineTuneJob) -> None:
        self._chart_job = job.id
        self._update_controls()

    @Slot(object)
    def _on_requests_training_progressed(self, event: TrainingEvent) -> None:
        self.training_panel.show_event(event)

    @Slot(object)
    def _on_requests_training_ended(self, result: FineTuneResult) -> None:
        if result.adapter is not None:
            self._resumable = None
            self.compare_view.show_adapter(result.adapter)
            self.pages.setCurrentWidget(self.compare_view)
            self.refresh_adapters()
            self.adapters_changed.emit()
        else:
            self._resumable = result.job
        self.refresh_jobs()
        self._update_controls()

    @Slot(str)
    def _on_requests_training_failed(self, message: str) -> None:
        self.training_panel.show_stopped(f"Training stopped: {message}")
        self._show_failure(message)

    @Slot(int)
    def _on_requests_job_discarded(self, _job_id: int) -> None:
        self.refresh_jobs()
