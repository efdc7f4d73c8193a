"""CRF / NLU cost: compile time and peak RSS of a compile (read, train, write the .fsm) of corpus bots with
their own configs (DIET's entity stand-in trained), and parse latency p50/p99 per message (whole
parse and the CRF alone) of one bot.

  .venv/bin/python bench/crf_bench.py [--bots rasa-demo|all|a,b] [--parse-bot rasa-demo]
                                      [--rounds 3] [--messages 3000]
Each compile runs in a child process per round (wall time, Python start included; CPU time and
peak RSS from wait4 of that child, its forked training children included). The machine's load
average is printed beside: on a shared machine wall times follow the load, CPU times much less.
Parses use the bot's own example texts (markup removed), in a fixed shuffled order, after a
warm-up pass; timings are per message with perf_counter_ns. Corpus bots are read in place.
"""
from __future__ import annotations

import argparse
import os
import random
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
    """(wall seconds, CPU seconds of the compile and its training children, peak RSS MiB of
    the biggest of them) of one compile in a fresh process."""
    t0 = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", _COMPILE, bot_dir, out],
                             stdout=subprocess.DEVNULL, cwd=ROOT)
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"compile of {bot_dir} failed ({child.returncode})")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


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


def compile_bots(names: list[str], rounds: int, folder: str) -> None:
    for name in names:
        out = os.path.join(folder, f"{name}.fsm")
        runs = [compile_once(os.path.join(CORPUS, name), out) for _ in range(rounds)]
        print(f"{name:>24}: compile {min(r[0] for r in runs):5.2f}-{max(r[0] for r in runs):5.2f} "
              f"s wall, {min(r[1] for r in runs):5.2f}-{max(r[1] for r in runs):5.2f} s CPU, peak "
              f"RSS {max(r[2] for r in runs):4.0f} MiB ({rounds} runs, .fsm "
              f"{os.path.getsize(out) / 1e6:.1f} MB; load average {os.getloadavg()[0]:.1f} on "
              f"{os.cpu_count()} cores)", flush=True)


def parse_latency(bot: str, fsm: str, messages: int) -> None:
    machine = load(fsm)
    nlu = machine.nlu
    crfs = getattr(nlu, "crfs", [])
    data, _ = read_bot_nlu(os.path.join(CORPUS, bot))
    texts = [ex.text for ex in data.examples if ex.text]
    random.Random(0).shuffle(texts)
    texts = (texts * (1 + messages // max(1, len(texts))))[:messages]
    cpu = time.process_time()
    p50, p99 = percentiles(latencies(nlu.parse, texts))
    cpu = (time.process_time() - cpu) / (len(texts) + min(200, len(texts))) * 1000
    print(f"{bot} parse (intent + every extractor + response selectors), {len(texts)} messages: "
          f"p50 {p50:.3f} ms, p99 {p99:.3f} ms (CPU {cpu:.3f} ms per message; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    if crfs:
        tags = sum(len(c.taggers) for c in crfs)
        c50, c99 = percentiles(latencies(lambda t: [c.extract(t) for c in crfs], texts))
        print(f"{bot} CRF alone ({len(crfs)} extractor(s), {tags} tagger(s)): p50 {c50:.3f} ms, "
              f"p99 {c99:.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bots", default="rasa-demo",
                    help="corpus bots to compile: comma-separated names, or 'all'")
    ap.add_argument("--parse-bot", default="rasa-demo",
                    help="the bot whose parses are timed ('' for none)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", type=int, default=3000)
    args = ap.parse_args()
    names = (sorted(n for n in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, n)))
             if args.bots == "all" else [n for n in args.bots.split(",") if n])
    folder = tempfile.mkdtemp(prefix="formc-crf-bench-")
    compile_bots(names, args.rounds, folder)
    if not args.parse_bot:
        return
    fsm = os.path.join(folder, f"{args.parse_bot}.fsm")
    if not os.path.exists(fsm):
        compile_once(os.path.join(CORPUS, args.parse_bot), fsm)
    parse_latency(args.parse_bot, fsm, args.messages)


if __name__ == "__main__":
    main()
