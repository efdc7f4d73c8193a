"""Validation rules that need the compiled machine (control states and transitions) -> F62x.

F620 warning  a form that nothing activates: its states are unreachable
F621 warning  an interruption rule shadowed by the form itself: at some requested slot the form
              takes the rule's intent as the slot value, so the rule never fires there
F622 warning  a rule that repeats an earlier rule step for step: it never adds anything
"""

from __future__ import annotations

from typing import Any, Optional

from .. import model
from ..errors import Reporter, Span
from ..model import LISTENING


def check_machine(machine: Any, project: Optional[model.Project] = None) -> list:
    rep = Reporter()
    dialogue = machine.dialogue
    transitions = tuple(getattr(dialogue, "transitions", ()))
    unreachable_forms(machine, transitions, project, rep)
    shadowed_by_form(machine, transitions, rep)
    repeated_steps(transitions, rep)
    return rep.diagnostics


def _span(text: str) -> Optional[Span]:
    if not text:
        return None
    parts = text.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return Span(parts[0], int(parts[1]), int(parts[2]))
    return Span(text)


def _activations(transitions) -> set[str]:
    """Actions some rule runs from outside their own loop (a form run while it is already
    active is the form continuing, not starting)."""
    return {a for t in transitions if t.id.startswith("rule:") for a in t.actions
            if (t.guard or {}).get("active_loop") != a}


def _declared_intents(machine: Any) -> set[str]:
    return set(machine.domain.intent_names()) | set(model.DEFAULT_INTENTS)


def _dead(transition, intents: set[str]) -> bool:
    """A transition guarded by an undeclared intent never fires: the NLU cannot predict it."""
    intent = (transition.guard or {}).get("intent")
    return bool(intent) and intent.split("/", 1)[0] not in intents


def reachable_states(machine: Any, extra_actions: frozenset = frozenset()) -> set[str]:
    """States reachable from `listening`. A transition guarded by a predicted action (form
    activation, two-stage fallback) counts only when some rule starts that action, and one
    guarded by an undeclared intent not at all."""
    intents = _declared_intents(machine)
    transitions = tuple(t for t in machine.dialogue.transitions if not _dead(t, intents))
    actions = _activations(transitions) | set(extra_actions)
    enabled = []
    for t in transitions:
        needed = (t.guard or {}).get("action")
        if t.id.startswith("fallback:") and t.id != "fallback:core":
            needed = "action_two_stage_fallback"
        if needed and needed not in actions:
            continue
        enabled.append(t)
    seen = {LISTENING}
    frontier = [LISTENING]
    while frontier:
        here = frontier.pop()
        for t in enabled:
            if t.source == here and t.target not in seen:
                seen.add(t.target)
                frontier.append(t.target)
    return seen


def _story_activations(project, intents: set[str]) -> set[str]:
    """Forms a story starts: `- action: F` directly followed by `- active_loop: F`, after a
    user turn the NLU can produce (a story whose intent is undeclared never gets there)."""
    out = set()
    for story in project.stories if project is not None else ():
        steps = list(story.steps)
        alive = True
        for step, after in zip(steps, steps[1:]):
            if isinstance(step, model.UserStep) and step.intent:
                alive = alive and step.intent.split("/", 1)[0] in intents
            if (alive and isinstance(step, model.ActionStep) and isinstance(after, model.LoopStep)
                    and after.name == step.name):
                out.add(step.name)
    return out


def unreachable_forms(machine: Any, transitions, project, rep: Reporter) -> None:
    intents = _declared_intents(machine)
    seen = reachable_states(machine, frozenset(_story_activations(project, intents)))
    reported = set()
    for state in machine.dialogue.states:
        if state.kind != "form" or state.id in seen or state.form in reported:
            continue
        reported.add(state.form)
        form = machine.domain.form(state.form)
        dead = sorted({t.guard["intent"] for t in transitions
                       if state.form in t.actions and _dead(t, intents)})
        why = (f"it is started only after undeclared intent(s) {', '.join(map(repr, dead))}, "
               "which the NLU never predicts" if dead else "no rule or story runs it")
        rep.warning("F620", f"form '{state.form}' is never activated: {why}, so "
                    f"its {len(form.required_slots) if form else 0} state(s) are unreachable",
                    form.span if form else None,
                    f"add a rule: '- intent: ...' then '- action: {state.form}' and "
                    f"'- active_loop: {state.form}'")


def _applies(mapping: model.SlotMapping, form: str, slot: str) -> bool:
    if not mapping.conditions:
        return True
    return any((not c.has_active_loop or c.active_loop == form)
               and c.requested_slot in (None, slot) for c in mapping.conditions)


def _takes_intent(mapping: model.SlotMapping, intent: str) -> bool:
    """Does this mapping fill the slot from any message of `intent` (whatever its entities)?"""
    if intent in mapping.not_intent:
        return False
    if mapping.type == "from_text":
        return not mapping.intent or intent in mapping.intent
    if mapping.type == "from_intent":
        return intent in mapping.intent
    return False


def shadowed_by_form(machine: Any, transitions, rep: Reporter) -> None:
    domain = machine.domain
    reported = set()
    for t in transitions:
        guard = t.guard or {}
        loop, intent = guard.get("active_loop"), guard.get("intent")
        if not t.id.startswith("rule:") or not loop or not intent or t.why in reported:
            continue
        form = domain.form(loop)
        if form is None or intent in form.ignored_intents:
            continue
        taken: list[tuple[str, str]] = []          # (slot, mapping type)
        for slot_name in form.required_slots:
            slot = domain.slot(slot_name)
            mapping = next((m for m in (slot.mappings if slot else ())
                            if _applies(m, form.name, slot_name) and _takes_intent(m, intent)), None)
            if mapping is not None:
                taken.append((slot_name, mapping.type))
        if not taken:
            continue
        reported.add(t.why)
        names = ", ".join(f"'{n}'" for n, _ in taken)
        kinds = "/".join(sorted({k for _, k in taken}))
        value = f"the value of {names}" if len(taken) == 1 else "their value"
        rep.warning("F621", f"{t.why} never fires while '{form.name}' asks for {names}: the form "
                    f"takes any '{intent}' message as {value} ({kinds} mapping)", _span(t.span),
                    f"add '{intent}' to not_intent of that mapping, or to ignored_intents of "
                    f"'{form.name}'")


def repeated_steps(transitions, rep: Reporter) -> None:
    """A rule whose every step is a step of one earlier rule (shared prefixes are fine: two rules
    may start alike and differ later; a rule that never differs adds nothing)."""
    steps: dict[str, list] = {}
    first_of: dict[str, Any] = {}
    for t in transitions:
        if not t.id.startswith("rule:") or set(t.actions) <= {"action_listen"}:
            continue
        key = (t.source, repr(sorted((t.guard or {}).items())), t.actions)
        steps.setdefault(t.why, []).append(key)
        first_of.setdefault(t.why, t)
    earlier: list[tuple[str, set]] = []
    for why, keys in steps.items():
        wanted = set(keys)
        same = next((other for other, have in earlier if wanted <= have), None)
        if same is not None:
            t = first_of[why]
            rep.warning("F622", f"{why} repeats {same} ({first_of[same].span}) step for step: it "
                        "never makes the bot do anything the other does not",
                        _span(t.span), "remove the duplicate or make the rules differ")
        earlier.append((why, wanted))
