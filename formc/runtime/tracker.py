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


def _latest_session(session: Session) -> list:
    """The kept history, decoded, from the latest session on."""
    events = session.events()
    # Rasa's tracker stores load (and then save back) only the latest session: everything
    # from the last action_session_start on, so that is all a tracker shows once a second
    # session has started (actions3/10). (In the first session Rasa also drops the events before
    # its action_session_start -- a session_started_metadata slot -- after the next message;
    # formc keeps them.)
    starts = [i for i, ev in enumerate(events)
              if ev.get("event") == "action" and ev.get("name") == "action_session_start"]
    truncated = session.logged > len(events)   # the capped history lost the first session start
    if len(starts) > 1 or (starts and truncated):
        events = events[starts[-1]:]
    return events


def _shown(events: list, include_events: str) -> Optional[list]:
    """The events a tracker state shows for `include_events` (None: no `events` key value)."""
    mode = (include_events or "AFTER_RESTART").upper()
    if mode == "NONE":
        return None
    if mode == "AFTER_RESTART":
        for i in range(len(events) - 1, -1, -1):
            if events[i].get("event") == "restart":
                events = events[i + 1:]
                break
    elif mode == "APPLIED":
        events = applied_events(events)
    return events


def _undo_till(kind: str, applied: list) -> None:
    """Pop events off the end up to and including the last one of `kind`."""
    while applied:
        if applied.pop().get("event") == kind:
            return


def _repeated_loop_run(loop: str, applied: list) -> bool:
    """Is running `loop` now a happy-path repeat of its previous run (§8.3)?"""
    next_action = None
    for ev in reversed(applied):
        kind = ev.get("event")
        if kind == "active_loop" and ev.get("name") is None:
            return False
        if kind == "action_execution_rejected" and ev.get("name") == loop:
            return False
        if kind == "user" and next_action is not None and next_action != loop:
            return False
        if kind == "action":
            if ev.get("name") == loop:
                return True
            next_action = ev.get("name")
    return False


def applied_events(events: list) -> list:
    """Rasa's applied events (§8.3): restarts and session starts clear, rewinds and undos pop,
    a form's repeated happy-path run collapses back to its previous run."""
    loops = {ev.get("name") for ev in events if ev.get("event") == "active_loop" and ev.get("name")}
    applied: list = []
    for ev in events:
        kind = ev.get("event")
        if kind in ("restart", "session_started"):
            applied = []
        elif kind == "undo":
            _undo_till("action", applied)
        elif kind == "rewind":
            _undo_till("user", applied)
            _undo_till("action", applied)
        elif kind == "action" and ev.get("name") in loops and _repeated_loop_run(ev["name"], applied):
            kept = []
            while applied and not (applied[-1].get("event") == "action"
                                   and applied[-1].get("name") == ev["name"]):
                last = applied.pop()
                if last.get("event") not in ("action", "user", "user_featurization"):
                    kept.append(last)
            applied.extend(reversed(kept))
        else:
            applied.append(ev)
    return applied


def user_message(ev: dict) -> dict:
    """A user event -> the tracker's `latest_message` (its parse data, completed)."""
    parse = dict(ev.get("parse_data") or {})
    parse.setdefault("text", ev.get("text"))
    parse.setdefault("entities", [])
    parse.setdefault("intent", {})
    parse.setdefault("message_id", ev.get("message_id"))
    parse.setdefault("metadata", ev.get("metadata") or {})
    return parse


def latest_message(session: Session, history: Optional[list] = None) -> dict:
    """The live tracker's latest message; given the latest session's `history`: as Rasa shows
    it after loading the tracker from its store, the latest *applied* user message -- a form
    answer that the happy-path collapse removed no longer counts (the API oracle's `predict`
    after trigger_intent)."""
    msg = session.latest_message
    if history is not None:
        users = [ev for ev in applied_events(history) if ev.get("event") == "user"]
        msg = user_message(users[-1]) if users else None
    if not msg:
        return {"intent": {}, "entities": [], "text": None, "message_id": None, "metadata": {}}
    return copy.deepcopy(msg)


def event_stamp(machine: Any) -> dict:
    """What Rasa's server adds to the metadata of every event it logs: the assistant_id of
    config.yml and the model's id (formc: the first 32 hex digits of the bot's digest)."""
    stamp = {"model_id": (getattr(machine, "digest", "") or "")[:32]}
    assistant_id = getattr(getattr(machine, "config", None), "assistant_id", None)
    if assistant_id:
        stamp["assistant_id"] = assistant_id
    return stamp


#: Marks an event stored as posted to PUT /tracker/events (Rasa shows those without the stamp).
UNSTAMPED = "_formc_unstamped"


def _stamped(events: list, stamp: dict) -> list:
    """Events with the stamp in their metadata. Added when a tracker is shown rather than
    stored with every event (it would add ~60 bytes per event to every stored turn); an
    event that already has these keys keeps its own."""
    out = []
    for ev in events:
        ev = dict(ev)
        if ev.pop(UNSTAMPED, False):
            out.append(ev)
            continue
        ev["metadata"] = {**stamp, **(ev.get("metadata") or {})}
        out.append(ev)
    return out


def tracker_state(domain: model.Domain, session: Session, include_events: str = "AFTER_RESTART",
                  extra_events: Optional[list] = None, stamp: Optional[dict] = None,
                  reloaded: bool = False) -> dict:
    """The tracker state: live (as sent to actions, with the pending events) or `reloaded` (as
    the HTTP API shows it, Rasa reading the tracker back from its store)."""
    shows_events = (include_events or "").upper() != "NONE"
    history = _latest_session(session) if shows_events or reloaded else []   # decoded once
    events = _shown(history, include_events)
    pending = session.prediction_events + list(extra_events or ())
    if events is not None and pending:
        events = events + [dict(e) for e in pending]
    if events is not None and stamp:
        events = _stamped(events, stamp)
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
        "latest_message": latest_message(session, history if reloaded else None),
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
