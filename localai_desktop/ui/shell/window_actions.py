"""The window's everyday keys and menu items: a new chat, search, text size, shortcuts, About."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from localai_desktop.core.common.errors import LocalAIError
from localai_desktop.ui.shell.about_dialog import AboutDialog
from localai_desktop.ui.shell.shortcuts_dialog import ShortcutsDialog

if TYPE_CHECKING:
    from localai_desktop.ui.shell.main_window import MainWindow

log = logging.getLogger(__name__)


def _keys(*keys: QKeySequence.StandardKey | str) -> list[QKeySequence]:
    """The platform's bindings of standard keys, then the named ones, without repeats."""
    sequences: list[QKeySequence] = []
    for key in keys:
        found = (
            QKeySequence.keyBindings(key)
            if isinstance(key, QKeySequence.StandardKey)
            else [QKeySequence(key)]
        )
        sequences += [s for s in found if not s.isEmpty() and s not in sequences]
    return sequences


class WindowActions(QObject):
    """Adds the comfort actions to the window's File and Help menus and a View menu."""

    def __init__(
        self, window: MainWindow, file_menu: QMenu, help_menu: QMenu, settings: QAction
    ) -> None:
        super().__init__(window)
        self._window = window
        self.about_dialog: AboutDialog | None = None
        self.shortcuts_dialog: ShortcutsDialog | None = None
        # Ctrl+, as well as the platform's own Preferences key (Cmd+, on a Mac, none elsewhere).
        settings.setShortcuts(_keys(QKeySequence.StandardKey.Preferences, "Ctrl+,"))

        self.new_conversation = self._action(
            "&New conversation", self._on_new_conversation_triggered, "Ctrl+N"
        )
        self.trash = self._action("&Trash…", self._on_trash_triggered)
        first = file_menu.actions()[0] if file_menu.actions() else None
        file_menu.insertAction(first, self.new_conversation)
        file_menu.insertAction(first, self.trash)
        file_menu.insertSeparator(first)

        view_menu = QMenu("&View", window)
        window.menuBar().insertMenu(help_menu.menuAction(), view_menu)
        self.find_in_conversation = self._action(
            "&Find in this conversation", self._on_find_in_conversation_triggered, "Ctrl+F"
        )
        self.search_conversations = self._action(
            "Search &all conversations", self._on_search_conversations_triggered, "Ctrl+K"
        )
        view_menu.addAction(self.find_in_conversation)
        view_menu.addAction(self.search_conversations)
        view_menu.addSeparator()
        # Ctrl+= too: on most keyboards "+" needs Shift, and people press Ctrl and the key.
        self.bigger_text = self._action(
            "&Bigger text", self._on_bigger_text_triggered, "Ctrl++", "Ctrl+="
        )
        self.smaller_text = self._action("&Smaller text", self._on_smaller_text_triggered, "Ctrl+-")
        self.normal_text = self._action(
            "&Normal text size", self._on_normal_text_triggered, "Ctrl+0"
        )
        for action in (self.bigger_text, self.smaller_text, self.normal_text):
            view_menu.addAction(action)

        self.shortcuts = self._action("&Keyboard shortcuts", self._on_shortcuts_triggered, "F1")
        self.about = self._action("&About LocalAI Desktop", self._on_about_triggered)
        first_help = help_menu.actions()[0] if help_menu.actions() else None
        help_menu.insertAction(first_help, self.shortcuts)
        help_menu.addSeparator()
        help_menu.addAction(self.about)
        self.about.setMenuRole(QAction.MenuRole.AboutRole)

    def _action(self, text: str, slot: object, *keys: QKeySequence.StandardKey | str) -> QAction:
        action = QAction(text, self._window)
        action.setShortcuts(_keys(*keys))
        # Window-wide, also while a dialog of the window or a text box has the focus.
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        return action

    def _change_text_size(self, steps: int | None) -> None:
        appearance = self._window.appearance
        try:
            if steps is None:
                appearance.set_text_size(0)
            else:
                appearance.change_text_size(steps)
        except LocalAIError as error:
            log.warning("The text size could not be remembered: %s", error.message)

    # -- slots ----------------------------------------------------------------------------

    @Slot()
    def _on_new_conversation_triggered(self) -> None:
        chat = self._window.chat_tab
        self._window.tabs.setCurrentWidget(chat)
        chat.conversations.new_button.click()  # as if the person pressed "New chat"
        chat.composer.input.setFocus()

    @Slot()
    def _on_trash_triggered(self) -> None:
        self._window.tabs.setCurrentWidget(self._window.chat_tab)
        self._window.chat_tab.open_trash()

    @Slot()
    def _on_find_in_conversation_triggered(self) -> None:
        self._window.tabs.setCurrentWidget(self._window.chat_tab)
        self._window.chat_tab.start_search(this_conversation=True)

    @Slot()
    def _on_search_conversations_triggered(self) -> None:
        self._window.tabs.setCurrentWidget(self._window.chat_tab)
        self._window.chat_tab.start_search(this_conversation=False)

    @Slot()
    def _on_bigger_text_triggered(self) -> None:
        self._change_text_size(+1)

    @Slot()
    def _on_smaller_text_triggered(self) -> None:
        self._change_text_size(-1)

    @Slot()
    def _on_normal_text_triggered(self) -> None:
        self._change_text_size(None)

    @Slot()
    def _on_shortcuts_triggered(self) -> None:
        if self.shortcuts_dialog is None:
            # Made when opened (and gone when closed): it lists the actions as they are now.
            dialog = ShortcutsDialog(self._window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(self._on_shortcuts_dialog_destroyed)
            self.shortcuts_dialog = dialog
        self.shortcuts_dialog.show()
        self.shortcuts_dialog.raise_()

    @Slot()
    def _on_about_triggered(self) -> None:
        if self.about_dialog is None:
            dialog = AboutDialog(self._window.workspace.paths.root, self._window)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.destroyed.connect(self._on_about_dialog_destroyed)
            self.about_dialog = dialog
        self.about_dialog.show()
        self.about_dialog.raise_()

    @Slot()
    def _on_shortcuts_dialog_destroyed(self) -> None:
        self.shortcuts_dialog = None

    @Slot()
    def _on_about_dialog_destroyed(self) -> None:
        self.about_dialog = None
