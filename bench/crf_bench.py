"""CRF cost: compile time and peak RSS of a compile (read, train, write the .fsm) of a corpus bot with its own config (DIET's
entity stand-in trained), and parse latency p50/p99 per message (whole parse and the CRF alone).

  .venv/bin/python bench/crf_bench.py [--bot rasa-demo] [--rounds 3] [--messages 3000]
Compile runs in a child process per round (wall time, Python start included; peak RSS from
getrusage of that child).
Parses use the bot's own example texts (markup removed), in a fixed shuffled order, after a
warm-up pass; timings are per message with perf_counter_ns. Corpus bots are read in place.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from support.nlu_support import CORPUS, read_bot_nlu  # noqa: E402

from formc.api import load  # noqa: E402


# read, NLU + dialogue compile, write: what `formc compile` does, without the validate rules
# (an error those find in a corpus bot would stop the command before it trains anything)
_COMPILE = ("import sys; from formc.reader import read_project; from formc.api import build_machine; "
            "from formc.artifact import dump_machine; p, _ = read_project(sys.argv[1]); "
            "m, d = build_machine(p); assert m is not None, [x.render() for x in d if x.is_error]; "
            "dump_machine(m, sys.argv[2], root=sys.argv[1])")


def compile_once(bot_dir: str, out: str) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds of the compile and its CRF child, peak RSS MiB) of one compile
    in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", _COMPILE, bot_dir, out], check=True,
                   stdout=subprocess.DEVNULL, cwd=ROOT)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return seconds, cpu, max(after.ru_maxrss, before.ru_maxrss) / 1024.0


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6  # noqa: E731
    return pick(0.50), pick(0.99)


def latencies(fn, texts: list[str]) -> list[int]:
    for text in texts[:200]:
        fn(text)                              # warm-up: caches, first-call costs
    out = []
    for text in texts:
        t0 = time.perf_counter_ns()
        fn(text)
        out.append(time.perf_counter_ns() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bot", default="rasa-demo")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=3000)
    args = ap.parse_args()
    bot_dir = os.path.join(CORPUS, args.bot)
    out = os.path.join(tempfile.mkdtemp(prefix="formc-crf-bench-"), "bot.fsm")
    runs = [compile_once(bot_dir, out) for _ in range(args.rounds)]
    print(f"{args.bot}: compile {min(r[0] for r in runs):.2f}-{max(r[0] for r in runs):.2f} s "
          f"wall, {min(r[1] for r in runs):.1f}-{max(r[1] for r in runs):.1f} s CPU (the CRF "
          f"trains in a child beside the intent scorer), peak RSS {max(r[2] for r in runs):.0f} "
          f"MiB ({args.rounds} runs, .fsm {os.path.getsize(out) / 1e6:.1f} MB; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    machine = load(out)
    nlu = machine.nlu
    crfs = getattr(nlu, "crfs", [])
    data, _ = read_bot_nlu(bot_dir)
    texts = [ex.text for ex in data.examples if ex.text]
    random.Random(0).shuffle(texts)
    texts = (texts * (1 + args.messages // max(1, len(texts))))[:args.messages]
    cpu = time.process_time()
    p50, p99 = percentiles(latencies(nlu.parse, texts))
    cpu = (time.process_time() - cpu) / (len(texts) + min(200, len(texts))) * 1000
    print(f"parse (intent + every extractor), {len(texts)} messages: p50 {p50:.3f} ms, "
          f"p99 {p99:.3f} ms (CPU {cpu:.3f} ms per message; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if crfs:
        tags = sum(len(c.taggers) for c in crfs)
        c50, c99 = percentiles(latencies(lambda t: [c.extract(t) for c in crfs], texts))
        print(f"CRF alone ({len(crfs)} extractor(s), {tags} tagger(s)): p50 {c50:.3f} ms, "
              f"p99 {c99:.3f} ms")


if __name__ == "__main__":
    main()
