"""In-process dialogue turn latency on the restaurant bot: turn 1 vs 1,000 vs 10,000 of one
long conversation (must stay flat), turns/second, serialized session size.

  .venv/bin/python bench/turn_bench.py [--turns 10000] [--bot DIR]

NLU is bypassed (recorded parses are fed as parse_data) so the figures are the dialogue core's
own cost; the session is serialised to JSON and reloaded every turn, as a server with a store does.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from formc.runtime.agent import Agent  # noqa: E402
from formc.runtime.session import Session  # noqa: E402

from runtime_helpers import RESTAURANT, machine_from_dir  # noqa: E402

P = lambda intent, *ents: {"intent": {"name": intent, "confidence": 0.95},  # noqa: E731
                           "entities": [{"entity": e, "value": v} for e, v in ents]}
SCRIPT = [("hi", P("greet")), ("book a table", P("request_restaurant")),
          ("thai", P("inform", ("cuisine", "thai"))), ("are you a bot", P("bot_challenge")),
          ("4", P("inform", ("number", "4"))), ("yes", P("affirm")), ("no", P("deny")),
          ("thanks", P("thankyou")), ("blah", P("nlu_fallback")), ("bye", P("goodbye"))]


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--turns", type=int, default=10000)
    ap.add_argument("--bot", default=RESTAURANT)
    args = ap.parse_args()
    machine = machine_from_dir(args.bot)
    agent = Agent(machine, seed=1)
    stored = None
    lat: list[float] = []
    core: list[float] = []
    sizes: list[int] = []
    now = 1_700_000_000.0
    started = time.perf_counter()
    for i in range(args.turns):
        text, parse = SCRIPT[i % len(SCRIPT)]
        now += 1
        t0 = time.perf_counter()
        session = Session.from_json(json.loads(stored), machine) if stored else None
        t1 = time.perf_counter()
        result = await agent.handle_message(session, "bench", text, now=now, parse_data=parse)
        core.append((time.perf_counter() - t1) * 1e3)
        stored = json.dumps(result.session.to_json())
        lat.append((time.perf_counter() - t0) * 1e3)
        sizes.append(len(stored))
    total = time.perf_counter() - started
    print(f"bot: {os.path.basename(args.bot)}  turns: {args.turns}  (history_limit 200 events)")
    for at in (1, 1000, 10000):
        if at > args.turns:
            continue
        lo, hi = max(0, at - 100), min(args.turns, at + 100) if at > 1 else 20
        window, cw = lat[lo:hi], core[lo:hi]
        print(f"turn ~{at:>6}: core p50 {statistics.median(cw):.3f} ms p99 {pct(cw, 0.99):.3f} ms | "
              f"with JSON load+save p50 {statistics.median(window):.3f} ms p99 {pct(window, 0.99):.3f} ms"
              f"  (state {sizes[at - 1]} B)")
    print(f"core only: {len(core) / (sum(core) / 1e3):.0f} turns/s")
    print(f"overall: p50 {statistics.median(lat):.3f} ms  p99 {pct(lat, 0.99):.3f} ms  "
          f"{args.turns / total:.0f} turns/s (incl. JSON save+load per turn)")
    print(f"serialized session: min {min(sizes)} B  max {max(sizes)} B  last {sizes[-1]} B")


if __name__ == "__main__":
    asyncio.run(main())
