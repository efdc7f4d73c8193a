"""Where the shared material is: $FORMC_SHARED, else the folder `shared` beside this checkout
(as CI lays it out: a clean clone with ../shared next to it)."""
from __future__ import annotations

import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("FORMC_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
RESTAURANT = os.path.join(SHARED, "rasa-baseline", "bots", "restaurant")
ORACLE = os.path.join(SHARED, "rasa-baseline", "oracle", "light")
CORPUS = os.path.join(SHARED, "corpus")
