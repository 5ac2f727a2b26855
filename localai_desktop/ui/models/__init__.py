"""The Models tab: the models on this computer, and Discover (catalog, Hub, downloads).

`tab` assembles `model_table` and `model_import` (the local models) with `discover_panel`
(`discover_tables`, `repo_details`, `download_list`), which asks the HubWorker.
"""
