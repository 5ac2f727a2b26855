"""The Chat tab's compact control for attaching document collections to a conversation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import QSize, Qt, Signal, Slot
from PySide6.QtGui import QAction, QResizeEvent
from PySide6.QtWidgets import QMenu, QSizePolicy, QToolButton, QWidget

from localai_desktop.core.documents.records import CollectionInfo
from localai_desktop.ui.widgets.safe_text import inert_tooltip

# Room the button needs besides its text: margins and the menu arrow (Fusion draws the arrow
# inside the button's right margin; 30 px let it touch the text).
_CHROME = 40


def describe_attached(names: Sequence[str]) -> str:
    """The button's text: "Documents: none", "Documents: Guidelines", "Documents: 3 collections"."""
    if not names:
        return "Documents: none"
    if len(names) == 1:
        return f"Documents: {names[0]}"
    return f"Documents: {len(names)} collections"


class CollectionPicker(QToolButton):
    """A button with a menu of collections to tick; answers then come from the ticked ones."""

    attachment_changed = Signal()
    """The user attached or detached a collection (read them with attached_ids())."""
    documents_tab_requested = Signal()
    """The user wants to create or manage collections (the window opens the Documents tab)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Documents for this chat")
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        self._collections: list[CollectionInfo] = []
        self._attached: list[int] = []
        self._actions: dict[int, QAction] = {}
        self._label = ""
        self._rebuild()

    def set_collections(self, collections: Sequence[CollectionInfo]) -> None:
        """Offer these collections; attached ones that no longer exist are dropped from view."""
        self._collections = list(collections)
        self._rebuild()

    def set_attached(self, collection_ids: Iterable[int]) -> None:
        """Show a conversation's attached collections without announcing a change."""
        self._attached = [int(i) for i in collection_ids]
        self._rebuild()

    def attached_ids(self) -> list[int]:
        """The attached collections that exist, in the order they were attached."""
        known = {c.id for c in self._collections}
        return [i for i in self._attached if i in known]

    def attached_names(self) -> list[str]:
        names = {c.id: c.name for c in self._collections}
        return [names[i] for i in self.attached_ids()]

    def set_attached_by_user(self, collection_id: int, attached: bool) -> None:
        """Attach or detach one collection, as ticking it in the menu does."""
        if attached and collection_id not in self._attached:
            self._attached.append(collection_id)
        elif not attached and collection_id in self._attached:
            self._attached.remove(collection_id)
        # The menu's actions stay (one of them may be the caller): only their ticks change.
        action = self._actions.get(collection_id)
        if action is not None and action.isChecked() != attached:
            action.blockSignals(True)
            action.setChecked(attached)
            action.blockSignals(False)
        self._show_attached()
        self.attachment_changed.emit()

    def action_for(self, collection_id: int) -> QAction | None:
        return self._actions.get(collection_id)

    def label(self) -> str:
        """The button's whole text (the button shortens it when the window is narrow)."""
        return self._label

    # Long collection names must not keep the window from getting narrower: the button may
    # shrink to a stub, eliding its text, and asks for no more than a modest width.
    def minimumSizeHint(self) -> QSize:
        return QSize(56, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        # From the whole text, not the shortened one shown, so the button grows back.
        # +2: the text's real width is fractional, and eliding needs it to fit whole.
        width = self.fontMetrics().horizontalAdvance(self._label) + _CHROME + 2
        return QSize(min(width, 260), super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._show_label()

    def _show_label(self) -> None:
        room = max(20, self.width() - _CHROME)
        shown = self.fontMetrics().elidedText(self._label, Qt.TextElideMode.ElideRight, room)
        if shown != super().text():
            self.setText(shown)

    def _rebuild(self) -> None:
        self._menu.clear()
        self._actions.clear()
        if not self._collections:
            empty = self._menu.addAction("No collections yet")
            empty.setEnabled(False)
        for collection in self._collections:
            action = self._menu.addAction(collection.name)
            action.setCheckable(True)
            action.setChecked(collection.id in self._attached)
            action.setData(collection.id)
            action.toggled.connect(self._on_action_toggled)
            self._actions[collection.id] = action
        self._menu.addSeparator()
        manage = self._menu.addAction(
            "Manage collections…" if self._collections else "Create a collection…"
        )
        manage.triggered.connect(self.documents_tab_requested)
        self._show_attached()

    def _show_attached(self) -> None:
        names = self.attached_names()
        self._label = describe_attached(names)
        self.setText(self._label)
        self.updateGeometry()
        self._show_label()
        self.setToolTip(
            inert_tooltip("Answers use and cite passages from: " + ", ".join(names))
            if names
            else "Attach document collections: answers then quote the passages they come from"
        )

    @Slot(bool)
    def _on_action_toggled(self, checked: bool) -> None:
        action = self.sender()
        if isinstance(action, QAction):
            self.set_attached_by_user(int(action.data()), checked)
