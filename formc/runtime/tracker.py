"""Session -> Rasa tracker state JSON (§8.4), as served by the HTTP API and sent to actions."""

from __future__ import annotations

import copy
from typing import Any, Optional

from .. import model
from .session import Session


def all_slots(domain: model.Domain, values: dict) -> dict:
    """Every domain and built-in slot with its value in `values`, else its initial value."""
    out = {s.name: values.get(s.name, s.initial_value) for s in domain.slots}
    for name in model.BUILTIN_SLOTS:
        out.setdefault(name, values.get(name))
    return out


def _events(session: Session, include_events: str) -> Optional[list]:
    mode = (include_events or "AFTER_RESTART").upper()
    if mode == "NONE":
        return None
    events = session.events()
    # Rasa's tracker stores load (and then save back) only the latest session: everything
    # from the last action_session_start on, so that is all a tracker ever shows (actions3/10)
    for i in range(len(events) - 1, 0, -1):
        if events[i].get("event") == "action" and events[i].get("name") == "action_session_start":
            events = events[i:]
            break
    if mode == "AFTER_RESTART":
        for i in range(len(events) - 1, -1, -1):
            if events[i].get("event") == "restart":
                events = events[i + 1:]
                break
    elif mode == "APPLIED":
        for i in range(len(events) - 1, -1, -1):
            if events[i].get("event") in ("restart", "session_started"):
                events = events[i:]
                break
    return events


def latest_message(session: Session) -> dict:
    msg = session.latest_message
    if not msg:
        return {"intent": {}, "entities": [], "text": None, "message_id": None, "metadata": {}}
    return copy.deepcopy(msg)


def tracker_state(domain: model.Domain, session: Session, include_events: str = "AFTER_RESTART",
                  extra_events: Optional[list] = None) -> dict:
    events = _events(session, include_events)
    pending = session.prediction_events + list(extra_events or ())
    if events is not None and pending:
        events = events + [dict(e) for e in pending]
    loop: dict[str, Any] = {}
    if session.active_loop:
        loop = {"name": session.active_loop, "is_interrupted": session.loop_interrupted,
                "rejected": session.loop_rejected, "trigger_message": copy.deepcopy(session.loop_trigger)}
    slots = all_slots(domain, session.slots)
    # Rasa runs actions inside a form (validate_<form>, the action_ask_<slot> after validation,
    # action_validate_slot_mappings) on a temporary tracker with the not-yet-logged events
    # applied, so `slots` must already show them: an ask action reading a slot the validation
    # just cleared sees it cleared (helpdesk/12: `previous_email` reset -> utter_ask_email).
    for ev in pending:
        if ev.get("event") == "slot" and ev.get("name") in slots:
            slots[ev["name"]] = ev.get("value")
        elif ev.get("event") == "reset_slots":
            slots = all_slots(domain, {})
    return {
        "sender_id": session.sender_id,
        "slots": slots,
        "latest_message": latest_message(session),
        "latest_event_time": session.latest_event_time,
        "followup_action": session.followups[0] if session.followups else None,
        "paused": session.paused,
        "events": events,
        "latest_input_channel": session.latest_input_channel,
        "active_loop": loop,
        "latest_action": {"action_name": session.latest_action} if session.latest_action else {},
        "latest_action_name": session.latest_action,
    }


def domain_dict(domain: model.Domain) -> dict:
    """The domain as Rasa sends it to action servers / GET /domain (§2.9), cleaned."""
    intents = []
    for intent in sorted(domain.intents, key=lambda i: i.name):
        props: dict = {"use_entities": True if intent.use_entities is None else list(intent.use_entities)}
        if intent.ignore_entities:
            props["ignore_entities"] = list(intent.ignore_entities)
        intents.append({intent.name: props})
    slots = {}
    for s in domain.slots:
        if s.name in model.BUILTIN_SLOTS:   # Rasa's domain dict leaves the built-in slots out
            continue
        entry: dict = {"type": s.type, "initial_value": s.initial_value,
                       "influence_conversation": s.influence_conversation,
                       "mappings": [_mapping(m) for m in s.mappings]}
        if s.type == "categorical":
            entry["values"] = list(s.values)
        if s.type == "float":
            entry["min_value"], entry["max_value"] = s.min_value, s.max_value
        slots[s.name] = entry
    out = {
        "version": "3.1",
        "session_config": {"session_expiration_time": domain.session_config.session_expiration_time,
                           "carry_over_slots_to_new_session": domain.session_config.carry_over_slots_to_new_session},
        "intents": intents,
        "entities": [e.name for e in domain.entities],
        "slots": slots,
        "responses": {r.name: [dict(v) for v in r.variations] for r in domain.responses},
        "actions": [a.name for a in domain.actions],
        "forms": {f.name: {"required_slots": list(f.required_slots),
                           **({"ignored_intents": list(f.ignored_intents)} if f.ignored_intents else {})}
                  for f in domain.forms},
    }
    if not domain.store_entities_as_slots:
        out["config"] = {"store_entities_as_slots": False}
    return {k: v for k, v in out.items() if v not in ([], {}, None) or k in ("version",)}


def _mapping(m: model.SlotMapping) -> dict:
    out: dict = {"type": m.type}
    for key in ("entity", "role", "group", "action"):
        if getattr(m, key) is not None:
            out[key] = getattr(m, key)
    if m.intent:
        out["intent"] = list(m.intent)
    if m.not_intent:
        out["not_intent"] = list(m.not_intent)
    if m.type in ("from_intent", "from_trigger_intent"):
        out["value"] = m.value
    if m.conditions:
        out["conditions"] = [{"active_loop": c.active_loop,
                              **({"requested_slot": c.requested_slot} if c.requested_slot else {})}
                             for c in m.conditions]
    return out
