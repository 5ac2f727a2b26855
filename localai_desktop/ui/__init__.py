"""Qt user interface: main window, tabs and the workers that own models."""
