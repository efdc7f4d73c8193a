"""Issue 16's figure: how big `formc graph` draws each corpus bot that builds (PNG pixels at
Graphviz's default 96 dpi): before (the overview with one box per rule and one node per story),
after (the default overview: round-trip rules and many stories as tables) and --stories (every
step). The overview tables apply to big bots only (more than 30 story states); for the others
the three drawings are the same.

  .venv/bin/python bench/graph_overview.py [BOT_DIR ...]     (needs Graphviz `dot`)
"""

from __future__ import annotations

import glob
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from formc.api import _build_untrained  # noqa: E402 - after the path tweak
from formc.reader import read_project  # noqa: E402
from formc.views.dot import OVERVIEW_STORY_STATES, graph_dot, to_dot  # noqa: E402
from formc.views.graph import build_view, collapse_stories  # noqa: E402

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "corpus")


def png_size(dot_text: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    png = subprocess.run(["dot", "-Tpng"], input=dot_text.encode(), capture_output=True,
                         timeout=600, check=True).stdout
    width, height = struct.unpack(">II", png[16:24])
    return width, height, time.perf_counter() - started


def nodes(dot_text: str) -> int:
    return sum(1 for line in dot_text.splitlines()
               if line.lstrip().startswith('"') and "->" not in line)


def before(machine) -> str:
    """The default drawing before the overview tables: stories collapsed, every rule a box."""
    view = build_view(machine)
    if sum(1 for s in view.states if s.kind == "story") > OVERVIEW_STORY_STATES:
        view = collapse_stories(view)
    return to_dot(view)


def measure(bot: str) -> None:
    name = os.path.basename(os.path.abspath(bot))
    project, diagnostics = read_project(bot)
    machine = _build_untrained(project)[0] if project is not None else None
    if machine is None:
        print(f"{name}: does not build, skipped")
        return
    stories = sum(1 for s in machine.dialogue.states if s.kind == "story")
    print(f"{name}: {len(machine.dialogue.states)} states ({stories} story states), "
          f"{len(machine.dialogue.transitions)} transitions")
    for label, text in (("before", before(machine)), ("after (default)", graph_dot(machine)),
                        ("--stories", graph_dot(machine, stories=True))):
        width, height, seconds = png_size(text)
        print(f"  {label:<16} {nodes(text):>4} nodes  PNG {width:>6,} x {height:>6,} px  "
              f"long side {max(width, height):>6,}  (dot {seconds:.1f} s)")


def main() -> None:
    bots = sys.argv[1:] or sorted(d for d in glob.glob(os.path.join(CORPUS, "*"))
                                  if os.path.isdir(d))
    for bot in bots:
        measure(bot)


if __name__ == "__main__":
    main()
