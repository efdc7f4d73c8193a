"""Issue 14, stores and background work: one poisoned conversation cannot stop the others'
reminders, the SQLite WAL stays bounded under load and empties when idle, a Redis outage is a
503 with Retry-After, and a bot author's jinja template cannot render without bound."""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import time

import pytest

from support.hostile import hello_copy
from support.serve_helpers import FormcServer, http

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def hello_machine(tmp_path_factory):
    from formc.api import compile_project
    bot = hello_copy(str(tmp_path_factory.mktemp("hello")))
    machine, diagnostics = compile_project(bot)
    assert machine is not None
    return machine


def test_poisoned_conversation_does_not_stop_other_reminders(tmp_path, hello_machine):
    """`poisoned` holds a due reminder with a malformed intent; `fine` has a valid one due later
    (the store hands out due conversations earliest first, so the poisoned one comes first)."""
    from formc.server.turns import Bot, Conversations
    from formc.stores import open_store

    async def go():
        db = f"{tmp_path}/r.db"
        store = open_store(f"sqlite:///{db}", keep={"events": 200, "trace": 20})
        await store.open()
        conv = Conversations(store, Bot(hello_machine, "hello"))
        soon = "2000-01-01T00:00:00+00:00"
        for sender in ("poisoned", "fine"):
            async def step(bot, session, sender=sender):
                return bot.agent.append_events(session, sender, [
                    {"event": "reminder", "intent": "greet", "date_time": soon, "name": "r1",
                     "kill_on_user_msg": False}])
            await conv.run(sender, "append_events", step)
        # Poison one conversation as a store written by older code could hold it.
        with sqlite3.connect(db) as raw:
            (record,) = raw.execute("SELECT record FROM conversations WHERE sender_id='poisoned'"
                                    ).fetchone()
            record = json.loads(record)
            for reminder in record["session"]["reminders"]:
                reminder["intent"] = {"not": "a name"}
                reminder["entities"] = 12
            raw.execute("UPDATE conversations SET record=?, next_fire=0, rev=rev+1 "
                        "WHERE sender_id='poisoned'", (json.dumps(record),))
        store.cache.drop("poisoned")
        fired = await conv.fire_due()
        due_after = await store.due(time.time())
        tracker_fine = await store.load("fine")
        await store.close()
        return fired, due_after, tracker_fine
    fired, due_after, fine = asyncio.run(go())
    assert fired == 1
    assert due_after == []                         # the poisoned one is not retried forever
    assert fine["session"]["reminders"] == []      # the good reminder fired


def test_sqlite_wal_stays_bounded_and_empties_when_idle(tmp_path, monkeypatch):
    from formc.stores import open_store, sqlite as sqlite_store
    monkeypatch.setattr(sqlite_store, "WAL_TRUNCATE_BYTES", 512 * 1024)
    monkeypatch.setattr(sqlite_store, "IDLE_SECONDS", 0.5)
    db = f"{tmp_path}/w.db"

    async def go():
        store = open_store(f"sqlite:///{db}", keep={"events": 200, "trace": 20})
        await store.open()
        biggest, shrank = 0, False
        blob = "x" * 2000
        t_end = time.time() + 6
        i = 0
        while time.time() < t_end:
            async with store.conversation(f"s{i % 50}") as conv:
                conv.write({"session": {"n": i, "blob": blob}}, append={"events": [{"i": i}]})
            i += 1
            if i % 50 == 0:
                size = os.path.getsize(db + "-wal")
                shrank = shrank or size < biggest
                biggest = max(biggest, size)
                await asyncio.sleep(0)
        written = i
        await asyncio.sleep(3.0)                   # idle: the WAL is truncated
        idle = os.path.getsize(db + "-wal")
        n = store.count()
        await store.close()
        return biggest, shrank, idle, written, n
    biggest, shrank, idle, written, count = asyncio.run(go())
    assert written > 500 and count == 50
    assert shrank          # truncated under continuous load (a WAL file otherwise never shrinks)
    assert biggest < 64 * 1024 * 1024, biggest
    assert idle == 0


def test_redis_going_away_is_503_with_retry_after(tmp_path, redis_server):
    server = FormcServer(os.path.join(os.path.dirname(__file__), "..", "examples", "hello"),
                         "--store", redis_server.url + "?key_prefix=gone", cwd=str(tmp_path))
    try:
        status, _, _ = http("POST", server.url("/webhooks/rest/webhook"),
                            {"sender": "r", "message": "hi"})
        assert status == 200
        redis_server.stop()
        status, headers, body = http("POST", server.url("/webhooks/rest/webhook"),
                                     {"sender": "r2", "message": "hi"})
        assert status == 503, body
        assert headers.get("Retry-After") == "1"
        assert body["reason"] == "StoreUnavailable"
    finally:
        server.stop()


def test_jinja_template_is_bounded_in_output_and_time():
    from formc.runtime.responses import render_jinja_text
    for template in ("{{ 'x' * 300000000 }}",
                     "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
                     "{% for i in range(9999) %}{{ 'y' * 100 }}{% endfor %}",
                     "{{ 2 ** 100000000 }}"):
        t0 = time.perf_counter()
        assert render_jinja_text(template, {}) == template
        assert time.perf_counter() - t0 < 2.0
    assert render_jinja_text("hi {{ slots.name }} {% for i in range(3) %}{{ i }}{% endfor %}",
                             {"name": "Bo"}) == "hi Bo 012"
