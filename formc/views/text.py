"""`formc inspect`: a compiled machine -> readable text (states, then transitions by source, each
with its guard, actions and the source line it came from)."""

from __future__ import annotations

from typing import Any

from .graph import core_fallback_action, describe_guard, running


def format_machine(machine: Any) -> str:
    """The machine as it runs: two-stage fallback states only when a rule starts it, rules of a
    whole form listed under the form rather than under its first state."""
    states, transitions = running(machine)
    summary = machine.summary()
    lines = [f"machine {machine.name or '(unnamed)'}"
             + (f"  sha256 {machine.digest[:12]}" if machine.digest else ""),
             "  " + ", ".join(f"{v} {k}" for k, v in summary.items()), ""]

    domain = machine.domain
    if domain.forms:
        lines.append("forms:")
        for form in domain.forms:
            extra = f"  (ignores {', '.join(form.ignored_intents)})" if form.ignored_intents else ""
            lines.append(f"  {form.name}: {' -> '.join(form.required_slots) or '(no slots)'}{extra}")
        lines.append("")
    if domain.slots:
        lines.append("slots:")
        width = max(len(s.name) for s in domain.slots)
        for slot in domain.slots:
            maps = ", ".join(_mapping(m) for m in slot.mappings) or "no mappings"
            lines.append(f"  {slot.name:<{width}}  {slot.type:<11} {maps}")
        lines.append("")

    lines.append(f"states ({len(states)}):")
    width = max([len(s.id) for s in states] + [5])
    for state in states:
        lines.append(f"  {state.id:<{width}}  {state.description}")
    if len(states) < len(machine.dialogue.states):
        lines.append("  (no rule starts action_two_stage_fallback: a message the NLU is unsure "
                     "of gets the core fallback, so the two-stage fallback states are left out)")
    lines.append("")
    lines.append(f"transitions ({len(transitions)}):")
    form_of = {s.id: s.form for s in states if s.kind == "form"}
    by_source: dict[str, list] = {}
    for t in transitions:
        scope = _form_scope(t, form_of)
        by_source.setdefault(f"in {scope} (while it asks for any slot)" if scope
                             else f"from {t.source}", []).append(t)
    order = [f"from {s.id}" for s in states]
    for key in order + sorted(set(by_source) - set(order)):
        group = by_source.get(key)
        if not group:
            continue
        lines.append(f"  {key}:")
        for t in group:
            lines += _transition(t, domain, form_of.get(t.source) if key.startswith("in ") else "",
                                 core_fallback_action(machine))
    backoff = getattr(machine.dialogue.memo, "backoff", None)   # config names TEDPolicy
    lines += ["", *backoff.describe()] if backoff is not None else []
    return "\n".join(lines)


def _form_scope(t, form_of: dict) -> str:
    """The form a rule conditioned on `active_loop: F` applies to (compiled from its first state)."""
    form = form_of.get(t.source)
    guard = t.guard or {}
    if t.id.startswith("rule:") and form and guard.get("active_loop") == form \
            and "requested_slot" not in guard:
        return form
    return ""


def _transition(t, domain, scope: str, core: str) -> list[str]:
    trigger, guard = describe_guard(t.guard or {}, domain)
    when = " ".join(p for p in (f"on {trigger}" if trigger else "",
                                f"[{guard}]" if guard else "") if p) or "always"
    actions = ", ".join(t.actions) if t.actions else (
        core if t.id == "fallback:core" else "(no action)")
    target = "the same question" if scope and t.target == t.source else t.target
    return [f"    {t.id}", f"      {when} -> {target}; runs {actions}",
            f"      {t.why}" + (f"  ({t.span})" if t.span else "")]


def _mapping(m) -> str:
    text = m.type
    if m.entity:
        text += f"({m.entity}" + (f"#{m.role}" if m.role else "") + ")"
    if m.intent:
        text += f" if {'/'.join(m.intent)}"
    if m.not_intent:
        text += f" unless {'/'.join(m.not_intent)}"
    if m.conditions:
        conds = [c.active_loop or "no form" for c in m.conditions]
        text += f" in {'/'.join(conds)}"
    return text
