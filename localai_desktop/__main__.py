"""`python -m localai_desktop` starts the desktop app."""

import sys

from localai_desktop.ui.app import main

sys.exit(main())
