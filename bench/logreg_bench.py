#!/usr/bin/env python
"""Intent-classifier training time: per bot, the NLU compile and the L-BFGS-B fit inside it.

Prints wall and CPU seconds of compile_nlu, the part spent in logreg.fit (scipy's L-BFGS-B),
iterations, features x classes. Default bots: /work/shared/corpus/rasa-demo and examples/restaurant.

    python bench/logreg_bench.py [BOT_DIR ...]
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from formc.nlu import logreg  # noqa: E402
from formc.nlu.compile import compile_nlu  # noqa: E402
from formc.reader import read_project  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), ".."))
DEFAULT_BOTS = [os.path.join(ROOT, "..", "shared", "corpus", "rasa-demo"),
                os.path.join(ROOT, "examples", "restaurant")]


def measure(bot: str) -> str:
    project, _ = read_project(bot)
    if project is None:
        return f"{bot}: does not read"
    fit_seconds = []
    real_fit = logreg.fit

    def timed_fit(*args, **kwargs):
        start = time.perf_counter()
        try:
            return real_fit(*args, **kwargs)
        finally:
            fit_seconds.append(time.perf_counter() - start)

    logreg.fit = timed_fit
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        model, _ = compile_nlu(project.nlu, project.config.nlu, project.domain)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        logreg.fit = real_fit
    scorer = model.get("scorer") or {}
    return (f"{os.path.basename(os.path.normpath(bot)):16} compile_nlu {wall:6.2f} s wall "
            f"{cpu:6.2f} s cpu | fit {sum(fit_seconds):6.2f} s | {scorer.get('kind')} "
            f"iterations {scorer.get('iterations')} features {scorer.get('n_features')} "
            f"classes {len(scorer.get('classes') or [])}")


def main() -> None:
    for bot in sys.argv[1:] or DEFAULT_BOTS:
        print(measure(bot), flush=True)


if __name__ == "__main__":
    main()
