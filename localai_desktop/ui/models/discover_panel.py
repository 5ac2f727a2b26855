"""The Discover part of the Models tab: recommended models, Hub search, details and downloads."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.hub.catalog import Catalog
from localai_desktop.core.hub.download_store import DownloadRequest
from localai_desktop.core.hub.repos import FileChoice, HubModelSummary, RepoDetails
from localai_desktop.core.inference.generation import DEFAULT_CONTEXT_LENGTH
from localai_desktop.core.models.hardware import Machine, ModelFacts
from localai_desktop.ui.models.discover_tables import CatalogTableModel, SearchResultsTableModel
from localai_desktop.ui.models.download_list import DownloadList
from localai_desktop.ui.models.repo_details import RepoDetailsView
from localai_desktop.ui.widgets.notices import Banner, StatusLine
from localai_desktop.ui.workers.hub import HubWorker
from localai_desktop.ui.workers.request_ids import CurrentRequest, RequestIds

log = logging.getLogger(__name__)

SORT_CHOICES = (("Most downloaded", "downloads"), ("Most liked", "likes"), ("Newest", "recent"))
# Moving through the list with the arrow keys asks the Hub only about the row it stops on.
DETAILS_DELAY_MS = 250
OFFLINE_SEARCH_MESSAGE = (
    "Offline mode is on, so the app does not search Hugging Face. Untick “Offline mode” at the "
    "top of this page to search and download; the recommended models still work offline."
)


def _table(
    model: CatalogTableModel | SearchResultsTableModel, name: str, stretch: int
) -> QTableView:
    table = QTableView()
    table.setAccessibleName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.verticalHeader().hide()
    table.verticalHeader().setAccessibleName("Row numbers")
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setAccessibleName("Column headings")
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


class DiscoverPanel(QWidget):
    """Find a model (curated list or Hub search), see how it fits, download it."""

    model_downloaded = Signal(int)
    """A download was verified and added to the local models: (model_id)."""
    chat_requested = Signal(int)
    """The user wants to chat with a downloaded model: (model_id)."""

    search_requested = Signal(int, str, str)
    """To the Hub worker: search (request_id, query, sort)."""
    details_requested = Signal(int, str)
    """To the Hub worker: look up a repo (request_id, repo_id)."""
    machine_detection_requested = Signal()
    """To the Hub worker: find out this computer's memory and GPUs."""
    offline_requested = Signal(bool)
    """To the Hub worker: switch offline mode (offline)."""

    def __init__(
        self,
        *,
        catalog: Catalog | None,
        catalog_error: str | None,
        hub: HubWorker,
        workspace: Workspace,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._hub = hub
        self._workspace = workspace
        self._downloads = workspace.downloads
        offline = self._offline = workspace.offline
        self._machine: Machine | None = None
        ids = RequestIds()
        self._search = CurrentRequest(ids)
        self._details = CurrentRequest(ids)
        self._details_repo: str | None = None

        self.machine_label = QLabel("Checking this computer…")
        self.machine_label.setAccessibleName("This computer")
        self.offline_box = QCheckBox("Offline mode")
        self.offline_box.setAccessibleName("Offline mode")
        self.offline_box.setToolTip(
            "When on, the app never connects to the internet: no search, no downloads. "
            "Your models and the recommended list keep working."
        )
        self.offline_box.setChecked(offline)
        self.offline_box.toggled.connect(self._on_offline_box_toggled)
        top = QHBoxLayout()
        top.addWidget(self.machine_label, 1)
        top.addWidget(self.offline_box)

        self.query = QLineEdit()
        self.query.setAccessibleName("Search Hugging Face")
        self.query.setPlaceholderText("Search Hugging Face for GGUF models, e.g. “qwen 7b”")
        self.query.setClearButtonEnabled(True)
        for button in self.query.findChildren(QToolButton):
            button.setAccessibleName("Clear the search")
        self.query.returnPressed.connect(self._on_query_return_pressed)
        self.sort = QComboBox()
        self.sort.setAccessibleName("Sort results by")
        self.sort.view().setAccessibleName("Sort orders")
        for label, key in SORT_CHOICES:
            self.sort.addItem(label, key)
        self.sort.currentIndexChanged.connect(self._on_sort_current_index_changed)
        self.search_button = QPushButton("Search")
        self.search_button.setAccessibleName("Search")
        self.search_button.clicked.connect(self._on_search_button_clicked)
        search_row = QHBoxLayout()
        search_row.addWidget(self.query, 1)
        search_row.addWidget(self.sort)
        search_row.addWidget(self.search_button)

        self.list_heading = QLabel()
        self.back_button = QPushButton("Show recommended models")
        self.back_button.setAccessibleName("Show recommended models")
        self.back_button.clicked.connect(self._on_back_button_clicked)
        heading_row = QHBoxLayout()
        heading_row.addWidget(self.list_heading, 1)
        heading_row.addWidget(self.back_button)
        self.search_status = StatusLine()
        self.list_banner = Banner()

        self.catalog_model = CatalogTableModel(DEFAULT_CONTEXT_LENGTH, self)
        self.catalog_model.set_entries(catalog.entries if catalog else [])
        self.catalog_table = _table(self.catalog_model, "Recommended models", stretch=0)
        self.catalog_table.setWordWrap(True)
        # Rows follow their wrapped text's height as the column's width changes.
        self.catalog_table.verticalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.catalog_table.selectionModel().selectionChanged.connect(
            self._on_catalog_table_selection_changed
        )
        self.results_model = SearchResultsTableModel(self)
        self.results_table = _table(self.results_model, "Search results", stretch=0)
        self.results_table.selectionModel().selectionChanged.connect(
            self._on_results_table_selection_changed
        )
        self.lists = QStackedWidget()
        self.lists.addWidget(self.catalog_table)
        self.lists.addWidget(self.results_table)

        browse = QWidget()
        browse_layout = QVBoxLayout(browse)
        browse_layout.setContentsMargins(0, 0, 0, 0)
        browse_layout.addLayout(search_row)
        browse_layout.addLayout(heading_row)
        browse_layout.addWidget(self.search_status)
        browse_layout.addWidget(self.list_banner)
        browse_layout.addWidget(self.lists, 1)

        self.details = RepoDetailsView(DEFAULT_CONTEXT_LENGTH)
        self.details.download_requested.connect(self._on_details_download_requested)
        self.download_list = DownloadList(self._downloads, workspace.registry, offline=offline)
        self.download_list.model_downloaded.connect(self.model_downloaded)
        self.download_list.chat_requested.connect(self.chat_requested)

        across = QSplitter(Qt.Orientation.Horizontal)
        across.addWidget(browse)
        across.addWidget(self.details)
        across.setStretchFactor(0, 3)
        across.setStretchFactor(1, 2)
        across.setSizes([620, 480])
        across.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(across)
        self.splitter.addWidget(self.download_list)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([480, 160])
        self.splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)

        self._details_timer = QTimer(self)
        self._details_timer.setSingleShot(True)
        self._details_timer.setInterval(DETAILS_DELAY_MS)
        self._details_timer.timeout.connect(self._on_details_timer_timeout)

        self.search_requested.connect(hub.search)
        self.details_requested.connect(hub.fetch_details)
        self.machine_detection_requested.connect(hub.detect_machine)
        self.offline_requested.connect(hub.set_offline)
        hub.machine_detected.connect(self._on_hub_machine_detected)
        hub.search_finished.connect(self._on_hub_search_finished)
        hub.details_ready.connect(self._on_hub_details_ready)
        hub.request_failed.connect(self._on_hub_request_failed)

        if catalog_error:
            self.list_banner.show_error(catalog_error)
        self._show_catalog()
        self.details.set_offline(offline)
        self._update_offline_controls()
        # Asked the first time the panel is shown (showEvent), not here: detection imports
        # llama_cpp (30 MiB, and a worker thread competing with the window being built).
        self._machine_asked = False

    # -- what the main window and tests call --------------------------------------------------

    def is_offline(self) -> bool:
        return self._offline

    def search(self, query: str) -> None:
        """Search as if the user typed `query` and pressed Enter."""
        self.query.setText(query)
        self._start_search()

    def shutdown(self) -> None:
        """Stop listening to downloads (call after DownloadManager.shutdown)."""
        self._details_timer.stop()
        self.download_list.detach()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._machine_asked:
            self._machine_asked = True
            self.machine_detection_requested.emit()

    # -- slots: the user ----------------------------------------------------------------------

    @Slot(bool)
    def _on_offline_box_toggled(self, offline: bool) -> None:
        try:
            self._workspace.set_offline(offline)  # the window then calls apply_offline
        except LocalAIError as error:
            # The switch still applies to this session; only remembering it failed.
            self.list_banner.show_error(error.message)

    @Slot(bool)
    def apply_offline(self, offline: bool) -> None:
        """Show and apply offline mode, switched by the Workspace (here, in the settings or by
        an import): the box, the Hub worker, downloads and details follow."""
        if offline == self._offline:
            return
        self._offline = offline
        with QSignalBlocker(self.offline_box):
            self.offline_box.setChecked(offline)
        self.offline_requested.emit(offline)
        self.download_list.set_offline(offline)
        self.details.set_offline(offline)
        self._update_offline_controls()
        if offline:
            self._search.forget()  # drop answers still on their way
            self._details.forget()
            self.search_status.clear()
        else:
            try:
                self._downloads.resume_unfinished()
            except LocalAIError as error:
                self.download_list.banner.show_error(error.message)
            if self._details_repo is not None:
                self._request_details(self._details_repo)

    @Slot()
    def _on_query_return_pressed(self) -> None:
        self._start_search()

    @Slot()
    def _on_search_button_clicked(self) -> None:
        self._start_search()

    @Slot(int)
    def _on_sort_current_index_changed(self, _index: int) -> None:
        if self.lists.currentWidget() is self.results_table:
            self._start_search()

    @Slot()
    def _on_back_button_clicked(self) -> None:
        self._search.forget()
        self.search_status.clear()
        self._show_catalog()

    @Slot()
    def _on_catalog_table_selection_changed(self) -> None:
        rows = self.catalog_table.selectionModel().selectedRows()
        if not rows:
            return
        entry = self.catalog_model.entry_at(rows[0].row())
        self.details.show_entry(entry, offline=self._offline)
        self._schedule_details(entry.repo_id)

    @Slot()
    def _on_results_table_selection_changed(self) -> None:
        rows = self.results_table.selectionModel().selectedRows()
        if not rows:
            return
        result = self.results_model.result_at(rows[0].row())
        self.details.show_loading(result.repo_id)
        self._schedule_details(result.repo_id)

    @Slot()
    def _on_details_timer_timeout(self) -> None:
        if self._details_repo is not None and not self._offline:
            self._request_details(self._details_repo)

    @Slot(object, object)
    def _on_details_download_requested(self, details: RepoDetails, choice: FileChoice) -> None:
        try:
            self._downloads.start(DownloadRequest.for_choice(details, choice))
        except LocalAIError as error:
            self.details.banner.show_error(error.message)
        else:
            self.details.banner.show_info(
                f"Downloading {choice.label} of {details.repo_id}: see its progress below."
            )

    # -- slots: the Hub worker ----------------------------------------------------------------

    @Slot(object)
    def _on_hub_machine_detected(self, machine: Machine) -> None:
        self._machine = machine
        self.machine_label.setText(f"This computer: {machine.describe()}")
        # Reads settings.json (small): this computer's measured speed, if it was measured.
        speed = self._workspace.machine_speed()
        self.catalog_model.set_machine(machine, speed)
        self.details.set_machine(machine, speed)

    @Slot(int, object)
    def _on_hub_search_finished(self, request_id: int, results: list[HubModelSummary]) -> None:
        if not self._search.is_answered_by(request_id):
            return  # an older search: the user asked something else since
        self.results_model.set_results(results)
        query = self.query.text().strip()
        if results:
            repos = "repo" if len(results) == 1 else "repos"
            self.search_status.show_message(
                f"{len(results)} GGUF {repos} found. Pick one to see its files."
            )
        else:
            self.search_status.show_message(
                f"Nothing found for “{query}”. Try fewer or other words, such as the model's "
                "family (“llama”, “qwen”, “mistral”)."
            )

    @Slot(int, object, object)
    def _on_hub_details_ready(
        self, request_id: int, details: RepoDetails, facts: ModelFacts
    ) -> None:
        if not self._details.is_answered_by(request_id):
            return
        self.details.show_details(details, facts)

    @Slot(int, str, bool)
    def _on_hub_request_failed(self, request_id: int, message: str, offline: bool) -> None:
        if self._search.is_answered_by(request_id):
            self.search_status.clear()
            self.list_banner.show_error(OFFLINE_SEARCH_MESSAGE if offline else message)
        elif self._details.is_answered_by(request_id):
            if offline:
                self.details.show_offline()
            else:
                self.details.show_failure(message)

    # -- helpers ------------------------------------------------------------------------------

    def _start_search(self) -> None:
        query = self.query.text().strip()
        self.list_banner.hide()
        self._show_results(query)
        request_id = self._search.new()
        if self._offline:
            self.results_model.set_results([])
            self.search_status.clear()
            self.list_banner.show_error(OFFLINE_SEARCH_MESSAGE)
            return
        sort = str(self.sort.currentData())
        what = f"“{query}”" if query else "popular GGUF models"
        self.search_status.show_busy(f"Searching Hugging Face for {what}…")
        self._hub.note_request("search", request_id)
        self.search_requested.emit(request_id, query, sort)

    def _schedule_details(self, repo_id: str) -> None:
        self._details_repo = repo_id
        self._details.forget()  # whatever is on its way is for another row
        if not self._offline:
            self._details_timer.start()

    def _request_details(self, repo_id: str) -> None:
        request_id = self._details.new()
        self.details.status.show_busy("Reading the list of files from Hugging Face…")
        self._hub.note_request("details", request_id)
        self.details_requested.emit(request_id, repo_id)

    def _show_catalog(self) -> None:
        self.lists.setCurrentWidget(self.catalog_table)
        self.list_heading.setText(
            "<b>Recommended models</b> — chosen for quality and open licenses; "
            "this list works offline"
        )
        self.back_button.hide()

    def _show_results(self, query: str) -> None:
        self.lists.setCurrentWidget(self.results_table)
        heading = f"Results for “{query}”" if query else "Popular GGUF models"
        self.list_heading.setText(f"<b>{heading}</b> on Hugging Face")
        self.back_button.show()

    def _update_offline_controls(self) -> None:
        hint = "Offline mode is on: searching and downloading are off." if self._offline else ""
        self.search_button.setToolTip(hint)
        self.query.setToolTip(hint)
