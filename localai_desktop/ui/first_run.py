"""The first-run guide: the privacy promise, the data folder, this computer, a first model.

Shown once, on the first start (reopened from Help > Show the welcome guide). It knows the
rest of the app only through a small `WelcomeHost` (the app session), so the data folder can be
switched underneath it and the download it starts goes through the main window's own
DownloadManager, listed in the Models tab like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from localai_desktop.core.catalog import Catalog, load_catalog
from localai_desktop.core.download_store import (
    CANCELLED,
    DONE,
    FAILED,
    DownloadProgress,
    DownloadRequest,
)
from localai_desktop.core.errors import LocalAIError
from localai_desktop.core.hardware import Machine
from localai_desktop.core.hub import HubClient
from localai_desktop.core.paths import DataPaths
from localai_desktop.core.starter_models import (
    StarterPick,
    recommend_chat_model,
    recommend_embedding_model,
)
from localai_desktop.core.units import format_bytes
from localai_desktop.ui.first_run_workers import DownloadLookup, MachineProbe
from localai_desktop.ui.notices import Banner

log = logging.getLogger(__name__)

PRIVACY_PROMISE = (
    "LocalAI Desktop lets you chat with AI language models that run entirely on this computer. "
    "Nothing you type or add ever leaves it: the app goes online only to download a model when "
    "you ask it to, and never in offline mode."
)
DataFolderChooser = Callable[[QWidget, Path], Path | None]


class WelcomeHost(Protocol):
    """What the guide needs from the app (implemented by ui.app_session.AppSession)."""

    @property
    def paths(self) -> DataPaths: ...

    def data_dir_fixed_reason(self) -> str | None:
        """Why the data folder cannot be changed here (--data-dir given), or None."""

    def switch_data_folder(self, folder: Path) -> Path:
        """Use another data folder from now on; returns the folder actually used."""

    def hub_client(self) -> HubClient: ...

    def start_download(self, request: DownloadRequest) -> int: ...

    def add_download_listener(
        self, listener: Callable[[DownloadProgress], None]
    ) -> Callable[[], None]: ...

    def start_model_import(self) -> None: ...

    def open_chat_when_a_model_arrives(self, model_id: int | None) -> None: ...


def choose_folder_with_dialog(parent: QWidget, start: Path) -> Path | None:
    folder = QFileDialog.getExistingDirectory(parent, "Choose a folder for your data", str(start))
    return Path(folder) if folder else None


def _text(text: str, *, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setAccessibleName(name)
    return label


class _ProgressBridge(QObject):
    progress_changed = Signal(object)
    """A download moved on (emitted on a download thread, received queued): (DownloadProgress)."""


class WelcomePage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Welcome to LocalAI Desktop")
        self.setSubTitle("Private AI, on your own computer.")
        self.promise = _text(PRIVACY_PROMISE, name="Privacy promise")
        layout = QVBoxLayout(self)
        layout.addWidget(self.promise)
        layout.addWidget(
            _text(
                "This short guide shows where your data is kept, looks at what this computer "
                "can run, and gets you a first model. It takes a minute."
            )
        )
        layout.addStretch(1)


class DataFolderPage(QWizardPage):
    def __init__(self, host: WelcomeHost, choose_folder: DataFolderChooser) -> None:
        super().__init__()
        self._host = host
        self._choose_folder = choose_folder
        self.setTitle("Where your data is kept")
        self.setSubTitle("Everything the app keeps stays in one folder on this computer.")
        self.folder_label = _text("", name="Data folder")
        self.folder_label.setStyleSheet("font-weight: bold;")
        self.change_button = QPushButton("Change…")
        self.change_button.setAccessibleName("Change the data folder")
        self.change_button.clicked.connect(self._on_change_button_clicked)
        self.note = _text("")
        self.banner = Banner()
        row = QHBoxLayout()
        row.addWidget(self.folder_label, 1)
        row.addWidget(self.change_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _text(
                "Your conversations, settings, document indexes and downloaded models are kept "
                "in this folder on this computer, and nowhere else:"
            )
        )
        layout.addLayout(row)
        layout.addWidget(self.note)
        layout.addWidget(self.banner)
        layout.addStretch(1)

    def initializePage(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.folder_label.setText(str(self._host.paths.root))
        reason = self._host.data_dir_fixed_reason()
        self.change_button.setEnabled(reason is None and not self.wizard_locked())
        if reason is not None:
            self.note.setText(reason)
        elif self.wizard_locked():
            self.note.setText("A download has started in this folder, so it stays as it is.")
        else:
            self.note.setText(
                "You can choose another folder, for example on a larger disk: models take "
                "several gigabytes. You can change it later in Settings."
            )

    def wizard_locked(self) -> bool:
        wizard = self.wizard()
        return isinstance(wizard, WelcomeGuide) and bool(wizard.download_ids)

    @Slot()
    def _on_change_button_clicked(self) -> None:
        folder = self._choose_folder(self, self._host.paths.root)
        if folder is None:
            return
        try:
            used = self._host.switch_data_folder(folder)
        except (LocalAIError, OSError) as error:
            message = error.message if isinstance(error, LocalAIError) else str(error)
            self.banner.show_error(f"The app cannot use {folder}: {message}")
            return
        self.banner.show_info(
            f"Your data is now kept in {used}. Anything in the previous folder stays there."
        )
        self.refresh()


class ComputerPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Your computer")
        self.setSubTitle("What this computer can run, and how fast.")
        self.summary = _text("Looking at this computer…", name="This computer")
        self.detail = _text("")
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.detail)
        layout.addStretch(1)

    def show_machine(self, machine: Machine) -> None:
        self.summary.setText(f"This computer has {machine.describe()}.")
        if machine.can_use_gpu:
            where = "Models run on the graphics card (GPU), which makes answers much faster."
        elif machine.gpus:
            where = "Models run on the processor (CPU): this build of the app does not use the GPU."
        else:
            where = "Models run on the processor (CPU). Smaller models answer fastest."
        cores = f" It has {machine.cpu_cores} processor cores." if machine.cpu_cores else ""
        self.detail.setText(where + cores)


class ModelPage(QWizardPage):
    def __init__(self, guide: WelcomeGuide) -> None:
        super().__init__()
        self._guide = guide
        self.setTitle("Get a model")
        self.setSubTitle("A model is the file that does the thinking. Pick one to start with.")
        self.chat_text = _text("Looking for a model that suits this computer…", name="Suggested")
        self.embedding_box = QCheckBox()
        self.embedding_box.setAccessibleName("Also download the model for documents")
        self.embedding_box.setChecked(True)
        self.embedding_box.hide()
        self.download_button = QPushButton("Download")
        self.download_button.setAccessibleName("Download the suggested model")
        self.download_button.setEnabled(False)
        self.download_button.clicked.connect(guide.start_downloads)
        self.import_button = QPushButton("I already have a GGUF file…")
        self.import_button.setAccessibleName("I already have a GGUF file")
        self.import_button.clicked.connect(guide.import_own_file)
        self.status = _text("", name="Download status")
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Download progress")
        self.progress.setRange(0, 1000)
        self.progress.hide()
        self.banner = Banner()
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.chat_text)
        layout.addWidget(self.embedding_box)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addWidget(self.banner)
        layout.addStretch(1)

    def show_picks(self, chat: StarterPick | None, embedding: StarterPick | None) -> None:
        if chat is None:
            self.chat_text.setText(
                "None of the recommended models fits in this computer's memory. If you have a "
                "small GGUF model file, import it; the Models tab lists more models."
            )
            self.download_button.setEnabled(False)
        else:
            license_note = "" if chat.entry.commercial_use else " Not for commercial use."
            self.chat_text.setText(
                f"<b>Suggested for this computer: {chat.describe()}</b><br>"
                f"{chat.entry.good_for} License: {chat.entry.license}.{license_note}"
            )
            self.download_button.setEnabled(not self._guide.download_ids)
        if embedding is not None and chat is not None:
            self.embedding_box.setText(
                f"Also download {embedding.entry.name} (about "
                f"{format_bytes(embedding.choice.total_bytes)}), to chat with your documents"
            )
            self.embedding_box.show()


class FinishPage(QWizardPage):
    def __init__(self) -> None:
        super().__init__()
        self.setTitle("You are ready")
        self.setSubTitle("What happens next.")
        self.text = _text("", name="What happens next")
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)


class WelcomeGuide(QWizard):
    """The guide; closing it in any way counts as seen (`closed` tells the host)."""

    closed = Signal(bool)
    """The guide was closed: (whether the person went through to the end)."""

    PAGE_WELCOME, PAGE_FOLDER, PAGE_COMPUTER, PAGE_MODEL, PAGE_FINISH = range(5)

    def __init__(
        self,
        host: WelcomeHost,
        *,
        choose_folder: DataFolderChooser = choose_folder_with_dialog,
        catalog: Catalog | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._host = host
        self.setWindowTitle("Welcome to LocalAI Desktop")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start chatting")
        self.setButtonText(QWizard.WizardButton.CancelButton, "Close")
        for which, name in (
            (QWizard.WizardButton.NextButton, "Next"),
            (QWizard.WizardButton.BackButton, "Back"),
            (QWizard.WizardButton.FinishButton, "Start chatting"),
            (QWizard.WizardButton.CancelButton, "Close the guide"),
        ):
            self.button(which).setAccessibleName(name)
        self.setMinimumSize(680, 480)
        self.machine: Machine | None = None
        self.chat_pick: StarterPick | None = None
        self.embedding_pick: StarterPick | None = None
        self.download_ids: list[int] = []
        self.model_id: int | None = None
        self._finished = False
        self._lookup: DownloadLookup | None = None
        self._catalog = catalog
        self._catalog_error: str | None = None
        self._bridge = _ProgressBridge(self)
        self._bridge.progress_changed.connect(self._on_bridge_progress_changed)
        self._remove_listener: Callable[[], None] | None = None

        self.welcome_page = WelcomePage()
        self.folder_page = DataFolderPage(host, choose_folder)
        self.computer_page = ComputerPage()
        self.model_page = ModelPage(self)
        self.finish_page = FinishPage()
        for page_id, page in enumerate(
            (
                self.welcome_page,
                self.folder_page,
                self.computer_page,
                self.model_page,
                self.finish_page,
            )
        ):
            self.setPage(page_id, page)
        self.currentIdChanged.connect(self._on_wizard_current_id_changed)

        self._probe = MachineProbe(self)
        self._probe.machine_detected.connect(self._on_probe_machine_detected)
        self._probe.start()

    # -- what the host and tests call ---------------------------------------------------------

    def wait_for_threads(self) -> None:
        """Wait for the hardware check and a Hub lookup in flight (bounded by their timeouts)."""
        self._probe.wait()
        if self._lookup is not None:
            self._lookup.wait()

    @Slot()
    def start_downloads(self) -> None:
        """Ask the Hub for the suggested files, then start downloading them."""
        if self.chat_pick is None or self._lookup is not None or self.machine is None:
            return
        picks = [self.chat_pick]
        if self.embedding_pick is not None and self.model_page.embedding_box.isChecked():
            picks.append(self.embedding_pick)
        page = self.model_page
        page.banner.hide()
        page.download_button.setEnabled(False)
        page.status.setText("Asking Hugging Face for the model's files…")
        try:
            hub = self._host.hub_client()
        except LocalAIError as error:
            self._on_lookup_lookup_failed(error.message)
            return
        self._lookup = DownloadLookup(hub, picks, self.machine, self)
        self._lookup.requests_ready.connect(self._on_lookup_requests_ready)
        self._lookup.lookup_failed.connect(self._on_lookup_lookup_failed)
        self._lookup.finished.connect(self._on_lookup_finished)
        self._lookup.start()

    @Slot()
    def import_own_file(self) -> None:
        """Close the guide and open the Models tab's import flow; the chat opens after it."""
        self._finished = True
        self._host.open_chat_when_a_model_arrives(None)
        self.accept()
        self._host.start_model_import()

    # -- QWizard ------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        if result == QWizard.DialogCode.Accepted and not self._finished:
            self._finished = True
            self._host.open_chat_when_a_model_arrives(self.model_id)
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None
        super().done(result)
        self.closed.emit(self._finished)

    # -- slots --------------------------------------------------------------------------------

    @Slot(int)
    def _on_wizard_current_id_changed(self, page_id: int) -> None:
        if page_id == self.PAGE_MODEL:
            self._show_picks()
        elif page_id == self.PAGE_FINISH:
            self._describe_finish()

    @Slot(object)
    def _on_probe_machine_detected(self, machine: Machine) -> None:
        self.machine = machine
        self.computer_page.show_machine(machine)
        self._show_picks()

    @Slot(object)
    def _on_lookup_requests_ready(self, requests: list[DownloadRequest]) -> None:
        page = self.model_page
        if self._remove_listener is None:
            self._remove_listener = self._host.add_download_listener(
                self._bridge.progress_changed.emit
            )
        problems = []
        for request in requests:
            try:
                self.download_ids.append(self._host.start_download(request))
            except LocalAIError as error:
                problems.append(error.message)
        if problems:
            page.banner.show_error(" ".join(problems))
        if self.download_ids:
            page.status.setText(
                "Downloading. You can go on or close this guide: the download continues, and "
                "you can follow it in the Models tab."
            )
            page.progress.setValue(0)
            page.progress.show()
            self.folder_page.refresh()
        else:
            page.status.clear()
            page.download_button.setEnabled(True)

    @Slot(str)
    def _on_lookup_lookup_failed(self, message: str) -> None:
        page = self.model_page
        page.status.clear()
        page.banner.show_error(message)
        page.download_button.setEnabled(self.chat_pick is not None)

    @Slot()
    def _on_lookup_finished(self) -> None:
        if self._lookup is not None:
            self._lookup.deleteLater()
            self._lookup = None

    @Slot(object)
    def _on_bridge_progress_changed(self, progress: DownloadProgress) -> None:
        if not self.download_ids or progress.download_id != self.download_ids[0]:
            return  # the bar follows the chat model, the one the person waits for
        page = self.model_page
        page.progress.setValue(int(1000 * progress.fraction))
        if progress.state == DONE and progress.model_id is not None:
            self.model_id = progress.model_id
            page.status.setText(f"{progress.name} is ready. Click Next to start chatting.")
        elif progress.state == FAILED:
            page.banner.show_error(progress.error or "The download failed.")
        elif progress.state == CANCELLED:
            page.status.setText("The download was cancelled.")
        self._describe_finish()

    # -- helpers ------------------------------------------------------------------------------

    def _show_picks(self) -> None:
        if self.machine is None:
            return
        if self._catalog is None and self._catalog_error is None:
            try:
                self._catalog = load_catalog()
            except LocalAIError as error:
                self._catalog_error = error.message
        if self._catalog is None:
            self.model_page.chat_text.setText(self._catalog_error or "")
            return
        self.chat_pick = recommend_chat_model(self._catalog, self.machine)
        self.embedding_pick = recommend_embedding_model(self._catalog, self.machine)
        self.model_page.show_picks(self.chat_pick, self.embedding_pick)

    def _describe_finish(self) -> None:
        if self.model_id is not None:
            text = "Your model is ready. Click “Start chatting”, type a question and press Enter."
        elif self.download_ids:
            text = (
                "Your model is still downloading. Click “Start chatting”: the Models tab shows "
                "the download, and the chat opens by itself as soon as the model is ready."
            )
        else:
            text = (
                "To chat, the app needs a model. Get one any time in the Models tab: download "
                "a recommended one or import a GGUF file you have. Reopen this guide from "
                "Help > Show the welcome guide."
            )
        self.finish_page.text.setText(text)
