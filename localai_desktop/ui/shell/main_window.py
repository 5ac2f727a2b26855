"""The main window: builds the tabs, gives them what they need, and wires them together."""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QSettings, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QMainWindow, QTabWidget, QWidget

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.core.datafolder.private_state import PrivateState
from localai_desktop.core.datafolder.workspace import Workspace
from localai_desktop.core.evaluation.store import EvalStore
from localai_desktop.core.evaluation.test_sets import TestSetStore
from localai_desktop.core.export.exporter import ConversationExporter
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.audit.dialog import AuditDialog
from localai_desktop.ui.chat.tab import ChatTab
from localai_desktop.ui.documents.tab import DocumentsTab
from localai_desktop.ui.evaluate.tab import EvaluateTab
from localai_desktop.ui.export.actions import ConversationExport
from localai_desktop.ui.finetune.tab import EXAMPLES_ANSWERS_KEY, EXAMPLES_FILE_KEY, FineTuneTab
from localai_desktop.ui.models.discover_panel import DiscoverPanel
from localai_desktop.ui.models.tab import ModelsTab
from localai_desktop.ui.prompts.dialog import PromptLibraryDialog
from localai_desktop.ui.remotes.panel import RemotesPanel
from localai_desktop.ui.server.control import ServerControl
from localai_desktop.ui.server.status_line import ServerStatusLine
from localai_desktop.ui.shell.app_icon import app_icon
from localai_desktop.ui.shell.appearance import Appearance
from localai_desktop.ui.shell.window_actions import WindowActions
from localai_desktop.ui.widgets.sealed_settings import SealedSettings
from localai_desktop.ui.workers.chat import ChatWorker
from localai_desktop.ui.workers.embedding import EmbeddingWorker
from localai_desktop.ui.workers.evaluation import EvaluationWorker
from localai_desktop.ui.workers.finetune import FineTuneWorker
from localai_desktop.ui.workers.hub import HubWorker
from localai_desktop.ui.workers.remotes import RemoteModelsWorker
from localai_desktop.ui.workspaces.switcher import WorkspaceSwitcher

log = logging.getLogger(__name__)

WINDOW_TITLE = "LocalAI Desktop"
_GEOMETRY_KEY = "window/geometry"
_CONVERSATION_KEY = "chat/last_conversation"
_MODEL_KEY = "chat/model"


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


class MainWindow(QMainWindow):
    """Owns the chat worker and the stores of one data folder; the tabs do the rest."""

    offline_mode_changed = Signal(bool)
    """Offline mode was switched (already saved and applied by the Workspace): (offline)."""
    welcome_guide_requested = Signal()
    """Help > Show the welcome guide was chosen (the app session opens the guide)."""
    settings_requested = Signal()
    """File > Settings… was chosen (the app session opens the settings)."""
    server_settings_requested = Signal()
    """The status bar's server line was clicked (the app session opens its settings page)."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(WINDOW_TITLE)
        # Also set here, not only on the application: the window is built without app.py too
        # (the self-check, tests).
        self.setWindowIcon(app_icon())
        self.workspace = workspace
        self.paths = workspace.paths
        # Kept in the data folder, so each data folder (and each test) has its own.
        self.settings = QSettings(str(self.paths.window_state), QSettings.Format.IniFormat)
        # The folder's theme and text size, before any widget is made: each starts in them.
        self.appearance = Appearance(workspace.settings, self)
        self.appearance.apply_saved()
        self.store = workspace.conversations
        self.registry = workspace.registry
        self.adapters = workspace.adapters
        self.documents = workspace.documents
        self.app_settings = workspace.settings
        self.downloads = workspace.downloads
        self.worker = ChatWorker.start(
            self.store, self.registry, self.adapters, remotes=workspace.remotes
        )
        # Asks the remote engines for their models (the Chat tab's picker lists them).
        self.remote_models_worker = RemoteModelsWorker.start(workspace.remotes)
        self.finetune_worker = FineTuneWorker.start(workspace.finetune, self.store)
        # Its own worker and threads own the embedding models: never the chat model's thread.
        self.embedding_worker = EmbeddingWorker.start(self.documents)
        # Evaluation runs load their models on their own thread: never the chat model's.
        self.evaluation_worker = EvaluationWorker.start(
            workspace.db,
            self.store,
            self.registry,
            self.adapters,
            self.documents,
            workspace.remotes,
        )
        self._closed = False
        catalog, catalog_error = workspace.catalog()
        self.hub_worker = HubWorker.start(
            workspace.hub_endpoint(strict=False), offline=workspace.offline, catalog=catalog
        )
        self.discover = DiscoverPanel(
            catalog=catalog,
            catalog_error=catalog_error,
            hub=self.hub_worker,
            workspace=workspace,
        )
        # The Workspace owns offline mode; the window turns its news into a Qt signal.
        self._stop_observing_offline = workspace.observe_offline(self.offline_mode_changed.emit)
        self.offline_mode_changed.connect(self.discover.apply_offline)

        self.chat_tab = ChatTab(
            self.store,
            self.registry,
            self.worker,
            adapters=self.adapters,
            documents=self.documents,
            embedding=self.embedding_worker,
            prompts=workspace.prompts,
        )
        self.documents_tab = DocumentsTab(self.documents, self.embedding_worker, self.settings)
        self.models_tab = ModelsTab(
            self.registry, self.discover, machine_speed=workspace.machine_speed
        )
        self.remotes_panel = RemotesPanel(workspace.remotes)
        self.models_tab.sections.addTab(self.remotes_panel, "Remote engines")
        # The examples file's name may name a client: sealed when the workspace is protected.
        finetune_settings: QSettings | SealedSettings = self.settings
        if workspace.protected:
            finetune_settings = SealedSettings(
                PrivateState(self.paths.private_state, workspace.vault),
                moved_from=self.settings,
                keys=(EXAMPLES_FILE_KEY, EXAMPLES_ANSWERS_KEY),
            )
        self.finetune_tab = FineTuneTab(
            self.registry,
            self.store,
            self.adapters,
            workspace.jobs,
            self.finetune_worker,
            finetune_settings,
        )
        self.evaluate_tab = EvaluateTab(
            TestSetStore(workspace.db),
            EvalStore(workspace.db),
            self.registry,
            self.adapters,
            self.store,
            self.evaluation_worker,
        )
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Sections")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.chat_tab, "Chat")
        self.tabs.addTab(self.documents_tab, "Documents")
        self.tabs.addTab(self.models_tab, "Models")
        self.tabs.addTab(self.finetune_tab, "Fine-tune")
        self.tabs.addTab(self.evaluate_tab, "Evaluate")
        self.setCentralWidget(self.tabs)
        self.chat_tab.composer.set_spell_check(self.appearance.spell_check())
        self.appearance.spell_check_changed.connect(self._on_appearance_spell_check_changed)

        # Every signal that crosses from one tab to another is wired here, and only here.
        self.models_tab.models_changed.connect(self.chat_tab.refresh_models)
        self.chat_tab.models_tab_requested.connect(self._on_chat_tab_models_tab_requested)
        self.discover.chat_requested.connect(self._on_discover_chat_requested)
        self.models_tab.models_changed.connect(self._on_models_tab_models_changed)
        self.models_tab.models_changed.connect(self.documents_tab.refresh)
        self.documents_tab.collections_changed.connect(self.chat_tab.documents.refresh)
        self.documents_tab.embedding_models_requested.connect(
            self._on_documents_tab_embedding_models_requested
        )
        self.chat_tab.documents_tab_requested.connect(self._on_chat_tab_documents_tab_requested)
        self.models_tab.models_changed.connect(self.finetune_tab.refresh_models)
        self.finetune_tab.adapters_changed.connect(self.chat_tab.refresh_adapters)
        self.finetune_tab.chat_requested.connect(self._on_finetune_tab_chat_requested)
        self.models_tab.models_changed.connect(self.evaluate_tab.refresh_models)
        self.finetune_tab.adapters_changed.connect(self.evaluate_tab.refresh_models)
        self.chat_tab.evaluation_reference_requested.connect(
            self._on_chat_tab_evaluation_reference_requested
        )
        self.remote_models_worker.models_listed.connect(self.chat_tab.set_remote_models)
        self.remote_models_worker.models_listed.connect(self.evaluate_tab.set_remote_models)
        self.remotes_panel.remotes_changed.connect(self._refresh_remote_models)
        self.offline_mode_changed.connect(self._on_offline_mode_changed)
        self.chat_tab.model_picker.remotes_refresh_requested.connect(self._refresh_remote_models)
        self.remote_models_worker.listing_failed.connect(
            self.chat_tab.model_picker.remote_listing_failed
        )
        self._refresh_remote_models()
        self._chat_when_model_arrives: set[int] | None = None  # model ids known before
        self.audit_dialog: AuditDialog | None = None  # made when first opened
        # Export and Print (Ctrl+E, Ctrl+P) of the conversation on screen, off the GUI thread.
        self.conversation_export = ConversationExport(
            ConversationExporter(self.store, workspace.audit),
            self.chat_tab.current_conversation,
            self,
            store=self.store,
        )
        self.chat_tab.export_button.setMenu(self.conversation_export.menu)
        self.prompt_library: PromptLibraryDialog | None = None  # made when first opened
        self.chat_tab.prompt_library_requested.connect(self._on_prompt_library_requested)
        self.conversation_export.export_started.connect(self.chat_tab.banner.show_info)
        self.conversation_export.export_finished.connect(self._on_conversation_export_finished)
        self.conversation_export.printed.connect(self.chat_tab.banner.show_info)
        self.conversation_export.export_failed.connect(self.chat_tab.banner.show_error)
        self._build_menus()
        # The local server: API requests run on this window's chat and embedding workers.
        self.server = ServerControl(workspace, self.worker, self.embedding_worker)
        self.server.conversations_added.connect(self.chat_tab.refresh_conversations)
        self.server_status = ServerStatusLine(self.server)
        self.server_status.clicked.connect(self.server_settings_requested)
        self.statusBar().insertPermanentWidget(0, self.server_status)

        self._restore()
        # After the Discover panel listens, so the resumed downloads show their progress.
        try:
            self.downloads.resume_unfinished()
        except LocalAIError as error:
            self.discover.download_list.banner.show_error(error.message)
        # Indexing that a quit or a crash interrupted continues where it stopped.
        self.documents_tab.resume_unfinished()
        self.server.start_if_enabled()  # off the GUI thread; the status line tells how it went

    def _restore(self) -> None:
        geometry = self.settings.value(_GEOMETRY_KEY)
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 760)
        self.chat_tab.select_model(_int_or_none(self.settings.value(_MODEL_KEY)))
        known = {c.id for c in self.store.list()}
        last = _int_or_none(self.settings.value(_CONVERSATION_KEY))
        if last in known:
            self.chat_tab.select_conversation(last)
        elif known:
            self.chat_tab.select_conversation(self.store.list()[0].id)
        if self.registry.list():
            self.chat_tab.composer.input.setFocus()
        else:
            # Nothing to chat with yet: start where the first step happens.
            self.tabs.setCurrentWidget(self.models_tab)

    def _save(self) -> None:
        self.settings.setValue(_GEOMETRY_KEY, self.saveGeometry())
        conversation_id = self.chat_tab.current_conversation_id()
        if conversation_id is None:
            self.settings.remove(_CONVERSATION_KEY)
        else:
            self.settings.setValue(_CONVERSATION_KEY, conversation_id)
        model_id = self.chat_tab.current_model_id()
        if model_id is not None:
            self.settings.setValue(_MODEL_KEY, model_id)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closed:
            self._closed = True
            self.chat_tab.begin_closing()
            self._save()
            # Questions edited in a test set are kept when they can be (a row that cannot be
            # saved keeps the set as it was; its editor named the row while it was open).
            self.evaluate_tab.test_sets.save_if_changed()
            # API requests stop first, then the server: nothing waits for the workers below.
            self.server.shutdown()
            self.chat_tab.save_state()
            # Stops an answer being written (the worker saves it as "stopped"), then waits for
            # the worker's thread and any import thread, so no thread outlives the window.
            self.chat_tab.stop()
            # A question sent a moment ago may still be on its way to the disk.
            self.chat_tab.finish_writes()
            self.models_tab.shutdown()
            # Downloads stop where they are and continue at the next start.
            self._stop_observing_offline()
            self.downloads.shutdown()
            self.discover.shutdown()
            self.hub_worker.shutdown()
            # Indexing stops after its current batch and continues at the next start.
            self.documents_tab.shutdown()
            self.embedding_worker.shutdown()
            # A training run stops at its next step and keeps a checkpoint to resume from.
            self.finetune_worker.shutdown()
            # An evaluation run stops after its current answer; it resumes from Results.
            self.evaluation_worker.shutdown()
            self.worker.shutdown()
            self.remote_models_worker.shutdown()
            self.conversation_export.shutdown()
            if self.prompt_library is not None:
                self.prompt_library.close()
            if self.audit_dialog is not None:
                self.audit_dialog.close()
                self.audit_dialog.shutdown()
            self.workspace_switcher.shutdown()
            log.info("Main window closed")
        super().closeEvent(event)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        audit = QAction("&Audit trail…", self)
        audit.setStatusTip(
            "What was answered, exported, imported and deleted, and whether it checks out"
        )
        audit.triggered.connect(self._on_audit_action_triggered)
        file_menu.addAction(self.conversation_export.export_action)
        file_menu.addAction(self.conversation_export.export_selected_action)
        file_menu.addAction(self.conversation_export.print_action)
        self.prompt_library_action = QAction("Prompt &library…", self)
        self.prompt_library_action.setStatusTip("Reusable prompts: type / in the message box")
        self.prompt_library_action.triggered.connect(self._on_prompt_library_requested)
        file_menu.addAction(self.prompt_library_action)
        file_menu.addSeparator()
        file_menu.addAction(audit)
        settings = QAction("&Settings…", self)
        settings.setShortcut(QKeySequence.StandardKey.Preferences)
        settings.triggered.connect(self.settings_requested)
        file_menu.addAction(settings)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        help_menu = self.menuBar().addMenu("&Help")
        guide = QAction("Show the &welcome guide", self)
        guide.triggered.connect(self.welcome_guide_requested)
        help_menu.addAction(guide)
        self.settings_action, self.welcome_guide_action = settings, guide
        self.window_actions = WindowActions(self, file_menu, help_menu, settings)
        # The title, File > Workspace, the status bar's switcher and Lock (Ctrl+L); what
        # replaces this window (switch, lock) the app session does.
        self.workspace_switcher = WorkspaceSwitcher(self, self.workspace, file_menu)
        self.audit_action = audit

    @Slot()
    def _on_prompt_library_requested(self) -> None:
        if self.prompt_library is None:
            self.prompt_library = PromptLibraryDialog(self.workspace.prompts, self)
            self.prompt_library.prompts_changed.connect(self.chat_tab.refresh_prompts)
        else:
            self.prompt_library.reload()
        self.prompt_library.show()
        self.prompt_library.raise_()
        self.prompt_library.activateWindow()

    @Slot(object, str)
    def _on_conversation_export_finished(self, _result: object, message: str) -> None:
        self.chat_tab.banner.show_info(message)
        if self.audit_dialog is not None and self.audit_dialog.isVisible():
            self.audit_dialog.reload()

    @Slot()
    def _on_audit_action_triggered(self) -> None:
        if self.audit_dialog is None:
            self.audit_dialog = AuditDialog(self.workspace.audit, self)
        else:
            self.audit_dialog.reload()  # answers and deletions since it was last open
        self.audit_dialog.show()
        self.audit_dialog.raise_()
        self.audit_dialog.activateWindow()

    @Slot()
    def _refresh_remote_models(self) -> None:
        """Ask the remote engines for their models again, on the worker's thread."""
        self.remote_models_worker.refresh()

    @Slot(bool)
    def _on_offline_mode_changed(self, _offline: bool) -> None:
        self._refresh_remote_models()  # offline mode blocks remotes, or allows them again

    @Slot(bool)
    def _on_appearance_spell_check_changed(self, enabled: bool) -> None:
        self.chat_tab.composer.set_spell_check(enabled)

    def start_model_import(self) -> None:
        """Open the Models tab's "Import GGUF file" flow (from the welcome guide)."""
        self.tabs.setCurrentWidget(self.models_tab)
        self.models_tab.sections.setCurrentIndex(0)
        self.models_tab.import_button.click()

    def chat_model(self) -> LocalModel | None:
        """The chat model a new conversation starts with (the Chat tab's choice), or None."""
        return self.chat_tab.model_picker.current_model()

    def open_chat_when_a_model_arrives(self, model_id: int | None) -> None:
        """Open a new conversation with `model_id` now, or with the next chat model added
        (never switching the model of a conversation already open)."""
        if model_id is not None:
            self._on_discover_chat_requested(model_id)
            return
        self._chat_when_model_arrives = {m.id for m in self.registry.list()}
        if self.tabs.currentWidget() is not self.models_tab:
            self.tabs.setCurrentWidget(self.models_tab)

    @Slot()
    def _on_models_tab_models_changed(self) -> None:
        if self._chat_when_model_arrives is None:
            return
        new = [
            m
            for m in self.registry.list()
            if m.id not in self._chat_when_model_arrives and not m.is_embedding_model
        ]
        if new:
            self._chat_when_model_arrives = None
            self._on_discover_chat_requested(new[0].id)
            self.chat_tab.composer.input.setFocus()

    @Slot()
    def _on_chat_tab_models_tab_requested(self) -> None:
        self.tabs.setCurrentWidget(self.models_tab)
        if not self.registry.list():
            self.models_tab.show_discover()  # nothing to chat with: start by getting a model

    @Slot(int, int)
    def _on_finetune_tab_chat_requested(self, model_id: int, adapter_id: int) -> None:
        self.chat_tab.start_conversation(model_id, adapter_id)
        self.tabs.setCurrentWidget(self.chat_tab)

    @Slot(int, int)
    def _on_chat_tab_evaluation_reference_requested(
        self, message_id: int, conversation_id: int
    ) -> None:
        self.tabs.setCurrentWidget(self.evaluate_tab)
        self.evaluate_tab.add_reference(message_id, conversation_id)

    @Slot()
    def _on_documents_tab_embedding_models_requested(self) -> None:
        self.tabs.setCurrentWidget(self.models_tab)
        self.models_tab.show_discover()

    @Slot()
    def _on_chat_tab_documents_tab_requested(self) -> None:
        self.tabs.setCurrentWidget(self.documents_tab)

    @Slot(int)
    def _on_discover_chat_requested(self, model_id: int) -> None:
        # A new conversation: the one open keeps the model it was written with.
        self.chat_tab.start_conversation(model_id)
        self.tabs.setCurrentWidget(self.chat_tab)
