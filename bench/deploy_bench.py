"""Deployment figures for the restaurant example: msg/s and latency over socket.io (32 clients,
python-socketio over websocket), and over REST with the PostgreSQL store (1 and 2 workers) next to
SQLite and Redis (32 closed-loop senders each, bench/serve_bench.py's load generator).

    .venv/bin/python bench/deploy_bench.py [--duration 10] [--clients 32] [--only socketio,stores]

Starts its own redis-server and PostgreSQL (initdb into a temp dir) on free loopback ports.
"""
from __future__ import annotations

import argparse
import asyncio
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

from serve_bench import PYTHON, SCRIPT, free_port, load, pct, tree_cpu_s, wait_http  # noqa: E402


def start_server(fsm: str, tmp: str, *args: str) -> subprocess.Popen:
    port = free_port()
    log = open(os.path.join(tmp, f"serve-{port}.log"), "wb")
    env = dict(os.environ, PYTHONPATH=ROOT, FORMC_LOG_TURNS="0")
    proc = subprocess.Popen([PYTHON, "-m", "formc", "serve", fsm, "--host", "127.0.0.1",
                             "--port", str(port), *args], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    proc.port = port   # type: ignore[attr-defined]
    wait_http(f"http://127.0.0.1:{port}/version", proc)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


# ---------------------------------------------------------------- socket.io

class SocketClient:
    """One socket.io client replaying SCRIPT (fresh session ids); a turn ends when as many
    bot_uttered events arrived as the warm-up counted for that step."""

    def __init__(self, url: str, idx: int, expected: list, lat: list, errors: list) -> None:
        self.url, self.idx, self.expected, self.lat, self.errors = url, idx, expected, lat, errors

    async def run(self, stop_at: float) -> None:
        import socketio
        sio = socketio.AsyncClient(reconnection=False)
        got: asyncio.Queue = asyncio.Queue()
        sio.on("bot_uttered", lambda data: got.put_nowait(time.perf_counter()))
        sio.on("session_confirm", lambda data: None)
        await sio.connect(self.url, transports=["websocket"], wait_timeout=10)
        loop, conv = asyncio.get_running_loop(), 0
        try:
            while loop.time() < stop_at:
                session = f"sio-{self.idx}-{conv}"
                conv += 1
                await sio.emit("session_request", {"session_id": session})
                for text, want in zip(SCRIPT, self.expected):
                    if loop.time() >= stop_at:
                        break
                    while not got.empty():   # late messages of a timed-out step
                        got.get_nowait()
                    t0 = time.perf_counter()
                    await sio.emit("user_uttered", {"message": text, "session_id": session})
                    try:
                        for _ in range(want):
                            last = await asyncio.wait_for(got.get(), 10)
                    except asyncio.TimeoutError:
                        self.errors.append(f"no answer to {text!r}")
                        continue
                    self.lat.append(last - t0)
        finally:
            await sio.disconnect()


async def count_replies(url: str) -> list:
    """Bot messages per SCRIPT step (one client, 0.4 s of quiet after each message)."""
    import socketio
    sio = socketio.AsyncClient(reconnection=False)
    seen: list = []
    sio.on("bot_uttered", lambda data: seen.append(data))
    await sio.connect(url, transports=["websocket"], wait_timeout=10)
    await sio.emit("session_request", {"session_id": "warm-up"})
    counts = []
    for text in SCRIPT:
        before = len(seen)
        await sio.emit("user_uttered", {"message": text, "session_id": "warm-up"})
        await asyncio.sleep(0.6)
        counts.append(len(seen) - before)
    await sio.disconnect()
    return counts


async def socket_load(url: str, clients: int, duration: float) -> tuple[list, list, float, list]:
    expected = await count_replies(url)
    lat: list = []
    errors: list = []
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    await asyncio.gather(*(SocketClient(url, i, expected, lat, errors).run(loop.time() + duration)
                           for i in range(clients)))
    return lat, errors, time.perf_counter() - start, expected


def row(kind: str, store: str, workers: int, clients: int, lat: list, errors: list,
        elapsed: float, cpu: tuple = (0.0, 0.0)) -> dict:
    """`cpu`: (formc server, store server) CPU seconds during the run: per message, the cost
    figure that a busy shared machine does not distort."""
    per = max(1, len(lat))
    return {"transport": kind, "store": store, "workers": workers, "clients": clients,
            "messages": len(lat), "msgs_per_s": round(len(lat) / elapsed, 1),
            "p50_ms": round(pct(lat, 0.50), 2), "p99_ms": round(pct(lat, 0.99), 2),
            "server_cpu_ms_per_msg": round(1000 * cpu[0] / per, 3),
            "store_cpu_ms_per_msg": round(1000 * cpu[1] / per, 3),
            "errors": len(errors), **({"first_error": errors[0]} if errors else {})}


def bench_socketio(fsm: str, tmp: str, clients: int, duration: float) -> list:
    creds = os.path.join(tmp, "credentials.yml")
    with open(creds, "w") as f:
        f.write("socketio:\n  session_persistence: true\n")
    proc = start_server(fsm, tmp, "--credentials", creds, "--store", f"sqlite:///{tmp}/sio.db")
    try:
        c0 = tree_cpu_s(proc.pid)
        lat, errors, elapsed, expected = asyncio.run(
            socket_load(f"http://127.0.0.1:{proc.port}", clients, duration))
        result = row("socket.io", "sqlite", 1, clients, lat, errors, elapsed,
                     (tree_cpu_s(proc.pid) - c0, 0.0))
        result["bot_messages_per_step"] = expected
        return [result]
    finally:
        stop(proc)


# ---------------------------------------------------------------- REST per store

def bench_store(fsm: str, tmp: str, store: str, url: str, workers: int, clients: int,
                duration: float, store_pid: int = 0) -> dict:
    proc = start_server(fsm, tmp, "--store", url, "--workers", str(workers))
    try:
        time.sleep(0.5 if workers == 1 else 2.0)
        asyncio.run(load(proc.port, 4, 1.0))    # warm-up
        c0, d0 = tree_cpu_s(proc.pid), tree_cpu_s(store_pid) if store_pid else 0.0
        lat, errors, elapsed = asyncio.run(load(proc.port, clients, duration))
        cpu = (tree_cpu_s(proc.pid) - c0, (tree_cpu_s(store_pid) - d0) if store_pid else 0.0)
        return row("rest", store, workers, clients, lat, errors, elapsed, cpu)
    finally:
        stop(proc)


def bench_stores(fsm: str, tmp: str, clients: int, duration: float) -> list:
    from postgres_support import PG_BIN, PostgresServer
    rows, redis_proc, pg = [], None, None
    try:
        urls = {"sqlite": lambda w: f"sqlite:///{tmp}/rest-{w}.db"}
        pids = {"sqlite": 0}
        if shutil.which("redis-server"):
            rport = free_port()
            redis_proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(rport),
                                           "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                           "no", "--dir", tmp], stdout=subprocess.DEVNULL)
            time.sleep(0.3)
            urls["redis"] = lambda w: f"redis://127.0.0.1:{rport}/0?key_prefix=b{w}"
            pids["redis"] = redis_proc.pid
        if PG_BIN:
            pg = PostgresServer()
            urls["postgres"] = lambda w: f"{pg.url}?table_prefix=b{w}_"
            pids["postgres"] = pg.proc.pid
        for store, url in urls.items():
            for workers in (1, 2):
                rows.append(bench_store(fsm, tmp, store, url(workers), workers, clients,
                                        duration, pids[store]))
                print(json.dumps(rows[-1]), flush=True)
    finally:
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait()
        if pg:
            pg.stop()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--only", default="socketio,stores")
    a = ap.parse_args()
    from formc.api import compile_project
    from formc.artifact import dump_machine
    tmp = tempfile.mkdtemp(prefix="formc-deploy-bench-")
    try:
        bot = os.path.join(ROOT, "examples", "restaurant")
        machine, _ = compile_project(bot)
        fsm = os.path.join(tmp, "restaurant.fsm")
        dump_machine(machine, fsm, root=bot)
        rows = []
        if "socketio" in a.only:
            rows += bench_socketio(fsm, tmp, a.clients, a.duration)
            print(json.dumps(rows[-1]), flush=True)
        if "stores" in a.only:
            rows += bench_stores(fsm, tmp, a.clients, a.duration)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n| transport | store | workers | clients | msgs/s | p50 ms | p99 ms | formc CPU ms/msg "
          "| store CPU ms/msg | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['transport']} | {r['store']} | {r['workers']} | {r['clients']} | "
              f"{r['msgs_per_s']:,} | {r['p50_ms']} | {r['p99_ms']} | {r['server_cpu_ms_per_msg']} | "
              f"{r['store_cpu_ms_per_msg']} | {r['errors']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
