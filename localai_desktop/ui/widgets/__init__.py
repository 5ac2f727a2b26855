"""Small widgets and models the tabs share, with no knowledge of any one tab.

`confirm` is the one delete/remove confirmation; `named_list` a renamable list of named
things; `notices` banners and busy lines; `settings_form` shared spin boxes and the Advanced
toggle; `table_columns` named table columns with tooltips; `adapter_picker` chooses an adapter
and its strength; `list_actions` a list's right-click menu and Delete key, from its buttons;
`theme` the light and dark palettes and every hand-set colour; `text_size` the app's text size;
`spelling` underlines misspelt words where a dictionary is available.
"""
