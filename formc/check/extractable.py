"""Validation rule F630: a form's required slot that only entities no extractor finds could fill.

F630 (a warning that `formc validate` makes an error: Rasa trains through it, so `formc compile`
does too) a required form slot whose every mapping active in the form reads an entity (with its
role / group) that no extractor of the compiled pipeline produces: regexes and lookup tables
(for annotated entities), the CRF (CRFEntityExtractor or DIET's stand-in: annotated entities,
roles and groups), Duckling dimensions, button payloads. The form can never be completed from
what users type.
"""

from __future__ import annotations

from .. import model
from ..errors import Reporter
from ..nlu.extractable import extractable_entities


def _entity_span(mapping: model.SlotMapping):
    """Where the mapping's `entity:` value is (the reader records the parts of a mapping)."""
    part = getattr(mapping.span, "part", None)
    return (part("entity") if part else None) or mapping.span


def _active_in(mapping: model.SlotMapping, form: model.Form) -> bool:
    conds = mapping.conditions
    return not conds or any(not c.has_active_loop or c.active_loop == form.name for c in conds)


def _described(mapping: model.SlotMapping) -> str:
    extra = [f"{k} '{v}'" for k, v in (("role", mapping.role), ("group", mapping.group)) if v]
    return f"'{mapping.entity}'" + (f" ({', '.join(extra)})" if extra else "")


def _hint(mapping: model.SlotMapping) -> str:
    name = mapping.entity
    if mapping.role or mapping.group:
        return (f"annotate '{name}' with that role/group in NLU examples (e.g. [Berlin]"
                f'{{"entity": "{name}", "role": "..."}}) and name CRFEntityExtractor or '
                "DIETClassifier in the pipeline")
    return (f"add a lookup table or a regex named '{name}' (and annotate '{name}' in an "
            "example), annotate it in examples for CRFEntityExtractor / DIETClassifier, or "
            f"use a Duckling dimension for '{name}'")


def unextractable_form_slots(project: model.Project, rep: Reporter) -> None:
    domain = project.domain
    declared = {e.name for e in domain.entities}
    found = extractable_entities(project.nlu, project.config.nlu, domain)
    for form in domain.forms:
        for name in form.required_slots:
            slot = domain.slot(name)
            if slot is None:
                continue
            active = [m for m in slot.mappings if _active_in(m, form)]
            if not active or any(m.type != "from_entity" or m.entity not in declared
                                 for m in active):
                continue        # other mappings can fill it; undeclared entities: F619
            if any((m.entity, m.role, m.group) in found for m in active):
                continue
            first = active[0]
            entities = ", ".join(dict.fromkeys(_described(m) for m in active))
            rep.warning("F630", f"form '{form.name}' can never be completed: slot '{name}' maps "
                      f"only from entity {entities}, which no extractor finds",
                      _entity_span(first) or slot.span,
                      _hint(first))
