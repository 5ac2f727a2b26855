"""The Results page: past runs, figures per model with bar charts, every answer side by side,
a second run to compare with, Resume, and the HTML and CSV exports."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.atomic_files import write_atomically
from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.evaluation.metrics import (
    TargetSummary,
    context_tokens,
    memory_setting,
    summarize,
)
from localai_desktop.core.evaluation.report import csv_report, html_report
from localai_desktop.core.evaluation.store import EvalResult, EvalRun, EvalStore
from localai_desktop.core.evaluation.testset import Rule
from localai_desktop.ui.evaluate.accessible import name_controls
from localai_desktop.ui.evaluate.bar_charts import ChartGrid
from localai_desktop.ui.evaluate.split_layout import banner_over_split
from localai_desktop.ui.widgets.confirm import confirm_delete
from localai_desktop.ui.widgets.notices import Banner
from localai_desktop.ui.widgets.wrapping import breakable

SUMMARY_COLUMNS = (
    "Model",
    "Passed",
    "Accuracy",
    "Made-up answers",
    "Citation accuracy",
    "First token (ms)",
    "Tokens/s",
    "Peak memory (MB)",
    "Memory (tokens)",
)
_RUN_ROLE = Qt.ItemDataRole.UserRole
_PASSED_TINT = QColor(16, 150, 24, 40)
_FAILED_TINT = QColor(220, 57, 18, 40)


def describe_run(run: EvalRun) -> str:
    """ "#3 ward questions · finished · 8/8 · 2026-12-04 19:20"."""
    when = run.created_at.strftime("%Y-%m-%d %H:%M")
    return f"#{run.id} {run.name} · {run.status} · {run.done}/{run.total} · {when}"


def describe_settings(run: EvalRun) -> str:
    """ "Memory: Automatic · creativity 0.7 · longest answer 256 tokens · seed 1"."""
    settings = run.settings
    return (
        f"Memory: {memory_setting(settings)} · creativity {settings.temperature:g} · "
        f"longest answer {settings.max_tokens:,} tokens · seed {settings.seed}"
    )


def summary_cells(label: str, s: TargetSummary, context: int | None = None) -> list[str]:
    def percent(value: float | None) -> str:
        return "n/a" if value is None else f"{value * 100:.0f}%"

    def number(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.1f}"

    return [
        label,
        f"{s.passed}/{s.total}",
        percent(s.accuracy),
        str(s.made_up),
        percent(s.citation_accuracy),
        number(s.ttft_ms_median),
        number(s.tokens_per_second_median),
        number(s.peak_memory_mb),
        "n/a" if context is None else f"{context:,}",
    ]


def _verb(rule: Rule) -> str:
    """ "is " before "close in meaning to …", which has no verb of its own."""
    return "is " if rule is Rule.SIMILAR_TO else ""


class ResultsPanel(QWidget):
    """Runs on the left; the selected run's figures, charts and answers on the right."""

    resume_requested = Signal(int)
    """The person asked to continue a stopped run: (run_id)."""

    def __init__(self, store: EvalStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._run: EvalRun | None = None
        self._results: list[EvalResult] = []
        self._running_id: int | None = None
        self.banner = Banner()
        self.runs = QListWidget()
        self.runs.setAccessibleName("Past runs")
        self.runs.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.runs.currentItemChanged.connect(self._on_runs_current_item_changed)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Answer what this run has left; its answers so far stay")
        self.resume_button.clicked.connect(self._on_resume_button_clicked)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete this run and its answers")
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        run_buttons = QHBoxLayout()
        run_buttons.setContentsMargins(0, 0, 0, 0)
        run_buttons.addWidget(self.resume_button)
        run_buttons.addWidget(self.delete_button)

        self.compare = QComboBox()
        self.compare.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.compare.setMinimumContentsLength(16)
        self.compare.setAccessibleName("Compare with")
        self.compare.setToolTip("Show a second run's figures beside this one's")
        self.compare.currentIndexChanged.connect(self._on_compare_current_index_changed)
        self.html_button = QPushButton("Export HTML…")
        self.html_button.setToolTip("A report with charts in one file that opens in any browser")
        self.html_button.clicked.connect(self._on_html_button_clicked)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setToolTip("Every answer with its verdict, for a spreadsheet")
        self.csv_button.clicked.connect(self._on_csv_button_clicked)
        export_buttons = QHBoxLayout()
        export_buttons.setContentsMargins(0, 0, 0, 0)
        export_buttons.addWidget(self.html_button)
        export_buttons.addWidget(self.csv_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        heading = QLabel("Past runs")
        heading.setStyleSheet("font-weight: 600;")
        left_layout.addWidget(heading)
        left_layout.addWidget(self.runs, 1)
        left_layout.addLayout(run_buttons)
        left_layout.addLayout(export_buttons)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(QLabel("Compare with"))
        top.addWidget(self.compare, 1)
        self.settings_line = QLabel()
        self.settings_line.setAccessibleName("The run's settings")
        self.settings_line.setWordWrap(True)
        self.settings_line.setToolTip(
            "Memory: how much of the question and documents each model kept in mind (its "
            "context). Automatic gives each model as much as this computer comfortably holds; "
            "the Memory (tokens) column says what each model had."
        )

        self.summary = QTableWidget(0, len(SUMMARY_COLUMNS))
        self.summary.setAccessibleName("Figures per model")
        self.summary.setHorizontalHeaderLabels(list(SUMMARY_COLUMNS))
        self.summary.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.summary.verticalHeader().hide()
        self.charts = ChartGrid()
        figures = QWidget()
        figures_layout = QVBoxLayout(figures)
        figures_layout.addWidget(self.settings_line)
        figures_layout.addWidget(self.summary)
        figures_layout.addWidget(self.charts)
        figures_layout.addStretch(1)
        figures_scroll = QScrollArea()
        figures_scroll.setWidgetResizable(True)
        figures_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        figures_scroll.setWidget(figures)

        self.answers = QTableWidget(0, 0)
        self.answers.setAccessibleName("Answers side by side")
        self.answers.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.answers.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.answers.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.answers.currentCellChanged.connect(self._on_answers_current_cell_changed)
        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("Every model's answer to the selected question")
        self.detail.setPlaceholderText("Select a question to read every model's answer in full.")
        answers = QSplitter(Qt.Orientation.Vertical)
        answers.addWidget(self.answers)
        answers.addWidget(self.detail)
        answers.setSizes([300, 200])

        self.sections = QTabWidget()
        self.sections.addTab(figures_scroll, "Figures")
        self.sections.addTab(answers, "Answers")
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addLayout(top)
        right_layout.addWidget(self.sections, 1)

        banner_over_split(self, self.banner, left, right, (220, 700))
        name_controls(self)
        self.reload()

    # -- what the tab and tests call --------------------------------------------------------

    def reload(self, select_id: int | None = None) -> None:
        if select_id is None and self._run is not None:
            select_id = self._run.id
        runs = self.store.runs()
        self.runs.blockSignals(True)
        try:
            self.runs.clear()
            for run in runs:
                item = QListWidgetItem(describe_run(run))
                item.setData(_RUN_ROLE, run.id)
                item.setToolTip(describe_run(run) + "\n" + ", ".join(t.label for t in run.targets))
                self.runs.addItem(item)
        finally:
            self.runs.blockSignals(False)
        chosen = next((r for r in runs if r.id == select_id), runs[0] if runs else None)
        if chosen is not None:
            self.runs.setCurrentRow([r.id for r in runs].index(chosen.id))
        self._fill_compare(runs)
        self._show(chosen)

    def set_running(self, run_id: int | None) -> None:
        """The run the worker is answering now (not resumable meanwhile), or None."""
        self._running_id = run_id
        self._update_buttons()

    def current_run(self) -> EvalRun | None:
        return self._run

    def summary_rows(self) -> list[list[str]]:
        rows = []
        for row in range(self.summary.rowCount()):
            cells = [self.summary.item(row, c) for c in range(self.summary.columnCount())]
            rows.append([c.text() if c is not None else "" for c in cells])
        return rows

    def compare_with(self, run_id: int | None) -> None:
        index = self.compare.findData(run_id) if run_id is not None else 0
        self.compare.setCurrentIndex(max(index, 0))

    def export_html(self, path: Path) -> bool:
        if self._run is None:
            return False
        return self._write(path, html_report(self._run, self._results), "report")

    def export_csv(self, path: Path) -> bool:
        if self._run is None:
            return False
        return self._write(path, csv_report(self._run, self._results), "answers")

    def _notify_error(self, text: str) -> None:
        # File paths and long names break anywhere: the banner never widens the window.
        self.banner.show_error(breakable(text))

    def _notify_info(self, text: str) -> None:
        self.banner.show_info(breakable(text))

    # -- inside -------------------------------------------------------------------------------

    def _write(self, path: Path, text: str, what: str) -> bool:
        try:
            write_atomically(path, text.encode("utf-8"))
        except OSError as error:
            self._notify_error(
                f"The {what} could not be written to {path} ({error.strerror or error}). "
                "Choose another folder."
            )
            return False
        self._notify_info(f"Wrote the {what} to {path}.")
        return True

    def _fill_compare(self, runs: Sequence[EvalRun]) -> None:
        current = self.compare.currentData()
        self.compare.blockSignals(True)
        try:
            self.compare.clear()
            self.compare.addItem("No other run", None)
            for run in runs:
                self.compare.addItem(describe_run(run), run.id)
            index = self.compare.findData(current) if current is not None else 0
            self.compare.setCurrentIndex(max(index, 0))
        finally:
            self.compare.blockSignals(False)

    def _show(self, run: EvalRun | None) -> None:
        self._run = run
        self._results = self.store.results(run.id) if run is not None else []
        self._show_figures()
        self._show_answers()
        self._update_buttons()

    def _show_figures(self) -> None:
        labels: list[str] = []
        summaries: list[TargetSummary] = []
        contexts: list[int | None] = []
        run = self._run
        settings_text = ""
        if run is not None:
            other = self._other_run()
            mine = summarize(run, self._results)
            prefix = f"#{run.id} " if other is not None else ""
            labels += [prefix + t.label for t in run.targets]
            summaries += mine
            contexts += context_tokens(run, self._results)
            settings_text = (prefix + "Settings: " if prefix else "Settings: ") + describe_settings(
                run
            )
            if other is not None:
                their_results = self.store.results(other.id)
                theirs = summarize(other, their_results)
                labels += [f"#{other.id} {t.label}" for t in other.targets]
                summaries += theirs
                contexts += context_tokens(other, their_results)
                settings_text += f"\n#{other.id} Settings: {describe_settings(other)}"
        self.settings_line.setText(settings_text)
        self.settings_line.setVisible(bool(settings_text))
        self.summary.setRowCount(len(summaries))
        for row, (label, s, context) in enumerate(zip(labels, summaries, contexts, strict=True)):
            for column, text in enumerate(summary_cells(label, s, context)):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setToolTip(label)
                self.summary.setItem(row, column, item)
        header = self.summary.horizontalHeader().height()
        rows = sum(self.summary.rowHeight(r) for r in range(self.summary.rowCount()))
        self.summary.setFixedHeight(header + rows + 2 * self.summary.frameWidth() + 18)
        self.charts.set_summaries(labels, summaries)

    def _other_run(self) -> EvalRun | None:
        other_id = self.compare.currentData()
        if other_id is None or self._run is None or other_id == self._run.id:
            return None
        try:
            return self.store.get(int(other_id))
        except LocalAIError:
            return None

    def _show_answers(self) -> None:
        run = self._run
        targets = list(run.targets) if run is not None else []
        questions = list(run.questions) if run is not None else []
        self.answers.clear()
        self.answers.setColumnCount(2 + len(targets))
        self.answers.setHorizontalHeaderLabels(
            ["Question", "A good answer"] + [t.label for t in targets]
        )
        self.answers.setRowCount(len(questions))
        by_cell = {(r.question_index, r.target_index): r for r in self._results}
        for row, question in enumerate(questions):
            text = f"{question.id}: {question.question}"
            item = QTableWidgetItem(text)
            item.setToolTip(text)
            self.answers.setItem(row, 0, item)
            expect = question.expect.describe()
            if question.source is not None:
                expect += f"; cites {question.source.describe()}"
            item = QTableWidgetItem(expect)
            item.setToolTip(expect)
            self.answers.setItem(row, 1, item)
            for column, _target in enumerate(targets, start=2):
                result = by_cell.get((row, column - 2))
                if result is None:
                    item = QTableWidgetItem("not answered yet")
                else:
                    mark = "\u2713 passed" if result.passed else "\u2717 failed"
                    answer = " ".join(result.answer.split())
                    item = QTableWidgetItem(f"{mark}: {answer}")
                    item.setToolTip(f"{mark}: {result.reason}")
                    item.setBackground(_PASSED_TINT if result.passed else _FAILED_TINT)
                self.answers.setItem(row, column, item)
        header = self.answers.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column in range(self.answers.columnCount()):
            self.answers.setColumnWidth(column, 260 if column != 1 else 200)
        self.detail.clear()
        if questions:
            self.answers.setCurrentCell(0, 0)

    def detail_text(self, row: int) -> str:
        """The selected question with every model's answer and why it passed or failed."""
        run = self._run
        if run is None or not 0 <= row < len(run.questions):
            return ""
        question = run.questions[row]
        lines = [
            f"{question.id}: {question.question}",
            f"A good answer {_verb(question.expect.rule)}{question.expect.describe()}.",
            describe_settings(run) + ".",
        ]
        by_target = {r.target_index: r for r in self._results if r.question_index == row}
        for index, target in enumerate(run.targets):
            lines.append("")
            result = by_target.get(index)
            if result is None:
                lines.append(f"— {target.label}: not answered yet")
                continue
            verdict = "PASSED" if result.passed else "FAILED"
            n_ctx = result.facts.get("n_ctx")
            memory = f" Memory: {n_ctx:,} tokens." if isinstance(n_ctx, int) else ""
            lines.append(f"— {target.label}: {verdict}. {result.reason}{memory}")
            lines.append(result.answer or "(no answer)")
        return "\n".join(lines)

    def _update_buttons(self) -> None:
        run = self._run
        self.resume_button.setEnabled(
            run is not None and run.resumable and self._running_id is None
        )
        self.delete_button.setEnabled(run is not None and run.id != self._running_id)
        self.html_button.setEnabled(run is not None)
        self.csv_button.setEnabled(run is not None)
        self.compare.setEnabled(run is not None)

    @Slot(QListWidgetItem, QListWidgetItem)
    def _on_runs_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        if current is None:
            self._show(None)
            return
        try:
            self._show(self.store.get(int(current.data(_RUN_ROLE))))
        except LocalAIError as error:
            self._notify_error(error.message)

    @Slot(int)
    def _on_compare_current_index_changed(self, _index: int) -> None:
        self._show_figures()

    @Slot(int, int, int, int)
    def _on_answers_current_cell_changed(
        self, row: int, _column: int, _previous_row: int, _previous_column: int
    ) -> None:
        self.detail.setPlainText(self.detail_text(row))

    @Slot()
    def _on_resume_button_clicked(self) -> None:
        if self._run is not None and self._run.resumable:
            self.resume_requested.emit(self._run.id)

    @Slot()
    def _on_delete_button_clicked(self) -> None:
        run = self._run
        if run is None:
            return

        def delete() -> None:
            self.store.delete(run.id)
            self._run = None
            self.reload()

        confirm_delete(
            self,
            "Delete run",
            f"Delete the run “{describe_run(run)}”?",
            "Its answers and figures are deleted. The test set stays.",
            delete,
        )

    @Slot()
    def _on_html_button_clicked(self) -> None:
        if self._run is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the report", f"evaluation-{self._run.id}.html", "HTML (*.html)"
        )
        if path:
            self.export_html(Path(path))

    @Slot()
    def _on_csv_button_clicked(self) -> None:
        if self._run is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the answers", f"evaluation-{self._run.id}.csv", "CSV (*.csv)"
        )
        if path:
            self.export_csv(Path(path))
