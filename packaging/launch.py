"""PyInstaller's entry script for both executables of the bundle (see localai_desktop.launcher)."""

import sys

from localai_desktop.launcher import main

if __name__ == "__main__":
    sys.exit(main())
