"""The event history and traces live in the store's append-only logs: complete, capped, and the
record a turn writes stays the same size however long the conversation grows."""
from __future__ import annotations

import asyncio

import pytest

from formc.server.turns import Bot, Conversations
from formc.stores import open_store
from formc.stores.base import encode
from support.runtime_helpers import RESTAURANT, machine_from_dir

SCRIPT = ["hi", "i am looking for a restaurant", "italian", "4", "yes", "no", "thanks"]


@pytest.fixture(scope="module")
def machine():
    return machine_from_dir(RESTAURANT)


def _strip(events: list) -> list:
    return [{k: v for k, v in e.items() if k != "timestamp"} for e in events]


@pytest.mark.parametrize("cache", ["", "?cache=0"])
def test_long_conversation_history_and_traces_come_back_capped(machine, tmp_path, cache):
    async def go():
        store = open_store(f"sqlite:///{tmp_path}/logs.db{cache}")
        await store.open()
        conv = Conversations(store, Bot(machine, "restaurant"))
        sizes = []
        for turn in range(140):
            text = SCRIPT[turn % len(SCRIPT)]

            async def step(bot, session, text=text):
                return await bot.agent.handle_message(session, "long", text)
            result = await conv.run("long", "message", step)
            sizes.append(len(encode(await store.load("long"))))
        _, loaded = await conv.load_session("long")
        traces = await conv.traces("long")
        await store.close()
        return result.session, loaded, traces, sizes
    live, loaded, traces, sizes = asyncio.run(go())
    assert live.logged > live.history_limit == 200      # the history was trimmed
    assert len(loaded.history) == 200 and loaded.logged == live.logged
    assert _strip(loaded.events()) == _strip(live.events())
    assert [t["kind"] for t in traces] == ["message"] * 20
    assert traces[-1]["trace"][-1]["stage"] == "turn"
    # The stored record does not carry the history: once the bounded parts (dialogue window,
    # rewind stack) are full its size stays flat while the history grows to its cap and on.
    assert max(sizes[100:]) <= max(sizes[30:100]) + 64 < 20_000   # (clock digits vary)


def test_tracker_after_a_restart_has_the_whole_kept_history(machine, tmp_path):
    url = f"sqlite:///{tmp_path}/restart.db"

    async def talk(texts):
        store = open_store(url)
        await store.open()
        conv = Conversations(store, Bot(machine, "restaurant"))
        for text in texts:
            async def step(bot, session, text=text):
                return await bot.agent.handle_message(session, "u", text)
            await conv.run("u", "message", step)
        _, session = await conv.load_session("u")
        await store.close()
        return session
    first = asyncio.run(talk(SCRIPT[:3]))
    second = asyncio.run(talk(SCRIPT[3:]))        # a new process: nothing cached
    assert _strip(second.events()[:len(first.history)]) == _strip(first.events())
    users = [e["text"] for e in second.events() if e["event"] == "user"]
    assert users == SCRIPT


def test_a_record_from_before_the_log_keeps_its_history(machine, tmp_path):
    """A store written by an older formc (history inside the record) upgrades on the next turn."""
    async def go():
        store = open_store(f"sqlite:///{tmp_path}/old.db?cache=0")
        await store.open()
        bot = Bot(machine, "restaurant")
        conv = Conversations(store, bot)
        old = await bot.agent.handle_message(None, "u", "hi")
        async with store.conversation("u") as c:      # the old record layout
            c.write({"session": old.session.to_json(), "model": machine.digest})

        async def step(bot_, session):
            return await bot_.agent.handle_message(session, "u", "i am looking for a restaurant")
        await conv.run("u", "message", step)
        _, session = await conv.load_session("u")
        await store.close()
        return session
    users = [e["text"] for e in asyncio.run(go()).events() if e["event"] == "user"]
    assert users == ["hi", "i am looking for a restaurant"]
