"""Rules and stories -> event sequences -> (dialogue states, action) training pairs (§5.3, §8.3).

Each rule/story is expanded (`or` alternatives multiply), turned into the event list Rasa's
training tracker holds (condition events, `...` snippets, implicit action_listen, entity slots),
reduced to applied events (loop collapse quirk) and cut into the states before every action.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Optional

from .. import model
from ..model import LISTEN
from .state import SNIPPET, SNS, DState, slots_substate, text_key, user_substate



@dataclass(frozen=True)
class Ev:
    """One training-tracker event: kind is action | user | slot | loop."""

    kind: str
    name: Any = None                 # action / slot / loop name, or intent for user
    value: Any = None                # slot value, or entity list for user
    span: Any = None


def _alternatives(steps: tuple) -> list[list]:
    """Expand `or` steps into plain step lists (cartesian product, capped)."""
    options = [list(step.alternatives) if isinstance(step, model.OrStep) else [step] for step in steps]
    out = []
    for combo in itertools.product(*options):
        out.append(list(combo))
        if len(out) >= 64:
            break
    return out


def _entity_slot_events(domain: model.Domain, entities: list) -> list[Ev]:
    """§5.3 step 2: slots with an unconditioned (no active_loop) from_entity mapping."""
    if not domain.store_entities_as_slots or not entities:
        return []
    out = []
    for slot in domain.slots:
        for mapping in slot.mappings:
            if mapping.type != "from_entity" or any(c.active_loop for c in mapping.conditions):
                continue
            values = [e.get("value") for e in entities if e.get("entity") == mapping.entity
                      and e.get("role") == mapping.role and e.get("group") == mapping.group]
            if values:
                out.append(Ev("slot", slot.name, values if slot.type == "list" else values[-1]))
                break
    return out


def step_entities(step: model.UserStep) -> list[dict]:
    ents = [{"entity": e.entity, "value": e.value, **({"role": e.role} if e.role else {}),
             **({"group": e.group} if e.group else {})} for e in step.entities]
    if not ents:
        ents = [{"entity": a.entity, "value": a.value, **({"role": a.role} if a.role else {}),
                 **({"group": a.group} if a.group else {})} for a in step.text_entities]
    return ents


def story_events(story: model.Story, domain: model.Domain) -> list[list[Ev]]:
    """All event sequences of one rule or story (one per `or` combination)."""
    is_rule = story.kind == "rule"
    sequences = []
    for steps in _alternatives(story.steps):
        events: list[Ev] = []
        if is_rule:
            for cond in story.condition:
                if isinstance(cond, model.SlotStep):
                    events += [Ev("slot", n, SNS if v is None else v, cond.span) for n, v in cond.slots]
                elif isinstance(cond, model.LoopStep):
                    events.append(Ev("loop", cond.name or SNS, None, cond.span))
            if not story.conversation_start:
                events.append(Ev("action", SNIPPET, None, story.span))
        for step in steps:
            if isinstance(step, model.UserStep):
                if not events or not (events[-1].kind == "action" and events[-1].name == LISTEN):
                    events.append(Ev("action", LISTEN, None, step.span))
                ents = step_entities(step)
                # a story's text-only step is memorised by its text, as Rasa's MemoizationPolicy
                # (a rule's keeps no user part, as before)
                name = step.intent if step.intent is not None or is_rule or not step.text \
                    else text_key(step.text)
                events.append(Ev("user", name, ents, step.span))
                events += _entity_slot_events(domain, ents)
            elif isinstance(step, model.ActionStep):
                events.append(Ev("action", step.name, None, step.span))
            elif isinstance(step, model.BotStep):
                events.append(Ev("action", step.text, None, step.span))
            elif isinstance(step, model.SlotStep):
                for n, v in step.slots:
                    events.append(Ev("slot", n, SNS if (v is None and is_rule) else v, step.span))
            elif isinstance(step, model.LoopStep):
                events.append(Ev("loop", step.name or (SNS if is_rule else None), None, step.span))
        if is_rule and not story.wait_for_user_input:
            events.append(Ev("action", SNIPPET, None, story.span))
        elif not (events and events[-1].kind == "action" and events[-1].name == LISTEN):
            if not (steps and isinstance(steps[-1], model.CheckpointStep)):
                events.append(Ev("action", LISTEN, None, story.span))
        sequences.append(events)
    return sequences


def applied(events: list[Ev], loop_names: set) -> list[Ev]:
    """Rasa's applied-events reduction restricted to the loop collapse (§8.3)."""
    out: list[Ev] = []
    for ev in events:
        if ev.kind == "action" and ev.name in loop_names and not _first_or_unhappy(ev.name, out):
            kept = []
            i = len(out) - 1
            while i >= 0 and not (out[i].kind == "action" and out[i].name == ev.name):
                if out[i].kind not in ("action", "user"):
                    kept.append(out[i])
                i -= 1
            out = out[:i + 1] + list(reversed(kept))
            continue
        out.append(ev)
    return out


def _first_or_unhappy(loop: str, done: list[Ev]) -> bool:
    next_action = None
    for ev in reversed(done):
        if ev.kind == "loop" and ev.name in (None, SNS):
            return True
        if ev.kind == "user" and next_action is not None and next_action != loop:
            return True
        if ev.kind == "action":
            if ev.name == loop:
                return False
            next_action = ev.name
    return True


def states_and_actions(events: list[Ev], domain: model.Domain, used: dict) -> list[tuple[DState, Ev]]:
    """The state before every action of the (applied) event list, paired with that action."""
    slots = {s.name: s.initial_value for s in domain.slots}
    user: Optional[tuple] = None
    prev: Optional[str] = None
    loop: Optional[str] = None
    out = []
    for ev in events:
        if ev.kind == "action":
            slot_part = slots_substate(domain, slots) if prev is not None else ()
            intent, ents = user if user is not None else (None, ())
            out.append((DState(intent, ents, prev, slot_part, loop), ev))
            prev = ev.name
        elif ev.kind == "user":
            user = user_substate(used, ev.name, ev.value)
        elif ev.kind == "slot":
            slots[ev.name] = ev.value
        elif ev.kind == "loop":
            loop = ev.name
    return out


def rule_keys(pairs: list[tuple[DState, Ev]]) -> list[tuple[tuple, Ev]]:
    """(key states, action) for every prediction a rule makes: states after the last `...`."""
    out = []
    for j, (_state, action) in enumerate(pairs):
        if action.name == SNIPPET:
            continue
        states = [s for s, _a in pairs[:j + 1]]
        start = 0
        for k, s in enumerate(states):
            if s.prev_action == SNIPPET:
                start = k + 1
        key = tuple(states[start:])
        if key:
            out.append((key, action))
    return out


def unhappy_key(states: list[DState]) -> tuple:
    """RulePolicy's reduced key for loop-unhappy-path conditions: the last state, preceded by
    only the previous state's prev_action."""
    if len(states) == 1 or not states[-2].prev_action:
        return (states[-1],)
    return (DState(prev_action=states[-2].prev_action), states[-1])
