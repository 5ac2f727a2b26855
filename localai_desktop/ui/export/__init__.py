"""Export and Print for the conversation on screen (Ctrl+E, Ctrl+P).

- ``actions``: ``ConversationExport``: the two actions (the File menu and the Chat tab's
  Export button share them), the file dialog, the export worker's requests and answers, and
  printing the HTML export with Qt's printer. The files come from core/export, the same code
  as `localai chats export`.
"""
