#!/usr/bin/env python
"""Hostile load on a real `formc serve` (127.0.0.1), then kill -9 under load: the robustness figures.

  .venv/bin/python bench/robust.py [--requests 10000] [--load-seconds 60] [--workers 1]

1. hostile phase (after 200 warm-up requests): at least --requests requests from 8 connections, drawn from malformed and
   hostile inputs (catastrophic-regex messages, deeply nested JSON, lone surrogates, wrong-typed
   events, bodies over the limit, URLs over 8 kB, huge headers, PUT /model of /dev/zero, a FIFO,
   a cut .fsm, ...) mixed with ordinary messages; meanwhile /version is timed every 20 ms.
2. load phase: --load-seconds of ordinary conversations (16 senders) plus hostile messages,
   then the WAL file's size; the server is killed with SIGKILL while the load runs, restarted
   on the same SQLite file, and every acknowledged user message is looked up in its tracker.

Prints: requests, 5xx (goal 0), non-JSON answers (goal 0), acknowledged turns lost after
kill -9 (goal 0), WAL size after the load (goal < 64 MB), worst /version latency while hostile
messages run (goal < 100 ms). The bot is examples/hello with the issue's reproducer regex
`(a|a)+$` swapped into its compiled NLU (the compiler itself refuses it, F331).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serve_bench import PYTHON, ROOT, free_port, wait_http  # noqa: E402

TOKEN = "robust"
PLACEHOLDER = "placeholderpattern"


def build_bot(tmp: str) -> str:
    """examples/hello + regex/entity extractor; the placeholder regex becomes `(a|a)+$`."""
    sys.path.insert(0, ROOT)
    from formc.api import compile_project
    from formc.artifact import dump_machine
    bot = os.path.join(tmp, "bot")
    shutil.copytree(os.path.join(ROOT, "examples", "hello"), bot)
    with open(os.path.join(bot, "data", "nlu.yml"), "a") as f:
        f.write(f"\n- regex: account\n  examples: |\n    - {PLACEHOLDER}\n")
    with open(os.path.join(bot, "domain.yml"), "a") as f:
        f.write("\nentities:\n  - account\n")
    with open(os.path.join(bot, "config.yml")) as handle:
        config = handle.read()
    config = config.replace(
        "  - name: LogisticRegressionClassifier\n",
        "  - name: LogisticRegressionClassifier\n  - name: RegexEntityExtractor\n")
    with open(os.path.join(bot, "config.yml"), "w") as f:
        f.write(config)
    machine, diagnostics = compile_project(bot)
    assert machine is not None, [d.render() for d in diagnostics]
    text = json.dumps(machine.nlu_data).replace(PLACEHOLDER, "(a|a)+$")
    machine.nlu_data.update(json.loads(text))
    out = os.path.join(tmp, "hostile.fsm")
    dump_machine(machine, out, root=bot)
    return out


# ---------------------------------------------------------------- the hostile requests

def _req(method: str, path: str, body: bytes = b"", headers: bytes = b"") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode() + headers + b"\r\n" + body


def _random_event(rnd: random.Random):
    kinds = ["user", "bot", "action", "slot", "entities", "reminder", "followup", "active_loop",
             "loop_interrupted", "restart", "rewind", "cancel_reminder", "nope", None, 3]
    junk = [None, 1, -1.5, "x", "\ud800", [], {}, [1, [2]], {"a": {"b": None}}, True, "9" * 300]
    ev = {"event": rnd.choice(kinds)}
    for key in rnd.sample(["name", "value", "text", "parse_data", "entities", "intent",
                           "date_time", "timestamp", "metadata", "is_interrupted", "data",
                           "policy", "confidence"], rnd.randint(0, 5)):
        ev[key] = rnd.choice(junk)
    return ev


def _dumps(value) -> bytes:
    return json.dumps(value).encode()      # ensure_ascii: lone surrogates become \ud800 escapes


def hostile(rnd: random.Random, n: int, models: str) -> tuple[bytes, bool, bool]:
    """-> (request bytes, expects a JSON body, closes the connection)."""
    t = f"?token={TOKEN}"
    sender = f"h{rnd.randint(0, 500)}"
    choice = rnd.randrange(16)
    if choice == 0:
        return _req("POST", "/webhooks/rest/webhook", _dumps(
            {"sender": sender, "message": "a" * rnd.randint(20, 40) + "!"})), True, False
    if choice == 1:
        depth = rnd.choice([70, 1000, 100_000])
        return _req("POST", "/webhooks/rest/webhook",
                    b'{"sender":"d","message":"hi","metadata":' + b"[" * depth + b"]" * depth
                    + b"}"), True, False
    if choice == 2:
        field = rnd.choice(["sender", "message"])
        body = {"sender": sender, "message": "hi"}
        body[field] = "x\ud800y"
        return _req("POST", "/webhooks/rest/webhook", _dumps(body)), True, False
    if choice == 3:
        return _req("POST", f"/conversations/{sender}/tracker/events{t}",
                    _dumps([_random_event(rnd) for _ in range(rnd.randint(1, 4))])), True, False
    if choice == 4:
        return _req("POST", "/model/parse" + t, _dumps({"text": rnd.choice(
            ["\ud800", "a" * 30 + "!", "", "x" * 100_000, 5, None])})), True, False
    if choice == 5:
        return _req("POST", "/webhooks/rest/webhook", rnd.choice(
            [b"", b"{", b"null", b"[]", b'"x"', b"\xff\xfe", b'{"sender": 1.5, "message": []}',
             b'{"message": {"a": 1}}', b'{"sender": "", "message": "x"}'])), True, False
    if choice == 6:
        return _req("POST", "/webhooks/rest/webhook", b"x" * (1024 * 1024 + 10)), True, True
    if choice == 7:
        return _req("GET", "/version?x=" + "a" * 9000), True, True
    if choice == 8:
        headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(12))
        return _req("GET", "/version", headers=headers), True, True
    if choice == 9:
        path = rnd.choice(["/dev/zero", os.path.join(models, "pipe.fsm"), "/nonexistent",
                           os.path.join(models, "cut.fsm"), "/etc", "", "\ud800"])
        return _req("PUT", "/model" + t, _dumps({"model_file": path})), True, False
    if choice == 10:
        return _req("GET", f"/conversations/{rnd.choice(['..%2F..', '%00', sender, '%ED%A0%80'])}"
                    f"/tracker{t}&include_events={rnd.choice(['ALL', 'bogus', 'NONE'])}"), True, False
    if choice == 11:
        return _req("POST", f"/conversations/{sender}/trigger_intent{t}", _dumps(
            rnd.choice([{"name": "greet", "entities": {"a": "\ud800"}}, {"name": 5},
                        {"name": "nope"}, {"name": "greet", "entities": "x"}]))), True, False
    if choice == 12:
        return _req("POST", f"/conversations/{sender}/messages{t}", _dumps(
            rnd.choice([{"text": "hi", "sender": "user", "parse_data": {"intent": 5}},
                        {"text": None}, {"text": "hi", "sender": "bot"}]))), True, False
    if choice == 13:
        return _req("POST", f"/conversations/{sender}/predict{t}"), True, False
    if choice == 14:
        return _req(rnd.choice(["DELETE", "PATCH", "GET"]), rnd.choice(
            ["/webhooks/rest/webhook", "/model", "/nope", "/conversations//tracker"])), True, False
    return _req("POST", "/webhooks/rest/webhook", _dumps(
        {"sender": sender, "message": rnd.choice(["hi", "bye", "great", "sad"])})), True, False


async def _exchange(reader, writer, request: bytes) -> tuple[int, bytes, bool]:
    """Send one request, read one reply -> (status, body, connection closed)."""
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length, closed = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
            closed = True
    body = await reader.readexactly(length) if length else b""
    return status, body, closed


class Tally:
    def __init__(self) -> None:
        self.requests = self.server_errors = self.non_json = self.dropped = 0
        self.examples: list[str] = []

    def record(self, status: int, body: bytes, wants_json: bool, request: bytes) -> None:
        self.requests += 1
        bad = status >= 500
        if wants_json and status not in (204,) and body:
            try:
                json.loads(body)
            except ValueError:
                self.non_json += 1
                bad = True
        self.server_errors += status >= 500
        if bad and len(self.examples) < 5:
            self.examples.append(f"{status} {request[:80]!r} -> {body[:160]!r}")


async def hostile_worker(port: int, rnd: random.Random, count: int, tally: Tally,
                         models: str) -> None:
    reader = writer = None
    for _ in range(count):
        request, wants_json, closes = hostile(rnd, count, models)
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            status, body, closed = await _exchange(reader, writer, request)
            tally.record(status, body, wants_json, request)
            if closed or closes:
                writer.close()
                writer = None
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            tally.dropped += 1
            if writer is not None:
                writer.close()
            writer = None
    if writer is not None:
        writer.close()


async def version_probe(port: int, stop: asyncio.Event, worst: list) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while not stop.is_set():
        t0 = time.perf_counter()
        await _exchange(reader, writer, _req("GET", "/version"))
        worst.append(time.perf_counter() - t0)
        await asyncio.sleep(0.02)
    writer.close()


async def hostile_phase(port: int, total: int, models: str) -> tuple[Tally, list]:
    tally, worst, stop = Tally(), [], asyncio.Event()
    probe = asyncio.ensure_future(version_probe(port, stop, worst))
    await asyncio.gather(*(hostile_worker(port, random.Random(i), total // 8 + 1, tally, models)
                           for i in range(8)))
    stop.set()
    await probe
    return tally, worst


# ---------------------------------------------------------------- load, kill -9, recheck

async def conversation_sender(port: int, idx: int, stop_at: float, acked: dict,
                              tally: Tally) -> None:
    texts = ["hi", "great", "bye", "sad", "hello there"]
    conv = 0
    reader = writer = None
    loop = asyncio.get_running_loop()
    while loop.time() < stop_at:
        sender = f"load-{idx}-{conv}"
        conv += 1
        for turn, text in enumerate(texts):
            message = f"{text} {turn}"
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                status, body, _ = await _exchange(reader, writer, _req(
                    "POST", "/webhooks/rest/webhook", _dumps({"sender": sender, "message": message})))
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                return                      # the server was killed: stop this sender
            tally.record(status, body, True, b"load")
            if status == 200:
                acked.setdefault(sender, []).append(message)
            if loop.time() >= stop_at:
                break
    if writer is not None:
        writer.close()


async def load_phase(port: int, seconds: float, models: str, acked: dict) -> Tally:
    tally = Tally()
    stop_at = asyncio.get_running_loop().time() + seconds
    hostile_stream = hostile_worker(port, random.Random(99), int(seconds * 20), tally, models)
    await asyncio.gather(hostile_stream, *(conversation_sender(port, i, stop_at, acked, tally)
                                           for i in range(16)))
    return tally


def start(fsm: str, port: int, db: str, models: str, workers: int, log) -> subprocess.Popen:
    proc = subprocess.Popen(
        [PYTHON, "-m", "formc", "serve", fsm, "--host", "127.0.0.1", "--port", str(port),
         "--store", f"sqlite:///{db}", "--auth-token", TOKEN, "--model-dir", models,
         "--workers", str(workers)], env=dict(os.environ, PYTHONPATH=ROOT, FORMC_LOG_TURNS="0"),
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    wait_http(f"http://127.0.0.1:{port}/version", proc, 60)
    return proc


def lost_turns(port: int, acked: dict) -> tuple[int, int]:
    """-> (acknowledged user messages not in their tracker, acknowledged messages checked)."""
    import urllib.request
    lost = checked = 0
    for sender, messages in acked.items():
        url = f"http://127.0.0.1:{port}/conversations/{sender}/tracker?token={TOKEN}"
        with urllib.request.urlopen(url, timeout=30) as reply:
            events = json.loads(reply.read())["events"]
        seen = {e.get("text") for e in events if e.get("event") == "user"}
        checked += len(messages)
        lost += sum(1 for m in messages if m not in seen)
    return lost, checked


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=10_000)
    ap.add_argument("--load-seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="formc-robust-")
    models = os.path.join(tmp, "models")
    os.makedirs(models)
    os.mkfifo(os.path.join(models, "pipe.fsm"))
    fsm = build_bot(tmp)
    with open(fsm, "rb") as src, open(os.path.join(models, "cut.fsm"), "wb") as dst:
        dst.write(src.read()[:50_000])
    db, port = os.path.join(tmp, "robust.db"), free_port()
    log = open(os.path.join(tmp, "serve.log"), "wb")
    proc = start(fsm, port, db, models, a.workers, log)
    try:
        # one-off first-use costs (lazy imports, first compiles) are not what is measured
        asyncio.run(hostile_worker(port, random.Random(-1), 200, Tally(), models))
        tally, worst = asyncio.run(hostile_phase(port, a.requests, models))
        load_avg = os.getloadavg()[0]
        acked: dict = {}

        async def load_and_kill():
            task = asyncio.ensure_future(load_phase(port, a.load_seconds, models, acked))
            await asyncio.sleep(a.load_seconds)
            wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
            os.killpg(proc.pid, signal.SIGKILL)       # under load: senders are mid-request
            return await task, wal
        load_tally, wal = asyncio.run(load_and_kill())
        proc.wait()
        proc = start(fsm, port, db, models, a.workers, log)
        lost, checked = lost_turns(port, acked)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        log.close()
    requests = tally.requests + load_tally.requests
    print(json.dumps({"hostile_requests": tally.requests, "load_requests": load_tally.requests,
                      "examples": tally.examples + load_tally.examples}, ensure_ascii=True))
    print(f"requests                                   {requests:,}")
    print(f"5xx                                        {tally.server_errors + load_tally.server_errors}")
    print(f"non-JSON answers                           {tally.non_json + load_tally.non_json}")
    print(f"connections dropped by the server          {tally.dropped} (hostile phase)")
    print(f"acknowledged turns lost after kill -9      {lost} of {checked:,}")
    print(f"WAL size after {a.load_seconds:g} s of load              {wal / 1024 / 1024:.1f} MB")
    print(f"worst /version latency (hostile phase)     {max(worst) * 1000:.1f} ms "
          f"(p99 {sorted(worst)[int(0.99 * len(worst))] * 1000:.1f} ms, {len(worst)} probes; "
          f"machine load average {load_avg:.1f} on {os.cpu_count()} cores)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
