"""Durability of `formc serve`: SQLite across a restart, SIGKILL under load, Redis shared by two servers."""
from __future__ import annotations

import threading
import time

import pytest

from support.serve_helpers import (FormcServer, build_restaurant_fsm,
                           http, say, user_texts)

ASK_PEOPLE = "For how many people should I book?"


@pytest.fixture(scope="module")
def fsm(tmp_path_factory):
    return build_restaurant_fsm(str(tmp_path_factory.mktemp("bot")))


def tracker(server, sender):
    status, _, body = http("GET", server.url(f"/conversations/{sender}/tracker?include_events=ALL"))
    assert status == 200, body
    return body


def test_sqlite_conversation_continues_after_a_restart(fsm, tmp_path):
    db = tmp_path / "formc.db"
    server = FormcServer(fsm, cwd=str(tmp_path))          # default store: formc.db in the cwd
    say(server, "r", "i am looking for a restaurant")
    assert server.stop() == 0                               # graceful SIGTERM
    assert db.is_file()
    server = FormcServer(fsm, cwd=str(tmp_path))
    try:
        assert say(server, "r", "italian")[0]["text"] == ASK_PEOPLE   # the form went on
        assert user_texts(tracker(server, "r")) == ["i am looking for a restaurant", "italian"]
    finally:
        server.stop()


def test_sigkill_under_load_loses_no_acknowledged_turn(fsm, tmp_path):
    store = f"sqlite:///{tmp_path}/kill.db"
    server = FormcServer(fsm, "--store", store, cwd=str(tmp_path))
    acked: dict[str, list[str]] = {}
    stop = threading.Event()

    def client(i):
        sender = f"load-{i}"
        acked[sender] = []
        n = 0
        while not stop.is_set():
            text = f"msg {n}"
            try:
                status, _, _ = http("POST", server.url("/webhooks/rest/webhook"),
                                    {"sender": sender, "message": text}, timeout=5)
            except OSError:
                return                                   # server gone mid-request: not acknowledged
            if status == 200:
                acked[sender].append(text)
            n += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()                                        # SIGKILL while turns are in flight
    stop.set()
    for t in threads:
        t.join()
    assert sum(len(v) for v in acked.values()) > 50
    server = FormcServer(fsm, "--store", store, cwd=str(tmp_path))
    try:
        for sender, texts in acked.items():
            stored = user_texts(tracker(server, sender))
            if stored and stored[-1] not in texts:
                stored = stored[:-1]     # stored, but the reply was lost with the server: fine
            # every acknowledged turn is there, in order, up to the last one (the tracker shows
            # a capped event history, so older turns may have scrolled out of it)
            assert stored and stored == texts[-len(stored):], sender
            assert len(stored) == len(texts) or len(stored) >= 20, sender
            say(server, sender, "hi")                    # and the conversation goes on
    finally:
        server.stop()


def test_two_servers_share_one_redis_store(fsm, redis_server, tmp_path):
    store = redis_server.url + "?key_prefix=pair"
    a = FormcServer(fsm, "--store", store, cwd=str(tmp_path))
    b = FormcServer(fsm, "--store", store, cwd=str(tmp_path))
    try:
        # one conversation, its turns alternating between the two servers
        script = ["hi", "i am looking for a restaurant", "italian", "4", "yes", "no", "thanks"]
        replies = [say((a, b)[i % 2], "shared", text) for i, text in enumerate(script)]
        assert replies[2][0]["text"] == ASK_PEOPLE
        assert replies[5][-1]["text"].startswith("Booking summary: cuisine=italian, people=4")
        for server in (a, b):
            assert user_texts(tracker(server, "shared")) == script

        # concurrent messages of one sender spread over both servers: none lost
        texts = [f"note {i}" for i in range(30)]
        threads = [threading.Thread(target=say, args=((a, b)[i % 2], "race", t))
                   for i, t in enumerate(texts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(user_texts(tracker(a, "race"))) == sorted(texts)
    finally:
        a.stop()
        b.stop()


def test_redis_two_workers(fsm, redis_server, tmp_path):
    server = FormcServer(fsm, "--store", redis_server.url + "?key_prefix=workers", "--workers", "2",
                         cwd=str(tmp_path))
    try:
        server.wait_for_output("Worker ready", 2)    # a SIGTERM while a worker boots is slow
        script = ["hi", "i am looking for a restaurant", "italian", "4"]
        for text in script:
            say(server, "w", text)
        assert user_texts(tracker(server, "w")) == script
    finally:
        assert server.stop() == 0


def test_memory_store_refuses_several_workers(fsm, tmp_path):
    with pytest.raises(RuntimeError, match="cannot be shared"):
        FormcServer(fsm, "--store", "memory://", "--workers", "2", cwd=str(tmp_path))


def test_unreachable_redis_fails_at_startup(fsm, tmp_path):
    from support.serve_helpers import free_port
    with pytest.raises(RuntimeError, match="cannot reach Redis"):
        FormcServer(fsm, "--store", f"redis://127.0.0.1:{free_port()}/0", cwd=str(tmp_path))
