"""The conversation-store contract, run against memory://, a real SQLite file and a real redis-server."""
from __future__ import annotations

import asyncio
import os
import subprocess
import textwrap

import pytest

from formc.stores import StoreError, open_store
from support.serve_helpers import PYTHON, ROOT


_counter = [0]


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
def store_url(request, tmp_path):
    _counter[0] += 1
    if request.param == "memory":
        return "memory://"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/conv.db"
    if request.param == "postgres":
        return request.getfixturevalue("postgres_server").url + f"?table_prefix=t{_counter[0]}_"
    server = request.getfixturevalue("redis_server")
    return f"{server.url}?key_prefix=t{_counter[0]}"


def run(coro):
    return asyncio.run(coro)


def test_round_trip_and_new_conversation(store_url):
    async def go():
        store = open_store(store_url)
        await store.open()
        async with store.conversation("alice") as conv:
            assert conv.record is None
            conv.write({"session": {"n": 1, "text": "grüß dich"}, "trace": []})
        async with store.conversation("alice") as conv:
            assert conv.record == {"session": {"n": 1, "text": "grüß dich"}, "trace": []}
        assert await store.load("alice") == {"session": {"n": 1, "text": "grüß dich"}, "trace": []}
        assert await store.load("bob") is None
        await store.close()
    run(go())


def test_failed_turn_writes_nothing_and_releases_the_lock(store_url):
    async def go():
        store = open_store(store_url)
        await store.open()
        async with store.conversation("u") as conv:
            conv.write({"n": 1})
        with pytest.raises(RuntimeError):
            async with store.conversation("u") as conv:
                conv.write({"n": 2})
                raise RuntimeError("action server down")
        # lock released: the next turn gets in at once and sees the old record
        async with store.conversation("u") as conv:
            assert conv.record == {"n": 1}
        await store.close()
    run(go())


def test_concurrent_turns_of_one_sender_run_in_arrival_order(store_url):
    async def go():
        store = open_store(store_url)
        await store.open()

        async def turn(i):
            async with store.conversation("same") as conv:
                seen = (conv.record or {"seq": []})["seq"]
                await asyncio.sleep(0)          # yield mid-turn: others must wait
                conv.write({"seq": seen + [i]})

        await asyncio.gather(*(turn(i) for i in range(40)))
        assert (await store.load("same"))["seq"] == list(range(40))
        await store.close()
    run(go())


def test_logs_append_per_turn_and_keep_the_newest(store_url):
    async def go():
        store = open_store(store_url, keep={"events": 5, "trace": 2})
        other = open_store(store_url, keep={"events": 5, "trace": 2})   # reads via the store
        await store.open()
        await other.open()
        for turn in range(40):
            async with store.conversation("a") as conv:
                conv.write({"turn": turn}, append={"events": [{"e": turn, "i": 0}, {"e": turn, "i": 1}],
                                                   "trace": [{"t": turn}]})
        logs = await store.logs("a")
        assert logs["events"] == [{"e": 37, "i": 1}, {"e": 38, "i": 0}, {"e": 38, "i": 1},
                                  {"e": 39, "i": 0}, {"e": 39, "i": 1}]
        assert logs["trace"] == [{"t": 38}, {"t": 39}]
        # A process without the cached record gets record and logs together, under the lock.
        if not store.shared:
            other = store
            store.cache.drop("a")
        async with other.conversation("a") as conv:
            assert conv.record == {"turn": 39} and conv.logs == logs
            conv.write({"turn": 40}, append={"events": [{"e": 40, "i": 0}]})
        assert (await store.logs("a"))["events"][-2:] == [{"e": 39, "i": 1}, {"e": 40, "i": 0}]
        assert (await store.logs("a"))["trace"] == [{"t": 38}, {"t": 39}]
        # A failed turn appends nothing.
        with pytest.raises(RuntimeError):
            async with store.conversation("a") as conv:
                conv.write({"turn": 41}, append={"events": [{"e": 41, "i": 0}]})
                raise RuntimeError("action server down")
        assert (await store.logs("a"))["events"][-1] == {"e": 40, "i": 0}
        assert await store.logs("nobody") == {}
        with pytest.raises(ValueError, match="unknown log stream"):
            async with store.conversation("a") as conv:
                conv.write({"turn": 42}, append={"evnts": [1]})
        await store.close()
        await other.close()
    run(go())


def test_an_expired_conversation_starts_with_empty_logs(store_url):
    sep = "&" if "?" in store_url else "?"
    async def go():
        store = open_store(store_url + sep + "record_exp=0.3&cache=0")
        await store.open()
        async with store.conversation("old") as conv:
            conv.write({"x": 1}, append={"events": [{"e": 1}, {"e": 2}]})
        await asyncio.sleep(0.5)
        async with store.conversation("old") as conv:
            assert conv.record is None and not conv.logs
            conv.write({"x": 2}, append={"events": [{"e": "new"}]})
        assert (await store.logs("old")) == {"events": [{"e": "new"}]}
        await store.close()
    run(go())


def test_reminder_index_and_meta(store_url):
    async def go():
        store = open_store(store_url)
        await store.open()
        async with store.conversation("r1") as conv:
            conv.write({"x": 1}, next_fire=100.0)
        async with store.conversation("r2") as conv:
            conv.write({"x": 2}, next_fire=50.0)
        async with store.conversation("r3") as conv:
            conv.write({"x": 3})
        assert await store.due(10.0) == []
        assert await store.due(60.0) == ["r2"]
        assert await store.due(200.0) == ["r2", "r1"]
        async with store.conversation("r2") as conv:
            conv.write({"x": 2})                 # reminder fired: no next time
        assert await store.due(200.0) == ["r1"]
        await store.clear_fire("r1")
        assert await store.due(200.0) == []
        assert await store.get_meta("model") is None
        await store.set_meta("model", "/tmp/a.fsm")
        assert await store.get_meta("model") == "/tmp/a.fsm"
        await store.close()
    run(go())


def test_record_exp_expires_idle_conversations(store_url):
    sep = "&" if "?" in store_url else "?"
    async def go():
        store = open_store(store_url + sep + "record_exp=0.3")
        await store.open()
        async with store.conversation("idle") as conv:
            conv.write({"x": 1})
        assert await store.load("idle") == {"x": 1}
        await asyncio.sleep(0.5)
        await store.purge_expired()
        assert await store.load("idle") is None
        async with store.conversation("idle") as conv:
            assert conv.record is None
        await store.close()
    run(go())


def test_sqlite_file_survives_reopen(tmp_path):
    url = f"sqlite:///{tmp_path}/keep.db"
    async def write():
        store = open_store(url)
        await store.open()
        async with store.conversation("k") as conv:
            conv.write({"kept": True})
        await store.close()
    async def read():
        store = open_store(url)
        await store.open()
        value = await store.load("k")
        await store.close()
        return value
    run(write())
    assert (tmp_path / "keep.db").is_file()
    assert run(read()) == {"kept": True}


@pytest.mark.parametrize("bad,msg", [
    ("nothing", "no scheme"), ("ftp://x", "unknown store scheme"), ("sqlite://", "no database path"),
    ("memory://?record_exp=abc", "not a number"), ("sqlite:///x.db?synchronous=maybe", "synchronous"),
])
def test_bad_store_urls_are_explained(bad, msg):
    with pytest.raises(StoreError, match=msg):
        open_store(bad)


def test_unreachable_redis_is_a_clear_error():
    from support.serve_helpers import free_port
    store = open_store(f"redis://127.0.0.1:{free_port()}/0")
    with pytest.raises(StoreError, match="cannot reach Redis"):
        run(store.open())


_WORKER = textwrap.dedent("""
    import asyncio, sys
    from formc.stores import open_store
    async def main(url, name, n):
        store = open_store(url)
        await store.open()
        for i in range(n):
            async with store.conversation("shared") as conv:
                seq = (conv.record or {"seq": []})["seq"]
                conv.write({"seq": seq + [f"{name}{i}"]})
        await store.close()
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
""")


@pytest.mark.parametrize("kind", ["sqlite", "redis", "postgres"])
def test_two_processes_lose_no_update(kind, tmp_path, request):
    if kind == "sqlite":
        url = f"sqlite:///{tmp_path}/shared.db"
    elif kind == "postgres":
        url = request.getfixturevalue("postgres_server").url + "?table_prefix=mp_"
    else:
        url = request.getfixturevalue("redis_server").url + "?key_prefix=mp"
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = [subprocess.Popen([PYTHON, "-c", _WORKER, url, name, "150"], env=env) for name in "ab"]
    assert [p.wait(60) for p in procs] == [0, 0]

    async def read():
        store = open_store(url)
        await store.open()
        value = await store.load("shared")
        await store.close()
        return value
    seq = run(read())["seq"]
    assert len(seq) == 300
    for name in "ab":     # each process's own turns stay in its order
        assert [s for s in seq if s[0] == name] == [f"{name}{i}" for i in range(150)]


def test_file_lock_is_dropped_when_its_process_is_killed(tmp_path):
    holder = textwrap.dedent("""
        import asyncio, sys, time
        from formc.stores.locks import FileRangeLock
        lock = FileRangeLock(sys.argv[1])
        asyncio.run(lock.acquire("conv"))
        print("held", flush=True)
        time.sleep(60)
    """)
    path = str(tmp_path / "x.locks")
    p = subprocess.Popen([PYTHON, "-c", holder, path], stdout=subprocess.PIPE,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert p.stdout.readline().strip() == b"held"
    from formc.stores.locks import FileRangeLock
    lock = FileRangeLock(path)
    with pytest.raises(TimeoutError):
        run(lock.acquire("conv", timeout=0.2))
    run(lock.acquire("other", timeout=0.2))      # other keys are not blocked
    p.kill(); p.wait()
    p.stdout.close()
    run(lock.acquire("conv", timeout=2))
    lock.close()


def test_sqlite_wal_is_checkpointed_in_the_background(tmp_path):
    """Commits never checkpoint themselves (that fsync would stall a worker); the store's
    checkpointer thread copies the WAL into the database file while the store is open."""
    path = tmp_path / "wal.db"

    async def go():
        store = open_store(f"sqlite:///{path}")
        await store.open()
        for i in range(300):
            async with store.conversation(f"s{i}") as conv:
                conv.write({"blob": "x" * 8000}, append={"events": [{"i": i}]})
        await asyncio.sleep(1.5)
        size = path.stat().st_size        # before close (closing checkpoints by itself)
        await store.close()
        return size
    assert run(go()) > 300 * 8000
