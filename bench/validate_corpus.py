"""Prints `formc validate` wall time per bot (corpus + examples): is it fast enough for a
pre-commit hook? Each bot is validated in a fresh process, as a hook would run it.

    .venv/bin/python bench/validate_corpus.py [BOT_DIR ...]
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.environ.get("FORMC_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
CORPUS = os.path.join(CORPUS, "corpus")


def main(argv: list[str]) -> int:
    bots = argv or sorted(glob.glob(os.path.join(CORPUS, "*", ""))) + sorted(
        glob.glob(os.path.join(ROOT, "examples", "*", "")))
    print(f"{'bot':<28} {'process ms':>10} {'in-process ms':>13}  result")
    for bot in bots:
        started = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "formc", "validate", bot], cwd=ROOT,
                              capture_output=True, text=True)
        wall = (time.perf_counter() - started) * 1000
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-200:]
        inner = last.rsplit(" in ", 1)[-1].replace(" ms", "") if " in " in last else "?"
        verdict = last.split(": ", 2)[-1].rsplit(" in ", 1)[0]
        name = os.path.basename(bot.rstrip("/"))
        print(f"{name:<28} {wall:>10.0f} {inner:>13}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
