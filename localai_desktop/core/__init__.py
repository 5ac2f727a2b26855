"""Qt-free core: engine, model registry, storage and chat service, shared by the CLI and the GUI."""
