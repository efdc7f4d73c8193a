"""Rules -> rule keys, control graph, F4xx diagnostics, deterministic DialogueMachine JSON."""

import json

from formc.dialogue.compile import compile_dialogue
from formc.dialogue.machine import DialogueMachine
from formc.dialogue.rules import state_matches
from formc.dialogue.state import SNS, DState

from support.runtime_helpers import RESTAURANT, project_from_yaml, read

DOMAIN = """
version: "3.1"
intents: [greet, inform, bye]
entities: [city]
slots:
  city:
    type: text
    mappings:
    - type: from_entity
      entity: city
  vip:
    type: bool
    mappings:
    - type: custom
responses:
  utter_greet: [{text: hi}]
  utter_welcome: [{text: welcome}]
  utter_city: [{text: city}]
  utter_vip: [{text: vip}]
  utter_bye: [{text: bye}]
"""


def keys(project):
    machine, diags = compile_dialogue(project)
    return machine, diags, {(k.action, tuple(s.describe() for s in k.states)) for k in machine.rule_keys}


def test_rule_features_conversation_start_entities_and_null(tmp_path):
    rules = """
version: "3.1"
rules:
- rule: welcome
  conversation_start: true
  steps:
  - intent: greet
  - action: utter_welcome
- rule: city
  steps:
  - intent: inform
    entities:
    - city: Paris
  - action: utter_city
- rule: vip only
  condition:
  - slot_was_set:
    - vip: true
  steps:
  - intent: bye
  - action: utter_vip
  wait_for_user_input: false
- rule: not vip
  condition:
  - slot_was_set:
    - vip: null
  steps:
  - intent: bye
  - action: utter_bye
"""
    machine, diags, ks = keys(project_from_yaml(tmp_path, DOMAIN, rules))
    assert not diags
    assert ("utter_welcome", ("{}", "{prev=action_listen intent=greet}")) in ks
    assert ("utter_city", ("{prev=action_listen intent=inform['city'] slots=city:(1.0,)}",)) in ks
    assert ("utter_vip", ("{prev=action_listen intent=bye slots=vip:(1.0, 1.0)}",)) in ks
    assert ("utter_bye", (f"{{prev=action_listen intent=bye slots=vip:{SNS}}}",)) in ks
    # wait_for_user_input: false -> no action_listen learned after utter_vip
    assert not any(a == "action_listen" and "utter_vip" in str(st) for a, st in ks)


def test_state_matching_is_feature_based():
    rule = DState("inform", (), "action_listen", (("vip", SNS),), None)
    assert state_matches(rule, DState("inform", ("city",), "action_listen", (), "form"))
    assert not state_matches(rule, DState("inform", (), "action_listen", (("vip", (1.0, 0.0)),), None))
    assert state_matches(DState(), DState(slots=(("x", (1.0,)),)))      # both start states
    assert not state_matches(DState(), DState(prev_action="action_listen"))


def test_diagnostics_unknown_names_restrict_rules_and_contradictions(tmp_path):
    rules = """
version: "3.1"
rules:
- rule: a
  steps:
  - intent: greet
  - action: utter_greet
- rule: b
  steps:
  - intent: greet
  - action: utter_bye
- rule: typo
  steps:
  - intent: greeet
  - action: utter_nope
  - slot_was_set:
    - nosuch: 1
  - active_loop: nosuch_form
- rule: two turns
  steps:
  - intent: greet
  - action: utter_greet
  - intent: bye
  - action: utter_bye
"""
    _m, diags, _k = keys(project_from_yaml(tmp_path, DOMAIN, rules))
    codes = sorted(d.code for d in diags)
    assert codes == ["F401", "F402", "F403", "F404", "F405", "F406"]
    contradiction = next(d for d in diags if d.code == "F406")
    assert contradiction.span.line == 11 and "rules.yml:7" in contradiction.message
    typo = next(d for d in diags if d.code == "F402")
    assert typo.span.line == 14


def test_machine_json_is_deterministic_and_round_trips():
    project = read(RESTAURANT)
    m1, _ = compile_dialogue(project)
    m2, _ = compile_dialogue(project)
    j1 = json.dumps(m1.to_json(), sort_keys=True)
    assert j1 == json.dumps(m2.to_json(), sort_keys=True)
    back = DialogueMachine.from_json(json.loads(j1))
    assert json.dumps(back.to_json(), sort_keys=True) == j1
    ids = {s.id for s in m1.states}
    assert {"listening", "form:restaurant_form:cuisine", "form:restaurant_form:preferences"} <= ids
    assert all(t.source in ids and t.target in ids for t in m1.transitions)
    assert any(t.span.endswith("rules.yml:59:13") for t in m1.transitions if t.why.startswith("rule"))
