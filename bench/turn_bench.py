"""In-process dialogue turn latency on the restaurant bot: turn 1 vs 1,000 vs 10,000 of one
long conversation (must stay flat), turns/second, serialized session size.

  .venv/bin/python bench/turn_bench.py [--turns 10000] [--bot DIR]

NLU is bypassed (recorded parses are fed as parse_data) so the figures are the dialogue core's
own cost. "with store I/O" adds what a server does with its cache off (every turn read back
from the store): the session record (without history) is encoded and the turn's new events
appended to a capped log; the next turn decodes the record and rebuilds the history from the
log.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from formc.runtime.agent import Agent  # noqa: E402
from formc.runtime.session import Session  # noqa: E402
from formc.stores.base import decode, encode  # noqa: E402

from support.runtime_helpers import RASA_RESTAURANT as RESTAURANT, machine_from_dir  # noqa: E402

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
    log: list[bytes] = []            # the store's capped event log
    lat: list[float] = []
    core: list[float] = []
    sizes: list[int] = []
    appended: list[int] = []
    now = 1_700_000_000.0
    started = time.perf_counter()
    for i in range(args.turns):
        text, parse = SCRIPT[i % len(SCRIPT)]
        now += 1
        t0 = time.perf_counter()
        session = None
        if stored:
            session = Session.from_json(dict(decode(stored), history=[decode(e) for e in log]),
                                        machine)
        t1 = time.perf_counter()
        result = await agent.handle_message(session, "bench", text, now=now, parse_data=parse)
        core.append((time.perf_counter() - t1) * 1e3)
        after = result.session
        new = after.history[len(after.history) - (after.logged - (session.logged if session else 0)):]
        stored = encode(after.to_json(raw_states=True, history=False))
        log = (log + [encode(e) for e in new])[-after.history_limit:]
        lat.append((time.perf_counter() - t0) * 1e3)
        sizes.append(len(stored))
        appended.append(sum(len(e) for e in new))
    total = time.perf_counter() - started
    print(f"bot: {os.path.basename(args.bot)}  turns: {args.turns}  (history_limit 200 events)")
    for at in (1, 1000, 10000):
        if at > args.turns:
            continue
        lo, hi = max(0, at - 100), min(args.turns, at + 100) if at > 1 else 20
        window, cw = lat[lo:hi], core[lo:hi]
        print(f"turn ~{at:>6}: core p50 {statistics.median(cw):.3f} ms p99 {pct(cw, 0.99):.3f} ms | "
              f"with store I/O p50 {statistics.median(window):.3f} ms p99 {pct(window, 0.99):.3f} ms"
              f"  (record {sizes[at - 1]} B, appended {appended[at - 1]} B)")
    print(f"core only: {len(core) / (sum(core) / 1e3):.0f} turns/s")
    print(f"overall: p50 {statistics.median(lat):.3f} ms  p99 {pct(lat, 0.99):.3f} ms  "
          f"{args.turns / total:.0f} turns/s (incl. store I/O per turn)")
    print(f"record written per turn: min {min(sizes)} B  max {max(sizes)} B  last {sizes[-1]} B; "
          f"events appended per turn: mean {statistics.mean(appended):.0f} B")


if __name__ == "__main__":
    asyncio.run(main())
