"""Conflicts between stories and rules are reported with both source locations (F450/F451)."""

from __future__ import annotations

import os

from formc.dialogue.compile import compile_dialogue
from support.runtime_helpers import project_from_yaml
from support.stories_support import DOMAIN, Driver, bot, config

TWO = """
stories:
- story: one
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask
  - action: utter_a
- story: two
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask
  - action: utter_b
"""


def _diags(tmp_path, stories="", rules="", policies=None):
    project = project_from_yaml(tmp_path, DOMAIN, stories=stories, rules=rules,
                                config=config(policies) if policies else config())
    _m, diags = compile_dialogue(project)
    return diags


def test_story_vs_story_is_a_warning_with_both_locations(tmp_path):
    diags = [d for d in _diags(tmp_path, TWO) if d.code == "F451"]
    assert len(diags) == 1
    d = diags[0]
    path = os.path.join(str(tmp_path), "data", "stories.yml")
    assert d.severity == "warning"
    assert (d.span.file, d.span.line, d.span.col) == (path, 14, 13)
    assert f"{path}:8:13" in d.message and f"{path}:14:13" in d.message
    assert f"{path}:8:13" in d.hint and f"{path}:14:13" in d.hint
    assert "'utter_a'" in d.message and "'utter_b'" in d.message
    assert "drops this history" in d.message


def test_conflicting_history_is_dropped_like_rasa(tmp_path):
    _p, machine = bot(tmp_path, stories=TWO)
    d = Driver(machine)
    d.user("greet")
    assert d.bot_turn()[0].action == "utter_greet"
    d.user("ask")
    assert d.predict().action == "action_default_fallback"


def test_max_history_makes_distant_stories_conflict(tmp_path):
    stories = """
stories:
- story: a
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask
  - action: utter_a
- story: b
  steps:
  - intent: bye
  - action: utter_greet
  - intent: ask
  - action: utter_b
"""
    assert not [d for d in _diags(tmp_path, stories) if d.code == "F451"]
    limited = _diags(tmp_path, stories, policies="  - name: MemoizationPolicy\n    max_history: 1\n"
                     "  - name: RulePolicy\n")
    assert [d.span.line for d in limited if d.code == "F451"] == [14]


def test_rule_vs_story_is_an_error_with_both_locations(tmp_path):
    rules = """
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
"""
    stories = """
stories:
- story: greet then more
  steps:
  - intent: greet
  - action: utter_greet
  - action: utter_a
"""
    diags = [d for d in _diags(tmp_path, stories, rules) if d.code == "F450"]
    assert len(diags) == 1
    d = diags[0]
    spath = os.path.join(str(tmp_path), "data", "stories.yml")
    rpath = os.path.join(str(tmp_path), "data", "rules.yml")
    assert d.severity == "error"
    assert (d.span.file, d.span.line, d.span.col) == (spath, 7, 13)
    assert f"{spath}:7:13" in d.hint and f"{rpath}:" in d.hint
    assert "'utter_a'" in d.message and "'action_listen'" in d.message


def test_story_vs_form_submit_rule_without_user_step_is_an_error(tmp_path):
    # The rule's key has no user state; only a slot condition would hide part of it (financial-
    # demo), and this one has none, so Rasa's replay finds the contradiction (InvalidRule).
    rules = """
rules:
- rule: submit
  condition:
  - active_loop: order_form
  steps:
  - action: order_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_done
"""
    stories = """
stories:
- story: order then something else
  steps:
  - intent: order
  - action: order_form
  - active_loop: order_form
  - active_loop: null
  - action: utter_a
"""
    diags = [d for d in _diags(tmp_path, stories, rules) if d.code == "F450"]
    assert [(d.span.line, "'utter_done'" in d.message) for d in diags] == [(9, True)]


def test_without_check_for_contradictions_nothing_is_reported_or_hidden(tmp_path):
    # Rasa's RulePolicy(check_for_contradictions: false) skips the replay: no InvalidRule, and
    # no rule-only turns, slots or loops (so memoization sees every turn)
    rules = "rules:\n- rule: greet\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
    stories = ("stories:\n- story: more\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
               "  - action: utter_a\n")
    off = "  - name: MemoizationPolicy\n  - name: RulePolicy\n    check_for_contradictions: false\n"
    assert [d.code for d in _diags(tmp_path, stories, rules) if d.code == "F450"] == ["F450"]
    assert not [d for d in _diags(tmp_path, stories, rules, policies=off) if d.code == "F450"]
    _p, machine = bot(tmp_path, stories=stories, rules=rules, policies=off)
    memo = machine.dialogue.memo
    assert (memo.hidden_rules, memo.hidden_loops, memo.rule_only_slots) == ((), (), ())


def test_rule_vs_rule_replay_is_an_error(tmp_path):
    rules = """
rules:
- rule: short
  steps:
  - intent: greet
  - action: utter_greet
- rule: long
  steps:
  - intent: greet
  - action: utter_greet
  - action: utter_a
"""
    diags = _diags(tmp_path, rules=rules)
    assert any(d.code in ("F450", "F406") and d.is_error for d in diags)


def test_validate_strict_fails_on_story_conflicts(tmp_path, capsys):
    from formc.cli import main
    project_from_yaml(tmp_path, DOMAIN, stories=TWO, config=config())
    # an extractor for the form's `item` (else F630, an error, would fail validate by itself)
    (tmp_path / "data" / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n    - [tea](item)\n'
        "    - [coffee](item) please\n- lookup: item\n  examples: |\n    - tea\n    - coffee\n")
    assert main(["validate", str(tmp_path), "--format", "json"]) == 0
    assert main(["validate", str(tmp_path), "--format", "json", "--strict"]) == 1
    assert "F451" in capsys.readouterr().out


def test_corpus_bots_compile_without_story_conflicts():
    from support.runtime_helpers import CORPUS, read
    for name in ("rasa-init-moodbot", "carbon-bot", "rasa-demo", "formbot", "responseselectorbot"):
        diags = compile_dialogue(read(os.path.join(CORPUS, name)))[1]
        assert not [d.render() for d in diags if d.code in ("F450", "F451")], name
