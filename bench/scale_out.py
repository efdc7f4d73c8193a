#!/usr/bin/env python
"""Scale-out figures: one `formc serve` against two sharing one Redis / PostgreSQL, same load.

    .venv/bin/python bench/scale_out.py [--stores redis,postgres] [--senders 64] [--duration 10]
                                        [--rates 200,400] [--repeat 2] [--race 200]

Starts its own redis-server and PostgreSQL (initdb into a temp dir) on free loopback ports and
compiles examples/restaurant. For each store, three layouts (each on its own key / table
prefix, all started at once) take turns under the same loads (closed loop with --senders
senders, then open loop at each of --rates msgs/s), --repeat rounds, each run on new
conversations, with bench/serve_bench.py's load generator:
  one        one `formc serve` (1 worker);
  sticky     two `formc serve` processes on one store, each sender always sent to the same one
             (sender i to server i % 2: what a sticky load balancer does);
  alternate  the same two, each sender's messages alternating between them (the conversation
             moves between processes on every turn: the store's per-sender lock and its
             revision check carry it over; each process's decoded-session cache always misses).
After the loads, every conversation's tracker is read back over HTTP (from the second server)
and its user messages compared with the ones acknowledged with 200, in order: lost, reordered
or unacknowledged-but-stored turns are counted. Then --race new conversations each get two
messages sent at the same moment, one to each server: the per-sender lock must serialise them
(one session start, both messages, each turn complete before the next begins).

Everything (servers, store, load generator) shares this machine's cores: on 2 cores a second
server process can only take CPU from the others, so read the figures as what two processes
sharing a store cost and keep, not as what two machines would give.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, "tests")]

from serve_bench import PYTHON, free_port, load, pct, tree_cpu_s, wait_http  # noqa: E402

LAYOUTS = ("one", "sticky", "alternate")


def compile_bot(tmp: str) -> str:
    from formc.api import compile_project
    from formc.artifact import dump_machine
    bot = os.path.join(ROOT, "examples", "restaurant")
    machine, _ = compile_project(bot)
    fsm = os.path.join(tmp, "restaurant.fsm")
    dump_machine(machine, fsm, root=bot)
    return fsm


def start_server(fsm: str, tmp: str, store_url: str) -> subprocess.Popen:
    port = free_port()
    log = open(os.path.join(tmp, f"serve-{port}.log"), "wb")
    env = dict(os.environ, PYTHONPATH=ROOT, FORMC_LOG_TURNS="0")
    proc = subprocess.Popen([PYTHON, "-m", "formc", "serve", fsm, "--host", "127.0.0.1",
                             "--port", str(port), "--store", store_url, "--workers", "1"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.port = port   # type: ignore[attr-defined]
    proc.log = log     # type: ignore[attr-defined]
    wait_http(f"http://127.0.0.1:{port}/version", proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.close()   # type: ignore[attr-defined]


class StoreServers:
    """A redis-server and a PostgreSQL server for the run: kind -> (url factory, server pid)."""

    def __init__(self, kinds: list, tmp: str) -> None:
        self.kinds, self.tmp = kinds, tmp
        self.redis = self.pg = None
        self.stores: dict = {}

    def __enter__(self) -> StoreServers:
        if "redis" in self.kinds:
            exe = shutil.which("redis-server")
            if not exe:
                raise SystemExit("redis-server is not installed (apt-get install redis-server)")
            port = free_port()
            self.redis = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", self.tmp],
                                          stdout=subprocess.DEVNULL)
            time.sleep(0.3)
            self.stores["redis"] = (lambda n: f"redis://127.0.0.1:{port}/0?key_prefix=so{n}",
                                    self.redis.pid)
        if "postgres" in self.kinds:
            from support.postgres_support import NO_POSTGRES, PG_BIN, PostgresServer
            if not PG_BIN:
                raise SystemExit(NO_POSTGRES)
            self.pg = PostgresServer()
            self.stores["postgres"] = (lambda n: f"{self.pg.url}?table_prefix=so{n}_",
                                       self.pg.proc.pid)
        return self

    def __exit__(self, *exc) -> None:
        if self.redis:
            self.redis.terminate()
            self.redis.wait()
        if self.pg:
            self.pg.stop()


def runner():
    try:
        import uvloop
        return uvloop.run
    except ImportError:
        return asyncio.run


def targets(layout: str, ports: list) -> list:
    """serve_bench.load's targets: sender i -> targets[i % len]; a tuple alternates."""
    return {"one": ports[:1], "sticky": ports, "alternate": [tuple(ports)]}[layout]


def measure(store: str, layout: str, ports: list, pids: list, store_pid: int, senders: int,
            duration: float, rate: float, sent: dict, tag: str) -> dict:
    load_avg = os.getloadavg()[0]   # the machine is shared: say how busy it was
    cpu0, st0 = sum(tree_cpu_s(p) for p in pids), tree_cpu_s(store_pid)
    lat, errors, elapsed = runner()(load(targets(layout, ports), senders, duration, rate, sent,
                                         tag))
    cpu1, st1 = sum(tree_cpu_s(p) for p in pids), tree_cpu_s(store_pid)
    n = max(1, len(lat))
    row = {"store": store, "layout": layout, "servers": len(pids), "senders": senders,
           "load": f"open {rate:g}/s" if rate else "closed",
           "messages": len(lat), "msgs_per_s": round(len(lat) / elapsed, 1),
           "p50_ms": round(pct(lat, 0.50), 2), "p99_ms": round(pct(lat, 0.99), 2),
           "errors": len(errors),
           "formc_cpu_ms_per_msg": round(1000 * (cpu1 - cpu0) / n, 3),
           "store_cpu_ms_per_msg": round(1000 * (st1 - st0) / n, 3),
           "load_avg_before": round(load_avg, 1)}
    if errors:
        row["first_error"] = errors[0]
    return row


async def user_texts(session, port: int, sender: str) -> tuple[list, list]:
    """(user texts in the stored order, all events) of one conversation, read over HTTP."""
    async with session.get(f"http://127.0.0.1:{port}/conversations/{sender}/tracker") as resp:
        body = await resp.json()
        if resp.status != 200:
            raise RuntimeError(f"GET tracker of {sender}: HTTP {resp.status} {body}")
    events = body.get("events") or []
    return [e.get("text") for e in events if e.get("event") == "user"], events


async def check_order(port: int, sent: dict) -> dict:
    """Each conversation's stored user messages against the acknowledged ones, in order."""
    import aiohttp
    counts = collections.Counter(conversations=len(sent))
    gate = asyncio.Semaphore(16)

    async def one(session, sender: str, acked: list) -> None:
        async with gate:
            stored, _ = await user_texts(session, port, sender)
        counts["acknowledged"] += len(acked)
        if stored == acked:
            return
        missing = collections.Counter(acked) - collections.Counter(stored)
        extra = collections.Counter(stored) - collections.Counter(acked)
        counts["lost"] += sum(missing.values())
        counts["unacknowledged_stored"] += sum(extra.values())   # e.g. a 503 after the commit
        if not missing and not extra:   # the same messages, another order
            counts["reordered_conversations"] += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, s, texts) for s, texts in sent.items()))
    return {k: counts[k] for k in ("conversations", "acknowledged", "lost",
                                   "reordered_conversations", "unacknowledged_stored")}


def turns_serial(events: list) -> bool:
    """One session start before any message, and every user message answered (its turn ending in
    action_listen) before the next user message is logged."""
    starts = [i for i, e in enumerate(events) if e.get("event") == "session_started"]
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if len(starts) != 1 or not users or starts[0] > users[0]:
        return False
    for a, b in zip(users, users[1:] + [len(events)]):
        listens = [e for e in events[a + 1:b]
                   if e.get("event") == "action" and e.get("name") == "action_listen"]
        if len(listens) != 1:
            return False
    return True


async def race(ports: list, pairs: int, tag: str) -> dict:
    """`pairs` new conversations, each sent two messages at once, one to each server."""
    import aiohttp
    texts = ("hi", "i am looking for a restaurant")
    lat, errors, bad = [], [], []
    gate = asyncio.Semaphore(32)

    async def post(session, port: int, sender: str, text: str) -> None:
        t0 = time.perf_counter()
        async with session.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                json={"sender": sender, "message": text}) as resp:
            await resp.read()
            lat.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors.append(resp.status)

    async def pair(session, i: int) -> None:
        sender = f"race-{tag}-{i}"
        async with gate:
            await asyncio.gather(*(post(session, p, sender, t) for p, t in zip(ports, texts)))
        stored, events = await user_texts(session, ports[0], sender)
        if sorted(stored) != sorted(texts) or not turns_serial(events):
            bad.append(sender)

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(pair(session, i) for i in range(pairs)))
    return {"pairs": pairs, "p50_ms": round(pct(lat, 0.5), 2), "p99_ms": round(pct(lat, 0.99), 2),
            "errors": len(errors), "not_serialised": len(bad), "first_bad": bad[:3]}


def run_store(fsm: str, tmp: str, store: str, url, store_pid: int, layouts: list,
              a: argparse.Namespace) -> tuple[list, list, list]:
    """Every layout's servers (each layout on its own key/table prefix) up at once, so that the
    layouts take turns under each load, `--repeat` times: a busy minute on this shared machine
    then hits all of them, not one."""
    servers = {}
    try:
        for m, layout in enumerate(layouts):
            servers[layout] = [start_server(fsm, tmp, url(m)) for _ in
                               range(1 if layout == "one" else 2)]
        sent: dict = {layout: {} for layout in layouts}
        for layout in layouts:   # warm-up (checked too)
            ports = [s.port for s in servers[layout]]
            runner()(load(targets(layout, ports), 4, 1.0, 0.0, sent[layout], "warm"))
        rows = []
        for rep in range(a.repeat):
            for rate in [0.0] + a.rates:
                for layout in layouts:
                    group = servers[layout]
                    ports, pids = [s.port for s in group], [s.pid for s in group]
                    rows.append(measure(store, layout, ports, pids, store_pid, a.senders,
                                        a.duration, rate, sent[layout], f"r{rep}-{rate:g}"))
                    print(json.dumps(rows[-1]), flush=True)
        checks, races = [], []
        for layout in layouts:
            ports = [s.port for s in servers[layout]]
            checks.append(dict(store=store, layout=layout,
                               **asyncio.run(check_order(ports[-1], sent[layout]))))
            print(json.dumps(checks[-1]), flush=True)
            if len(ports) == 2 and a.race and not races:
                races.append(dict(store=store, **asyncio.run(race(ports, a.race, store))))
                print(json.dumps(races[-1]), flush=True)
        return rows, checks, races
    finally:
        for group in servers.values():
            for s in group:
                stop(s)


def spread(values: list, digits: int = 0) -> str:
    lo, hi = min(values), max(values)
    fmt = (lambda v: f"{v:,.0f}") if digits == 0 else (lambda v: f"{v:.{digits}f}")
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}-{fmt(hi)}"


def print_tables(rows: list, checks: list, races: list) -> None:
    print("\n| store | servers | routing | load | msgs/s | p50 ms | p99 ms | errors "
          "| formc CPU ms/msg | store CPU ms/msg | load average |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["store"], r["servers"], r["layout"], r["load"]), []).append(r)
    for (store, servers, layout, kind), rs in groups.items():
        col = lambda key, digits=0: spread([r[key] for r in rs], digits)   # noqa: E731
        print(f"| {store} | {servers} | {layout} | {kind} | {col('msgs_per_s')} | "
              f"{col('p50_ms', 1)} | {col('p99_ms')} | {sum(r['errors'] for r in rs)} | "
              f"{col('formc_cpu_ms_per_msg', 2)} | {col('store_cpu_ms_per_msg', 2)} | "
              f"{col('load_avg_before', 1)} |")
    print("\n| store | routing | conversations | acknowledged turns | lost | reordered "
          "| stored without a 200 |")
    print("|---|---|---|---|---|---|---|")
    for c in checks:
        print(f"| {c['store']} | {c['layout']} | {c['conversations']:,} | {c['acknowledged']:,} | "
              f"{c['lost']} | {c['reordered_conversations']} | {c['unacknowledged_stored']} |")
    for r in races:
        print(f"\nrace ({r['store']}): {r['pairs']} conversations, two messages at once to two "
              f"servers: p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, {r['errors']} errors, "
              f"{r['not_serialised']} not serialised")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stores", default="redis,postgres")
    ap.add_argument("--layouts", default=",".join(LAYOUTS))
    ap.add_argument("--senders", type=int, default=64)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rates", default="200,400",
                    help="open-loop rates (total msgs/s), after the closed-loop run")
    ap.add_argument("--repeat", type=int, default=2,
                    help="rounds of every (load, layout); the table gives the range")
    ap.add_argument("--race", type=int, default=200,
                    help="conversations raced over the two servers (0: none)")
    a = ap.parse_args()
    a.rates = [float(r) for r in a.rates.split(",") if r]
    kinds, layouts = a.stores.split(","), a.layouts.split(",")
    tmp = tempfile.mkdtemp(prefix="formc-scale-out-")
    rows, checks, races = [], [], []
    failed = False
    try:
        fsm = compile_bot(tmp)
        with StoreServers(kinds, tmp) as servers:
            for n, store in enumerate(kinds):
                url, store_pid = servers.stores[store]
                got, checked, raced = run_store(fsm, tmp, store, lambda m: url(n * 10 + m),
                                                store_pid, layouts, a)
                rows, checks, races = rows + got, checks + checked, races + raced
                failed |= any(c["lost"] or c["reordered_conversations"] for c in checked)
                failed |= any(r["not_serialised"] or r["errors"] for r in raced)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print_tables(rows, checks, races)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
