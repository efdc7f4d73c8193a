"""Cross-reference checks on the project model -> diagnostics (F23x domain, F24x NLU vs domain).

One function per rule; each reports the user's file and line. Rules and stories are checked by
the dialogue compiler (F4xx), which knows their expansion.
"""

from __future__ import annotations

import re
from typing import Optional

from .. import model
from ..diagnostics import read_source_lines
from ..errors import Diagnostic, Reporter, Span, did_you_mean as _did_you_mean

_PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}\n]+)\}(?!\})")


def check_references(project: model.Project) -> list[Diagnostic]:
    """Entry point: every cross-reference check; returns all findings."""
    rep = Reporter()
    for rule in (form_slots_exist, mapping_conditions, mapping_references, ignored_intents_exist,
                 nlu_intents_declared, regex_and_lookup_names, response_placeholders,
                 duplicate_names, mapping_roles, annotated_entities):
        rule(project, rep)
    return rep.diagnostics


def form_slots_exist(project: model.Project, rep: Reporter) -> None:
    slots = {s.name for s in project.domain.slots}
    for form in project.domain.forms:
        for slot in form.required_slots:
            if slot not in slots:
                rep.error("F230", f"form '{form.name}' requires slot '{slot}', which is not declared",
                          form.span, _did_you_mean(slot, slots) or f"declare '{slot}' under slots")


def mapping_conditions(project: model.Project, rep: Reporter) -> None:
    domain = project.domain
    forms = {f.name: f for f in domain.forms}
    for slot in domain.slots:
        for mapping in slot.mappings:
            for cond in mapping.conditions:
                if cond.active_loop is None:
                    continue
                form = forms.get(cond.active_loop)
                if form is None:
                    rep.error("F231", f"a mapping of slot '{slot.name}' is conditioned on "
                              f"active_loop '{cond.active_loop}', which is not a form",
                              mapping.span or slot.span,
                              _did_you_mean(cond.active_loop, forms) or "name a form from 'forms:'")
                elif slot.name not in form.required_slots and mapping.type != "from_trigger_intent":
                    rep.error("F232", f"slot '{slot.name}' has a mapping conditioned on form "
                              f"'{form.name}' but is not one of its required_slots",
                              mapping.span or slot.span,
                              f"add '{slot.name}' to required_slots of '{form.name}'")
                if cond.requested_slot and cond.requested_slot not in {s.name for s in domain.slots}:
                    rep.error("F233", f"a mapping condition of slot '{slot.name}' names "
                              f"requested_slot '{cond.requested_slot}', which is not a slot",
                              mapping.span or slot.span)


def mapping_references(project: model.Project, rep: Reporter) -> None:
    domain = project.domain
    entities = {e.name for e in domain.entities}
    intents = {i.name for i in domain.intents}
    for slot in domain.slots:
        for mapping in slot.mappings:
            where = mapping.span or slot.span
            if (mapping.type == "from_entity" and mapping.entity not in entities
                    and not only_undeclared_entities(slot, entities)):   # else F619, an error
                rep.warning("F234", f"slot '{slot.name}' maps from entity '{mapping.entity}', which "
                            "is not declared under entities (Rasa skips this mapping)",
                            part_span(mapping.span, "entity") or where,
                            _did_you_mean(mapping.entity, entities) or
                            f"declare '{mapping.entity}' under entities")
            for name in mapping.intent + mapping.not_intent:
                if name not in intents:
                    rep.warning("F235", f"slot '{slot.name}' has a mapping that names intent "
                                f"'{name}', which is not declared", where,
                                _did_you_mean(name, intents) or f"declare '{name}' under intents")


def ignored_intents_exist(project: model.Project, rep: Reporter) -> None:
    intents = {i.name for i in project.domain.intents}
    for form in project.domain.forms:
        for name in form.ignored_intents:
            if name not in intents:
                rep.warning("F236", f"form '{form.name}' ignores intent '{name}', which is not "
                            "declared", form.span, _did_you_mean(name, intents))


def nlu_intents_declared(project: model.Project, rep: Reporter) -> None:
    declared = {i.name for i in project.domain.intents}
    reported = set()
    for example in project.nlu.examples:
        base = example.intent.split("/", 1)[0]
        if base not in declared and base not in reported:
            reported.add(base)
            rep.warning("F240", f"intent '{base}' has NLU examples but is not declared in the domain",
                        example.span, f"add '- {base}' under intents")


def regex_and_lookup_names(project: model.Project, rep: Reporter) -> None:
    annotated = {e.entity for ex in project.nlu.examples for e in ex.entities}
    entities = {e.name for e in project.domain.entities}
    for item in list(project.nlu.regexes) + list(project.nlu.lookups):
        if item.name in entities and item.name not in annotated:
            kind = "regex" if isinstance(item, model.RegexDef) else "lookup table"
            rep.warning("F241", f"{kind} '{item.name}' is not used for extraction: no NLU example "
                        f"annotates a '{item.name}' entity (Rasa's rule)", item.span,
                        f"annotate it in at least one example, e.g. [text]({item.name})")


def response_placeholders(project: model.Project, rep: Reporter) -> None:
    slots = {s.name for s in project.domain.slots}
    for response in project.domain.responses:
        for index, variation in enumerate(response.variations):
            text = variation.get("text")
            if not isinstance(text, str):
                continue
            for name in _PLACEHOLDER.findall(text):
                if name not in slots:
                    rep.warning("F237", f"response '{response.name}' refers to '{{{name}}}', which "
                                "is not a slot (Rasa then prints the text uninterpolated)",
                                _placeholder_span(response.span, index, name) or response.span,
                                _did_you_mean(name, slots) or f"declare '{name}' under slots")
                    break


def duplicate_names(project: model.Project, rep: Reporter) -> None:
    forms = {f.name for f in project.domain.forms}
    for action in project.domain.actions:
        if action.name in forms:
            rep.warning("F238", f"'{action.name}' is both a form and a custom action: the custom "
                        "action replaces the built-in form logic", action.span)


def mapping_roles(project: model.Project, rep: Reporter) -> None:
    """A from_entity mapping with a role or group its entity does not declare never fills."""
    entities = {e.name: e for e in project.domain.entities}
    for slot in project.domain.slots:
        for mapping in slot.mappings:
            entity = entities.get(mapping.entity or "")
            if mapping.type != "from_entity" or entity is None:
                continue
            for key, value, known in (("role", mapping.role, entity.roles),
                                      ("group", mapping.group, entity.groups)):
                if value and value not in known:
                    rep.warning("F239", f"slot '{slot.name}' maps from entity '{entity.name}' with "
                                f"{key} '{value}', which entity '{entity.name}' does not declare: "
                                "the mapping never fills", part_span(mapping.span, key) or
                                mapping.span or slot.span,
                                _did_you_mean(value, known) or
                                f"add '{value}' under {key}s of entity '{entity.name}'")


def only_undeclared_entities(slot: model.Slot, entities: set) -> bool:
    """Every mapping of the slot reads an entity the domain does not declare (Rasa skips each)."""
    return bool(slot.mappings) and all(m.type == "from_entity" and m.entity not in entities
                                       for m in slot.mappings)


def part_span(span: Optional[Span], key: str) -> Optional[Span]:
    """Where the value of `key` is, when the reader recorded it (reader.domain.PartSpan)."""
    part = getattr(span, "part", None)
    return part(key) if part else None


def _placeholder_span(span: Optional[Span], index: int, name: str) -> Optional[Span]:
    """The `{name}` inside the text of variation `index`: searched in the source from where the
    text starts (a quoted, plain or block scalar alike)."""
    start = part_span(span, str(index))
    if start is None or not start.line:
        return None
    lines = read_source_lines(start.file)
    needle = "{" + name + "}"
    for number in range(start.line, min(start.line + 50, len(lines) + 1)):
        line = lines[number - 1]
        col = line.find(needle, start.col - 1 if number == start.line else 0)
        if col >= 0:
            return Span(start.file, number, col + 1)
    return None


def _annotations(project: model.Project):
    """(entity, role, group, span) of every entity annotated in NLU examples and story steps."""
    for example in project.nlu.examples:
        for a in example.entities:
            yield a.entity, a.role, a.group, example.span
    for story in project.stories:
        for step in story.steps:
            if isinstance(step, model.UserStep):
                for e in tuple(step.entities) + tuple(step.text_entities):
                    yield e.entity, e.role, e.group, step.span


def annotated_entities(project: model.Project, rep: Reporter) -> None:
    """An annotated entity the domain does not declare (F242) is never stored as a slot or
    featurized; a role/group its entity does not declare (F243) never matches a mapping."""
    entities = {e.name: e for e in project.domain.entities}
    reported: set = set()
    for name, role, group, span in _annotations(project):
        entity = entities.get(name)
        if entity is None:
            if name not in reported:
                reported.add(name)
                rep.warning("F242", f"entity '{name}' is annotated in the training data but not "
                            "declared in the domain", span,
                            _did_you_mean(name, entities) or f"add '- {name}' under entities")
            continue
        for key, value, known in (("role", role, entity.roles), ("group", group, entity.groups)):
            if value and value not in known and (name, key, value) not in reported:
                reported.add((name, key, value))
                rep.warning("F243", f"entity '{name}' is annotated with {key} '{value}', which it "
                            "does not declare", span, _did_you_mean(value, known) or
                            f"add '{value}' under {key}s of entity '{name}'")
