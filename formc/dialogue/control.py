"""Domain forms + compiled rule keys -> explicit control states and guarded transitions.

This is the human-facing view of the machine (formc inspect / graph / coverage): where the
conversation can wait and which rule or form step moves it on, each with its source span.
The engine itself runs on the rule tables; it reports the transition ids it takes.
"""

from __future__ import annotations

from .. import model
from ..model import LISTENING
from .machine import ControlState, Transition
from .state import SNS



def guard_of(state) -> dict:
    """A dialogue state as a transition guard; "must not be set" (SNS) reads as None."""
    guard: dict = {"prev_action": state.prev_action}
    if state.intent:
        guard["intent"] = state.intent
    if state.entities:
        guard["entities"] = list(state.entities)
    if state.slots:
        guard["slots"] = {n: (None if v == SNS else list(v)) for n, v in state.slots}
    if state.active_loop:
        guard["active_loop"] = None if state.active_loop == SNS else state.active_loop
    return guard


def form_state(form: str, slot: str) -> str:
    return f"form:{form}:{slot}"


def build_control(domain: model.Domain, per_rule: list) -> tuple[tuple, tuple]:
    states = [ControlState(LISTENING, "listening", description="waiting for a user message")]
    transitions: list[Transition] = []
    for form in domain.forms:
        for slot in form.required_slots:
            states.append(ControlState(form_state(form.name, slot), "form", form.name, slot,
                                       f"{form.name} waits for slot '{slot}'"))
        slots = list(form.required_slots)
        span = str(form.span) if form.span else ""
        first = form_state(form.name, slots[0]) if slots else LISTENING
        for i, slot in enumerate(slots):
            here = form_state(form.name, slot)
            nxt = form_state(form.name, slots[i + 1]) if i + 1 < len(slots) else LISTENING
            transitions.append(Transition(f"form:{form.name}:fill:{slot}", here, nxt,
                                          {"active_loop": form.name, "requested_slot": slot,
                                           "slot_filled": slot}, (form.name,),
                                          f"form {form.name}: '{slot}' filled", span))
            transitions.append(Transition(f"form:{form.name}:reject:{slot}", here, here,
                                          {"active_loop": form.name, "requested_slot": slot,
                                           "slot_filled": None}, (),
                                          f"form {form.name}: nothing extracted for '{slot}' "
                                          "(rejection; rules handle the message)", span))
        transitions.append(Transition(f"form:{form.name}:activate", LISTENING, first,
                                      {"action": form.name}, (form.name,),
                                      f"form {form.name} activated", span))
        transitions.append(Transition(f"form:{form.name}:submit", LISTENING, LISTENING,
                                      {"active_loop": form.name, "all_slots_filled": True},
                                      (form.name,), f"form {form.name} completed", span))
    states.append(ControlState("fallback:affirm", "fallback",
                               description="two-stage fallback asked 'Did you mean ...?'"))
    states.append(ControlState("fallback:rephrase", "fallback",
                               description="two-stage fallback asked the user to rephrase"))
    for tid, src, dst, why in (
            ("fallback:ask_affirmation", LISTENING, "fallback:affirm", "nlu_fallback -> ask affirmation"),
            ("fallback:affirmed", "fallback:affirm", LISTENING, "user clarified; history rewritten"),
            ("fallback:denied", "fallback:affirm", "fallback:rephrase", "user said no -> ask rephrase"),
            ("fallback:give_up", "fallback:rephrase", LISTENING, "fallback failed -> action_default_fallback"),
            ("fallback:core", LISTENING, LISTENING, "no rule matched -> core fallback action")):
        transitions.append(Transition(tid, src, dst, {}, (), why))

    seen = set()
    with_transitions = set()
    for story, keys in per_rule:
        for states_key, action in keys:
            if action.name != "action_listen" or states_key[-1].prev_action in ("action_listen", None):
                with_transitions.add(story.name)
    for story, keys in per_rule:
        for states_key, action in keys:
            last = states_key[-1]
            if (action.name == "action_listen" and last.prev_action not in ("action_listen", None)
                    and story.name in with_transitions):
                continue
            tid = f"rule:{story.name}:{action.name}:{len(states_key)}"
            if tid in seen:
                continue
            seen.add(tid)
            guard = guard_of(last)
            if states_key[0].prev_action is None:
                guard["conversation_start"] = True
            source = LISTENING
            if last.active_loop and last.active_loop != SNS and domain.form(last.active_loop):
                form = domain.form(last.active_loop)
                source = form_state(form.name, form.required_slots[0]) if form.required_slots else LISTENING
            target = LISTENING
            form = domain.form(action.name)
            if form and form.required_slots and last.active_loop != action.name:
                target = form_state(form.name, form.required_slots[0])
            elif source != LISTENING:
                target = source
            transitions.append(Transition(tid, source, target, guard, (action.name,),
                                          f"rule '{story.name}'", str(action.span) if action.span else ""))
    return tuple(states), tuple(transitions)
