"""Stories compiled into the machine: checkpoints, `or`, max_history, precedence, serialisation."""

from __future__ import annotations

import json

from formc.dialogue.machine import DialogueMachine
from support.stories_support import Driver, actions, bot

SAD = """
stories:
- story: happy
  steps:
  - intent: greet
  - action: utter_greet
  - intent: affirm
  - action: utter_happy
- story: sad
  steps:
  - intent: greet
  - action: utter_greet
  - intent: deny
  - action: utter_sad
  - action: utter_a
"""


def test_story_paths_are_predicted_with_story_reason(tmp_path):
    _p, machine = bot(tmp_path, stories=SAD)
    d = Driver(machine)
    d.user("greet")
    preds = d.bot_turn()
    assert actions(preds) == ["utter_greet", "action_listen"]
    assert preds[0].policy == "MemoizationPolicy" and preds[0].confidence == 1.0
    assert "story 'happy'" in preds[0].why or "story 'sad'" in preds[0].why
    d.user("deny")
    assert actions(d.bot_turn()) == ["utter_sad", "utter_a", "action_listen"]


def test_history_not_in_any_story_falls_to_core_fallback(tmp_path):
    _p, machine = bot(tmp_path, stories=SAD)
    d = Driver(machine)
    d.user("deny")                                   # no story starts with deny
    pred = d.predict()
    assert pred.action == "action_default_fallback"
    assert pred.why == "core fallback: no rule or story matches"
    assert pred.confidence == 0.3


def test_checkpoints_join_story_parts(tmp_path):
    stories = """
stories:
- story: start
  steps:
  - intent: greet
  - action: utter_greet
  - checkpoint: greeted
- story: then yes
  steps:
  - checkpoint: greeted
  - intent: affirm
  - action: utter_a
- story: then no
  steps:
  - checkpoint: greeted
  - intent: deny
  - action: utter_b
"""
    _p, machine = bot(tmp_path, stories=stories)
    for intent, expected in (("affirm", "utter_a"), ("deny", "utter_b")):
        d = Driver(machine)
        d.user("greet")
        assert actions(d.bot_turn()) == ["utter_greet", "action_listen"]
        d.user(intent)
        pred = d.bot_turn()
        assert actions(pred) == [expected, "action_listen"]
        assert "start > then" in pred[0].why


def test_checkpoint_without_producer_is_reported(tmp_path):
    stories = """
stories:
- story: orphan
  steps:
  - checkpoint: nowhere
  - intent: affirm
  - action: utter_a
"""
    from support.runtime_helpers import project_from_yaml
    from support.stories_support import DOMAIN, config
    from formc.dialogue.compile import compile_dialogue
    project = project_from_yaml(tmp_path, DOMAIN, stories=stories, config=config())
    _m, diags = compile_dialogue(project)
    f452 = [d for d in diags if d.code == "F452"]
    assert len(f452) == 1 and f452[0].span.line == 5 and "nowhere" in f452[0].message


def test_or_steps_expand_into_alternatives(tmp_path):
    stories = """
stories:
- story: either
  steps:
  - intent: greet
  - action: utter_greet
  - or:
    - intent: affirm
    - intent: chitchat
  - action: utter_a
"""
    _p, machine = bot(tmp_path, stories=stories)
    for intent in ("affirm", "chitchat"):
        d = Driver(machine)
        d.user("greet")
        d.bot_turn()
        d.user(intent)
        assert actions(d.bot_turn()) == ["utter_a", "action_listen"]
    d = Driver(machine)
    d.user("greet")
    d.bot_turn()
    d.user("deny")
    assert d.predict().action == "action_default_fallback"


LONG = """
stories:
- story: long
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask
  - action: utter_a
  - intent: affirm
  - action: utter_happy
"""


def _detour(d) -> None:
    """bye (unknown to the stories) -> core fallback; then ask -> utter_a, logged by hand."""
    d.user("bye")
    assert d.predict().action == "action_default_fallback"
    d.run("action_default_fallback")
    d.run("action_listen")
    d.user("ask")
    d.run("utter_a")
    d.run("action_listen")
    d.user("affirm")


def test_max_history_cuts_the_key(tmp_path):
    # max_history 2: the key for utter_happy is [utter_a after ask, listen + affirm], so a
    # conversation that started differently still continues the story.
    _p, machine = bot(tmp_path, stories=LONG, policies="  - name: MemoizationPolicy\n"
                      "    max_history: 2\n  - name: RulePolicy\n")
    assert machine.dialogue.memo.max_history == 2
    d = Driver(machine)
    _detour(d)
    pred = d.predict()
    assert pred.action == "utter_happy" and pred.policy == "MemoizationPolicy"


def test_unlimited_history_needs_the_whole_story(tmp_path):
    _p, machine = bot(tmp_path, stories=LONG)
    assert machine.dialogue.memo.max_history is None
    d = Driver(machine)
    _detour(d)
    assert d.predict().action == "action_default_fallback"
    d2 = Driver(machine)
    for intent, first in (("greet", "utter_greet"), ("ask", "utter_a"), ("affirm", "utter_happy")):
        d2.user(intent)
        assert d2.bot_turn()[0].action == first


def test_augmented_memoization_retries_with_a_cut_history(tmp_path):
    _p, machine = bot(tmp_path, stories=LONG, policies="  - name: AugmentedMemoizationPolicy\n"
                      "  - name: RulePolicy\n")
    d = Driver(machine)
    d.user("bye")
    d.bot_turn()                                      # core fallback, then listen
    d.user("greet")
    preds = d.bot_turn()
    assert preds[0].action == "utter_greet"
    assert preds[0].policy == "AugmentedMemoizationPolicy" and "history cut" in preds[0].why


def test_session_window_stays_bounded(tmp_path):
    _p, machine = bot(tmp_path, stories=SAD, policies="  - name: AugmentedMemoizationPolicy\n"
                      "  - name: RulePolicy\n")
    d = Driver(machine)
    for i in range(200):
        d.user("greet" if i % 2 else "deny")
        d.bot_turn()
    assert len(d.s.window) <= machine.dialogue.window
    assert d.s.window_complete is False
    d.user("greet")                                   # augmented: the cut history still matches
    assert d.bot_turn()[0].action == "utter_greet"
    json.dumps(d.s.to_json())


def test_rule_beats_story_at_equal_confidence(tmp_path):
    rules = """
rules:
- rule: vip asks
  condition:
  - slot_was_set:
    - vip: true
  steps:
  - intent: ask
  - action: utter_vip
"""
    stories = """
stories:
- story: ask
  steps:
  - intent: ask
  - action: utter_a
"""
    _p, machine = bot(tmp_path, stories=stories, rules=rules,
                      policies="  - name: AugmentedMemoizationPolicy\n  - name: RulePolicy\n")
    d = Driver(machine)
    d.slot("vip", True)
    d.user("ask")
    pred = d.predict()
    assert pred.action == "utter_vip" and pred.policy == "RulePolicy"
    d2 = Driver(machine)
    d2.user("ask")
    assert d2.predict().action == "utter_a"


def test_form_loop_beats_rules_and_stories(tmp_path):
    stories = """
stories:
- story: order interrupted
  steps:
  - intent: order
  - action: order_form
  - active_loop: order_form
  - intent: chitchat
  - action: utter_chitchat
  - action: order_form
"""
    _p, machine = bot(tmp_path, stories=stories)
    d = Driver(machine)
    d.user("order")
    assert d.predict().action == "order_form"
    d.run("order_form")
    from formc.runtime import events as E
    d.engine.apply(d.s, E.active_loop("order_form", 0.0))
    d.run("action_listen")
    d.user("chitchat")
    pred = d.predict()
    assert pred.action == "order_form" and "happy path" in pred.why
    d.engine.apply(d.s, E.rejected("order_form", 0.0, "RulePolicy", 1.0))
    pred = d.predict()
    assert pred.action == "utter_chitchat" and pred.policy == "MemoizationPolicy"
    d.run("utter_chitchat")
    assert d.predict().action == "order_form"


def test_machine_with_memo_round_trips_through_json(tmp_path):
    _p, machine = bot(tmp_path, stories=SAD)
    data = json.loads(json.dumps(machine.dialogue.to_json(), sort_keys=True))
    again = DialogueMachine.from_json(data)
    assert again.memo == machine.dialogue.memo
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(data, sort_keys=True)


def test_story_states_are_shown_distinctly(tmp_path):
    _p, machine = bot(tmp_path, stories=SAD)
    story_states = [s for s in machine.dialogue.states if s.kind == "story"]
    story_transitions = [t for t in machine.dialogue.transitions if t.why.startswith("story: ")]
    assert story_states and story_transitions
    assert all(t.span.startswith(str(tmp_path)) for t in story_transitions)
    ids = {s.id for s in machine.dialogue.states}
    assert all(t.source in ids and t.target in ids for t in story_transitions)
    d = Driver(machine)
    d.user("greet")
    pred = d.predict()
    assert pred.transition in {t.id for t in story_transitions}


def test_conversation_start_rule_does_not_hide_the_first_story_turn(tmp_path):
    # a conversation_start rule compiles to [start state] -> action_listen; that listen is logged
    # by action_session_start, never predicted, so memoization must still see the first turn
    rules = """
rules:
- rule: greet at the start
  conversation_start: true
  steps:
  - intent: greet
  - action: utter_greet
"""
    stories = """
stories:
- story: affirm first
  steps:
  - intent: affirm
  - action: utter_a
"""
    _p, machine = bot(tmp_path, stories=stories, rules=rules)
    d = Driver(machine)
    d.user("affirm")
    pred = d.predict()
    assert pred.action == "utter_a" and pred.policy == "MemoizationPolicy"


def test_loop_rerun_after_unhappy_path_is_not_a_hidden_happy_path_turn():
    # formbot 04_stop_continue: stop (form rejects) -> utter_ask_continue -> affirm -> the form
    # runs again. The loop is still rejected at `affirm`, so that run is not RulePolicy's
    # (hidden) loop happy path and memoization must keep the turn; a later happy-path run
    # (the listen before it follows the loop itself) stays hidden.
    from formc.dialogue.memo import StoryMemo
    from formc.dialogue.rules import RuleIndex
    from formc.dialogue.state import DState

    F, L = "restaurant_form", "action_listen"
    states = (
        DState(),
        DState("request_restaurant", (), L),
        DState("request_restaurant", (), F, (), F),
        DState("stop", (), L, (), F),
        DState("stop", (), "utter_ask_continue", (), F),
        DState("affirm", (), L, (), F),          # -> F re-run (memoization)
        DState("affirm", (), F, (), F),
        DState("inform", (), L, (), F),          # -> F happy path
        DState("inform", (), F, (), F),
    )
    memo = StoryMemo(hidden_loops=(F,))
    flags = memo._hide_flags(states, RuleIndex(()), set())
    assert flags[5] is False
    assert flags[7] is True


def test_truncated_history_keeps_its_start_state_before_a_hidden_turn():
    # stories2/05_vip_rules: AugmentedMemoization cuts the history at the listen after a
    # rule-only turn. The cut tracker starts empty (latest action None == active loop None),
    # and Rasa never hides that start state, so the key is [{}, order_drink] and the story
    # 'order_drink -> utter_which_drink' matches.
    from formc.dialogue.memo import StoryMemo
    from formc.dialogue.state import DState

    states = [DState(), DState("order_drink", (), "action_listen")]
    view = StoryMemo()._view(states, [True, False])
    assert view == [DState(), DState("order_drink", (), "action_listen")]
    # a hidden turn later in the history still vanishes
    states = [DState(), DState("help", (), "action_listen"), DState("help", (), "utter_help"),
              DState("greet", (), "action_listen")]
    view = StoryMemo()._view(states, [False, True, True, False])
    assert [s.intent for s in view] == [None, "greet"]
