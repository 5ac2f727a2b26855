"""Workspaces in the window: the switcher, passphrases, unlocking, locking when away.

`switcher` puts File > Workspace and the status bar's workspace button and Lock button on the
main window and sets its title; `dialogs` are New, Rename, Protect and Change passphrase (and the
delete confirmation), using the new-passphrase fields of ui/widgets/passphrase_form;
`unlock_dialog` asks for a protected workspace's passphrase; `idle_lock` notices that nobody
has touched the app for a while; `lock_settings` is their part of Settings; `tasks` runs the
slow key work (scrypt, encryption) off the GUI thread. Opening, closing and switching the
workspace itself is the app session's (ui/shell/session.py).
"""
