"""The frame around the tabs: the main window that assembles them, the session, settings.

`main_window` builds the tabs, gives them what they need from the Workspace and wires their
signals in one place; `session` is the open data folder and its window (switching folders,
starting over; `workspace_switching` is its part that switches, locks, protects and deletes
workspaces); `settings_dialog` is File > Settings; `self_check` runs the real window once
for a built app's smoke test; `app_icon` gives the windows their icon; `appearance` applies
and saves the theme, text size and spelling (`appearance_settings` is their part of Settings);
`window_actions` adds the everyday keys and Help items, `shortcuts_dialog` and `about_dialog`.
"""
