"""`python -m recdash` runs the command line."""

import sys

from recdash.cli import main

sys.exit(main())
