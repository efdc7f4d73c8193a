"""Issue 16's figure: how big `formc graph` draws a big bot (rasa-demo), story states collapsed
(the default above 30 story states) and expanded (--stories).

  .venv/bin/python bench/graph_overview.py [BOT_DIR]     (needs Graphviz `dot`)
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from formc.api import _build_untrained  # noqa: E402 - after the path tweak
from formc.reader import read_project  # noqa: E402
from formc.views.dot import graph_dot  # noqa: E402

DEFAULT = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "corpus", "rasa-demo")


def png_size(dot_text: str) -> tuple[int, int, float]:
    started = time.perf_counter()
    png = subprocess.run(["dot", "-Tpng"], input=dot_text.encode(), capture_output=True,
                         timeout=600, check=True).stdout
    width, height = struct.unpack(">II", png[16:24])
    return width, height, time.perf_counter() - started


def main() -> None:
    bot = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    project, _ = read_project(bot)
    machine, _ = _build_untrained(project)
    stories = sum(1 for s in machine.dialogue.states if s.kind == "story")
    print(f"{os.path.basename(os.path.abspath(bot))}: {len(machine.dialogue.states)} states "
          f"({stories} story states), {len(machine.dialogue.transitions)} transitions")
    for label, expand in (("overview (default)", False), ("--stories", True)):
        text = graph_dot(machine, stories=expand)
        nodes = sum(1 for line in text.splitlines() if line.lstrip().startswith('"') and "->" not in line)
        width, height, seconds = png_size(text)
        print(f"  {label:<20} {nodes:>4} nodes  PNG {width:,} x {height:,} px  (dot {seconds:.1f} s)")


if __name__ == "__main__":
    main()
