"""Choosing the chat model: a picker of chat models (this computer's, then the remote engines'
models, each badged with where it runs) and a notice for when there is none."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)

from localai_desktop.core.common.units import format_bytes, format_parameter_count
from localai_desktop.core.models.registry import LocalModel
from localai_desktop.ui.widgets.elided_combo import ElidedComboBox
from localai_desktop.ui.widgets.safe_text import inert_tooltip
from localai_desktop.ui.workers.remotes import RemoteListing


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


_PICKER_TIP = "The model that writes the answers"
_REFRESH_TIP = "Ask the remote engines for their models again"
_CHECKING = "checking…"
# How long the outcome of a check asked for with ↻ stays beside the button.
CHECK_RESULT_SHOWN_MS = 10_000


def _found(listing: RemoteListing) -> str:
    if listing.blocked:
        return "blocked in offline mode"
    if not listing.available:
        return listing.problem or "unavailable"
    count = len(listing.models)
    return f"{count} model" if count == 1 else f"{count} models"


def check_result(listings: Sequence[RemoteListing]) -> tuple[str, str]:
    """What a check of the remote engines found: a few words to show under the pickers, and
    the details (each engine: its models, or why it cannot be used) for their tooltip."""
    usable = [listing for listing in listings if listing.available]
    if not listings:
        return "no remote engines", "There are no remote engines any more."
    short = (
        f"all {len(listings)} answered"
        if len(usable) == len(listings)
        else f"{len(usable)} of {len(listings)} answered"
    )
    if len(listings) == 1:
        only = listings[0]
        short = (
            "it answered"
            if usable
            else "blocked in offline mode"
            if only.blocked
            else "it did not answer"
        )
    lines = [f"{listing.name} ({listing.host}): {_found(listing)}" for listing in listings]
    return short, "\n".join(lines)


def describe_model(model: LocalModel) -> str:
    """A model in one tooltip: kind, size and what to know before choosing it."""
    parts = [
        model.architecture,
        f"{format_parameter_count(model.parameter_count)} parameters",
        model.quantization,
        format_bytes(model.file_size),
    ]
    text = f"{model.name}: {', '.join(p for p in parts if p)}"
    if not model.has_chat_template and not model.is_embedding_model:
        text += (
            "\nThis model has no chat template of its own. Prompt format: "
            + model.prompt_format.describe()
        )
    elif model.chat_template_notice:
        notice = model.chat_template_notice
        text += f"\n{notice[0].upper()}{notice[1:]}."
    if not model.file_exists:
        text += f"\nIts file is missing: {model.path}"
    return text


class ModelPicker(QWidget):
    """A labelled list of the chat models (embedding models cannot chat and are left out),
    then the remote engines' models, each saying where it runs; `note` (placed by the tab)
    says it again while a remote model is chosen."""

    model_chosen = Signal(int)
    """The user picked a model of this computer from the list: (model_id)."""
    remote_chosen = Signal(str)
    """The user picked a remote engine's model: (its reference, NAME/MODEL_ID)."""
    remotes_refresh_requested = Signal()
    """The user wants the remote engines asked for their models again."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # A long name is shortened with "…" in the box; its tooltip and the list show it whole.
        self.combo = ElidedComboBox()
        self.combo.setAccessibleName("Model")
        self.combo.view().setAccessibleName("Chat models")
        self.combo.setToolTip(_PICKER_TIP)
        self.combo.setMinimumContentsLength(12)
        # A long model name must not widen the window: the list shows it whole.
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.activated.connect(self._on_combo_activated)
        self.combo.currentIndexChanged.connect(self._on_combo_current_index_changed)
        label = QLabel("Model")
        label.setBuddy(self.combo)
        self.refresh_button = QToolButton()
        self.refresh_button.setText("↻")
        self.refresh_button.setAccessibleName("Check the remote engines again")
        self.refresh_button.setToolTip(_REFRESH_TIP)
        self.refresh_button.clicked.connect(self._on_refresh_button_clicked)
        self.refresh_button.hide()  # only once there are remote engines
        # The outcome of a check asked for with ↻, for a while; under the pickers, like `note`
        # (beside them a narrow window has no room for it).
        self.check_result = QLabel(self)
        self.check_result.setObjectName("remoteCheckResult")
        self.check_result.setTextFormat(Qt.TextFormat.PlainText)
        self.check_result.setWordWrap(True)
        self.check_result.hide()
        self._hide_result = QTimer(self)
        self._hide_result.setSingleShot(True)
        self._hide_result.setInterval(CHECK_RESULT_SHOWN_MS)
        self._hide_result.timeout.connect(self.check_result.hide)
        self._checking = False
        self.note = QLabel(self)  # shown under the pickers: the tab's panes place it
        self.note.setObjectName("remoteModelNote")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.setWordWrap(True)
        self.note.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        layout.addWidget(self.refresh_button)
        self._models: dict[int, LocalModel] = {}
        self._local: list[LocalModel] = []
        self._remotes: tuple[RemoteListing, ...] = ()
        self._remote_of: dict[str, RemoteListing] = {}

    def set_models(self, models: Sequence[LocalModel]) -> None:
        """List these models, keeping the current choice when it is still there."""
        self._local = list(models)
        self._fill()

    def local_models(self) -> list[LocalModel]:
        """This computer's models as last listed (embedding models included)."""
        return list(self._local)

    @Slot(object)
    def set_remote_models(self, listings: Sequence[RemoteListing]) -> None:
        """List the remote engines' models after this computer's (an engine that could not
        be reached, or that offline mode blocks, is listed as such and cannot be chosen)."""
        self._remotes = tuple(listings)
        self._fill()
        if self._checking:
            self._end_check(*check_result(self._remotes))

    @Slot(str)
    def remote_listing_failed(self, message: str) -> None:
        """The remote engines could not be listed at all (not one remote's fault)."""
        if self._checking:
            self._end_check("check failed", message)

    def is_checking(self) -> bool:
        """Whether a check asked for with ↻ is still waiting for its answer."""
        return self._checking

    @Slot()
    def _on_refresh_button_clicked(self) -> None:
        # Busy until the answer: each remote may take its few seconds' timeout to answer.
        self._checking = True
        self._hide_result.stop()
        self.check_result.hide()
        self.refresh_button.setEnabled(False)
        self.refresh_button.setText(_CHECKING)
        self.refresh_button.setToolTip("Asking the remote engines for their models…")
        self.remotes_refresh_requested.emit()

    def _end_check(self, result: str, details: str) -> None:
        self._checking = False
        self.refresh_button.setEnabled(True)
        self.refresh_button.setText("↻")
        self.refresh_button.setToolTip(_REFRESH_TIP)
        self.check_result.setText(f"Remote engines checked: {result}.")
        self.check_result.setToolTip(inert_tooltip(details))
        self.check_result.setVisible(self.refresh_button.isVisibleTo(self))
        self._hide_result.start()

    def _fill(self) -> None:
        current = self.combo.currentData()
        was_blocked = self.combo.blockSignals(True)
        self.combo.clear()
        models = self._local
        self._models = {m.id: m for m in models if not m.is_embedding_model}
        for model in models:
            if model.is_embedding_model:
                continue
            label = model.name if model.file_exists else f"{model.name} (file missing)"
            if model.file_exists and not model.has_chat_template:
                label += " · no chat template"
            self.combo.addItem(label, model.id)
            self.combo.setItemData(
                self.combo.count() - 1,
                inert_tooltip(describe_model(model)),
                Qt.ItemDataRole.ToolTipRole,
            )
        self._add_remotes()
        self.combo.blockSignals(was_blocked)
        self.select(current)
        self.combo.setEnabled(self.combo.count() > 0)
        self.refresh_button.setVisible(bool(self._remotes))
        self._show_current()  # the index may not have changed (filled with signals blocked)

    def _add_remotes(self) -> None:
        self._remote_of = {}
        if self._remotes and self.combo.count():
            self.combo.insertSeparator(self.combo.count())
        for listing in self._remotes:
            where = _capitalised(listing.where)
            if not listing.available:
                state = "blocked in offline mode" if listing.blocked else "unavailable"
                self._add_item(f"{listing.name} ({listing.host}): {state}", None, listing.problem)
                item = self._item_model().item(self.combo.count() - 1)
                if item is not None:
                    item.setEnabled(False)
                continue
            for model_id in listing.models:
                reference = listing.reference(model_id)
                self._remote_of[reference] = listing
                tip = f"{reference}: a model of the remote engine “{listing.name}”.\n{where}."
                self._add_item(f"{model_id} · runs on {listing.host}", reference, tip)

    def _add_item(self, label: str, data: object, tip: str | None) -> None:
        self.combo.addItem(label, data)
        if tip:
            self.combo.setItemData(
                self.combo.count() - 1, inert_tooltip(tip), Qt.ItemDataRole.ToolTipRole
            )

    def _item_model(self) -> QStandardItemModel:
        model = self.combo.model()
        assert isinstance(model, QStandardItemModel)
        return model

    def select(self, model_id: int | str | None) -> None:
        """Choose a model (an id, or a remote's NAME/MODEL_ID) without announcing it; the
        first one when it is not listed."""
        index = self.combo.findData(model_id) if model_id is not None else -1
        if index < 0:
            # The first that can be chosen (not a separator, nor a remote that is unavailable).
            choosable = (i for i in range(self.combo.count()) if self.combo.itemData(i) is not None)
            index = next(choosable, 0)
        self.combo.setCurrentIndex(index)
        self._show_note()

    def has(self, model_id: int | str) -> bool:
        return self.combo.findData(model_id) >= 0

    def current_id(self) -> int | None:
        """The chosen model of this computer (None while a remote model is chosen)."""
        data = self.combo.currentData()
        return data if isinstance(data, int) else None

    def current_remote(self) -> str | None:
        """The chosen remote model as NAME/MODEL_ID (None while a local model is chosen)."""
        data = self.combo.currentData()
        return data if isinstance(data, str) else None

    def remote_listing(self, reference: str) -> RemoteListing | None:
        """The remote engine of a listed remote model."""
        return self._remote_of.get(reference)

    def remote_listings(self) -> tuple[RemoteListing, ...]:
        return self._remotes

    def current_model(self) -> LocalModel | None:
        """The chosen model as last listed (without asking the database again)."""
        model_id = self.current_id()
        return self._models.get(model_id) if model_id is not None else None

    def model(self, model_id: int) -> LocalModel | None:
        """A listed model by id (as last listed)."""
        return self._models.get(model_id)

    def count(self) -> int:
        return self.combo.count()

    def _show_note(self) -> None:
        reference = self.current_remote()
        listing = self._remote_of.get(reference) if reference is not None else None
        if listing is not None:
            self.note.setText(f"“{reference}” {listing.where}.")
        self.note.setVisible(listing is not None)

    def _show_current(self) -> None:
        """The closed box may shorten the name: its tooltip has it whole; a remote's note."""
        index = self.combo.currentIndex()
        text = self.combo.itemText(index) if index >= 0 else ""
        self.combo.setToolTip(inert_tooltip(f"{_PICKER_TIP}: {text}") if text else _PICKER_TIP)
        self._show_note()

    @Slot(int)
    def _on_combo_current_index_changed(self, _index: int) -> None:
        self._show_current()

    @Slot(int)
    def _on_combo_activated(self, _index: int) -> None:
        model_id = self.current_id()
        if model_id is not None:
            self.model_chosen.emit(model_id)
        reference = self.current_remote()
        if reference is not None:
            self.remote_chosen.emit(reference)


class NoModelsNotice(QFrame):
    """Tells a person with no chat model where to get one, with a button to go there."""

    models_tab_requested = Signal()
    """The user wants to open the Models tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("noModels")
        self.setStyleSheet(
            "QFrame#noModels { border: 1px dashed palette(mid); border-radius: 6px; }"
        )
        self._text = QLabel()
        self._text.setTextFormat(Qt.TextFormat.PlainText)
        self._text.setWordWrap(True)
        go_to_models = QPushButton("Open the Models tab")
        go_to_models.setAccessibleName("Open the Models tab")
        go_to_models.clicked.connect(self._on_go_to_models_button_clicked)
        layout = QHBoxLayout(self)
        layout.addWidget(self._text, 1)
        layout.addWidget(go_to_models)

    def update_for(self, models: Sequence[LocalModel], *, remote_models: bool = False) -> None:
        """Show the notice when none of these models can chat (and no remote engine offers
        one); hide it otherwise."""
        chat_models = [m for m in models if not m.is_embedding_model]
        if models and not chat_models:
            self._text.setText(
                "Your models are embedding models, which cannot chat. Import a chat model "
                "(a GGUF file) in the Models tab."
            )
        else:
            self._text.setText(
                "You have no model yet. Import a model file (GGUF) in the Models tab to start "
                "chatting. Everything stays on this computer."
            )
        self.setVisible(not chat_models and not remote_models)

    def text(self) -> str:
        return self._text.text()

    @Slot()
    def _on_go_to_models_button_clicked(self) -> None:
        self.models_tab_requested.emit()
