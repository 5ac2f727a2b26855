"""The Chat tab's three panes: conversations, the conversation itself, and its settings."""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from localai_desktop.ui.chat.context_meter import ContextMeter
from localai_desktop.ui.chat.conversation_list import ConversationList
from localai_desktop.ui.chat.edit_notice import EditNotice
from localai_desktop.ui.chat.message_input import Composer
from localai_desktop.ui.chat.model_picker import ModelPicker, NoModelsNotice
from localai_desktop.ui.chat.organise_bar import OrganiseBar
from localai_desktop.ui.chat.prompt_format_picker import PromptFormatPicker
from localai_desktop.ui.chat.search_panel import SearchPanel
from localai_desktop.ui.chat.settings_panel import ChatSettingsPanel
from localai_desktop.ui.chat.transcript import Transcript
from localai_desktop.ui.chat.trash import UndoNotice
from localai_desktop.ui.widgets.adapter_picker import AdapterPicker
from localai_desktop.ui.widgets.notices import Banner, StatusLine


class ChatPanes(QSplitter):
    """Builds and arranges the Chat tab's widgets; the tab wires them and holds the logic.

    Left: the conversation list. Middle: model (and collection) pickers with the status line,
    the adapter picker, notices, the transcript and the message box. Right: the settings,
    scrollable.
    """

    def __init__(self, collection_picker: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.conversations = ConversationList()
        self.search = SearchPanel()
        self.organise = OrganiseBar()
        self.model_picker = ModelPicker()
        self.status = StatusLine()
        # A long status line is cut short rather than keep the window from getting narrower.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.adapter_picker = AdapterPicker()
        self.no_models = NoModelsNotice()
        self.banner = Banner()
        self.undo_notice = UndoNotice()
        self.transcript = Transcript()
        self.composer = Composer()
        self.edit_notice = EditNotice()
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setToolTip(
            "Save this conversation as Word, PDF, Markdown or HTML, or print it"
        )
        self.export_button.setAccessibleName("Export or print the conversation")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.context_meter = ContextMeter()
        self.settings_panel = ChatSettingsPanel()
        self.prompt_format = PromptFormatPicker()
        self.settings_panel.add_model_setting("Prompt format", self.prompt_format)

        header = QHBoxLayout()
        header.addWidget(self.model_picker)
        header.addWidget(collection_picker)
        header.addStretch(1)
        header.addWidget(self.export_button)
        middle = QWidget()
        column = QVBoxLayout(middle)
        column.setContentsMargins(6, 0, 6, 0)
        column.addLayout(header)
        column.addWidget(self.model_picker.note)  # where a chosen remote model sends text
        column.addWidget(self.model_picker.check_result)  # what ↻ found, for a while
        # On a line of its own: beside the pickers a narrow window left it no room at all.
        column.addWidget(self.status)
        column.addWidget(self.adapter_picker)
        column.addWidget(self.no_models)
        column.addWidget(self.banner)
        column.addWidget(self.undo_notice)
        column.addWidget(self.transcript, 1)
        column.addWidget(self.edit_notice)
        column.addWidget(self.composer)
        column.addWidget(self.context_meter)

        side = QScrollArea()
        side.setAccessibleName("Chat settings")
        side.setWidgetResizable(True)
        side.setFrameShape(QFrame.Shape.NoFrame)
        side.setWidget(self.settings_panel)

        left = QWidget()
        left_column = QVBoxLayout(left)
        left_column.setContentsMargins(0, 0, 0, 0)
        left_column.addWidget(self.search)
        left_column.addWidget(self.organise)
        left_column.addWidget(self.conversations, 1)
        # While there is a query, its results take the list's place.
        self.search.searching_changed.connect(self._on_search_searching_changed)

        self.addWidget(left)
        self.addWidget(middle)
        self.addWidget(side)
        self.setStretchFactor(1, 1)
        self.setSizes([220, 640, 260])
        self.setChildrenCollapsible(False)

    @Slot(bool)
    def _on_search_searching_changed(self, searching: bool) -> None:
        self.conversations.setVisible(not searching)
        self.organise.setVisible(not searching)
