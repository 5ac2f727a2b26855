"""The user's data folder: where it is, what is in it, and taking it whole.

`paths` resolves the folder and names every file and folder in it, once; `config` is the
per-user pointer to the data folder outside it; `settings` holds app-wide settings such as
offline mode; `backup` exports conversations and settings to one file and merges it back
(`backup_reader` reads such a file in bounded memory);
`data_reset` deletes everything with a plain account of what went; `workspace` opens one data
folder and owns its services for the CLI and the GUI alike; `desktop_app_lock` says whether the
desktop app has the folder open.
"""
