"""NLU runtime speed: messages/s, p50/p99 per message with lookup tables of 1k / 100k / 1M entries,
plus compile time, load time and load memory (tracemalloc peak of a separate load) for each.

Usage: .venv/bin/python bench/nlu_bench.py [--sizes 1000,100000,1000000] [--messages 5000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from formc.model import (Domain, Entity, EntityAnnotation, Intent, LookupDef,  # noqa: E402
                         NluConfig, NluData, NluExample)
from formc.nlu.classify import Nlu  # noqa: E402
from formc.nlu.compile import compile_nlu  # noqa: E402

WORDS = ["book", "a", "table", "in", "please", "for", "two", "people", "near", "the", "station",
         "tonight", "i", "want", "to", "go", "hello", "thanks", "cheap", "food"]


def city(i: int) -> str:
    letters = "bcdfghjklmnpqrstvwxz"
    return "".join(letters[(i // 20 ** k) % 20] for k in range(5)) + "ville"


def bot(n_entries: int) -> tuple[NluData, list[str]]:
    examples = []
    for i in range(20):
        name = city(i)
        text = f"book a table in {name}"
        examples.append(NluExample(text, "book", (EntityAnnotation(16, 16 + len(name), name, "city"),)))
        examples.append(NluExample(f"hello there {WORDS[i]}", "greet"))
        examples.append(NluExample(f"thanks a lot {WORDS[i]}", "thanks"))
    data = NluData(examples=tuple(examples),
                   lookups=(LookupDef("city", tuple(city(i) for i in range(n_entries))),))
    rng = random.Random(0)
    messages = []
    for _ in range(2000):
        words = rng.sample(WORDS, 5)
        words.insert(rng.randrange(6), city(rng.randrange(n_entries)))
        messages.append(" ".join(words))
    return data, messages


def time_parse(nlu: Nlu, messages: list[str], total: int) -> tuple[float, float, float]:
    times = []
    for i in range(total):
        m = messages[i % len(messages)]
        t0 = time.perf_counter_ns()
        nlu.parse(m)
        times.append(time.perf_counter_ns() - t0)
    times.sort()
    p50 = times[len(times) // 2] / 1000
    p99 = times[int(len(times) * 0.99)] / 1000
    return 1e9 * len(times) / sum(times), p50, p99


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,100000,1000000")
    ap.add_argument("--messages", type=int, default=5000)
    args = ap.parse_args()
    domain = Domain(intents=(Intent("book"), Intent("greet"), Intent("thanks")),
                    entities=(Entity("city"),))
    print(f"{'lookup entries':>14} {'scorer':>7} {'compile s':>9} {'load s':>7} {'model MB':>8} "
          f"{'load MB':>7} {'msg/s':>8} {'p50 us':>7} {'p99 us':>7}  (entities only: p50 us)")
    for size in [int(s) for s in args.sizes.split(",")]:
        data, messages = bot(size)
        for scorer in ("logreg", "tfidf"):
            gc.collect()
            # times are taken without tracemalloc (it slows allocation-heavy code 2-10x);
            # memory is the traced peak of a second, separate load
            t0 = time.perf_counter()
            model, _ = compile_nlu(data, NluConfig(intent_scorer=scorer, fallback_threshold=0.3),
                                   domain)
            compile_s = time.perf_counter() - t0
            text = json.dumps(model, sort_keys=True)
            t0 = time.perf_counter()
            nlu = Nlu.from_dict(json.loads(text))
            load_s = time.perf_counter() - t0
            gc.collect()
            tracemalloc.start()
            Nlu.from_dict(json.loads(text))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            hits = sum(bool(nlu.parse(m)["entities"]) for m in messages[:200])
            assert hits == 200, hits
            rate, p50, p99 = time_parse(nlu, messages, args.messages)
            ent_times = []
            for m in messages[:2000]:
                t0 = time.perf_counter_ns()
                nlu.extractor.extract(m)
                ent_times.append(time.perf_counter_ns() - t0)
            ent_times.sort()
            print(f"{size:14,d} {scorer:>7} {compile_s:9.2f} {load_s:7.2f} {len(text) / 1e6:8.1f} "
                  f"{peak / 1e6:7.0f} {rate:8.0f} {p50:7.0f} {p99:7.0f}  ({ent_times[1000] / 1000:.0f})",
                  flush=True)
            del nlu, model, text
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
