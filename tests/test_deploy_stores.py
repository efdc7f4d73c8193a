"""formc serve on shared stores: two servers on one PostgreSQL keep one sender's turns in order;
endpoints.yml's tracker_store picks the store (flags win); a PostgreSQL or Redis that goes away
mid-load gives 503 JSON, one log line per fault, and the server recovers with no acknowledged
turn lost."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time

import pytest

from support.channels_support import restaurant_fsm, write
from support.serve_helpers import REDIS_SERVER, FormcServer, free_port, http

REDIS_DOWN = "redis-server is not on PATH"


@pytest.fixture(scope="module")
def fsm(tmp_path_factory):
    return restaurant_fsm(str(tmp_path_factory.mktemp("bot")))


def user_texts(server, sender: str) -> list:
    status, _, tracker = http("GET", server.url(f"/conversations/{sender}/tracker"))
    assert status == 200, tracker
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_two_servers_on_one_postgres_keep_one_senders_turns_in_order(fsm, postgres_server, tmp_path):
    url = postgres_server.url + "?table_prefix=two_"
    a = FormcServer(fsm, "--store", url, cwd=str(tmp_path))
    b = FormcServer(fsm, "--store", url, cwd=str(tmp_path))
    try:
        for i in range(10):   # one client, alternating servers
            server = (a, b)[i % 2]
            assert http("POST", server.url("/webhooks/rest/webhook"),
                        {"sender": "alt", "message": f"alt {i}"})[0] == 200
        assert user_texts(a, "alt") == [f"alt {i}" for i in range(10)]
        acked: dict = {"a": [], "b": []}

        def client(name, server):   # two clients, one sender, both servers at once
            for i in range(15):
                text = f"{name} {i}"
                if http("POST", server.url("/webhooks/rest/webhook"),
                        {"sender": "both", "message": text})[0] == 200:
                    acked[name].append(text)
        threads = [threading.Thread(target=client, args=(n, s)) for n, s in (("a", a), ("b", b))]
        [t.start() for t in threads]
        [t.join(120) for t in threads]
        seen = user_texts(b, "both")
        assert len(acked["a"]) == len(acked["b"]) == 15
        assert sorted(seen) == sorted(acked["a"] + acked["b"])   # nothing lost, nothing twice
        for name in "ab":
            assert [t for t in seen if t.startswith(name)] == acked[name]
    finally:
        a.stop()
        b.stop()


def test_endpoints_tracker_store_sql_postgresql_is_used_and_flags_win(fsm, postgres_server, tmp_path):
    endpoints = write(tmp_path / "endpoints.yml", (
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n  url: 127.0.0.1\n"
        f"  port: {postgres_server.port}\n  db: postgres\n  username: formc\n"
        "lock_store:\n  type: redis\n  url: localhost\n  db: 1\n"
        "event_broker:\n  type: pika\n"))
    server = FormcServer(fsm, "--endpoints", endpoints, cwd=str(tmp_path))
    try:
        assert http("POST", server.url("/webhooks/rest/webhook"),
                    {"sender": "ep", "message": "hi"})[0] == 200
        out = server.output()
        assert f"(store postgresql://formc@127.0.0.1:{postgres_server.port}/postgres," in out
        assert "lock_store redis: formc takes each conversation's lock inside its tracker store" in out
        assert "endpoints.yml:8:1: lock_store redis" in out
        assert "endpoints.yml:12:1: warning: event_broker is not supported" in out and "[F805]" in out
    finally:
        server.stop()
    server = FormcServer(fsm, "--endpoints", endpoints, "--store", "memory://", cwd=str(tmp_path))
    try:
        assert "(store memory://," in server.output()
        assert "--store memory:// wins over tracker_store" in server.output()
    finally:
        server.stop()


@pytest.mark.parametrize("text, where, message", [
    ("tracker_store:\n  type: mongod\n  url: x\n", ":2:", "tracker_store type 'mongod' is not supported by formc [F803]"),
    ("tracker_store:\n  type: my.module.Store\n", ":2:", "custom tracker store classes are not imported"),
    ("tracker_store:\n  type: sql\n  dialect: mysql\n", ":3:", "dialect 'mysql' is not supported by formc [F803]"),
    ("lock_store:\n  type: concurrent_redis\n", ":2:", "lock_store type 'concurrent_redis'"),
    ("tracker_store:\n  type: redis\n  port: many\n", ":3:", "'port' must be a number, found 'many' [F804]"),
    ("models: 5\n", ":1:", "'models' must be a mapping with 'url' (the model server) [F804]"),
])
def test_unsupported_endpoints_are_startup_errors_at_file_line(fsm, tmp_path, text, where, message):
    from support.serve_helpers import PYTHON, ROOT
    endpoints = write(tmp_path / "endpoints.yml", text)
    proc = subprocess.run([PYTHON, "-m", "formc", "serve", fsm, "--endpoints", endpoints],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1
    assert endpoints + where in proc.stderr and message in proc.stderr, proc.stderr


def test_endpoints_redis_tracker_store_keys_become_the_store_url():
    from formc.reader.deploy import _redis_url
    from formc.errors import Reporter, Span
    section = {"type": "redis", "url": "cache.local", "port": 6380, "db": 2, "password": "p@ss",
               "key_prefix": "bot1", "record_exp": 60, "use_ssl": True}
    assert _redis_url(section, Span("e.yml"), Reporter(), record_exp=True) == \
        "rediss://:p%40ss@cache.local:6380/2?key_prefix=bot1&record_exp=60"


# ---------------------------------------------------------------- outages

def _load_through_outage(server, stop_store, start_store, sender_prefix: str) -> dict:
    """4 clients send turns while the store goes away for ~2 s and comes back; returns
    {sender: acknowledged texts} and the statuses seen."""
    acked: dict = {}
    statuses: list = []
    done = threading.Event()

    def client(i):
        sender = f"{sender_prefix}{i}"
        acked[sender] = []
        n = 0
        while not done.is_set():
            text = f"msg {n}"
            try:
                status, _, body = http("POST", server.url("/webhooks/rest/webhook"),
                                       {"sender": sender, "message": text}, timeout=30)
            except OSError:
                status, body = None, None
            statuses.append(status)
            if status == 200:
                acked[sender].append(text)
            elif status == 503:
                assert body["code"] == 503 and body["reason"] == "StoreUnavailable", body
            n += 1
            time.sleep(0.02)
    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    [t.start() for t in threads]
    time.sleep(1.0)
    stop_store()
    time.sleep(2.0)
    start_store()
    deadline = time.time() + 30
    while time.time() < deadline and statuses[-8:].count(200) < 8:
        time.sleep(0.2)
    done.set()
    [t.join(60) for t in threads]
    return {"acked": acked, "statuses": statuses}


def _assert_survived(server, result: dict) -> None:
    statuses = result["statuses"]
    assert 503 in statuses, "the outage was not seen"
    assert statuses[-4:] == [200] * 4, statuses[-20:]        # recovered
    assert None not in statuses and 500 not in statuses, (
        sorted(set(map(str, statuses))), [l for l in server.output().splitlines() if "503" not in l and "unavailable" not in l][-60:])
    for sender, texts in result["acked"].items():
        seen = user_texts(server, sender)
        missing = [t for t in texts if t not in seen]
        assert not missing, (sender, missing)                # no acknowledged turn lost


def test_postgres_going_away_mid_load_gives_503_and_recovers(fsm, postgres_server, tmp_path):
    url = postgres_server.url + "?table_prefix=outage_&lock_timeout=5"
    server = FormcServer(fsm, "--store", url, cwd=str(tmp_path), env={"FORMC_LOG_TURNS": "0"})
    try:
        result = _load_through_outage(server, lambda: postgres_server.pause(fast=True),
                                      lambda: postgres_server.start(postgres_server.port), "pg")
        _assert_survived(server, result)
        assert "PostgreSQL store 127.0.0.1" in server.output()
        metrics = http("GET", server.url("/metrics"))[2]
        failed = result["statuses"].count(503)
        assert f'formc_turns_total{{kind="message",outcome="store_error"}} {failed}.0' in metrics
        assert f"formc_store_errors_total {failed}.0" in metrics
    finally:
        server.stop()


class _DurableRedis:
    """redis-server with an fsync'd append-only file, restartable on its port (the shared
    fixture's server keeps nothing on disk, so a restart would lose acknowledged turns)."""

    def __init__(self, workdir: str) -> None:
        self.dir, self.port = workdir, free_port()
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                                      "--dir", self.dir], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            probe = subprocess.run([shutil.which("redis-cli") or "redis-cli", "-p", str(self.port),
                                    "ping"], capture_output=True, text=True)
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.mark.skipif(not REDIS_SERVER, reason=REDIS_DOWN)
def test_redis_going_away_mid_load_gives_503_and_recovers(fsm, tmp_path):
    redis = _DurableRedis(str(tmp_path))
    url = f"redis://127.0.0.1:{redis.port}/0?lock_ttl=5"
    server = FormcServer(fsm, "--store", url, cwd=str(tmp_path), env={"FORMC_LOG_TURNS": "0"})
    try:
        result = _load_through_outage(server, redis.kill, redis.start, "rd")
        _assert_survived(server, result)
    finally:
        server.stop()
        redis.kill()
