"""`python -m simlib ...` runs the `simlib` command line."""

import sys

from simlib.cli import main

sys.exit(main())
