"""The local server in the desktop app: its switch, its Settings page and its status line.

- ``control``: `ServerControl`, the switch and state on the GUI thread; it starts and stops the
  server through `ApiServerWorker` and runs requests through `WorkerModelOwner` (ui/workers),
  so API requests share the Chat tab's model and the Documents tab's embedding models.
- ``settings_page``: `ServerSettings`, Settings > "Let other programs on this computer use
  your models": on/off, port, the local network (with its warning), the access token, the base
  URL, and whether API chats are kept as conversations.
- ``status_line``: `ServerStatusLine`, the status bar's line: on, where, requests in flight.
"""
