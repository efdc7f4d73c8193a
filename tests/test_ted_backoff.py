"""Issue 17: the story back-off standing in for TEDPolicy (formc.dialogue.backoff), and the
memoization lookup built from Rasa's raw story states (bench/oracle_tools/memo_lookup_diff.py
compares it with a trained Rasa model; tests/oracles/ruleturns records Rasa's answers)."""
from __future__ import annotations

import asyncio
import os

import pytest

from formc.api import compile_project
from formc.artifact import dumps_machine, loads_machine
from formc.dialogue.backoff import EXACT, INTENT, REDUCED, WAIT, build_backoff
from formc.dialogue.state import DState
from formc.runtime.agent import Agent
from support.shared_paths import CORPUS

LISTEN = "action_listen"

BOT = {
    "domain.yml": """version: "3.1"
intents: [greet, ask_price, ask_hours, thanks, goodbye]
entities: [item]
slots:
  item:
    type: text
    mappings:
    - type: from_entity
      entity: item
responses:
  utter_greet: [{text: "Hello!"}]
  utter_price: [{text: "It costs 5."}]
  utter_price_item: [{text: "That item costs 7."}]
  utter_hours: [{text: "Open 9 to 5."}]
  utter_welcome: [{text: "You're welcome."}]
  utter_bye: [{text: "Bye."}]
""",
    "data/stories.yml": """version: "3.1"
stories:
- story: price after greeting
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_price
  - action: utter_price
  - intent: thanks
  - action: utter_welcome
- story: price of an item
  steps:
  - intent: ask_price
    entities:
    - item: lamp
  - slot_was_set:
    - item: lamp
  - action: utter_price_item
- story: hours
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_hours
  - action: utter_hours
""",
    "data/rules.yml": """version: "3.1"
rules:
- rule: bye
  steps:
  - intent: goodbye
  - action: utter_bye
""",
    "data/nlu.yml": """version: "3.1"
nlu:
- intent: greet
  examples: "- hi\\n- hello\\n"
- intent: ask_price
  examples: "- how much\\n- price of the [lamp](item)\\n"
- intent: ask_hours
  examples: "- when are you open\\n- opening hours\\n"
- intent: thanks
  examples: "- thanks\\n- thank you\\n"
- intent: goodbye
  examples: "- bye\\n- goodbye\\n"
""",
}


def _bot(tmp_path, policies: str) -> str:
    root = tmp_path / "bot"
    for name, text in BOT.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "config.yml").write_text(
        'recipe: default.v1\nlanguage: en\nassistant_id: t\npipeline:\n- name: WhitespaceTokenizer\n'
        '- name: CountVectorsFeaturizer\n- name: LogisticRegressionClassifier\n'
        f'policies:\n{policies}')
    return str(root)


def _turns(machine, intents: list) -> list:
    agent = Agent(machine, seed=0)

    async def run():
        session, out = None, []
        for intent in intents:
            result = await agent.handle_message(session, "u", f"/{intent}", parse_data={
                "intent": {"name": intent, "confidence": 1.0}, "entities": [], "text": intent})
            session = result.session
            out.append([(t.get("action"), t.get("policy"), t.get("why")) for t in result.trace if t.get("action")])
        if agent.action_client is not None:     # bots with an action endpoint open a session
            await agent.action_client.close()
        return out
    return asyncio.run(run())


TED = "- name: MemoizationPolicy\n- name: RulePolicy\n- name: TEDPolicy\n  max_history: 3\n"
NO_TED = "- name: MemoizationPolicy\n- name: RulePolicy\n"


def test_backoff_answers_where_stories_match_only_later(tmp_path):
    machine, diags = compile_project(_bot(tmp_path, TED))
    assert machine is not None, [d.render() for d in diags if d.is_error]
    turns = _turns(machine, ["ask_price", "thanks"])
    # no story starts with ask_price (without an item): the back-off drops the oldest turns and
    # finds 'price after greeting' on the last turn
    action, policy, why = turns[0][0]
    assert (action, policy) == ("utter_price", "TEDPolicy")
    assert why.startswith("story back-off: matched 'price after greeting' on the last 1 turn")
    assert [a for a, _p, _w in turns[1]] == ["utter_welcome", LISTEN]


def test_backoff_drops_turns_then_waits_for_the_user(tmp_path):
    machine, _ = compile_project(_bot(tmp_path, TED))
    turns = _turns(machine, ["greet", "greet", "ask_hours"])
    # greet twice: no story has greet after utter_greet; the last turn alone (a story's first
    # turn) gives utter_greet, then the story's last 2 turns give its listen
    second = turns[1]
    assert second[0][0] == "utter_greet" and "on the last 1 turn(s)" in second[0][2]
    assert second[1][:2] == (LISTEN, "TEDPolicy") and "on the last 2 turn(s)" in second[1][2]


def test_backoff_levels_in_order():
    inside = DState("ask_price", ("item",), LISTEN, (("item", (1.0,)),), "some_form")
    backoff = build_backoff([("s", "f:1:1", [DState(), DState("ask_price", (), LISTEN)], "utter_price")], 5)
    hit = backoff.predict((DState(), DState("ask_price", ("item",), LISTEN, (("item", (1.0,)),))), 0.3)
    assert (hit.level, hit.turns, hit.action) == (REDUCED, 2, "utter_price")   # slots/entities ignored
    hit = backoff.predict((DState(), inside), 0.3)
    assert (hit.level, hit.action) == (INTENT, "utter_price")                  # loop and prev ignored
    assert "on the user's intent alone" in hit.explain()


def test_without_ted_nothing_changes(tmp_path):
    machine, _ = compile_project(_bot(tmp_path, NO_TED))
    assert machine.dialogue.memo.backoff is None
    assert b'"backoff"' not in dumps_machine(machine)
    turns = _turns(machine, ["ask_price"])
    assert turns[0][0][0] == "action_default_fallback"     # as before: the core fallback


def test_backoff_round_trips_through_the_fsm(tmp_path):
    machine, _ = compile_project(_bot(tmp_path, TED))
    text = dumps_machine(machine)
    again = loads_machine(text, "x.fsm")
    assert again.dialogue.memo.backoff == machine.dialogue.memo.backoff
    assert dumps_machine(again) == text


def test_build_backoff_votes_and_ties():
    a = DState("greet", (), LISTEN)
    examples = [("s1", "f:1:1", [DState(), a], "utter_a"),
                ("s2", "f:2:1", [DState(), a], "utter_b"),
                ("s3", "f:3:1", [DState(), a], "utter_b")]
    table = build_backoff(examples, 2)._table
    assert table[(EXACT, (DState(), a))][0] == "utter_b"            # two turns against one
    tie = build_backoff(examples[:2], 2)._table
    assert tie[(EXACT, (DState(), a))][:2] == ("utter_a", 0)       # a tie: the story read first
    assert (REDUCED, (a,)) in table and (INTENT, (DState("greet"),)) in table


def test_backoff_respects_the_core_fallback_threshold():
    a = DState("greet", (), LISTEN)
    backoff = build_backoff([("s", "", [a], "utter_a")], 5)
    assert backoff.predict((DState("greet", (), LISTEN, (), None),), 0.3).level == EXACT
    assert backoff.predict((DState("greet", (), "utter_x"),), 0.3).level == WAIT
    assert backoff.predict((DState("greet", (), "utter_x"),), 0.5) is None   # 0.5 <= threshold


@pytest.mark.parametrize("bot,least", [("financial-demo", 48), ("carbon-bot", 6)])
def test_corpus_ted_bots_pass_more_test_stories(bot, least, tmp_path):
    from formc.testing.replay import run_tests
    src = os.path.join(CORPUS, bot)
    if not os.path.isdir(src):
        pytest.skip("corpus not available")
    report = run_tests(src)
    assert report.passed >= least, report.passed


def test_financial_demo_greets_at_the_start():
    src = os.path.join(CORPUS, "financial-demo")
    if not os.path.isdir(src):
        pytest.skip("corpus not available")
    machine, _ = compile_project(src)
    first = _turns(machine, ["greet"])[0]
    assert [a for a, _p, _w in first][:2] == ["utter_greet", "utter_help"]
