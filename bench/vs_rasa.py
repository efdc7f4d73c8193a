#!/usr/bin/env python
"""formc and real Rasa 3.6 side by side on one machine: the same bot, the same load, alternated.

  .venv/bin/python bench/vs_rasa.py [--senders 8,32,64] [--rates 100,1000,1500] [--duration 10]
                                    [--rounds 2] [--workers 1]

The bot is the shared restaurant bot (../shared/rasa-baseline/bots/restaurant, light config).
When a Rasa 3.6 venv is present ($RASA_VENV, ~/rasa-venv or ../rasa-venv; the baseline's
install.sh makes one) the script trains it into a temporary folder (nothing is written under
shared/), starts `rasa run --enable-api` and `formc serve` (SQLite store) on loopback ports,
and for each load alternates Rasa and formc `--rounds` times: closed loop with N senders, then
open loop at each rate with 64 senders. It prints one JSON line per run and a table of the
medians with the ratio formc/Rasa: msg/s, p50, p99 and server CPU per message (from /proc, all
of the server's processes). Without Rasa it prints formc's figures alone. The load generator
shares the two cores with the server, as in every figure of README.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_bench import (PYTHON, ROOT, free_port, load, pct, tree_cpu_s,  # noqa: E402
                         tree_rss_mib, wait_http)

BOT = os.path.join(os.path.dirname(ROOT), "shared", "rasa-baseline", "bots", "restaurant")


def rasa_venv() -> str | None:
    for path in (os.environ.get("RASA_VENV"), os.path.expanduser("~/rasa-venv"),
                 os.path.join(os.path.dirname(ROOT), "rasa-venv")):
        if path and os.path.exists(os.path.join(path, "bin", "rasa")):
            return path
    return None


def train_rasa(venv: str, tmp: str) -> str:
    bot = shutil.copytree(BOT, os.path.join(tmp, "bot"))
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_MAX_CACHE_SIZE="0")
    started = time.perf_counter()
    subprocess.run([os.path.join(venv, "bin", "rasa"), "train", "--config", "config_light.yml",
                    "--out", os.path.join(tmp, "models"), "--fixed-model-name", "light"],
                   cwd=bot, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(json.dumps({"rasa_train_s": round(time.perf_counter() - started, 1)}), flush=True)
    return os.path.join(tmp, "models", "light.tar.gz")


def compile_formc(tmp: str) -> str:
    fsm = os.path.join(tmp, "restaurant.fsm")
    started = time.perf_counter()
    subprocess.run([PYTHON, "-m", "formc", "compile", BOT, "-o", fsm], check=True,
                   env=dict(os.environ, PYTHONPATH=ROOT), stdout=subprocess.DEVNULL)
    print(json.dumps({"formc_compile_s": round(time.perf_counter() - started, 2)}), flush=True)
    return fsm


def start(kind: str, tmp: str, venv: str | None, model: str | None, workers: int):
    port = free_port()
    log = open(os.path.join(tmp, f"{kind}-{port}.log"), "wb")
    if kind == "rasa":
        cmd = [os.path.join(venv, "bin", "rasa"), "run", "--enable-api", "-i", "127.0.0.1",
               "-p", str(port), "-m", model]
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
    else:
        cmd = [PYTHON, "-m", "formc", "serve", model, "--port", str(port), "--workers", str(workers),
               "--store", f"sqlite:///{tmp}/formc-{port}.db"]
        env = dict(os.environ, PYTHONPATH=ROOT, FORMC_LOG_TURNS="0")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                            cwd=os.path.join(tmp, "bot") if kind == "rasa" else tmp)
    wait_http(f"http://127.0.0.1:{port}/status", proc, seconds=180)
    up = time.perf_counter() - started
    time.sleep(1.0)
    print(json.dumps({"server": kind, "start_s": round(up, 2),
                      "idle_rss_mib": round(tree_rss_mib(proc.pid), 1)}), flush=True)
    return proc, port


def measure(kind: str, proc, port: int, senders: int, duration: float, rate: float) -> dict:
    import asyncio
    cpu0 = tree_cpu_s(proc.pid)
    lat, errors, elapsed = asyncio.run(load(port, senders, duration, rate))
    cpu = tree_cpu_s(proc.pid) - cpu0
    row = {"server": kind, "load": f"open {rate:g}/s" if rate else f"closed {senders}",
           "msgs_per_s": round(len(lat) / elapsed, 1), "p50_ms": round(pct(lat, 0.5), 2),
           "p99_ms": round(pct(lat, 0.99), 2), "errors": len(errors),
           "server_cpu_ms_per_msg": round(1000 * cpu / max(1, len(lat)), 3)}
    print(json.dumps(row), flush=True)
    return row


def table(rows: list, kinds: list) -> str:
    figures = ("msgs_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_msg")
    loads = list(dict.fromkeys(r["load"] for r in rows))
    out = ["| load | figure | " + " | ".join(kinds) + (" | formc's advantage |" if len(kinds) == 2 else " |"),
           "|---|---|" + "---|" * (len(kinds) + (len(kinds) == 2))]
    for name in loads:
        for fig in figures:
            med = [statistics.median(r[fig] for r in rows if r["load"] == name and r["server"] == k)
                   for k in kinds]
            ratio = ""
            if len(kinds) == 2 and med[0] and med[1]:
                # how many times better formc is (kinds = [rasa, formc])
                better = med[1] / med[0] if fig == "msgs_per_s" else med[0] / med[1]
                ratio = f" {better:.1f}x |"
            out.append(f"| {name} | {fig} | " + " | ".join(f"{m:g}" for m in med) + " |" + ratio)
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--senders", default="8,32,64")
    ap.add_argument("--rates", default="100,1000,1500")
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--workers", type=int, default=1, help="formc serve --workers")
    a = ap.parse_args()
    venv = rasa_venv()
    tmp = tempfile.mkdtemp(prefix="formc-vs-rasa-")
    servers = {}
    try:
        if venv:
            servers["rasa"] = start("rasa", tmp, venv, train_rasa(venv, tmp), 1)
        else:
            print("no Rasa venv found: formc's figures alone", file=sys.stderr)
        servers["formc"] = start("formc", tmp, None, compile_formc(tmp), a.workers)
        kinds = list(servers)
        plans = [(int(n), 0.0) for n in a.senders.split(",") if n] + \
                [(64, float(r)) for r in a.rates.split(",") if r]
        rows = []
        for senders, rate in plans:
            for _ in range(a.rounds):
                for kind in kinds:      # alternated, so both see the same machine state
                    proc, port = servers[kind]
                    rows.append(measure(kind, proc, port, senders, a.duration, rate))
        print(f"\n{time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, medians of {a.rounds} round(s)"
              f" of {a.duration:g} s; formc: SQLite, {a.workers} worker(s)\n")
        print(table(rows, kinds))
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
