"""The Chat tab: conversations, the transcript, the message box and a conversation's settings.

`tab` assembles the tab from `panes` (`conversation_list`, `transcript` of `message_view`s with
`source_cards`, `message_input`, `settings_panel`, `model_picker`); `requests` is its link to the
ChatWorker (numbered requests, late answers dropped); `conversation_writer` saves in order off
the GUI thread; `documents`, `collection_picker` and `passage_viewer` are chat with documents.
"""
