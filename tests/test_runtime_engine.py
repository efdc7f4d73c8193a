"""Dialogue runtime behaviour: forms, fallbacks, sessions, restart/back, custom actions,
circuit breaker, reminders, persistence. Custom actions are answered by driving the pure
Engine generator with action-server replies (the engine is what is under test)."""

import asyncio
import json
import logging
import random

import pytest

from formc.runtime.agent import Agent
from formc.runtime.engine import ActionReply, Engine, TurnInput
from formc.runtime.session import Session
from formc.runtime.tracker import domain_dict

from support.runtime_helpers import RASA_RESTAURANT, machine_for, machine_from_dir, project_from_yaml

T0 = 1_700_000_000.0


def P(intent, *ents, conf=0.95, text=None, ranking=None):
    d = {"text": text or intent, "intent": {"name": intent, "confidence": conf},
         "entities": [{"entity": e, "value": v} for e, v in ents]}
    if ranking:
        d["intent_ranking"] = [{"name": n, "confidence": c} for n, c in ranking]
    return d


class Chat:
    """A conversation through the Agent, feeding parse dicts."""

    def __init__(self, machine, now=T0):
        self.agent = Agent(machine, seed=0)
        self.session = None
        self.now = now

    def say(self, parse, dt=5.0, metadata=None):
        self.now += dt
        r = asyncio.run(self.agent.handle_message(self.session, "u1", parse["text"], metadata=metadata,
                                                  now=self.now, parse_data=parse))
        self.session = r.session
        self.last = r
        return [m.get("text") for m in r.messages]

    def actions(self):
        return [e["name"] for e in self.last.events if e["event"] == "action"]


def drive(machine, session, parse, responder, now=T0, kind="message"):
    """Run one turn on the pure engine, answering its action requests with `responder`."""
    engine = Engine(machine, random.Random(0))
    session = session or engine.new_session("u1")
    gen = engine.turn(session, TurnInput(kind, parse, now))
    requests = []
    try:
        req = next(gen)
        while True:
            requests.append(req)
            req = gen.send(responder(req))
    except StopIteration as stop:
        return session, stop.value, requests


@pytest.fixture(scope="module")
def restaurant():
    return machine_from_dir(RASA_RESTAURANT)


# ------------------------------------------------------------------------------ forms

def test_form_rejects_then_general_rule_returns_to_form(restaurant):
    c = Chat(restaurant)
    assert c.say(P("request_restaurant")) == ["Which cuisine would you like?"]
    assert c.say(P("greet")) == ["Hello! I can help you book a table. Just tell me you are looking for a restaurant.",
                                 "Which cuisine would you like?"]
    kinds = [e["event"] for e in c.last.events]
    assert kinds.index("action_execution_rejected") < kinds.index("action")
    assert c.session.active_loop == "restaurant_form" and not c.session.loop_rejected
    assert c.say(P("inform", ("cuisine", "thai"))) == ["For how many people should I book?"]


def test_form_slot_mapping_conditions_and_from_text(restaurant):
    c = Chat(restaurant)
    c.say(P("request_restaurant"))
    c.say(P("inform", ("cuisine", "thai"), ("number", "3")))   # both filled in one message
    assert c.session.slots["requested_slot"] == "outdoor_seating"
    c.say(P("affirm"))
    out = c.say(P("inform", text="near the window"))
    assert out[-1].endswith("preferences=near the window")
    assert c.session.active_loop is None


def test_core_fallback_rewinds_user_turn(restaurant):
    c = Chat(restaurant)
    c.say(P("greet"))
    before = (c.session.slots["cuisine"], c.session.latest_action)
    assert c.say(P("inform", ("cuisine", "thai"))) == []
    assert c.actions() == ["action_default_fallback", "action_listen"]
    assert (c.session.slots["cuisine"], c.session.latest_action) == before


def test_validation_action_nulls_value_and_400_rejects(tmp_path):
    project = project_from_yaml(tmp_path, DOMAIN_VALIDATE, RULES_VALIDATE)
    machine = machine_for(project)
    s, out, reqs = drive(machine, None, P("book"), lambda r: ActionReply())
    assert [r.name for r in reqs] == ["validate_booking_form"]   # §6.3 step 5: validated once
    assert s.slots["requested_slot"] == "people"
    s, out, reqs = drive(machine, s, P("inform", ("number", "99")),
                         lambda r: ActionReply(events=[{"event": "slot", "name": "people", "value": None}],
                                               responses=[{"text": "Too many."}]))
    assert [r.name for r in reqs] == ["validate_booking_form"]
    tracker_events = reqs[0].tracker["events"][-3:]
    assert [e["event"] for e in tracker_events] == ["slot", "action", "slot"]
    assert [m["text"] for m in out.messages] == ["Too many.", "How many people?"]
    assert s.slots["people"] is None and s.slots["requested_slot"] == "people"
    s, out, _ = drive(machine, s, P("inform", ("number", "2")), lambda r: ActionReply(rejected=True))
    kinds = [e["event"] for e in out.events]
    assert "action_execution_rejected" in kinds


def test_reprompt_limit_escalates(tmp_path):
    domain = DOMAIN_VALIDATE.replace("validate_booking_form", "utter_x_unused") + \
        ""
    project = project_from_yaml(tmp_path, domain.replace(
        "    required_slots: [people]", "    required_slots: [people]\n    formc: {max_reprompts: 2, on_reprompt_limit: utter_handoff}"),
        RULES_VALIDATE)
    machine = machine_for(project)
    if machine.domain.form("booking_form").max_reprompts is None:   # reader without the extension
        from dataclasses import replace
        form = replace(machine.domain.form("booking_form"), max_reprompts=2, on_reprompt_limit="utter_handoff")
        machine = replace(machine, domain=replace(machine.domain, forms=(form,)))
    c = Chat(machine)
    c.say(P("book"))
    assert c.say(P("chitchat")) == ["Sure.", "How many people?"]
    assert c.say(P("chitchat")) == ["Sure.", "Let me get a human."]
    assert c.session.active_loop is None
    assert c.session.latest_action == "action_listen"


# ------------------------------------------------------------------------- fallbacks

def test_two_stage_fallback_paths(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_TSF, RULES_TSF))
    rank = [("nlu_fallback", 0.5), ("greet", 0.4)]
    c = Chat(machine)
    assert c.say(P("nlu_fallback", ranking=rank)) == ["Did you mean 'greet'?"]
    assert c.last.messages[0]["buttons"][0] == {"title": "Yes", "payload": "/greet"}
    assert c.say(P("greet", text="/greet")) == ["Hey!"]
    assert c.session.active_loop is None
    users = [e for e in c.last.events if e["event"] == "user"]
    assert users[-1]["parse_data"]["intent"]["confidence"] == 1.0
    # no -> rephrase -> clarified
    assert c.say(P("nlu_fallback", ranking=rank)) == ["Did you mean 'greet'?"]
    assert c.say(P("out_of_scope")) == ["Please rephrase."]
    assert c.say(P("greet")) == ["Hey!"]
    # no, unclear, no -> give up
    c.say(P("nlu_fallback", ranking=rank))
    c.say(P("out_of_scope"))
    c.say(P("nlu_fallback", ranking=rank))
    assert c.say(P("out_of_scope")) == ["I give up."]
    assert c.session.active_loop is None
    # two unclear in a row -> give up
    c.say(P("nlu_fallback", ranking=rank))
    assert c.say(P("nlu_fallback", ranking=rank)) == ["I give up."]


# --------------------------------------------------------------------- sessions etc.

def test_session_expiry_carries_slots_over(restaurant):
    c = Chat(restaurant)
    c.say(P("request_restaurant"))
    c.say(P("inform", ("cuisine", "thai")))
    c.say(P("greet"), dt=61 * 60, metadata={"channel": "web"})
    kinds = [e["event"] for e in c.last.events]
    assert kinds[:3] == ["slot", "action", "session_started"]
    assert c.session.slots["cuisine"] == "thai"
    assert c.session.slots["session_started_metadata"] == {"channel": "web"}


def test_no_carry_over(tmp_path):
    domain = DOMAIN_TSF.replace("carry_over_slots_to_new_session: true", "carry_over_slots_to_new_session: false")
    machine = machine_for(project_from_yaml(tmp_path, domain, RULES_TSF))
    c = Chat(machine)
    c.say(P("greet", ("name", "Ann")))
    assert c.session.slots["name"] == "Ann"
    c.say(P("greet"), dt=2 * 3600)
    assert c.session.slots["name"] is None


def test_restart_and_back(restaurant):
    c = Chat(restaurant)
    c.say(P("request_restaurant"))
    c.say(P("inform", ("cuisine", "thai")))
    c.say(P("restart"))
    assert c.actions()[:1] == ["action_restart"]
    assert [e["event"] for e in c.last.events].count("restart") == 1
    assert c.session.active_loop is None and c.session.slots["cuisine"] is None
    assert c.session.latest_action == "action_listen"
    c.say(P("greet"))
    c.say(P("thankyou"))
    c.say(P("back"))
    assert c.actions() == ["action_back", "action_listen"]
    assert c.session.user_sub[0] == "greet"     # reverted /back and the turn before it


def test_circuit_breaker_stops_after_ten_actions(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    s, out, reqs = drive(machine, None, P("loop"),
                         lambda r: ActionReply(events=[{"event": "followup", "name": "action_again"}]))
    assert len(reqs) == 10
    assert any(str(t.get("why", "")).startswith("circuit breaker") for t in out.trace)
    # Rasa counts the actions since the last action_listen, not per turn: no listen was logged,
    # so the next message (even a restart) gets no action at all (edge4/05, recorded)
    for parse in (P("hello"), P("restart")):
        s, out, reqs = drive(machine, s, parse, lambda r: ActionReply(events=[]))
        assert reqs == [] and [e["event"] for e in out.events] == ["user"]
    assert s.actions_since_listen == 10


def test_circuit_breaker_count_starts_again_after_a_listen(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    s, _out, reqs = drive(machine, None, P("hello"), lambda r: ActionReply(events=[]))
    assert [r.name for r in reqs] == ["action_hello"] and s.actions_since_listen == 0
    s, _out, reqs = drive(machine, s, P("hello"), lambda r: ActionReply(events=[]))
    assert [r.name for r in reqs] == ["action_hello"]


def test_e2e_bot_text_is_uttered_and_logged_as_action_text(tmp_path):
    domain = "version: '3.1'\nintents: [greet, thank]\nresponses:\n  utter_hi:\n  - text: Hi\n"
    stories = """
version: "3.1"
stories:
- story: e2e
  steps:
  - intent: greet
  - action: utter_hi
  - intent: thank
  - bot: You are welcome!
"""
    config = "policies:\n- name: MemoizationPolicy\n- name: RulePolicy\n"
    c = Chat(machine_for(project_from_yaml(tmp_path, domain, stories=stories, config=config)))
    assert c.say(P("greet")) == ["Hi"]
    assert c.say(P("thank")) == ["You are welcome!"]
    logged = [e for e in c.last.events if e["event"] == "action"]
    assert [(e["name"], e["action_text"]) for e in logged] == [
        (None, "You are welcome!"), ("action_listen", None)]


def test_custom_action_failure_and_rejection(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    s, out, _ = drive(machine, None, P("hello"), lambda r: ActionReply(error="connection refused"))
    names = [e.get("name") for e in out.events if e["event"] == "action"]
    assert "action_hello" in names                     # action event still logged
    assert s.latest_action == "action_listen"
    s2, out2, _ = drive(machine, None, P("hello"), lambda r: ActionReply(rejected=True))
    assert any(e["event"] == "action_execution_rejected" and e["name"] == "action_hello" for e in out2.events)


def test_custom_action_events_bots_first_and_reminders(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    reply = ActionReply(events=[{"event": "slot", "name": "name", "value": "Bo"},
                                {"event": "reminder", "intent": "EXTERNAL_ping", "name": "r1",
                                 "date_time": "2030-01-01T00:00:00+00:00", "kill_on_user_msg": False}],
                        responses=[{"response": "utter_hi", "name": "Zed"}, {"text": "plain {name}"}])
    s, out, reqs = drive(machine, None, P("hello"), lambda r: reply)
    assert reqs[0].tracker["sender_id"] == "u1" and reqs[0].tracker["latest_message"]["intent"]["name"] == "hello"
    kinds = [e["event"] for e in out.events]
    i = kinds.index("action", kinds.index("user"))
    assert kinds[i + 1:i + 5] == ["bot", "bot", "slot", "reminder"]
    assert [m["text"] for m in out.messages] == ["Hi Zed!", "plain {name}"]
    assert s.slots["name"] == "Bo"
    assert s.reminders[0]["name"] == "r1" and s.reminders[0]["intent"] == "EXTERNAL_ping"
    agent = Agent(machine, seed=0)
    r = asyncio.run(agent.fire_reminder(s, "u1", "r1", now=T0 + 10))
    users = [e for e in r.events if e["event"] == "user"]
    assert users[0]["text"] == "EXTERNAL: EXTERNAL_ping" and users[0]["metadata"]["is_external"]
    assert r.session.reminders == []


def test_trigger_intent_fills_slots(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_TSF, RULES_TSF))
    agent = Agent(machine, seed=0)
    r = asyncio.run(agent.trigger_intent(None, "u1", "greet", {"name": "Ann"}, now=T0))
    assert r.session.slots["name"] == "Ann"
    assert [m["text"] for m in r.messages] == ["Hey!"]


def test_add_user_message_only_and_tracker_state(restaurant):
    agent = Agent(restaurant, seed=0)
    r = agent.add_user_message_only(None, "u1", "thai", parse_data=P("inform", ("cuisine", "thai")), now=T0)
    assert r.session.slots["cuisine"] == "thai"
    assert not [e for e in r.events if e["event"] == "action" and e["name"] not in
                ("action_session_start", "action_listen")]
    t = agent.tracker_state(r.session)
    assert set(t) >= {"sender_id", "slots", "latest_message", "events", "active_loop",
                      "latest_action_name", "paused", "followup_action", "latest_input_channel"}
    assert t["slots"]["requested_slot"] is None and t["active_loop"] == {}
    empty = agent.tracker_state(None, sender_id="nobody")
    assert [e["event"] for e in empty["events"]] == ["action", "session_started", "action"]


# -------------------------------------------------------------------- persistence

def test_session_json_roundtrip_mid_form(restaurant):
    c = Chat(restaurant)
    c.say(P("request_restaurant"))
    c.say(P("inform", ("cuisine", "thai")))
    data = json.loads(json.dumps(c.session.to_json()))
    c.session = Session.from_json(data, restaurant)
    assert c.say(P("inform", ("number", "2"))) == ["Would you like to sit outside?"]


def test_digest_mismatch_continue_or_restart(restaurant, caplog):
    from dataclasses import replace
    c = Chat(restaurant)
    c.say(P("request_restaurant"))
    data = c.session.to_json()
    same_names = replace(restaurant, digest="other")
    with caplog.at_level(logging.INFO, "formc.runtime"):
        kept = Session.from_json(data, same_names)
    assert kept.active_loop == "restaurant_form" and kept.digest == "other"
    assert "continuing" in caplog.text
    fewer = replace(restaurant, digest="third", domain=replace(
        restaurant.domain, slots=tuple(s for s in restaurant.domain.slots if s.name != "cuisine")))
    with caplog.at_level(logging.WARNING, "formc.runtime"):
        fresh = Session.from_json(data, fewer)
    assert fresh.active_loop is None and not fresh.started and "restarting" in caplog.text
    agent = Agent(fewer, seed=0)
    r = asyncio.run(agent.handle_message(fresh, "u1", "hi", now=T0 + 100, parse_data=P("greet")))
    assert r.messages


DOMAIN_VALIDATE = """
version: "3.1"
intents: [book, inform, chitchat]
entities: [number]
slots:
  people:
    type: text
    mappings:
    - type: from_entity
      entity: number
forms:
  booking_form:
    required_slots: [people]
responses:
  utter_ask_people:
  - text: How many people?
  utter_chitchat:
  - text: Sure.
  utter_handoff:
  - text: Let me get a human.
  utter_done:
  - text: Booked.
actions:
- validate_booking_form
"""
RULES_VALIDATE = """
version: "3.1"
rules:
- rule: start
  steps:
  - intent: book
  - action: booking_form
  - active_loop: booking_form
- rule: chitchat
  steps:
  - intent: chitchat
  - action: utter_chitchat
- rule: done
  condition:
  - active_loop: booking_form
  steps:
  - action: booking_form
  - active_loop: null
  - action: utter_done
"""
DOMAIN_TSF = """
version: "3.1"
intents: [greet]
entities: [name]
slots:
  name:
    type: text
    mappings:
    - type: from_entity
      entity: name
responses:
  utter_greet:
  - text: Hey!
  utter_ask_rephrase:
  - text: Please rephrase.
  utter_default:
  - text: I give up.
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""
RULES_TSF = """
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
- rule: two stage
  steps:
  - intent: nlu_fallback
  - action: action_two_stage_fallback
  - active_loop: action_two_stage_fallback
"""
DOMAIN_CUSTOM = """
version: "3.1"
intents: [hello, loop, EXTERNAL_ping]
slots:
  name:
    type: text
    mappings:
    - type: custom
responses:
  utter_hi:
  - text: Hi {name}!
actions:
- action_hello
- action_again
"""
RULES_CUSTOM = """
version: "3.1"
rules:
- rule: hello
  steps:
  - intent: hello
  - action: action_hello
- rule: loop
  steps:
  - intent: loop
  - action: action_again
"""


def test_rewind_after_a_form_survives_the_capped_rewind_stack():
    # stories2/14_form_after_prefix: more user turns than the rewind stack keeps, then a form
    # whose happy-path answers collapse (§8.3); a core fallback after the form completes rewinds
    # to before the message that activated the form (Rasa's replay), not into the form.
    import os
    machine = machine_from_dir(os.path.join(os.path.dirname(__file__), "oracles", "stories2", "bot"))
    c = Chat(machine)
    for parse in (P("greet"), P("mood_great"), P("help"), P("ask_weather", ("city", "Paris")),
                  P("deny"), P("start_order"), P("order_drink", ("drink", "tea"))):
        c.say(parse)
    assert c.session.active_loop == "order_form"
    assert c.say(P("nlu_fallback", ("size", "large"), conf=0.3)) == ["Sorry, I didn't get that."]
    assert c.session.active_loop is None
    assert c.session.slots["drink"] is None and c.session.slots["size"] is None
    assert c.say(P("thank")) == ["You're welcome."]


def test_ask_action_sees_slots_set_by_validation(tmp_path):
    """Rasa runs action_ask_<slot> on a temporary tracker with the form's new events applied
    (helpdesk/12: the validation clears `hint`, the ask action must see it cleared)."""
    domain = DOMAIN_VALIDATE.replace("slots:\n", "slots:\n  hint:\n    type: text\n"
                                     "    initial_value: old\n    mappings:\n    - type: custom\n", 1)
    domain = domain.replace("- validate_booking_form", "- validate_booking_form\n- action_ask_people")
    machine = machine_for(project_from_yaml(tmp_path, domain, RULES_VALIDATE))

    def responder(req):
        if req.name == "validate_booking_form":
            return ActionReply(events=[{"event": "slot", "name": "hint", "value": None}])
        return ActionReply(responses=[{"text": f"hint={req.tracker['slots']['hint']}"}])

    s, out, reqs = drive(machine, None, P("book"), responder)
    assert [r.name for r in reqs] == ["validate_booking_form", "action_ask_people"]
    assert reqs[0].tracker["slots"]["hint"] == "old"
    assert [m["text"] for m in out.messages] == ["hint=None"]
    # an AllSlotsReset among the pending events resets the sent slots to their initial values
    from formc.runtime.tracker import tracker_state
    s.slots["hint"] = "kept"
    sent = tracker_state(machine.domain, s, "ALL", [{"event": "reset_slots"},
                                                    {"event": "slot", "name": "people", "value": "4"}])
    assert sent["slots"]["hint"] == "old" and sent["slots"]["people"] == "4"
    assert sent["slots"]["requested_slot"] is None


def test_without_rule_policy_only_stories_predict(tmp_path):
    # edge6 (recorded): no RulePolicy means no default-intent actions and no core fallback; an
    # unmatched state gets action_listen, the first action of Rasa's all-zero prediction
    domain = "version: '3.1'\nintents: [greet, thank]\nresponses:\n  utter_hi:\n  - text: Hi\n"
    stories = "version: '3.1'\nstories:\n- story: s\n  steps:\n  - intent: greet\n  - action: utter_hi\n"
    config = "policies:\n- name: MemoizationPolicy\n"
    c = Chat(machine_for(project_from_yaml(tmp_path, domain, stories=stories, config=config)))
    assert c.say(P("greet")) == ["Hi"]
    for parse in (P("thank"), P("restart")):
        assert c.say(parse) == [] and c.actions() == ["action_listen"]


def test_action_sees_the_prediction_events_and_only_the_latest_session(tmp_path):
    # actions3 (recorded): the tracker sent to an action already ends with user_featurization,
    # and holds only the events since the latest action_session_start
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    s, _out, reqs = drive(machine, None, P("hello"), lambda r: ActionReply(events=[]))
    assert [e["event"] for e in reqs[0].tracker["events"]][-2:] == ["user", "user_featurization"]
    s, _out, _reqs = drive(machine, s, P("session_start"), lambda r: ActionReply(events=[]))
    s, _out, reqs = drive(machine, s, P("hello"), lambda r: ActionReply(events=[]))
    kinds = [(e["event"], e.get("name")) for e in reqs[0].tracker["events"]]
    assert kinds[0] == ("action", "action_session_start")
    assert kinds.count(("action", "action_session_start")) == 1
    assert "slots" in reqs[0].tracker and "requested_slot" not in domain_dict(machine.domain).get("slots", {})


def test_a_pausing_action_ends_the_turn_without_a_listen(tmp_path):
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    s, out, _reqs = drive(machine, None, P("hello"), lambda r: ActionReply(events=[{"event": "pause"}]))
    assert [e.get("name") for e in out.events if e["event"] == "action"][-1] == "action_hello"
    assert s.paused and s.latest_action == "action_hello"
    s, out, reqs = drive(machine, s, P("loop"), lambda r: ActionReply(events=[]))
    assert reqs == [] and [e["event"] for e in out.events] == ["user"]


def test_applied_events_replay_rewinds_undos_and_loop_runs():
    from formc.runtime.tracker import applied_events
    a = lambda n: {"event": "action", "name": n}                         # noqa: E731
    u = lambda i: {"event": "user", "parse_data": {"intent": {"name": i}}}  # noqa: E731
    events = [a("action_session_start"), {"event": "session_started"}, a("action_listen"),
              u("book"), a("form"), {"event": "active_loop", "name": "form"}, a("action_listen"),
              u("inform"), {"event": "user_featurization"}, a("form"),
              {"event": "slot", "name": "x", "value": 1}, a("action_listen"),
              u("gibberish"), a("action_default_fallback"), {"event": "rewind"}, a("utter_x"),
              {"event": "undo"}]
    got = [(e["event"], e.get("name")) for e in applied_events(events)]
    # the form's second run collapses onto its first (the user answer vanishes, the slot stays);
    # the rewind drops the fallback turn and the listen before it; the undo drops utter_x
    assert got == [("action", "action_listen"), ("user", None), ("action", "form"),
                   ("active_loop", "form"), ("slot", "x")]


def test_session_expiry_counts_from_the_latest_applied_user_message(tmp_path):
    # Rasa times the session from the latest applied user event: a message the core fallback
    # reverted does not restart the clock (edge8 shows the carried-over slots of such a start)
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_TSF, RULES_TSF))
    c = Chat(machine)
    c.say(P("greet", ("name", "Ann")))
    c.say(P("unknown_intent"), dt=50 * 60)          # no rule: core fallback, message reverted
    assert "action_default_fallback" in c.actions()
    c.say(P("greet"), dt=20 * 60)                   # 70 min after the last applied message
    assert c.actions()[0] == "action_session_start"
    assert c.session.slots["name"] == "Ann"         # carried over


def test_latest_session_only_even_when_the_capped_history_lost_the_first_start(tmp_path):
    from formc.runtime.tracker import tracker_state
    machine = machine_for(project_from_yaml(tmp_path, DOMAIN_CUSTOM, RULES_CUSTOM))
    engine = Engine(machine, random.Random(0))
    s = engine.new_session("u1", history_limit=12)
    for parse in (P("hello"), P("hello"), P("hello"), P("session_start"), P("hello")):
        s, _out, _reqs = drive(machine, s, parse, lambda r: ActionReply(events=[]))
    events = tracker_state(machine.domain, s, "ALL")["events"]
    assert (events[0]["event"], events[0]["name"]) == ("action", "action_session_start")
    assert [e.get("name") for e in events].count("action_session_start") == 1
