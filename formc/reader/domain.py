"""Domain files (1.x, 2.x or 3.x dialect) -> one model.Domain in Rasa 3.x terms.

Several domain files are merged first (earliest file wins per name, as Rasa does; files are read
in sorted path order so the result does not depend on the file system). Legacy dialects are
lowered with Rasa's own 2.x -> 3.x migration rules (reference A.4): form-level mappings become
slot mappings conditioned on the form, `auto_fill` becomes an unconditioned from_entity mapping.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .. import model
from ..errors import Reporter, Span
from ..yaml_loader import LMap, span_of
from .common import (as_bool, as_name_list, as_number, child_span, describe, expect_list,
                     expect_map, plain)

DOMAIN_KEYS = ("intents", "entities", "slots", "responses", "actions", "forms", "e2e_actions",
               "session_config", "templates")
KNOWN_KEYS = set(DOMAIN_KEYS) | {"version", "config"}

SLOT_CLASS_TYPES = {
    "textslot": "text", "booleanslot": "bool", "boolslot": "bool", "categoricalslot": "categorical",
    "floatslot": "float", "listslot": "list", "anyslot": "any", "unfeaturizedslot": "any",
}
SLOT_KEYS = {"type", "mappings", "initial_value", "influence_conversation", "values", "min_value",
             "max_value", "auto_fill", "formc"}
MAPPING_KEYS = {"type", "entity", "role", "group", "intent", "not_intent", "value", "action",
                "conditions"}


@dataclass(frozen=True)
class PartSpan(Span):
    """A span that also knows where some of its values are (a mapping's `entity:`, a response
    variation's `text:`), so a check can point at the offending token. The `.fsm` stores it as
    the plain span (file:line:col), so compiled bytes do not depend on it."""

    parts: tuple = ()

    def part(self, key: str) -> Optional[Span]:
        return next((span for name, span in self.parts if name == key), None)


def _with_parts(span: Optional[Span], raw: Any, keys: tuple) -> Optional[Span]:
    """`span` plus the value spans of `keys` in the YAML mapping `raw`."""
    if span is None or not isinstance(raw, LMap):
        return span
    parts = tuple((key, Span(*_plain_fields(raw.value_span(key)))) for key in keys if key in raw)
    return PartSpan(*_plain_fields(span), parts=parts) if parts else span


def _plain_fields(span: Span) -> tuple:
    return span.file, span.line, span.col, span.end_line, span.end_col


def merge_domains(parts: list[tuple[str, LMap]], rep: Reporter) -> LMap:
    """Merge raw domain mappings; for every named thing the first file wins (Rasa's rule)."""
    if len(parts) == 1:
        return parts[0][1]
    merged = LMap()
    merged.span, merged.key_spans, merged.value_spans = parts[0][1].span, {}, {}
    for _path, part in parts:
        for key, value in part.items():
            if key not in merged:
                merged[key] = value
                merged.key_spans[key] = part.key_span(key)
                merged.value_spans[key] = part.value_span(key)
                continue
            existing = merged[key]
            if isinstance(existing, dict) and isinstance(value, dict):
                for name, item in value.items():
                    if name not in existing:
                        existing[name] = item
                        existing.key_spans[name] = value.key_span(name)
                        existing.value_spans[name] = value.value_span(name)
            elif isinstance(existing, list) and isinstance(value, list):
                names = {_entry_name(x) for x in existing}
                for index, item in enumerate(value):
                    if _entry_name(item) not in names:
                        existing.append(item)
                        existing.item_spans.append(value.item_span(index))
    return merged


def _entry_name(item: Any) -> Any:
    if isinstance(item, dict) and len(item) == 1:
        return str(next(iter(item)))
    return str(item) if isinstance(item, str) else id(item)


class DomainReader:
    """Reads one merged raw domain; collects diagnostics on the reporter."""

    def __init__(self, raw: LMap, rep: Reporter):
        self.raw = raw
        self.rep = rep
        self.span: Span = raw.span

    def read(self) -> model.Domain:
        raw, rep = self.raw, self.rep
        for key in raw:
            if key not in KNOWN_KEYS:
                rep.warning("F210", f"unknown domain key '{key}' is ignored", raw.key_span(key),
                            "Rasa ignores it too; remove it or check its spelling")
        responses_key = "responses"
        if "templates" in raw:
            rep.warning("F211", "'templates' is the Rasa 1.x name of 'responses'; read as responses",
                        raw.key_span("templates"), "rename the key to 'responses'")
            if "responses" not in raw:
                responses_key = "templates"
        intents = self.intents(raw.get("intents"))
        entities = self.entities(raw.get("entities"))
        entity_names = {e.name for e in entities}
        forms, form_mappings, sdk_forms = self.forms(raw.get("forms"))
        slots = self.slots(raw.get("slots"), entity_names, form_mappings, forms)
        responses = self.responses(raw.get(responses_key), raw.key_span(responses_key))
        actions = self.actions(raw.get("actions"))
        known_actions = {a.name for a in actions}
        for name in sdk_forms:  # 1.x forms are SDK FormActions: run them on the action server
            if name not in known_actions:
                actions += (model.Action(name, span=raw.key_span("forms")),)
        return model.Domain(
            intents=intents, entities=entities, slots=slots, forms=forms, responses=responses,
            actions=actions, session_config=self.session_config(raw.get("session_config")),
            store_entities_as_slots=self.store_entities(raw.get("config")),
        )

    # ------------------------------------------------------------------------------ intents

    def named_entries(self, value: Any, what: str):
        """Yield (name, properties LMap|None, span) for `- name` / `- name: {...}` lists."""
        if value is None:
            return
        if not expect_list(value, f"'{what}'", self.span, self.rep):
            return
        seen: dict[str, Span] = {}
        for index, item in enumerate(value):
            span = child_span(value, index, self.span)
            if isinstance(item, dict) and len(item) == 1:
                name, props = next(iter(item.items()))
                span = item.key_span(name)
                if props is None:
                    self.rep.error("F202", f"{what[:-1]} '{name}' has an empty property block",
                                   span, f"write '- {name}' without the colon, or add properties")
                    props = None
                elif not isinstance(props, dict):
                    self.rep.error("F201", f"properties of {what[:-1]} '{name}' must be a mapping, "
                                   f"found {describe(props)}", span_of(props, span))
                    props = None
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                name, props = item, None
            else:
                self.rep.error("F201", f"each entry of '{what}' must be a name or 'name: {{...}}', "
                               f"found {describe(item)}", span)
                continue
            name = str(name)
            if name in seen:
                self.rep.error("F203", f"duplicate {what[:-1]} '{name}' (first declared at line "
                               f"{seen[name].line})", span, "remove one of the two entries")
                continue
            seen[name] = span
            yield name, props, span

    def intents(self, value: Any) -> tuple[model.Intent, ...]:
        out = []
        for name, props, span in self.named_entries(value, "intents"):
            use, ignore = None, ()
            if props:
                if "triggers" in props:
                    self.rep.error("F204", f"intent '{name}' uses 'triggers' (MappingPolicy, removed "
                                   "in Rasa 2.0)", props.key_span("triggers"),
                                   f"write a rule: '- intent: {name}' then '- action: {props['triggers']}'")
                if "use_entities" in props:
                    raw_use = props["use_entities"]
                    if raw_use is True:
                        use = None
                    elif raw_use in (False, None):
                        use = ()
                    else:
                        use = as_name_list(raw_use, f"use_entities of intent '{name}'", span, self.rep)
                if "ignore_entities" in props:
                    ignore = as_name_list(props["ignore_entities"],
                                          f"ignore_entities of intent '{name}'", span, self.rep)
            out.append(model.Intent(name, use, ignore, span=span))
        return tuple(out)

    def entities(self, value: Any) -> tuple[model.Entity, ...]:
        out = []
        for name, props, span in self.named_entries(value, "entities"):
            props = props or {}
            out.append(model.Entity(
                name,
                roles=as_name_list(props.get("roles"), f"roles of entity '{name}'", span, self.rep),
                groups=as_name_list(props.get("groups"), f"groups of entity '{name}'", span, self.rep),
                influence_conversation=as_bool(props.get("influence_conversation"),
                                               "influence_conversation", span, self.rep, True),
                span=span))
        return tuple(out)

    # -------------------------------------------------------------------------------- forms

    def forms(self, value: Any):
        """-> (forms, {form: [(slot, mapping LMap)]} from 2.x form-level mappings, 1.x names)."""
        if value is None:
            return (), {}, ()
        if isinstance(value, list):  # Rasa 1.x: forms are SDK FormActions listed by name
            self.rep.warning("F212", "'forms' as a list is the Rasa 1.x format: each form is run as a "
                             "custom action of the same name", span_of(value, self.span),
                             "migrate to 'forms: {name: {required_slots: [...]}}'")
            names = tuple(str(x) for x in value if isinstance(x, (str, int)))
            return tuple(model.Form(n, span=span_of(value)) for n in names), {}, names
        if not expect_map(value, "'forms'", self.span, self.rep):
            return (), {}, ()
        forms, legacy = [], {}
        for name, body in value.items():
            name = str(name)
            span = value.key_span(name)
            if body is None:
                forms.append(model.Form(name, span=span))
                continue
            if not expect_map(body, f"form '{name}'", span, self.rep):
                continue
            ignored = as_name_list(body.get("ignored_intents"), f"ignored_intents of form '{name}'",
                                   span, self.rep)
            limit, on_limit = self.reprompt_limit(body.get("formc"), f"form '{name}'", span)
            required = body.get("required_slots")
            slot_blocks: list[tuple[str, Any, Span]] = []
            if "required_slots" not in body:
                if "ignored_intents" in body and len(body) == 1:
                    self.rep.error("F205", f"form '{name}' has ignored_intents but no required_slots",
                                   span, "add 'required_slots: [...]'")
                # oldest 2.x shape: the form's keys are the slot names
                slot_blocks = [(str(k), v, body.key_span(k)) for k, v in body.items()
                               if k not in ("ignored_intents", "formc")]
            elif isinstance(required, dict):  # 2.x: required_slots: {slot: [mappings]}
                slot_blocks = [(str(k), v, required.key_span(k)) for k, v in required.items()]
            elif required is None:
                slot_blocks = []
            else:
                names = as_name_list(required, f"required_slots of form '{name}'", span, self.rep)
                spans = [child_span(required, i, span) for i in range(len(names))]
                self.check_duplicate_slots(name, names, spans)
                forms.append(model.Form(name, names, ignored, span=span, max_reprompts=limit,
                                        on_reprompt_limit=on_limit))
                continue
            legacy[name] = []
            for slot_name, mappings, slot_span in slot_blocks:
                if mappings is None:
                    continue
                if expect_list(mappings, f"mappings of slot '{slot_name}' in form '{name}'", slot_span,
                               self.rep):
                    legacy[name].extend((slot_name, m) for m in mappings)
            names = tuple(s for s, _m, _sp in slot_blocks)
            self.check_duplicate_slots(name, names, [sp for _s, _m, sp in slot_blocks])
            forms.append(model.Form(name, names, ignored, span=span, max_reprompts=limit,
                                    on_reprompt_limit=on_limit))
        return tuple(forms), legacy, ()

    def reprompt_limit(self, value: Any, owner: str, span: Span):
        """formc's opt-in `formc: {max_reprompts: N, on_reprompt_limit: ACTION}` (not in Rasa);
        a slot may also say `reprompt_default: VALUE` (see reprompt_default)."""
        if value is None or not expect_map(value, f"'formc' of {owner}", span, self.rep):
            return None, None
        known = ("max_reprompts", "on_reprompt_limit") + (
            ("reprompt_default",) if owner.startswith("slot ") else ())
        for key in value:
            if key not in known:
                self.rep.warning("F219", f"unknown formc option '{key}' of {owner} is ignored",
                                 value.key_span(key), "use " + ", ".join(known)
                                 + (" (reprompt_default belongs on a slot)"
                                    if key == "reprompt_default" else ""))
        limit = value.get("max_reprompts")
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            self.rep.error("F219", f"max_reprompts of {owner} must be a whole number >= 1, found "
                           f"{describe(limit)}", value.value_span("max_reprompts"))
            limit = None
        action = value.get("on_reprompt_limit")
        return limit, str(action) if action is not None else None

    def check_duplicate_slots(self, form: str, names, spans) -> None:
        seen = set()
        for slot, span in zip(names, spans):
            if slot in seen:
                self.rep.error("F206", f"slot '{slot}' is listed twice in required_slots of form "
                               f"'{form}'", span, "remove the second entry")
            seen.add(slot)

    # -------------------------------------------------------------------------------- slots

    def slots(self, value: Any, entity_names: set, form_mappings: dict, forms) -> tuple:
        if value is None:
            value = LMap()
            value.span, value.key_spans, value.value_spans = self.span, {}, {}
        if not expect_map(value, "'slots'", self.span, self.rep):
            return ()
        drafts: dict[str, dict] = {}
        for name, body in value.items():
            name = str(name)
            span = value.key_span(name)
            if not expect_map(body, f"slot '{name}'", span, self.rep):
                continue
            drafts[name] = self.slot_draft(name, body, span)
        self.migrate_legacy(drafts, entity_names, form_mappings)
        slots = []
        for name, d in drafts.items():
            slots.append(model.Slot(
                name, d["type"], tuple(d["mappings"]), d["initial_value"], d["influence"],
                d["values"], d["min_value"], d["max_value"], span=d["span"],
                max_reprompts=d["max_reprompts"], on_reprompt_limit=d["on_reprompt_limit"],
                reprompt_default=d.get("reprompt_default")))
        names = {s.name for s in slots}
        if forms and "requested_slot" not in names:
            slots.append(model.Slot("requested_slot", "text", (), None, False))
        if "session_started_metadata" not in names:
            slots.append(model.Slot("session_started_metadata", "any", (), None, False))
        return tuple(slots)

    def slot_draft(self, name: str, body: LMap, span: Span) -> dict:
        rep = self.rep
        for key in body:
            if key not in SLOT_KEYS:
                rep.warning("F213", f"unknown key '{key}' in slot '{name}' is ignored",
                            body.key_span(key), "Rasa 3.x rejects unknown slot keys")
        raw_type = body.get("type")
        slot_type = "any"
        if raw_type is None:
            rep.error("F207", f"slot '{name}' has no type", span,
                      "add 'type:' (text, bool, categorical, float, list or any)")
        else:
            slot_type = self.slot_type(str(raw_type), body.value_span("type"), name)
        influence_default = slot_type != "any"
        if str(raw_type).lower() in ("unfeaturized", "rasa.shared.core.slots.unfeaturizedslot"):
            influence_default = False
        influence = as_bool(body.get("influence_conversation"), "influence_conversation", span, rep,
                            influence_default)
        if slot_type == "any" and influence and "influence_conversation" in body:
            rep.error("F208", f"slot '{name}' of type any cannot influence the conversation",
                      body.value_span("influence_conversation"), "set influence_conversation: false")
            influence = False
        values = ()
        if slot_type == "categorical":
            raw_values = body.get("values")
            values = tuple(str(plain(v)) if v is not None else "None" for v in (raw_values or []))
        min_value = as_number(body.get("min_value"), "min_value", span, rep, 0.0)
        max_value = as_number(body.get("max_value"), "max_value", span, rep, 1.0)
        if slot_type == "float" and min_value >= max_value:
            rep.error("F209", f"slot '{name}': min_value {min_value} must be below max_value "
                      f"{max_value}", body.value_span("min_value"))
        mappings: list[model.SlotMapping] = []
        has_mappings = "mappings" in body
        if has_mappings and body["mappings"] is not None:
            raw_mappings = body["mappings"]
            if expect_list(raw_mappings, f"mappings of slot '{name}'", span, rep):
                for index, m in enumerate(raw_mappings):
                    mapping = self.mapping(m, name, child_span(raw_mappings, index, span))
                    if mapping:
                        mappings.append(mapping)
        limit, on_limit = self.reprompt_limit(body.get("formc"), f"slot '{name}'", span)
        options = body.get("formc")
        default = plain(options.get("reprompt_default")) if isinstance(options, dict) else None
        return {"type": slot_type, "mappings": mappings, "has_mappings": has_mappings,
                "max_reprompts": limit, "on_reprompt_limit": on_limit, "reprompt_default": default,
                "initial_value": plain(body.get("initial_value")), "influence": influence,
                "values": values, "min_value": float(min_value), "max_value": float(max_value),
                "auto_fill": body.get("auto_fill", True), "span": span}

    def slot_type(self, raw: str, span: Span, slot: str) -> str:
        lowered = raw.lower()
        if lowered in model.SLOT_TYPES:
            return lowered
        if lowered == "unfeaturized":
            return "any"
        short = lowered.rsplit(".", 1)[-1]
        if short in SLOT_CLASS_TYPES:
            return SLOT_CLASS_TYPES[short]
        self.rep.error("F207", f"slot '{slot}' has unknown type '{raw}'", span,
                       "use text, bool, categorical, float, list or any")
        return "any"

    def mapping(self, m: Any, slot: str, span: Span) -> Optional[model.SlotMapping]:
        rep = self.rep
        if not expect_map(m, f"a mapping of slot '{slot}'", span, rep):
            return None
        span = m.span
        for key in m:
            if key not in MAPPING_KEYS:
                rep.warning("F214", f"unknown key '{key}' in a mapping of slot '{slot}' is ignored",
                            m.key_span(key))
        mtype = m.get("type")
        if mtype is None:
            mtype = "from_entity" if "entity" in m else None
        if mtype not in model.MAPPING_TYPES:
            rep.error("F215", f"slot '{slot}' has a mapping of unknown type {describe(mtype)}",
                      m.value_span("type") if "type" in m else span,
                      "use from_entity, from_intent, from_trigger_intent, from_text or custom")
            return None
        mtype = str(mtype)
        if mtype == "from_entity" and not m.get("entity"):
            rep.error("F216", f"from_entity mapping of slot '{slot}' names no entity", span,
                      "add 'entity: <entity name>'")
            return None
        if mtype in ("from_intent", "from_trigger_intent") and m.get("value") is None:
            rep.error("F216", f"{mtype} mapping of slot '{slot}' has no value", span,
                      "add 'value: ...' (the value the slot gets)")
            return None
        conditions = []
        raw_conditions = m.get("conditions")
        if raw_conditions is not None and expect_list(raw_conditions, "conditions", span, rep):
            for index, c in enumerate(raw_conditions):
                if not expect_map(c, "a mapping condition", child_span(raw_conditions, index, span), rep):
                    continue
                loop = c.get("active_loop")
                requested = c.get("requested_slot")
                conditions.append(model.MappingCondition(
                    str(loop) if loop is not None else None,
                    str(requested) if requested is not None else None,
                    "active_loop" in c))
        return model.SlotMapping(
            type=mtype,
            entity=str(m["entity"]) if m.get("entity") is not None else None,
            role=str(m["role"]) if m.get("role") is not None else None,
            group=str(m["group"]) if m.get("group") is not None else None,
            intent=as_name_list(m.get("intent"), "intent", span, rep),
            not_intent=as_name_list(m.get("not_intent"), "not_intent", span, rep),
            value=plain(m.get("value")),
            action=str(m["action"]) if m.get("action") is not None else None,
            conditions=tuple(conditions), span=_with_parts(span, m, ("entity", "role", "action")))

    def migrate_legacy(self, drafts: dict, entity_names: set, form_mappings: dict) -> None:
        """Rasa's `data migrate` rules (reference A.4): form mappings, then auto_fill, then custom."""
        for form, pairs in form_mappings.items():
            for slot, raw in pairs:
                d = drafts.get(slot)
                if d is None:
                    self.rep.error("F217", f"form '{form}' requires slot '{slot}', which is not "
                                   "declared under 'slots'", span_of(raw, self.span),
                                   f"declare '{slot}' under slots")
                    continue
                mapping = self.mapping(raw, slot, span_of(raw, self.span))
                if mapping is None:
                    continue
                if mapping.type in ("from_entity", "from_trigger_intent"):
                    condition = model.MappingCondition(form, None, True)
                else:
                    condition = model.MappingCondition(form, slot, True)
                existing = d["mappings"]
                for index, old in enumerate(existing):
                    if _same_mapping(old, mapping):
                        existing[index] = _with_condition(old, condition)
                        break
                else:
                    existing.append(_with_condition(mapping, condition))
        for name, d in drafts.items():
            if d["has_mappings"]:  # a 3.x slot: its mappings are explicit, auto_fill is moot
                continue
            if d["auto_fill"] is not False and name in entity_names:
                auto = model.SlotMapping("from_entity", entity=name)
                if not any(_same_mapping(m, auto) and not m.conditions for m in d["mappings"]):
                    d["mappings"].append(auto)
            if not d["mappings"]:
                d["mappings"].append(model.SlotMapping("custom"))

    # ---------------------------------------------------------------------------- responses

    def responses(self, value: Any, span: Span) -> tuple[model.Response, ...]:
        return read_responses(value, span, self.rep)

    def actions(self, value: Any) -> tuple[model.Action, ...]:
        out = []
        for name, props, span in self.named_entries(value, "actions"):
            send_domain = bool(props.get("send_domain")) if props else False
            out.append(model.Action(name, send_domain, span=span))
        return tuple(out)

    def session_config(self, value: Any) -> model.SessionConfig:
        if value is None or not expect_map(value, "'session_config'", self.span, self.rep):
            return model.SessionConfig()
        span = value.span
        return model.SessionConfig(
            float(as_number(value.get("session_expiration_time"), "session_expiration_time", span,
                            self.rep, 60.0)),
            as_bool(value.get("carry_over_slots_to_new_session"), "carry_over_slots_to_new_session",
                    span, self.rep, True))

    def store_entities(self, value: Any) -> bool:
        if isinstance(value, dict):
            return as_bool(value.get("store_entities_as_slots"), "store_entities_as_slots",
                           value.span, self.rep, True)
        return True


def read_responses(value: Any, span: Span, rep: Reporter) -> tuple[model.Response, ...]:
    """`responses:` mapping (domain or NLU file) -> Response tuples, variations as plain dicts."""
    if value is None or not expect_map(value, "'responses'", span, rep):
        return ()
    out = []
    for name, variations in value.items():
        name = str(name)
        rspan = value.key_span(name)
        if not expect_list(variations, f"response '{name}'", rspan, rep):
            continue
        kept, texts = [], []
        for index, variation in enumerate(variations):
            vspan = child_span(variations, index, rspan)
            if isinstance(variation, LMap) and "text" in variation:
                texts.append((str(len(kept)), variation.value_span("text")))
            elif isinstance(variation, str) and vspan is not None:
                texts.append((str(len(kept)), vspan))
            if isinstance(variation, str):  # tolerated shorthand: a bare text
                variation = {"text": str(variation)}
            if not isinstance(variation, dict):
                rep.error("F218", f"a variation of response '{name}' must be a mapping with 'text', "
                          f"found {describe(variation)}", vspan, "write '- text: ...'")
                continue
            if "text" not in variation and not variation.get("custom") and not any(
                    variation.get(k) for k in ("image", "buttons", "attachment", "elements",
                                               "quick_replies")):
                rep.error("F218", f"a variation of response '{name}' has neither 'text' nor 'custom'",
                          vspan, "add 'text: ...'")
                continue
            kept.append(plain(variation))
        if rspan is not None and texts:   # where each variation's text starts (F237's caret)
            rspan = PartSpan(*_plain_fields(rspan), parts=tuple(texts))
        out.append(model.Response(name, tuple(kept), span=rspan))
    return tuple(out)


def _same_mapping(a: model.SlotMapping, b: model.SlotMapping) -> bool:
    return (a.type, a.entity, a.role, a.group, a.intent, a.not_intent, repr(a.value), a.action) == \
           (b.type, b.entity, b.role, b.group, b.intent, b.not_intent, repr(b.value), b.action)


def _with_condition(m: model.SlotMapping, condition: model.MappingCondition) -> model.SlotMapping:
    from dataclasses import replace
    return replace(m, conditions=m.conditions + (condition,))


def read_domain(parts: list[tuple[str, LMap]], rep: Reporter) -> model.Domain:
    """Entry point: raw domain mappings (path, value) in read order -> model.Domain."""
    if not parts:
        return model.Domain()
    return DomainReader(merge_domains(parts, rep), rep).read()
