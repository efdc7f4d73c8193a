"""The 18 recorded Rasa 3.6 conversations of the restaurant bot, replayed with their recorded
NLU parses: bot texts and the per-turn action/slot/loop trace must match exactly."""

import asyncio
import glob
import json
import os

import pytest

from formc.runtime.agent import Agent

from support.runtime_helpers import ORACLE, RASA_RESTAURANT, compact, machine_from_dir, trace

FILES = sorted(f for f in glob.glob(os.path.join(ORACLE, "*.json")) if not f.endswith("index.json"))


@pytest.fixture(scope="module")
def machine():
    return machine_from_dir(RASA_RESTAURANT)


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f)[:-5] for f in FILES])
def test_oracle_conversation(machine, path):
    with open(path, encoding="utf-8") as handle:
        record = json.load(handle)
    agent = Agent(machine, seed=0)
    session = None
    now = 1_700_000_000.0
    for i, turn in enumerate(record["turns"]):
        now += 5
        text = turn["user"] if turn["user"] != "__LONG__" else "x " * 2000
        result = asyncio.run(agent.handle_message(session, record["sender"], text, now=now,
                                                  parse_data=turn["nlu"]))
        session = result.session
        bots = [m.get("text") for m in result.messages if m.get("text")]
        seq = [compact(e) for e in result.events]
        if seq[:1] == ["action:action_session_start"]:
            assert seq[:3] == record["prelude"], seq
            seq = seq[3:]
        assert bots == turn["bot"], f"turn {i} {turn['user'][:30]!r}"
        assert trace(seq) == trace(turn["sequence"]), f"turn {i} {turn['user'][:30]!r}: {seq}"
