"""Remote engines on screen: `panel` lists them (a section of the Models tab, put there by the
main window) with where each sends text; `add_dialog` adds one (name, URL, key, offline, CA)."""
