"""The per-process record cache of the stores: revisions decide reuse, across store instances."""
from __future__ import annotations

import asyncio
import sqlite3

import pytest

from formc.stores import open_store


_counter = [0]


@pytest.fixture(params=["sqlite", "redis"])
def shared_url(request, tmp_path):
    _counter[0] += 1
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/conv.db"
    return request.getfixturevalue("redis_server").url + f"?key_prefix=c{_counter[0]}"


def run(coro):
    return asyncio.run(coro)


async def _turn(store, sender, value, live):
    async with store.conversation(sender) as conv:
        seen = (conv.record, conv.live)
        conv.write({"v": value}, live=live)
    return seen


def test_a_store_reuses_its_own_write_and_rereads_another_ones(shared_url):
    async def go():
        a, b = open_store(shared_url), open_store(shared_url)   # two "processes"
        await a.open()
        await b.open()
        assert await _turn(a, "s", 1, "A1") == (None, None)
        # a wrote last: its cached record and live object come back without a decode
        assert await _turn(a, "s", 2, "A2") == ({"v": 1}, "A1")
        # b never saw it: reads the store
        assert await _turn(b, "s", 3, "B3") == ({"v": 2}, None)
        # a's cache is stale now (b wrote revision 3): a must read b's record
        assert await _turn(a, "s", 4, "A4") == ({"v": 3}, None)
        assert await _turn(a, "s", 5, "A5") == ({"v": 4}, "A4")
        assert await a.load("s") == await b.load("s") == {"v": 5}
        await a.close()
        await b.close()
    run(go())


def test_memory_store_cache_and_cache_off(tmp_path):
    async def go():
        on, off = open_store("memory://"), open_store(f"sqlite:///{tmp_path}/x.db?cache=0")
        for store in (on, off):
            await store.open()
            await _turn(store, "s", 1, "L1")
        assert await _turn(on, "s", 2, "L2") == ({"v": 1}, "L1")
        assert await _turn(off, "s", 2, "L2") == ({"v": 1}, None)
        assert len(off.cache) == 0
    run(go())


def test_failed_turn_drops_the_cached_entry(shared_url):
    async def go():
        store = open_store(shared_url)
        await store.open()
        await _turn(store, "s", 1, "L1")
        with pytest.raises(RuntimeError):
            async with store.conversation("s") as conv:
                assert conv.live == "L1"
                raise RuntimeError("turn failed after touching the cached session")
        # the next turn re-reads the stored record instead of trusting the cached objects
        assert await _turn(store, "s", 2, "L2") == ({"v": 1}, None)
        await store.close()
    run(go())


def test_cache_is_bounded_lru():
    async def go():
        store = open_store("memory://?cache=2")
        await store.open()
        for sender in ("a", "b", "c"):
            await _turn(store, sender, 1, sender)
        assert len(store.cache) == 2
        assert await _turn(store, "a", 2, "a2") == ({"v": 1}, None)     # evicted: decoded
        assert await _turn(store, "c", 2, "c2") == ({"v": 1}, "c")
    run(go())


def test_sqlite_file_from_before_revisions_is_upgraded(tmp_path):
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE conversations (sender_id TEXT PRIMARY KEY, record TEXT NOT NULL,
                                    saved_at REAL NOT NULL, next_fire REAL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """)
    db.execute("INSERT INTO conversations VALUES ('old', '{\"v\": 0}', 9e9, NULL)")
    db.commit()
    db.close()

    async def go():
        store = open_store(f"sqlite:///{path}")
        await store.open()
        assert await _turn(store, "old", 1, "L1") == ({"v": 0}, None)
        assert await _turn(store, "old", 2, "L2") == ({"v": 1}, "L1")
        await store.close()
    run(go())
