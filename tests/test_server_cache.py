"""Turns served from the per-process session cache behave exactly like turns decoded from the store."""
from __future__ import annotations

import asyncio
import json

import pytest

from formc.server.turns import Bot, Conversations
from formc.stores import open_store
from support.runtime_helpers import RASA_RESTAURANT, machine_from_dir

SCRIPT = ["hi", "i am looking for a restaurant", "are you a bot?", "italian", "4", "yes",
          "no", "thanks", "/restart", "hi", "book a table", "bye"]


@pytest.fixture(scope="module")
def machine():
    return machine_from_dir(RASA_RESTAURANT)


def _comparable(result) -> dict:
    """What a client sees of a turn, minus clocks and random message ids."""
    events = [{k: v for k, v in e.items() if k not in ("timestamp", "message_id")}
              for e in result.events]
    for e in events:
        if isinstance(e.get("parse_data"), dict):
            e["parse_data"] = {k: v for k, v in e["parse_data"].items() if k != "message_id"}
    return {"messages": result.messages, "events": events, "slots": result.session.slots,
            "active_loop": result.session.active_loop, "window": result.session.window}


def _conversation(machine, url: str) -> tuple[list, int]:
    async def go():
        store = open_store(url)
        await store.open()
        conv = Conversations(store, Bot(machine, "restaurant"))
        out, hits = [], 0
        for rounds in range(3):
            for text in SCRIPT:
                async def step(bot, session, text=text):
                    nonlocal hits
                    hits += session is not None and session is (store.cache.get("u") or (0, None, None))[2]
                    return await bot.agent.handle_message(session, "u", text)
                out.append(_comparable(await conv.run("u", "message", step)))
        stored = await store.load("u")
        await store.close()
        return out, hits, stored
    return asyncio.run(go())


def test_cached_sessions_give_the_same_turns_as_decoded_ones(machine, tmp_path):
    cached, hits, stored_cached = _conversation(machine, f"sqlite:///{tmp_path}/a.db")
    decoded, no_hits, stored_decoded = _conversation(machine, f"sqlite:///{tmp_path}/b.db?cache=0")
    assert hits == len(SCRIPT) * 3 - 1 and no_hits == 0
    assert json.loads(json.dumps(cached)) == json.loads(json.dumps(decoded))
    # and what reaches the store is the same JSON shape (sessions differ only in clocks/ids)
    assert sorted(stored_cached["session"]) == sorted(stored_decoded["session"])
    assert stored_cached["session"]["slots"] == stored_decoded["session"]["slots"]
    assert stored_cached["session"]["window"] == stored_decoded["session"]["window"]
    assert [s["window"] for s in stored_cached["session"]["snapshots"]] == \
        [s["window"] for s in stored_decoded["session"]["snapshots"]]
