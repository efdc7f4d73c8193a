"""Issue 17: the whole event log kept append-only (retention all | N | days), read only when asked
(GET tracker, GET story), a conversation's log replaced (PUT /tracker/events), `until`, /execute
and DELETE /model over HTTP. Real stores (memory, a SQLite file, a redis-server) and a real
`formc serve`; the answers themselves are compared with Rasa 3.6.21 in tests/test_api_oracle.py."""
from __future__ import annotations

import asyncio
import json
import subprocess
import time

import pytest

from formc.runtime.story_export import conversation_story
from formc.stores import open_store
from formc.stores.base import parse_retention
from support.serve_helpers import PYTHON, ROOT, FormcServer, build_restaurant_fsm, http, say


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store_url(request, tmp_path):
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/conv.db"
    return request.getfixturevalue("redis_server").url + f"?key_prefix=h{time.monotonic_ns()}"


async def _turns(store, sender: str, count: int, per_turn: int = 10, stamp=None) -> None:
    for turn in range(count):
        async with store.conversation(sender) as conv:
            events = [{"event": "slot", "name": "n", "value": turn * per_turn + i,
                       "timestamp": stamp(turn) if stamp else time.time()} for i in range(per_turn)]
            conv.write({"turn": turn}, append={"events": events, "trace": [{"t": turn}]})


def _run(store_url, body, retain=None, keep=None):
    async def go():
        store = open_store(store_url, keep=keep)
        store.retain = retain
        await store.open()
        try:
            await body(store)
        finally:
            # a Redis client's pool may keep connections open past aclose(): close them here
            # so no ResourceWarning lands in a later test
            pool = getattr(getattr(store, "_redis", None), "connection_pool", None)
            await store.close()
            if pool is not None:
                await pool.disconnect()
    asyncio.run(go())


def test_every_event_is_kept_but_a_turn_reads_only_its_window(store_url):
    async def body(store):
        await _turns(store, "a", 50)
        full = await store.full_log("a")
        assert [e["value"] for e in full] == list(range(500))      # nothing lost, in order
        hot = await store.logs("a")
        assert [e["value"] for e in hot["events"]] == [495, 496, 497, 498, 499]
        assert [t["t"] for t in hot["trace"]] == [48, 49]
        store.cache.drop("a")
        async with store.conversation("a") as conv:                 # the per-turn read
            assert len(conv.logs["events"]) == 5
        assert await store.full_log("nobody") == []
    _run(store_url, body, keep={"events": 5, "trace": 2})


def test_retention_by_count_keeps_the_newest(store_url):
    async def body(store):
        await _turns(store, "a", 100)
        values = [e["value"] for e in await store.full_log("a")]
        assert values[-1] == 999 and values == list(range(1000 - len(values), 1000))
        # memory and Redis keep exactly N; SQLite drops whole turns (rows), every 32 turns
        assert len(values) == 40 if not store_url.startswith("sqlite") else 40 <= len(values) <= 720
    _run(store_url, body, retain=40, keep={"events": 5, "trace": 2})


def test_retention_by_days_drops_old_events(store_url):
    async def body(store):
        now = time.time()
        # 40 turns from 10 days ago, then 24 recent ones
        await _turns(store, "a", 64, stamp=lambda t: now - 10 * 86400 if t < 40 else now)
        for _ in range(8):      # Redis drops a bounded number per turn: a few more turns
            await _turns(store, "b", 1)
            async with store.conversation("a") as conv:
                conv.write({"turn": 99}, append={"events": [{"event": "slot", "name": "n",
                                                              "value": -1, "timestamp": now}]})
        values = [e["value"] for e in await store.full_log("a")]
        assert all(v >= 400 or v == -1 for v in values), values[:5]
        assert values[-1] == -1 and 399 not in values
    _run(store_url, body, retain=parse_retention("2d"), keep={"events": 5, "trace": 2})


def test_reset_replaces_the_log(store_url):
    async def body(store):
        await _turns(store, "a", 3)
        async with store.conversation("a") as conv:
            conv.write({"turn": "new"}, append={"events": [{"event": "slot", "name": "x", "value": 1}]},
                       reset=True)
        assert await store.full_log("a") == [{"event": "slot", "name": "x", "value": 1}]
    _run(store_url, body)


@pytest.mark.parametrize("text,expected", [("all", None), ("500", 500), ("30d", ("days", 30.0)),
                                           ("0.5d", ("days", 0.5))])
def test_parse_retention(text, expected):
    assert parse_retention(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-3", "soon", "3w", "0d"])
def test_parse_retention_refuses(text):
    with pytest.raises(ValueError, match="keep-events"):
        parse_retention(text)


def test_serve_refuses_a_bad_keep_events(tmp_path):
    fsm = build_restaurant_fsm(str(tmp_path))
    proc = subprocess.run([PYTHON, "-m", "formc", "serve", fsm, "--keep-events", "forever"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "--keep-events 'forever'" in proc.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hist")
    fsm = build_restaurant_fsm(str(tmp))
    srv = FormcServer(fsm, "--store", f"sqlite:///{tmp}/h.db", "--auth-token", "T", cwd=str(tmp))
    yield srv
    srv.stop()


def test_get_tracker_returns_the_whole_history(server):
    for i in range(70):   # ~4 events a turn: well past the 200 events a session keeps hot
        say(server, "long", "hi" if i % 2 else "thanks")
    status, _h, tracker = http("GET", f"{server.base}/conversations/long/tracker?include_events=ALL&token=T")
    assert status == 200
    users = [e for e in tracker["events"] if e["event"] == "user"]
    assert len(users) == 70 and len(tracker["events"]) > 200
    assert tracker["events"][0]["name"] == "action_session_start"
    # `until` before the 2nd message: the tracker as it was then
    until = users[1]["timestamp"] - 1e-6
    status, _h, then = http("GET", f"{server.base}/conversations/long/tracker?until={until}&token=T")
    assert [e["text"] for e in then["events"] if e["event"] == "user"] == [users[0]["text"]]


def test_put_events_story_execute_and_unload(server):
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": "hello", "parse_data": {"intent": {"name": "greet", "confidence": 1.0},
                                                                "entities": []}},
              {"event": "action", "name": "utter_greet"}]
    status, _h, tracker = http("PUT", f"{server.base}/conversations/put-me/tracker/events?token=T", events)
    assert status == 200 and [e["event"] for e in tracker["events"]] == ["action", "user", "action"]
    status, _h, story = http("GET", f"{server.base}/conversations/put-me/story?token=T")
    assert status == 200 and story == ('version: "3.1"\nstories:\n- story: put-me\n  steps:\n'
                                       "  - intent: greet\n    user: |-\n      hello\n"
                                       "  - action: utter_greet\n")
    status, _h, answer = http("POST", f"{server.base}/conversations/put-me/execute?token=T",
                          {"name": "utter_goodbye", "policy": "P", "confidence": 0.3})
    assert status == 200 and answer["messages"]
    status, _h, tracker = http("GET", f"{server.base}/conversations/put-me/tracker?token=T")
    last = [e for e in tracker["events"] if e["event"] == "action"][-1]
    assert (last["name"], last["policy"], last["confidence"]) == ("utter_goodbye", "P", 0.3)
    status, _h, body = http("POST", f"{server.base}/conversations/put-me/execute?token=T", {"name": "no_such"})
    assert status == 404
    status, _h, body = http("PUT", f"{server.base}/conversations/put-me/tracker/events?token=T",
                        [{"event": "no_such_event"}])
    assert status == 400
    status, _h, _b = http("DELETE", f"{server.base}/model?token=T")
    assert status == 204
    status, _h, body = http("POST", f"{server.base}/model/parse?token=T", {"text": "hi"})
    assert status == 409 and body["reason"] == "Conflict"


def test_story_marks_entities_and_sessions():
    log = [{"event": "action", "name": "action_session_start", "timestamp": 1.0},
           {"event": "user", "text": "a table in paris", "timestamp": 2.0,
            "parse_data": {"intent": {"name": "inform"},
                           "entities": [{"entity": "city", "value": "Paris", "start": 11, "end": 16}]}},
           {"event": "slot", "name": "city", "value": "Paris", "timestamp": 2.1},
           {"event": "active_loop", "name": None, "timestamp": 2.2},
           {"event": "action", "name": "action_session_start", "timestamp": 3.0},
           {"event": "user", "text": "bye", "timestamp": 4.0, "parse_data": {"intent": {"name": "goodbye"}}}]
    text = conversation_story(None, "s", log, all_sessions=True)
    assert '[paris]{"entity": "city", "value": "Paris"}' in text
    assert "- story: s, story 1" in text and "- story: s, story 2" in text
    assert "  - active_loop: null\n" in text and "    - city: Paris\n" in text
    assert conversation_story(None, "s", log).count("- story:") == 1
    assert conversation_story(None, "s", log, until=0.5) == 'version: "3.1"\n'
    assert conversation_story(None, "s", log, all_sessions=True, until=2.05).count("- intent:") == 1
