"""Properties: a turn never raises on arbitrary parse dicts, and the serialized session stays
bounded however long the conversation runs."""

import asyncio
import json

from hypothesis import HealthCheck, given, settings, strategies as st

from formc.runtime.agent import Agent
from formc.runtime.session import Session

from support.runtime_helpers import RESTAURANT, machine_from_dir

MACHINE = machine_from_dir(RESTAURANT)
INTENTS = MACHINE.domain.intent_names() + ["unknown_intent", None]
ENTITIES = [e.name for e in MACHINE.domain.entities] + ["weird"]

entity = st.fixed_dictionaries({"entity": st.sampled_from(ENTITIES),
                                "value": st.one_of(st.text(max_size=8), st.integers(), st.none())},
                               optional={"role": st.sampled_from(["a", "b"])})
parse = st.fixed_dictionaries({
    "text": st.text(max_size=20),
    "intent": st.fixed_dictionaries({"name": st.sampled_from(INTENTS),
                                     "confidence": st.floats(0, 1)}),
    "entities": st.lists(entity, max_size=3),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(parse, min_size=1, max_size=25), st.integers(0, 10))
def test_turns_never_raise_and_state_round_trips(parses, seed):
    """A conversation whose session goes through JSON after every turn (as a store does) runs
    exactly like one that keeps the session object (as the server's cache does)."""
    agent, kept_agent = Agent(MACHINE, seed=seed), Agent(MACHINE, seed=seed)
    session = kept = None
    now = 1_700_000_000.0
    for p in parses:
        now += 30
        result = asyncio.run(agent.handle_message(session, "p", p["text"], now=now, parse_data=p))
        kept_result = asyncio.run(kept_agent.handle_message(kept, "p", p["text"], now=now,
                                                            parse_data=p))
        assert isinstance(result.messages, list)
        assert result.messages == kept_result.messages
        kept = kept_result.session
        data = json.loads(json.dumps(result.session.to_json()))
        session = Session.from_json(data, MACHINE)
        assert json.loads(json.dumps(session.to_json())) == data
        assert data == json.loads(json.dumps(kept.to_json()))


def test_state_size_bounded_over_long_random_conversation():
    import random
    rng = random.Random(7)
    agent = Agent(MACHINE, seed=1)
    session = None
    sizes = []
    for i in range(3000):
        intent = rng.choice(INTENTS[:-1])
        ents = [{"entity": rng.choice(ENTITIES), "value": str(rng.randint(1, 9))}
                for _ in range(rng.randint(0, 2))]
        p = {"text": f"m{i}", "intent": {"name": intent, "confidence": 0.9}, "entities": ents}
        session = asyncio.run(agent.handle_message(session, "p", p["text"], now=1.7e9 + i,
                                                   parse_data=p)).session
        if i % 100 == 0:
            sizes.append(len(json.dumps(session.to_json())))
    assert max(sizes[5:]) < 2 * max(sizes[:5]) + 20000
    assert len(session.history) <= 200 and len(session.window) <= MACHINE.dialogue.window
    assert len(session.snapshots) <= 4
