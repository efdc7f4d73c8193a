"""action_extract_slots (§6.2): latest message + slots + loop -> slot events to emit.

Pure: returns the (slot, value) pairs in emission order and the custom mapping actions the
caller must run (they need the action server)."""

from __future__ import annotations

from typing import Any, Optional

from .. import model

SKIPPED_SLOTS = set(model.BUILTIN_SLOTS) | {
    "knowledge_base_listed_objects", "knowledge_base_last_object", "knowledge_base_last_object_type"}


def _condition_ok(mapping: model.SlotMapping, active_loop: Optional[str], requested: Optional[str]) -> bool:
    for cond in mapping.conditions:
        if cond.active_loop:
            if cond.active_loop == active_loop and (not cond.requested_slot or cond.requested_slot == requested):
                return True
        elif not active_loop:
            return True
    return False


def _duplicate_in_form(domain: model.Domain, form: model.Form, slot: str, mapping: model.SlotMapping) -> bool:
    for other in form.required_slots:
        if other == slot:
            continue
        other_slot = domain.slot(other)
        if other_slot and any(m == mapping for m in other_slot.mappings):
            return True
    return False


def extract_slots(domain: model.Domain, slots: dict, active_loop: Optional[str],
                  loop_rejected: bool, message: Optional[dict],
                  known_intents: Optional[set] = None) -> tuple[list[tuple[str, Any]], list[str]]:
    """The slot events action_extract_slots emits, and custom mapping actions to run (in order)."""
    if not message:
        return [], []
    intent = (message.get("intent") or {}).get("name")
    entities = [e for e in (message.get("entities") or []) if isinstance(e, dict)]
    text = message.get("text")
    requested = slots.get("requested_slot")
    entity_names = {e.name for e in domain.entities}
    intents_known = known_intents if known_intents is not None else set(domain.intent_names())
    form = domain.form(active_loop) if active_loop else None
    out: list[tuple[str, Any]] = []
    customs: list[str] = []
    for slot in domain.slots:
        if slot.name in SKIPPED_SLOTS:
            continue
        for mapping in slot.mappings:
            if mapping.type == "from_entity" and mapping.entity not in entity_names:
                continue
            if mapping.type == "from_intent" and any(i not in intents_known for i in mapping.intent):
                continue
            not_intents = list(mapping.not_intent)
            if form and (not mapping.conditions or any(c.active_loop == active_loop for c in mapping.conditions)):
                not_intents += list(form.ignored_intents)
            wanted = list(mapping.intent)
            if not ((not wanted and intent not in not_intents) or intent in wanted):
                continue
            if mapping.conditions and mapping.type != "from_trigger_intent":
                if loop_rejected and requested == slot.name:
                    continue
                if not _condition_ok(mapping, active_loop, requested):
                    continue
            if (mapping.type == "from_entity" and form and requested != slot.name
                    and slot.name in form.required_slots
                    and _duplicate_in_form(domain, form, slot.name, mapping)):
                continue
            values: list = []
            if mapping.type == "from_entity":
                values = [e.get("value") for e in entities if e.get("entity") == mapping.entity
                          and e.get("role") == mapping.role and e.get("group") == mapping.group]
            elif mapping.type == "from_intent":
                values = [mapping.value]
            elif mapping.type == "from_trigger_intent":
                if active_loop and (not mapping.conditions or any(
                        c.active_loop == active_loop for c in mapping.conditions)):
                    values = [mapping.value]
            elif mapping.type == "from_text":
                values = [text]
            if values:
                value = values if slot.type == "list" else values[-1]
                if value is not None or slots.get(slot.name) is not None:
                    out.append((slot.name, value))
                    break
            if mapping.type == "custom" and mapping.action and mapping.action not in customs:
                customs.append(mapping.action)
    return out, customs


def coerce(slot: Optional[model.Slot], value: Any) -> Any:
    """Rasa's only slot coercion: a list slot wraps a truthy non-list value."""
    if slot is not None and slot.type == "list" and value and not isinstance(value, list):
        return [value]
    return value
