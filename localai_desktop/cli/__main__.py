"""`python -m localai_desktop.cli` runs the command line."""

import sys

from localai_desktop.cli import main

sys.exit(main())
