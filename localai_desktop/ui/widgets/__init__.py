"""Small widgets and models the tabs share, with no knowledge of any one tab.

`confirm` is the one delete/remove confirmation; `named_list` a renamable list of named
things; `notices` banners and busy lines; `settings_form` shared spin boxes and the Advanced
toggle; `table_columns` named table columns with tooltips; `adapter_picker` chooses an adapter
and its strength.
"""
