"""Qt user interface: the shell that assembles the tabs, one package per tab, workers, widgets.

`shell` (main window, session, settings) may use everything below it; the features `welcome`,
`chat`, `documents`, `models` and `finetune` never import each other; all of them may use
`workers` (the QObjects that own models, each on its own QThread) and `widgets` (small shared
widgets). `app` is the `localai-desktop` entry point. The UI holds no business logic: it calls
`localai_desktop.core` and shows what comes back.
"""
