"""Corpus bots' NLU data -> 5-fold cross-validation accuracy table, Rasa's published figures beside.

Usage: .venv/bin/python bench/nlu_accuracy.py [--folds 5] [--scorer logreg|tfidf] [--seeds 0,1,2]
       [BOT ...]
Reads /work/shared/corpus/* and the restaurant baseline in place. Every bot is scored with the
light pipeline stand-in (LIGHT) in its own language and CJK tokenization (config.yml). With
several fold seeds the table shows each seed's accuracy and their mean.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from support.nlu_support import (CORPUS, LIGHT, RASA_RESTAURANT as RESTAURANT, read_bot_config, read_bot_nlu,  # noqa: E402
                         read_domain_names)

from formc.nlu.evaluate import cross_validate  # noqa: E402
from formc.nlu.tokenize import cjk_mode  # noqa: E402

RASA = {"formbot": 0.90, "financial-demo": 0.86, "helpdesk-assistant": 0.87, "carbon-bot": 0.71,
        "rasa-demo": 0.80, "rasa-ch-faq": 0.81}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--scorer", default=None)
    ap.add_argument("--seeds", default="0", help="comma-separated fold seeds")
    ap.add_argument("bots", nargs="*")
    args = ap.parse_args()
    bots = args.bots or sorted(b for b in os.listdir(CORPUS)
                               if os.path.isdir(os.path.join(CORPUS, b))) + ["restaurant"]
    seeds = [int(s) for s in args.seeds.split(",")]
    config = dataclasses.replace(LIGHT, intent_scorer=args.scorer)
    per_seed = f" {'per seed':>{6 * len(seeds) + len(seeds) - 1}}" if len(seeds) > 1 else ""
    print(f"{'bot':26} {'examples':>8} {'intents':>7} {'cjk':>4} {'formc':>6} {'macroF1':>7} "
          f"{'rasa':>5} {'time s':>7}{per_seed}")
    for bot in bots:
        root = RESTAURANT if bot == "restaurant" else os.path.join(CORPUS, bot)
        data, _ = read_bot_nlu(root)
        if len({e.intent for e in data.examples}) < 2:
            print(f"{bot:26} {'(fewer than two intents with examples)':>40}")
            continue
        own = read_bot_config(root)
        # only the language and tokenization are the bot's: the rest is the light stand-in
        cfg = dataclasses.replace(config, language=own.language, cjk_tokens=own.cjk_tokens)
        domain = read_domain_names(root)
        t0 = time.perf_counter()
        reps = [cross_validate(data, cfg, domain, folds=args.folds, seed=s) for s in seeds]
        dt = time.perf_counter() - t0
        accuracy = sum(r["accuracy"] for r in reps) / len(reps)
        macro_f1 = sum(r["macro_f1"] for r in reps) / len(reps)
        cjk = cfg.cjk_tokens or cjk_mode(cfg.language, cfg.pipeline, [e.text for e in data.examples])
        rasa = RASA.get(bot)
        intents = len({e.intent.split('/')[0] for e in data.examples})
        detail = " " + " ".join(f"{r['accuracy']:6.3f}" for r in reps) if len(seeds) > 1 else ""
        print(f"{bot:26} {reps[0]['examples']:8d} {intents:7d} {cjk:>4} {accuracy:6.3f} "
              f"{macro_f1:7.3f} {('%.2f' % rasa) if rasa else '-':>5} {dt:7.1f}{detail}",
              flush=True)


if __name__ == "__main__":
    main()
