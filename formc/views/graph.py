"""A compiled machine -> a drawable view: states (grouped by form) and edges that merge each rule's
chain of transitions into one labelled step. Shared by `formc graph`, the chat page and inspect.

The dialogue compiler emits one Transition per predicted action (a rule `greet -> utter_a ->
utter_b` gives two, chained through `prev_action`). For people one edge per rule reads better:
transitions with the same `why`, source and target are merged in their compiled order; the edge
keeps every transition id so coverage and the chat page can still find it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Optional

from ..model import LISTENING


@dataclass(frozen=True)
class ViewState:
    id: str
    label: str
    kind: str                      # listening | form | fallback | story | other
    form: str = ""
    slot: str = ""
    match: tuple = ()              # ((tracker key, value), ...): how the chat page recognises it
    story: str = ""                # story states: the story's name


@dataclass(frozen=True)
class ViewEdge:
    id: str                        # the first transition's id
    source: str
    target: str
    kind: str                      # rule | form | fallback | story | other
    trigger: str                   # what the user does (intent, entities) or "" for bot steps
    guard: str                     # conditions (slots, loop, conversation start, ...)
    actions: tuple[str, ...]
    why: str
    transition_ids: tuple[str, ...]
    spans: tuple[str, ...] = ()
    form: str = ""                 # the form this step belongs to (active loop or form run)
    scope: str = ""                # a rule conditioned on this active form: it applies while
                                   # the form asks for any of its slots, not only the first


@dataclass(frozen=True)
class View:
    name: str
    states: tuple[ViewState, ...]
    edges: tuple[ViewEdge, ...]
    initial: str = LISTENING


def dom_id(text: str) -> str:
    """A string safe as an SVG/HTML id (the chat page applies the same rule)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", text)


# ------------------------------------------------------------------------------ building

def build_view(machine: Any) -> View:
    states, transitions = running(machine)
    domain = machine.domain
    groups: dict[tuple, list] = {}
    order: list[tuple] = []
    for t in transitions:
        kind = _kind(t)
        key = (t.why, t.source, t.target) if kind == "rule" else (t.id,)
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(t)
    form_states = {s.id: s.form for s in states if s.kind == "form"}
    edges = tuple(_scoped(_edge(groups[key], domain), form_states) for key in order)
    core = core_fallback_action(machine)
    edges = tuple(replace(e, actions=(core,)) if e.id == "fallback:core" and not e.actions else e
                  for e in edges)
    backoff = getattr(getattr(machine.dialogue, "memo", None), "backoff", None)   # TEDPolicy
    return View(name=getattr(machine, "name", "") + (f" ({backoff.summary()})" if backoff else ""),
                states=tuple(_view_state(s) for s in states),
                edges=edges)


def core_fallback_action(machine: Any) -> str:
    """What the core fallback runs (RulePolicy's core_fallback_action_name)."""
    policies = getattr(getattr(machine, "config", None), "policies", None)
    return getattr(policies, "core_fallback_action_name", "") or "action_default_fallback"


def two_stage_fallback_runs(machine: Any) -> bool:
    """Does any rule run action_two_stage_fallback? Without one, a low-confidence message gets
    the core fallback (action_default_fallback) and the two-stage sub-states never occur."""
    return any("action_two_stage_fallback" in t.actions
               for t in getattr(machine.dialogue, "transitions", ()) if not t.id.startswith("fallback:"))


def running(machine: Any) -> tuple[tuple, tuple]:
    """(control states, transitions) that can run: the two-stage fallback's sub-states and
    steps only when some rule starts it (the compiled machine always lists them)."""
    dialogue = machine.dialogue
    states = tuple(getattr(dialogue, "states", ()))
    transitions = tuple(getattr(dialogue, "transitions", ()))
    if two_stage_fallback_runs(machine):
        return states, transitions
    return (tuple(s for s in states if s.kind != "fallback"),
            tuple(t for t in transitions if not t.id.startswith("fallback:") or t.id == "fallback:core"))


def _scoped(edge: ViewEdge, form_states: dict) -> ViewEdge:
    """A rule whose condition is `active_loop: F` (no requested slot) is compiled from the
    form's first state, but applies in every state of the form: scope it to the form."""
    form = form_states.get(edge.source)
    if edge.kind != "rule" or not form or f"in {form}" not in edge.guard.split(", "):
        return edge
    return replace(edge, scope=form)


def collapse_stories(view: View) -> View:
    """The overview of a big bot: the states of one story become one node ("story 'X'"), the
    steps inside a story disappear, and parallel steps into or out of it become one edge."""
    name_of = {s.id: "stories:" + (s.story or s.id) for s in view.states if s.kind == "story"}
    if not name_of:
        return view
    counts: dict[str, int] = {}
    for node in name_of.values():
        counts[node] = counts.get(node, 0) + 1
    states = [s for s in view.states if s.kind != "story"]
    for node in sorted(counts):
        label = f"{node.split(':', 1)[1]}\n({counts[node]} story states)"
        states.append(ViewState(node, label, "story"))
    merged: dict[tuple, ViewEdge] = {}
    for edge in view.edges:
        source, target = name_of.get(edge.source, edge.source), name_of.get(edge.target, edge.target)
        if source == target and edge.source in name_of:
            continue                          # a step inside one story
        if edge.source not in name_of and edge.target not in name_of:
            merged[(edge.id,)] = edge
            continue
        key = (source, target)
        edge = replace(edge, kind="overview")     # drawn unlabelled: the story node says it
        if key in merged:
            old = merged[key]
            merged[key] = replace(old, transition_ids=old.transition_ids + edge.transition_ids,
                                  actions=(), trigger=_more(old.trigger, edge.trigger), guard="")
        else:
            merged[key] = replace(edge, source=source, target=target)
    return View(view.name, tuple(states), tuple(merged.values()), view.initial)


def _more(first: str, other: str) -> str:
    base = first.split(" (+", 1)[0]
    n = int(first.rsplit("(+", 1)[1].split(" ", 1)[0]) if " (+" in first else 0
    return f"{base} (+{n + 1} more)" if other != base or n else base


def _view_state(state: Any) -> ViewState:
    kind = state.kind if state.kind in ("listening", "form", "fallback") else "other"
    if kind == "form":
        label = f"ask {state.slot}"
        match = (("active_loop", state.form), ("requested_slot", state.slot))
    elif state.id == LISTENING:
        label = "listening"
        match = (("active_loop", None),)
    elif state.id == "fallback:affirm":
        label = "fallback: did you mean ...?"
        match = (("active_loop", "action_two_stage_fallback"),
                 ("prev_action", "action_default_ask_affirmation"))
    elif state.id == "fallback:rephrase":
        label = "fallback: please rephrase"
        match = (("active_loop", "action_two_stage_fallback"),
                 ("prev_action", "action_default_ask_rephrase"))
    elif state.kind == "story":
        # "story 'X' waits after 'greet' (bot just ran 'utter_greet')" -> a short label
        ran = re.search(r"bot just ran '([^']+)'", state.description or "")
        label = f"{state.id}\nafter {ran.group(1)}" if ran else state.id
        match = (("active_loop", None), ("prev_action", ran.group(1))) if ran else ()
        kind = "story"
    else:
        label = state.id
        match = ()
    story = re.match(r"story '(.*)' waits", state.description or "") if kind == "story" else None
    return ViewState(state.id, label, kind, state.form, state.slot, match,
                     f"story '{story.group(1)}'" if story else "")


def _kind(t: Any) -> str:
    prefix = t.id.split(":", 1)[0]
    return prefix if prefix in ("rule", "form", "fallback", "story") else "other"


def _edge(chain: list, domain: Any) -> ViewEdge:
    first = chain[0]
    # A chain's trigger is its user step; the transitions before it (e.g. the action_listen of
    # a conversation_start rule) only add conditions.
    lead = next((t for t in chain if (t.guard or {}).get("intent")), first)
    guard = dict(lead.guard or {})
    if any((t.guard or {}).get("conversation_start") for t in chain):
        guard["conversation_start"] = True
    actions: list[str] = []
    for t in chain:
        actions.extend(a for a in t.actions if a != "action_listen")
    trigger, conditions = describe_guard(guard, domain)
    forms = {f.name for f in getattr(domain, "forms", ())}
    loop = guard.get("active_loop") or first.guard.get("action") or guard.get("prev_action")
    return ViewEdge(id=first.id, source=first.source, target=first.target, kind=_kind(first),
                    trigger=trigger, guard=conditions, actions=tuple(actions), why=first.why,
                    transition_ids=tuple(t.id for t in chain),
                    spans=tuple(sorted({t.span for t in chain if t.span})),
                    form=loop if loop in forms else "")


# ------------------------------------------------------------------------------ guards

def describe_guard(guard: dict, domain: Any = None) -> tuple[str, str]:
    """(trigger, conditions) in words: 'greet [cuisine]', 'in restaurant_form, cuisine set'."""
    trigger_parts = []
    if guard.get("intent"):
        trigger_parts.append(str(guard["intent"]))
    if guard.get("entities"):
        trigger_parts.append("[" + ", ".join(map(str, guard["entities"])) + "]")
    conds = []
    if guard.get("conversation_start"):
        conds.append("conversation start")
    prev = guard.get("prev_action")
    if prev and prev != "action_listen" and not guard.get("intent"):
        conds.append(f"after {prev}")
    if "active_loop" in guard and "requested_slot" not in guard:
        loop = guard["active_loop"]
        conds.append(f"in {loop}" if loop else "no active form")
    if guard.get("requested_slot"):
        conds.append(f"asking {guard['requested_slot']}")
    if "slot_filled" in guard:
        conds.append(f"{guard['slot_filled']} filled" if guard["slot_filled"] else "nothing extracted")
    if guard.get("all_slots_filled"):
        conds.append("all slots filled")
    if guard.get("action"):
        conds.append(f"{guard['action']} predicted")
    for name, value in sorted((guard.get("slots") or {}).items()):
        conds.append(describe_slot(name, value, domain))
    for key in sorted(set(guard) - _KNOWN_GUARD_KEYS):
        conds.append(f"{key}={guard[key]}")
    return " ".join(trigger_parts), ", ".join(conds)


_KNOWN_GUARD_KEYS = {"intent", "entities", "conversation_start", "prev_action", "active_loop",
                     "requested_slot", "slot_filled", "all_slots_filled", "action", "slots"}


def describe_slot(name: str, feature: Any, domain: Any = None) -> str:
    """A featurized slot condition in words (None = must not be set)."""
    if feature is None:
        return f"{name} not set"
    slot = domain.slot(name) if domain is not None else None
    values = list(feature) if isinstance(feature, (list, tuple)) else [feature]
    kind = slot.type if slot else ""
    if kind == "bool" and len(values) == 2:
        return f"{name}={'true' if values[1] else 'false'}"
    if kind == "categorical" and slot is not None:
        options = [str(v).lower() for v in slot.values]
        if "__other__" not in options:
            options.append("__other__")
        if 1.0 in values and len(values) == len(options):
            return f"{name}={options[values.index(1.0)]}"
    if kind == "float" and len(values) == 2 and slot is not None:
        # the feature is (value - min) / (max - min), capped: show the value again
        value = slot.min_value + float(values[1]) * (slot.max_value - slot.min_value)
        return f"{name}={round(value, 3):g}"
    return f"{name} set"


def edge_label(edge: ViewEdge, max_actions: int = 6) -> str:
    lines = []
    if edge.trigger:
        lines.append(edge.trigger)
    if edge.guard:
        lines.append(f"[{edge.guard}]")
    if edge.actions:
        shown = list(edge.actions[:max_actions])
        if len(edge.actions) > max_actions:
            shown.append(f"+{len(edge.actions) - max_actions} more")
        lines.append("/ " + ", ".join(shown))
    if not lines:
        lines.append(edge.why)
    return "\n".join(lines)


def states_by_id(view: View) -> dict[str, ViewState]:
    return {s.id: s for s in view.states}


def filter_view(view: View, form: Optional[str] = None, state: Optional[str] = None) -> View:
    """Only one form (its states, listening, and the edges touching them), and/or only one
    state and its neighbours."""
    states, edges = list(view.states), list(view.edges)
    if form:
        keep = {s.id for s in states if s.form == form}
        edges = [e for e in edges if e.source in keep or e.target in keep
                 or form in e.actions or f" {form}" in f" {e.guard}"]
        keep |= {e.source for e in edges} | {e.target for e in edges}
        states = [s for s in states if s.id in keep]
    if state:
        edges = [e for e in edges if state in (e.source, e.target)]
        keep = {state} | {e.source for e in edges} | {e.target for e in edges}
        states = [s for s in states if s.id in keep]
    initial = view.initial if any(s.id == view.initial for s in states) else (
        states[0].id if states else "")
    return View(view.name, tuple(states), tuple(edges), initial)


def find_state(view: View, name: str) -> Optional[str]:
    """A state by id, or by a unique suffix/label ('ask cuisine', 'cuisine')."""
    ids = [s.id for s in view.states]
    if name in ids:
        return name
    hits = [s.id for s in view.states if s.id.endswith(":" + name) or s.label == name]
    return hits[0] if len(hits) == 1 else None
