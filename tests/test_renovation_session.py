"""Session.anchor as a LoopAnchor dataclass: the stored session format is unchanged.

tests/renovation_old_session.json is a session written by formc before the anchor became a
class (examples/restaurant: a form run, an interruption into the two-stage fallback; anchors at
the top level, in a rewind snapshot and in the pending snapshot). It goes through a real SQLite
store file, is decoded by today's code, continues the conversation as the old code did, and
encodes back to the very same JSON.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from formc.api import load
from formc.dialogue.state import DState
from formc.runtime.agent import Agent
from formc.runtime.session import LoopAnchor, Session
from formc.stores.sqlite import SQLiteStore

HERE = os.path.dirname(os.path.abspath(__file__))
RESTAURANT = os.path.join(HERE, "..", "examples", "restaurant")
ANCHOR_KEYS = ["loop", "window", "complete", "user_sub", "depth", "valid", "user_pending"]
# what the old code answered next (recorded together with the session)
NEXT_TEXT, NEXT_REPLY = "4", "Would you like to sit outside on the terrace?"


@pytest.fixture(scope="module")
def old_record() -> dict:
    with open(os.path.join(HERE, "renovation_old_session.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def machine():
    return load(RESTAURANT)


async def _through_sqlite(path: str, record: dict) -> dict:
    store = SQLiteStore(path)
    await store.open()
    async with store.conversation("old") as conv:
        conv.write({"session": record, "model": "old"})
    await store.close()
    reopened = SQLiteStore(path)        # a fresh store: the record comes from the file
    await reopened.open()
    try:
        async with reopened.conversation("old") as conv:
            return conv.record
    finally:
        await reopened.close()


def test_old_record_from_sqlite_decodes_into_loop_anchors(old_record, machine, tmp_path):
    stored = asyncio.run(_through_sqlite(str(tmp_path / "formc.db"), old_record))
    assert list(stored["session"]["anchor"]) == ANCHOR_KEYS      # the old dict form
    session = Session.from_json(stored["session"], machine)
    anchor = session.anchor
    assert isinstance(anchor, LoopAnchor)
    assert (anchor.loop, anchor.depth, anchor.valid, anchor.user_pending) == \
        ("action_two_stage_fallback", 2, True, False)
    assert anchor.user_sub == ("nlu_fallback", ())
    states = stored["session"]["states"]
    assert anchor.window == [DState.from_json(states[i]) for i in (0, 1, 2, 3)]
    kept = session.snapshots[1]["anchor"]
    assert isinstance(kept, LoopAnchor) and kept.loop == "restaurant_form" and kept.depth == 1
    assert isinstance(session.pending_snapshot["anchor"], LoopAnchor)


def test_old_record_encodes_back_to_the_same_json(old_record, machine):
    session = Session.from_json(old_record, machine)
    again = json.loads(json.dumps(session.to_json(history=False)))
    assert again == old_record
    assert list(again["anchor"]) == ANCHOR_KEYS


def test_old_record_continues_as_the_old_code_did(old_record, machine):
    session = Session.from_json(old_record, machine)
    result = asyncio.run(Agent(machine, seed=0).handle_message(session, "old", NEXT_TEXT,
                                                                now=1700000001.0))
    assert [m.get("text") for m in result.messages] == [NEXT_REPLY]


def test_anchor_copies_are_independent(old_record, machine):
    session = Session.from_json(old_record, machine)
    copy = session.copy()
    snap = session.snapshot()
    session.anchor.valid = False
    assert copy.anchor.valid and snap["anchor"].valid
    session.restore(snap)
    assert session.anchor.valid and session.anchor is not snap["anchor"]


def test_anchor_without_user_pending_decodes(old_record, machine):
    """Records from before `user_pending` existed (the old engine read it with .get)."""
    data = json.loads(json.dumps(old_record))
    del data["anchor"]["user_pending"]
    assert Session.from_json(data, machine).anchor.user_pending is False
