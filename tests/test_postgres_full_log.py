"""Issue 17 on the PostgreSQL store: every event kept append-only (--keep-events all, the default),
a turn reading only its hot window, GET tracker reading the whole log, and the retention choices
(N events, N days) applied, as the SQLite and Redis stores do (tests/test_history_api.py). A real
PostgreSQL server started by the tests (support/postgres_support.py) and a real `formc serve`."""
from __future__ import annotations

import asyncio
import time

import pytest

from formc.stores import open_store
from formc.stores.base import parse_retention
from support.serve_helpers import FormcServer, build_restaurant_fsm, http, say

_count = [0]


@pytest.fixture
def pg_url(postgres_server):
    _count[0] += 1                       # a table set of its own per test
    return postgres_server.url + f"?table_prefix=fl{_count[0]}_"


async def _turns(store, sender: str, count: int, per_turn: int = 10, stamp=None) -> None:
    for turn in range(count):
        async with store.conversation(sender) as conv:
            events = [{"event": "slot", "name": "n", "value": turn * per_turn + i,
                       "timestamp": stamp(turn) if stamp else time.time()} for i in range(per_turn)]
            conv.write({"turn": turn}, append={"events": events, "trace": [{"t": turn}]})


def _run(url, body, retain=None, keep=None):
    async def go():
        store = open_store(url, keep=keep)
        store.retain = retain
        await store.open()
        try:
            await body(store)
        finally:
            await store.close()
    asyncio.run(go())


def test_every_event_is_kept_but_a_turn_reads_only_its_window(pg_url):
    async def body(store):
        await _turns(store, "a", 70)     # past two trim points (every 32 turns)
        full = await store.full_log("a")
        assert [e["value"] for e in full] == list(range(700))
        hot = await store.logs("a")
        assert [e["value"] for e in hot["events"]] == [695, 696, 697, 698, 699]
        assert [t["t"] for t in hot["trace"]] == [68, 69]
        store.cache.drop("a")
        async with store.conversation("a") as conv:       # the per-turn read: the window only
            assert [e["value"] for e in conv.logs["events"]] == [695, 696, 697, 698, 699]
        assert await store.full_log("a", "trace") == [{"t": t} for t in range(70)]
        assert await store.full_log("nobody") == []
    _run(pg_url, body, keep={"events": 5, "trace": 2})


def test_retention_by_count_keeps_the_newest_turns(pg_url):
    async def body(store):
        await _turns(store, "a", 100)
        values = [e["value"] for e in await store.full_log("a")]
        # whole turns (rows) are dropped every 32 turns: the newest 40 rows at the last trim
        # (turn 96) plus the 4 turns since, 10 events each
        assert values == list(range(560, 1000))
        await _turns(store, "b", 10)                       # other senders are not touched
        assert len(await store.full_log("b")) == 100
    _run(pg_url, body, retain=40, keep={"events": 5, "trace": 2})


def test_retention_by_days_drops_old_events(pg_url):
    async def body(store):
        now = time.time()
        # 40 turns from 10 days ago, then 24 recent ones: the trim at turn 64 drops the old rows
        await _turns(store, "a", 64, stamp=lambda t: now - 10 * 86400 if t < 40 else now)
        values = [e["value"] for e in await store.full_log("a")]
        assert values == list(range(400, 640))
        hot = await store.logs("a")
        assert [e["value"] for e in hot["events"]] == [635, 636, 637, 638, 639]
    _run(pg_url, body, retain=parse_retention("2d"), keep={"events": 5, "trace": 2})


def test_retention_by_days_keeps_recent_and_unstamped_events(pg_url):
    async def body(store):
        await _turns(store, "a", 64, stamp=lambda t: None)   # no timestamps: never "old"
        assert len(await store.full_log("a")) == 640
    _run(pg_url, body, retain=parse_retention("1d"), keep={"events": 5, "trace": 2})


def test_reset_replaces_the_log_and_a_new_conversation_starts_empty(pg_url):
    async def body(store):
        await _turns(store, "a", 3)
        async with store.conversation("a") as conv:
            conv.write({"turn": "new"}, append={"events": [{"event": "slot", "name": "x", "value": 1}]},
                       reset=True)
        assert await store.full_log("a") == [{"event": "slot", "name": "x", "value": 1}]
        await _turns(store, "gone", 3)
        store.record_exp = 0.2                             # "gone" expires, then starts afresh
        await asyncio.sleep(0.3)
        store.cache.drop("gone")
        assert await store.full_log("gone") == []
        await _turns(store, "gone", 1, per_turn=2)
        assert [e["value"] for e in await store.full_log("gone")] == [0, 1]
    _run(pg_url, body)


@pytest.fixture(scope="module")
def pg_server(postgres_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pgserve")
    fsm = build_restaurant_fsm(str(tmp))
    srv = FormcServer(fsm, "--store", postgres_server.url + "?table_prefix=srv_",
                      "--auth-token", "T", cwd=str(tmp))
    yield srv
    srv.stop()


def test_get_tracker_returns_the_whole_history_over_http(pg_server):
    for i in range(70):   # ~4 events a turn: well past the 200 events a session keeps hot
        say(pg_server, "long", "hi" if i % 2 else "thanks")
    status, _h, tracker = http("GET", f"{pg_server.base}/conversations/long/tracker?token=T")
    assert status == 200
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert len(users) == 70 and len(tracker["events"]) > 200
    assert tracker["events"][0]["name"] == "action_session_start"
    until = users[1]["timestamp"] - 1e-6
    status, _h, then = http("GET", f"{pg_server.base}/conversations/long/tracker?until={until}&token=T")
    assert [e["text"] for e in then["events"] if e["event"] == "user"] == [users[0]["text"]]


def test_keep_events_count_applies_to_a_served_postgres_store(postgres_server, tmp_path):
    fsm = build_restaurant_fsm(str(tmp_path))
    srv = FormcServer(fsm, "--store", postgres_server.url + "?table_prefix=keep_",
                      "--keep-events", "30", "--auth-token", "T", cwd=str(tmp_path))
    try:
        for i in range(70):
            say(srv, "kept", "hi" if i % 2 else "thanks")
        status, _h, tracker = http("GET", f"{srv.base}/conversations/kept/tracker?token=T")
    finally:
        srv.stop()
    assert status == 200
    users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    # old turns were dropped (whole rows, every 32 turns), the newest ones are all there
    assert 8 <= len(users) < 70 and 30 <= len(tracker["events"]) < 200
    assert users[-1] == "hi"


def test_api_answers_on_postgres_match_rasa(postgres_server, tmp_path):
    """The recorded HTTP API calls of tests/test_api_oracle.py (GET tracker's whole history,
    `until`, PUT /tracker/events, /story, ...) answered from a PostgreSQL store: still Rasa's."""
    import json
    import os
    import subprocess
    from test_api_oracle import DELIBERATE, RECORDED, normal
    from api_calls import CALLS
    from record_api import call
    from support.serve_helpers import PYTHON, ROOT
    fsm = str(tmp_path / "edge3.fsm")
    subprocess.run([PYTHON, "-m", "formc", "compile", os.path.join(ROOT, "tests", "oracles", "edge3", "bot"),
                    "-o", fsm], check=True, capture_output=True, cwd=ROOT)
    srv = FormcServer(fsm, "--store", postgres_server.url + "?table_prefix=api_", "--auth-token", "T",
                      cwd=str(tmp_path))
    try:
        got = {name: call(srv.base, method, path + ("&" if "?" in path else "?") + "token=T", body)
               for name, method, path, body in CALLS}
    finally:
        srv.stop()
    with open(RECORDED, encoding="utf-8") as f:
        recorded = json.load(f)
    differ = [name for name, *_ in CALLS if name not in DELIBERATE
              and normal(got[name]) != normal(recorded[name])]
    assert differ == []
