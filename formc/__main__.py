"""`python -m formc` = the formc command."""

import sys

from .cli import main

sys.exit(main())
