"""The pages of the first-run guide, and what the guide needs from the app (WelcomeHost)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.common.units import format_bytes
from localai_desktop.core.datafolder.paths import DataPaths
from localai_desktop.core.hub.client import HubClient
from localai_desktop.core.hub.download_store import DownloadProgress, DownloadRequest
from localai_desktop.core.hub.starter_models import StarterPick
from localai_desktop.core.models.hardware import Machine
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.widgets.notices import Banner, StatusLine
from localai_desktop.ui.widgets.passphrase_form import NewPassphraseForm

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

    def open_chat_when_a_model_arrives(self, model_id: int | None) -> None:
        """Open a new conversation with `model_id` now, or with the next chat model added."""

    def chat_model(self) -> LocalModel | None:
        """The chat model a new conversation would start with; None when there is none."""

    def workspace_protected(self) -> bool:
        """Whether the open workspace is protected with a passphrase already."""

    def protect_open_workspace(
        self, passphrase: str, remember: bool, done: Callable[[str | None], None]
    ) -> None:
        """Encrypt the open workspace with `passphrase` (the window closes meanwhile); then
        `done(None)`, or `done(message)` when it could not be done."""


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
    def __init__(
        self, host: WelcomeHost, choose_folder: DataFolderChooser, is_locked: Callable[[], bool]
    ) -> None:
        super().__init__()
        self._host = host
        self._choose_folder = choose_folder
        self._is_locked = is_locked
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
        """Whether a download started in this folder (then it stays as it is)."""
        return self._is_locked()

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


PROTECT_TEXT = "Protect with a passphrase (recommended)"


class ProtectPage(QWizardPage):
    """Offers to encrypt the default workspace with a passphrase; Next does it when ticked."""

    def __init__(self, host: WelcomeHost) -> None:
        super().__init__()
        self._host = host
        self._working = False
        self.setTitle("Protect your data")
        self.setSubTitle("Recommended: a passphrase encrypts everything you keep in the app.")
        self.explanation = _text(
            "With a passphrase, your conversations, documents and fine-tuning data are "
            "encrypted on this computer: someone who takes the laptop or the disk cannot read "
            "them. The app asks for the passphrase when it starts and locks itself when you "
            "are away."
        )
        self.protect = QCheckBox(PROTECT_TEXT)
        self.protect.setAccessibleName(PROTECT_TEXT)
        self.protect.setChecked(True)
        self.protect.toggled.connect(self._on_protect_toggled)
        self.form = NewPassphraseForm()
        self.status = StatusLine()
        self.banner = Banner()
        layout = QVBoxLayout(self)
        layout.addWidget(self.explanation)
        layout.addWidget(self.protect)
        layout.addWidget(self.form)
        layout.addWidget(self.status)
        layout.addWidget(self.banner)
        layout.addStretch(1)

    def initializePage(self) -> None:
        if self._host.workspace_protected():
            self._show_protected()

    def _show_protected(self) -> None:
        self.protect.setChecked(True)
        self.protect.setEnabled(False)
        self.form.hide()
        self.status.show_message("Your data is protected with a passphrase.")

    def validatePage(self) -> bool:
        if self._working:
            return False
        if not self.protect.isChecked() or self._host.workspace_protected():
            return True
        try:
            passphrase = self.form.chosen()
        except LocalAIError as error:
            self.banner.show_error(
                f"{error.message} Or untick “{PROTECT_TEXT}” to go on without one."
            )
            return False
        self.banner.hide()
        self._working = True
        self.form.setEnabled(False)
        self.protect.setEnabled(False)
        self.status.show_busy("Encrypting your data…")
        self._host.protect_open_workspace(passphrase, self.form.remembered(), self._protected)
        return False  # Next again once it is done

    def _protected(self, problem: str | None) -> None:
        self._working = False
        self.form.clear()
        if problem is None:
            self._show_protected()
            wizard = self.wizard()
            if wizard is not None:
                wizard.next()
            return
        self.status.clear()
        self.form.setEnabled(True)
        self.protect.setEnabled(True)
        self.banner.show_error(problem)

    @Slot(bool)
    def _on_protect_toggled(self, protect: bool) -> None:
        self.form.setEnabled(protect)


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
    def __init__(self, on_download: Callable[[], None], on_import: Callable[[], None]) -> None:
        super().__init__()
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
        self.download_button.clicked.connect(on_download)
        self.import_button = QPushButton("I already have a GGUF file…")
        self.import_button.setAccessibleName("I already have a GGUF file")
        self.import_button.clicked.connect(on_import)
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

    def show_picks(
        self, chat: StarterPick | None, embedding: StarterPick | None, *, downloading: bool
    ) -> None:
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
            self.download_button.setEnabled(not downloading)
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
