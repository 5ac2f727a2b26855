"""The first-run guide: the privacy promise, the data folder, a passphrase, this computer, a
first model.

Shown once, on the first start (reopened from Help > Show the welcome guide). It knows the
rest of the app only through a small `WelcomeHost` (the app session), so the data folder can be
switched underneath it and the download it starts goes through the main window's own
DownloadManager, listed in the Models tab like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget, QWizard

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.hub.catalog import Catalog, load_catalog
from localai_desktop.core.hub.download_store import (
    DownloadProgress,
    DownloadRequest,
    DownloadState,
)
from localai_desktop.core.hub.starter_models import (
    StarterPick,
    recommend_chat_model,
    recommend_embedding_model,
)
from localai_desktop.core.models.hardware import Machine
from localai_desktop.ui.welcome.pages import (
    PRIVACY_PROMISE,
    ComputerPage,
    DataFolderChooser,
    DataFolderPage,
    FinishPage,
    ModelPage,
    ProtectPage,
    WelcomeHost,
    WelcomePage,
    choose_folder_with_dialog,
)
from localai_desktop.ui.welcome.workers import DownloadLookup, MachineProbe

__all__ = ["PRIVACY_PROMISE", "WelcomeGuide", "WelcomeHost", "choose_folder_with_dialog"]

log = logging.getLogger(__name__)


class _ProgressBridge(QObject):
    progress_changed = Signal(object)
    """A download moved on (emitted on a download thread, received queued): (DownloadProgress)."""


class WelcomeGuide(QWizard):
    """The guide; closing it in any way counts as seen (`closed` tells the host)."""

    closed = Signal(bool)
    """The guide was closed: (whether the person went through to the end)."""

    PAGE_WELCOME, PAGE_FOLDER, PAGE_PROTECT, PAGE_COMPUTER, PAGE_MODEL, PAGE_FINISH = range(6)

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
        self._closed = False
        self._lookup: DownloadLookup | None = None
        self._catalog = catalog
        self._catalog_error: str | None = None
        self._bridge = _ProgressBridge(self)
        self._bridge.progress_changed.connect(self._on_bridge_progress_changed)
        self._remove_listener: Callable[[], None] | None = None

        self.welcome_page = WelcomePage()
        self.folder_page = DataFolderPage(host, choose_folder, lambda: bool(self.download_ids))
        self.protect_page = ProtectPage(host)
        self.computer_page = ComputerPage()
        self.model_page = ModelPage(self.start_downloads, self.import_own_file)
        self.finish_page = FinishPage()
        for page_id, page in enumerate(
            (
                self.welcome_page,
                self.folder_page,
                self.protect_page,
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
            model_id = self.model_id
            if model_id is None and not self.download_ids:
                installed = self._host.chat_model()  # reopened with a model already there
                model_id = installed.id if installed is not None else None
            self._host.open_chat_when_a_model_arrives(model_id)
        self._closed = True
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
            installed = self._host.chat_model()
            if installed is not None and not self.download_ids:
                self.model_page.status.setText(
                    f"You already have a chat model, “{installed.name}”: you can start chatting "
                    "with it now, or also download the suggested one."
                )
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
        # The person clicked Download: the downloads start even if the guide was closed
        # meanwhile; only a closed guide no longer follows their progress.
        if self._remove_listener is None and not self._closed:
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
        if progress.state == DownloadState.DONE and progress.model_id is not None:
            self.model_id = progress.model_id
            page.status.setText(f"{progress.name} is ready. Click Next to start chatting.")
        elif progress.state == DownloadState.FAILED:
            page.banner.show_error(progress.error or "The download failed.")
        elif progress.state == DownloadState.CANCELLED:
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
        self.model_page.show_picks(
            self.chat_pick, self.embedding_pick, downloading=bool(self.download_ids)
        )

    def _describe_finish(self) -> None:
        if self.model_id is not None:
            text = "Your model is ready. Click “Start chatting”, type a question and press Enter."
        elif self.download_ids:
            text = (
                "Your model is still downloading. Click “Start chatting”: the Models tab shows "
                "the download, and the chat opens by itself as soon as the model is ready."
            )
        elif (installed := self._host.chat_model()) is not None:
            text = (
                f"You already have a chat model, “{installed.name}”. Click “Start chatting” to "
                "open a new conversation with it, type a question and press Enter. The Models "
                "tab gets you more models any time."
            )
        else:
            text = (
                "To chat, the app needs a model. Get one any time in the Models tab: download "
                "a recommended one or import a GGUF file you have. Reopen this guide from "
                "Help > Show the welcome guide."
            )
        self.finish_page.text.setText(text)
