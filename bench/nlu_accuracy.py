"""Corpus bots' NLU data -> 5-fold cross-validation accuracy table, Rasa's published figures beside.

Usage: .venv/bin/python bench/nlu_accuracy.py [--folds 5] [--scorer logreg|tfidf] [BOT ...]
Reads /work/shared/corpus/* and the restaurant baseline in place.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from nlu_support import CORPUS, LIGHT, RESTAURANT, read_bot_nlu, read_domain_names  # noqa: E402

from formc.nlu.evaluate import cross_validate  # noqa: E402

RASA = {"formbot": 0.90, "financial-demo": 0.86, "helpdesk-assistant": 0.87, "carbon-bot": 0.71,
        "rasa-demo": 0.80, "rasa-ch-faq": 0.81}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--scorer", default=None)
    ap.add_argument("bots", nargs="*")
    args = ap.parse_args()
    bots = args.bots or sorted(b for b in os.listdir(CORPUS)
                               if os.path.isdir(os.path.join(CORPUS, b))) + ["restaurant"]
    config = dataclasses.replace(LIGHT, intent_scorer=args.scorer)
    print(f"{'bot':26} {'examples':>8} {'intents':>7} {'formc':>6} {'macroF1':>7} {'rasa':>5} "
          f"{'time s':>7}")
    for bot in bots:
        root = RESTAURANT if bot == "restaurant" else os.path.join(CORPUS, bot)
        data, _ = read_bot_nlu(root)
        if len({e.intent for e in data.examples}) < 2:
            print(f"{bot:26} {'(fewer than two intents with examples)':>40}")
            continue
        lang = "zh" if bot == "rasa-ch-faq" else "en"
        t0 = time.perf_counter()
        rep = cross_validate(data, dataclasses.replace(config, language=lang),
                             read_domain_names(root), folds=args.folds, seed=0)
        dt = time.perf_counter() - t0
        rasa = RASA.get(bot)
        intents = len({e.intent.split('/')[0] for e in data.examples})
        print(f"{bot:26} {rep['examples']:8d} {intents:7d} {rep['accuracy']:6.3f} "
              f"{rep['macro_f1']:7.3f} {('%.2f' % rasa) if rasa else '-':>5} {dt:7.1f}", flush=True)


if __name__ == "__main__":
    main()
