#!/usr/bin/env python
"""Load test of `formc serve` on loopback: (store, workers, senders) -> msgs/s, p50/p99, server RSS.

  .venv/bin/python bench/serve_bench.py BOT(.fsm or dir) [--stores sqlite,redis] [--workers 1,2]
                                        [--senders 8,64,256] [--duration 10]

Each sender replays the baseline's 7-message restaurant conversation over one keep-alive
connection, starting a fresh sender id after every conversation (like the Rasa baseline's
loadtest.py). The load generator is a minimal HTTP/1.1 client on uvloop in this process, so
it shares the machine's cores with the server (as the Rasa figures did).

Two ways to load the server:
  closed loop (default): each sender sends its next message as soon as the reply arrives, so
      throughput and latency are tied by Little's law (mean latency = senders / msgs per s);
  --rate R (open loop): the senders together send R messages/s on a fixed schedule (each one
      every senders/R s, like users typing); a sender still waiting for a reply sends late, and
      latency is counted from the scheduled send time, so a slow server cannot hide its queue.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
SCRIPT = ["hi", "i am looking for a restaurant", "italian", "4", "yes", "no", "thanks"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants (Sanic manager + workers)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def tree_rss_mib(pid: int) -> float:
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by the server's processes."""
    ticks = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])   # utime, stime
        except OSError:
            pass
    return ticks / os.sysconf("SC_CLK_TCK")


class Sender:
    """One keep-alive connection replaying SCRIPT with fresh sender ids; `port` may be a tuple of
    ports (one connection to each, the sender's messages alternating between them)."""

    def __init__(self, port: int | tuple, idx: int, latencies: list, errors: list,
                 interval: float = 0.0, offset: float = 0.0, sent: dict | None = None,
                 tag: str = "bench") -> None:
        self.port, self.idx, self.lat, self.errors = port, idx, latencies, errors
        self.tag = tag     # sender ids are TAG-IDX-CONVERSATION
        self.interval, self.offset = interval, offset   # open loop: send schedule
        self.sent = sent   # if given: sender id -> the texts answered 200, in order

    async def run(self, stop_at: float) -> None:
        ports = self.port if isinstance(self.port, tuple) else (self.port,)
        conns = [await asyncio.open_connection("127.0.0.1", p) for p in ports]
        turn = 0
        conv = 0
        loop = asyncio.get_running_loop()
        due = loop.time() + self.offset
        while loop.time() < stop_at:
            sender = f"{self.tag}-{self.idx}-{conv}"
            conv += 1
            for text in SCRIPT:
                if loop.time() >= stop_at:
                    break
                body = json.dumps({"sender": sender, "message": text}).encode()
                req = (b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\n\r\n" + body)
                t0 = time.perf_counter()
                if self.interval:
                    if due > loop.time():
                        await asyncio.sleep(due - loop.time())
                    t0 = time.perf_counter() - max(0.0, loop.time() - due)   # from the schedule
                    due += self.interval
                reader, writer = conns[turn % len(conns)]
                turn += 1
                writer.write(req)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                payload = await reader.readexactly(length)
                self.lat.append(time.perf_counter() - t0)
                if not head.startswith(b"HTTP/1.1 200") or not payload.startswith(b"["):
                    self.errors.append(head.split(b"\r\n")[0].decode() + " " + payload[:200].decode())
                elif self.sent is not None:
                    self.sent.setdefault(sender, []).append(text)
        for _, writer in conns:
            writer.close()


async def load(port: int | list, senders: int, duration: float, rate: float = 0.0,
               sent: dict | None = None, tag: str = "bench") -> tuple[list, list, float]:
    """`port`: one server, or a list of targets (sender i goes to target i % len; a target is a
    port or a tuple of ports to alternate between); `sent` collects Sender.sent."""
    targets = port if isinstance(port, list) else [port]
    latencies: list = []
    errors: list = []
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    stop_at = loop.time() + duration
    interval = senders / rate if rate else 0.0
    await asyncio.gather(*(Sender(targets[i % len(targets)], i, latencies, errors, interval,
                                  interval * i / senders, sent, tag).run(stop_at)
                           for i in range(senders)))
    return latencies, errors, time.perf_counter() - start


def pct(values: list, q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000 if s else float("nan")


def run_config(bot: str, store_kind: str, workers: int, senders_list: list, duration: float,
               tmp: str, redis_url: str | None, rate: float = 0.0) -> list:
    port = free_port()
    if store_kind == "sqlite":
        db = os.path.join(tmp, f"bench-{workers}-{port}.db")
        store = f"sqlite:///{db}"
    else:
        store = f"{redis_url}?key_prefix=bench{port}"
    env = dict(os.environ, PYTHONPATH=ROOT)
    # The server logs one JSON line per turn: send it to a file (an unread pipe would fill up).
    log = open(os.path.join(tmp, f"serve-{port}.log"), "wb")
    proc = subprocess.Popen([PYTHON, "-m", "formc", "serve", bot, "--host", "127.0.0.1", "--port",
                             str(port), "--store", store, "--workers", str(workers)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    rows = []
    try:
        wait_http(f"http://127.0.0.1:{port}/version", proc)
        time.sleep(0.5 if workers == 1 else 2.0)   # let every worker come up
        try:
            import uvloop
            runner = uvloop.run
        except ImportError:
            runner = asyncio.run
        runner(load(port, 4, 1.0))                     # warm-up
        for senders in senders_list:
            rss_max = [0.0]
            done = threading.Event()

            def sample():
                while not done.is_set():
                    rss_max[0] = max(rss_max[0], tree_rss_mib(proc.pid))
                    done.wait(0.25)
            t = threading.Thread(target=sample, daemon=True)
            t.start()
            r0, s0 = resource.getrusage(resource.RUSAGE_SELF), tree_cpu_s(proc.pid)
            lat, errors, elapsed = runner(load(port, senders, duration, rate))
            r1, s1 = resource.getrusage(resource.RUSAGE_SELF), tree_cpu_s(proc.pid)
            client_cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            done.set()
            t.join()
            row = {"store": store_kind, "workers": workers, "senders": senders,
                   "load": f"open {rate:g}/s" if rate else "closed",
                   "messages": len(lat), "msgs_per_s": round(len(lat) / elapsed, 1),
                   "p50_ms": round(pct(lat, 0.50), 2), "p99_ms": round(pct(lat, 0.99), 2),
                   "max_ms": round(max(lat) * 1000, 2) if lat else None,
                   "errors": len(errors), "server_rss_mib": round(rss_max[0], 1),
                   # server CPU per message: the cost figure that contention does not distort
                   "server_cpu_ms_per_msg": round(1000 * (s1 - s0) / max(1, len(lat)), 3),
                   # the load generator's own CPU (it shares the 2 cores with the server)
                   "client_cpu_pct": round(100 * client_cpu / elapsed, 1)}
            if errors:
                row["first_error"] = errors[0]
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bot", help=".fsm file or bot directory")
    ap.add_argument("--stores", default="sqlite,redis")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--senders", default="8,64,256")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rate", type=float, default=0.0,
                    help="open loop: total messages per second offered (default: closed loop)")
    a = ap.parse_args()
    stores = a.stores.split(",")
    redis_proc, redis_url = None, None
    tmp = tempfile.mkdtemp(prefix="formc-bench-")
    if "redis" in stores:
        exe = shutil.which("redis-server")
        if not exe:
            print("redis-server not on PATH: skipping the Redis store", file=sys.stderr)
            stores.remove("redis")
        else:
            rport = free_port()
            redis_proc = subprocess.Popen([exe, "--port", str(rport), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", tmp],
                                          stdout=subprocess.DEVNULL)
            redis_url = f"redis://127.0.0.1:{rport}/0"
            time.sleep(0.3)
    rows = []
    try:
        for store in stores:
            for workers in [int(w) for w in a.workers.split(",")]:
                rows += run_config(a.bot, store, workers, [int(s) for s in a.senders.split(",")],
                                   a.duration, tmp, redis_url, a.rate)
    finally:
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n| store | workers | senders | load | msgs/s | p50 ms | p99 ms | errors | server RSS MiB "
          "| server CPU ms/msg | client CPU % |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['store']} | {r['workers']} | {r['senders']} | {r['load']} | {r['msgs_per_s']:,} | "
              f"{r['p50_ms']} | {r['p99_ms']} | {r['errors']} | {r['server_rss_mib']} | "
              f"{r['server_cpu_ms_per_msg']} | {r['client_cpu_pct']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
