"""Where the test material is: the repo's example bots, and the shared material in $FORMC_SHARED,
else the folder `shared` beside this checkout (as CI lays it out: a clean clone with ../shared next to it)."""
from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("FORMC_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
# The repo's own restaurant bot: what tests that need "a realistic bot" read.
RESTAURANT = os.path.join(ROOT, "examples", "restaurant")
# The Rasa baseline's restaurant bot (a different, smaller bot): the oracle recordings were made on
# it, so tests replaying them or asserting its replies read this one.
RASA_RESTAURANT = os.path.join(SHARED, "rasa-baseline", "bots", "restaurant")
ORACLE = os.path.join(SHARED, "rasa-baseline", "oracle", "light")
CORPUS = os.path.join(SHARED, "corpus")
