"""`formc inspect`: a compiled machine -> readable text (states, then transitions by source, each
with its guard, actions and the source line it came from)."""

from __future__ import annotations

from typing import Any

from .graph import describe_guard


def format_machine(machine: Any) -> str:
    dialogue = machine.dialogue
    states, transitions = dialogue.states, dialogue.transitions
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
    lines.append("")
    lines.append(f"transitions ({len(transitions)}):")
    by_source: dict[str, list] = {}
    for t in transitions:
        by_source.setdefault(t.source, []).append(t)
    for source in [s.id for s in states] + sorted(set(by_source) - {s.id for s in states}):
        group = by_source.get(source)
        if not group:
            continue
        lines.append(f"  from {source}:")
        for t in group:
            trigger, guard = describe_guard(t.guard or {}, domain)
            when = " ".join(p for p in (f"on {trigger}" if trigger else "",
                                        f"[{guard}]" if guard else "") if p) or "always"
            actions = ", ".join(t.actions) if t.actions else "(no action)"
            lines.append(f"    {t.id}")
            lines.append(f"      {when} -> {t.target}; runs {actions}")
            lines.append(f"      {t.why}" + (f"  ({t.span})" if t.span else ""))
    return "\n".join(lines)


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
