"""Validation rules on the project model (`rasa data validate` checks + form checks) -> F6xx.

One function per rule, each taking the Project and a Reporter. They complement formc/check.py
(F23x/F24x, run by the compiler) and never repeat its findings. Codes are stable:

F603 warning domain intent without NLU examples
F604 warning one example text labelled with different intents
F606 warning domain intent never used by a story, rule, slot mapping or form
F608 warning response never used
F609 info    config.yml without `language` / `assistant_id` (Rasa only warns, never fails)
F610 warning intent with too few NLU examples
F611 error   a form's required slot that no slot mapping can fill
F612 error   a form's required slot with no way to ask for it (no utter_ask_ / action_ask_)
F613 warning one lookup-table entry listed under two different entities
F614 info    a form without a re-prompt limit (formc extension `formc: {max_reprompts: N}`)
F615 error   `on_reprompt_limit` naming an unknown action
F616 error   forms without RulePolicy in config.yml (Rasa refuses to train)
F617 warning rules without RulePolicy in config.yml (only RulePolicy learns them)
F618 info    a config.yml component or option formc does not reproduce (ML models, options)
F619 error   a slot whose every mapping reads an entity the domain does not declare: it can
             never be filled
F630 warning a form's required slot that maps only from entities no extractor of the pipeline
             finds (formc/check/extractable.py)

Unknown actions, intents, slots and loops in stories/rules (Rasa's "actions/forms/intents in
stories" checks) are reported by the dialogue compiler (formc/dialogue/compile.py, F401-F404);
rule conflicts by the same compiler (F406). F601, F602, F605 and F607 are therefore unused.
"""

from __future__ import annotations

import os
from typing import Iterator

from .. import model
from ..errors import INFO, Diagnostic, Reporter, Span, did_you_mean as _did_you_mean
from .extractable import unextractable_form_slots
from .references import only_undeclared_entities, part_span

MIN_EXAMPLES = 2          # Rasa's own threshold: "Minimum is 2, training may fail"
PLACEHOLDER_ASSISTANT_ID = "placeholder_default"
# Responses that default actions utter: fallback, rephrase, restart and back.
BUILTIN_RESPONSES = ("utter_default", "utter_ask_rephrase", "utter_restart", "utter_back")


def check_rules(project: model.Project) -> list[Diagnostic]:
    """Entry point: every F6xx project rule; returns the findings."""
    rep = Reporter()
    for rule in (intents_without_examples, repeated_examples, unused_intents, unused_responses,
                 config_keys, too_few_examples, undeclared_entity_slots, unfillable_slots,
                 unaskable_slots,
                 lookup_collisions, reprompt_limits, rule_policy_needed,
                 unextractable_form_slots):
        rule(project, rep)
    return rep.diagnostics


def _info(rep: Reporter, code: str, message: str, span, hint: str = "") -> None:
    rep.diagnostics.append(Diagnostic(INFO, code, message, span, hint))


# ----------------------------------------------------------------------------- story walking

def _steps(story: model.Story) -> Iterator:
    """Every step of a story, `or` alternatives flattened, rule conditions included."""
    for step in tuple(story.condition) + tuple(story.steps):
        if isinstance(step, model.OrStep):
            yield from step.alternatives
        else:
            yield step


def _training(project: model.Project) -> tuple[model.Story, ...]:
    return tuple(s for s in project.stories if not s.is_test)


def _response_names(project: model.Project) -> set[str]:
    return {r.name for r in project.domain.responses}


def _retrieval_bases(project: model.Project) -> set[str]:
    """`utter_faq` for responses `utter_faq/...`: a retrieval action."""
    return {r.name.split("/", 1)[0] for r in project.domain.responses if "/" in r.name}


# ------------------------------------------------------------------------------------ rules

def _example_counts(project: model.Project) -> dict[str, int]:
    counts: dict[str, int] = {}
    for example in project.nlu.examples:
        base = example.intent.split("/", 1)[0]
        counts[base] = counts.get(base, 0) + 1
    return counts


def intents_without_examples(project: model.Project, rep: Reporter) -> None:
    counts = _example_counts(project)
    for intent in project.domain.intents:
        if intent.name in model.DEFAULT_INTENTS or counts.get(intent.name):
            continue
        rep.warning("F603", f"intent '{intent.name}' has no NLU examples: the NLU can never "
                    "predict it (only '/" + intent.name + "' payloads reach it)", intent.span,
                    f"add examples under '- intent: {intent.name}' in data/nlu.yml")


def repeated_examples(project: model.Project, rep: Reporter) -> None:
    first: dict[str, model.NluExample] = {}
    reported: set[tuple[str, str]] = set()
    for example in project.nlu.examples:
        key = " ".join(example.text.split()).casefold()
        seen = first.setdefault(key, example)
        if seen.intent != example.intent and (key, example.intent) not in reported:
            reported.add((key, example.intent))
            where = f" (line {seen.span.line})" if seen.span and seen.span.line else ""
            rep.warning("F604", f"example '{example.text}' is labelled '{example.intent}' here and "
                        f"'{seen.intent}'{where}", example.span,
                        "keep one label: the same text cannot mean two intents")



def _intents_used(project: model.Project) -> set[str]:
    used = set()
    for story in _training(project):
        for step in _steps(story):
            if isinstance(step, model.UserStep) and step.intent:
                used.add(step.intent.split("/", 1)[0])
    # An explicit machine also reacts to intents named by slot mappings and forms.
    for slot in project.domain.slots:
        for mapping in slot.mappings:
            used.update(mapping.intent)
            used.update(mapping.not_intent)
    for form in project.domain.forms:
        used.update(form.ignored_intents)
    return used


def unused_intents(project: model.Project, rep: Reporter) -> None:
    used = _intents_used(project)
    for intent in project.domain.intents:
        if intent.name not in model.DEFAULT_INTENTS and intent.name not in used:
            rep.warning("F606", f"intent '{intent.name}' is not used by any story, rule or slot "
                        "mapping: the bot has no reaction to it", intent.span,
                        f"write a rule starting with '- intent: {intent.name}', or remove it")



def _ask_names(form: str, slot: str) -> tuple[str, ...]:
    return (f"utter_ask_{form}_{slot}", f"utter_ask_{slot}",
            f"action_ask_{form}_{slot}", f"action_ask_{slot}")


def _responses_used(project: model.Project) -> set[str]:
    used = set(BUILTIN_RESPONSES)
    for story in _training(project):
        for step in _steps(story):
            if isinstance(step, model.ActionStep):
                used.add(step.name)
    for form in project.domain.forms:
        for slot in form.required_slots:
            used.update(_ask_names(form.name, slot))
    used.update(a.name for a in project.domain.actions)   # declared as actions: run by name
    return used


def unused_responses(project: model.Project, rep: Reporter) -> None:
    used = _responses_used(project)
    for response in project.domain.responses:
        if response.name in used or response.name.split("/", 1)[0] in used:
            continue
        rep.warning("F608", f"response '{response.name}' is never used by a story, rule or form",
                    response.span, "use it in a rule or story, or remove it")


def config_keys(project: model.Project, rep: Reporter) -> None:
    from ..yaml_loader import load_yaml_file

    path = next((os.path.join(project.root, n) for n in ("config.yml", "config.yaml")
                 if os.path.exists(os.path.join(project.root, n))), None)
    if path is None:
        return
    doc, _diagnostics = load_yaml_file(path)
    if not isinstance(doc, dict):
        return
    span = Span(path, 1, 1)
    if "language" not in doc:
        _info(rep, "F609", "config.yml has no 'language'; Rasa assumes 'en'", span,
              "add 'language: en' (or the bot's language)")
    assistant_id = doc.get("assistant_id")
    if assistant_id is None or str(assistant_id) == PLACEHOLDER_ASSISTANT_ID:
        what = "no 'assistant_id'" if assistant_id is None else "the placeholder 'assistant_id'"
        where = doc.value_span("assistant_id") if assistant_id is not None else span
        _info(rep, "F609", f"config.yml has {what}", where or span,
              "set 'assistant_id' to a unique name for this bot")
    _approximations(doc, span, rep)


# Trained models formc has no counterpart for, and what it does instead (said once per name).
_STAND_INS = {
    "TEDPolicy": "where rules and stories are silent, formc's story back-off answers instead of "
                 "TED's learned guess (when config.yml names TEDPolicy): the most specific story "
                 "turn that agrees with the last turns, then with slots and entities ignored, "
                 "then with the previous action ignored; else the core fallback",
    "UnexpecTEDIntentPolicy": "formc never predicts action_unlikely_intent",
    "DIETClassifier": "intents are scored by formc's emulation of the light pipeline (count "
                      "vectors + LogisticRegressionClassifier), so confidences differ from DIET's; "
                      "with entity_recognition on (its default), DIET's entities (roles and "
                      "groups included) come from a CRFEntityExtractor that formc trains on the "
                      "annotated examples at compile time, so which entities are found and their "
                      "confidences can differ from DIET's",
    "ResponseSelector": "formc selects retrieval responses with its own example scorer",
    "SklearnIntentClassifier": "intents are scored by formc's logistic-regression emulation",
    "SpacyEntityExtractor": "no spaCy: add regexes or lookup tables for these entities",
}
# What formc does for the models of Rasa's default pipeline / policies (no config section):
# the CRF stand-in for DIET's entities needs DIETClassifier named in the pipeline.
_DEFAULT_STAND_INS = {
    "DIETClassifier": "intents are scored by formc's emulation of the light pipeline, so "
                      "confidences differ from DIET's; DIET's entities are not extracted (name "
                      "DIETClassifier or CRFEntityExtractor in the pipeline to get them from a CRF "
                      "trained on the annotated examples)",
    "TEDPolicy": _STAND_INS["TEDPolicy"],
}
# Options whose non-default values formc ignores: component -> {option: Rasa's default}.
_IGNORED_OPTIONS = {
    "LogisticRegressionClassifier": {"solver": "lbfgs"},
    "CountVectorsFeaturizer": {"max_features": None,
                               "OOV_token": None, "use_shared_vocab": False},
}


def _approximations(doc, span, rep: Reporter) -> None:
    for section, default in (("pipeline", "DIETClassifier"), ("policies", "TEDPolicy")):
        if not doc.get(section):   # Rasa then trains its default, which includes a trained model
            _info(rep, "F618", f"config.yml has no {section}: Rasa would train its default "
                  f"{section}, which includes {default}; {_DEFAULT_STAND_INS[default]}",
                  doc.key_span(section) if section in doc and hasattr(doc, "key_span") else span,
                  f"list the {section} explicitly, as in examples/restaurant/config.yml")
    for section in ("pipeline", "policies"):
        entries = doc.get(section)
        if not isinstance(entries, list):
            continue
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            name = str(entry.get("name", "")).rsplit(".", 1)[-1]
            where = entries.item_span(i) if hasattr(entries, "item_span") else span
            if name in _STAND_INS:
                _info(rep, "F618", f"{section} component '{name}' is a trained model formc does "
                      f"not reproduce: {_STAND_INS[name]}", where or span,
                      "see 'Compatibility with Rasa 3.6' in formc's README")
            if name == "CRFEntityExtractor":
                _crf_features(entry, where or span, rep)
            if name == "DucklingEntityExtractor":
                _duckling_note(entry, where or span, rep)
            if name == "CountVectorsFeaturizer":
                for option in ("min_df", "max_df"):
                    share = entry.get(option)
                    if isinstance(share, float) and share != 1.0:
                        _info(rep, "F618", f"option '{option}: {share}' of '{name}' is a share of "
                              "the documents, and Rasa also counts its dialogue training messages "
                              "(actions, intents of stories) as documents, which formc does not: "
                              "the pruned vocabulary can differ", where or span,
                              f"give '{option}' as a number of documents (an integer), which "
                              "formc reproduces exactly")
            for option, default in _IGNORED_OPTIONS.get(name, {}).items():
                if option in entry and entry[option] != default:
                    _info(rep, "F618", f"option '{option}: {entry[option]}' of '{name}' is not "
                          f"reproduced; formc uses Rasa's default ({default})", where or span,
                          "remove the option, or expect intent confidences to differ from Rasa's")


def _duckling_note(entry, where, rep: Reporter) -> None:
    """What formc does for DucklingEntityExtractor: Rasa's request to its server, and without a
    url or an answering server its own extraction of the dimensions it covers (not Rasa's)."""
    from ..nlu.duckling import DEFAULT_TIMEOUT, DIMENSIONS, OFFLINE
    dims = entry.get("dimensions")
    wanted = [str(d) for d in dims] if isinstance(dims, list) and dims else list(DIMENSIONS)
    covered = [d for d in OFFLINE if d in wanted]
    missing = [d for d in wanted if d not in OFFLINE]
    offline = entry.get("formc_offline") is not False
    instead = (f"formc extracts {', '.join(covered) or 'none of them'} itself, shaped as "
               "Duckling answers (formc goes further than Rasa, which extracts nothing then; "
               "`formc_offline: false` keeps Rasa's behaviour)" if offline else
               "the message gets no Duckling entities, as in Rasa (formc_offline: false)")
    _info(rep, "F618", f"DucklingEntityExtractor: formc sends Rasa's request to the Duckling "
          f"server at `url` (timeout {entry.get('timeout') or DEFAULT_TIMEOUT} s); without a url, "
          f"or while the server does not answer, {instead}"
          + (f"; not extracted without a server: {', '.join(missing)}" if offline and missing
             else ""), where,
          "offline: number words in en, fr, es, pt, de, nl, da, it and Chinese numerals "
          "(digits in any language), "
          "times in the languages dateparser reads (not Chinese); see 'Compatibility with Rasa "
          "3.6' in formc's README")


def _crf_features(entry, where, rep: Reporter) -> None:
    """CRFEntityExtractor is reproduced, except features that need spaCy or dense featurizers."""
    windows = entry.get("features")
    used = {str(f) for w in windows if isinstance(w, list) for f in w} if isinstance(
        windows, list) else set()
    for feature in sorted(used & {"pos", "pos2", "text_dense_features"}):
        _info(rep, "F618", f"CRFEntityExtractor feature '{feature}' is not reproduced (it needs "
              "spaCy part-of-speech tags or dense featurizers); formc's CRF is trained without "
              "it", where, "remove the feature, or expect entity predictions to differ from Rasa's")


def too_few_examples(project: model.Project, rep: Reporter) -> None:
    first: dict[str, model.NluExample] = {}
    for example in project.nlu.examples:
        first.setdefault(example.intent, example)
    counts: dict[str, int] = {}
    for example in project.nlu.examples:
        counts[example.intent] = counts.get(example.intent, 0) + 1
    for intent, count in counts.items():
        if count < MIN_EXAMPLES:
            rep.warning("F610", f"intent '{intent}' has only {count} NLU example(s); at least "
                        f"{MIN_EXAMPLES} are needed to recognise it reliably", first[intent].span,
                        "add more varied examples")


def _can_fill(slot: model.Slot, form: model.Form, project: model.Project) -> bool:
    actions = {a.name for a in project.domain.actions}
    for mapping in slot.mappings:
        conds = mapping.conditions
        active = (not conds or any(not c.has_active_loop or c.active_loop == form.name
                                   for c in conds))
        if not active:
            continue
        if mapping.type == "from_trigger_intent":
            continue       # fills only when the form is activated, never once it asks
        if mapping.type == "custom" and not (mapping.action and mapping.action in actions):
            continue
        if mapping.type == "from_entity" and mapping.entity not in {
                e.name for e in project.domain.entities}:
            continue       # Rasa skips a mapping from an undeclared entity
        return True
    return f"validate_{form.name}" in actions


def undeclared_entity_slots(project: model.Project, rep: Reporter) -> None:
    """Rasa skips a from_entity mapping whose entity is not in the domain: a slot with only
    such mappings is never filled from a message (the form asking for it never completes)."""
    entities = {e.name for e in project.domain.entities}
    for slot in project.domain.slots:
        if not only_undeclared_entities(slot, entities):
            continue
        names = sorted({m.entity for m in slot.mappings})
        first = slot.mappings[0]
        rep.error("F619", f"slot '{slot.name}' can never be filled: it maps only from entity "
                  f"{', '.join(repr(n) for n in names)}, which the domain does not declare "
                  "(Rasa skips such mappings)",
                  part_span(first.span, "entity") or first.span or slot.span,
                  _did_you_mean(names[0], entities) or f"declare '{names[0]}' under entities")


def unfillable_slots(project: model.Project, rep: Reporter) -> None:
    domain = project.domain
    entities = {e.name for e in domain.entities}
    for form in domain.forms:
        for name in form.required_slots:
            slot = domain.slot(name)
            if (slot is None or _can_fill(slot, form, project)
                    or only_undeclared_entities(slot, entities)):   # said by F619
                continue
            rep.error("F611", f"form '{form.name}' requires slot '{name}', but no slot mapping can "
                      "fill it while the form is active: the form would ask forever",
                      slot.span or form.span,
                      f"add a mapping to '{name}' (e.g. from_entity or from_text), or a "
                      f"'validate_{form.name}' action that sets it")


def unaskable_slots(project: model.Project, rep: Reporter) -> None:
    domain = project.domain
    available = _response_names(project) | {a.name for a in domain.actions}
    for form in domain.forms:
        for name in form.required_slots:
            asks = _ask_names(form.name, name)
            if not any(a in available for a in asks):
                rep.error("F612", f"form '{form.name}' has no way to ask for slot '{name}'",
                          form.span, f"add a response '{asks[1]}' (or '{asks[0]}', or a custom "
                          f"action '{asks[3]}')")


def lookup_collisions(project: model.Project, rep: Reporter) -> None:
    owner: dict[str, model.LookupDef] = {}
    reported: set[tuple[str, str, str]] = set()
    for table in project.nlu.lookups:
        for element in table.elements:
            key = element.strip().casefold()
            seen = owner.setdefault(key, table)
            pair = (key, *sorted((seen.name, table.name)))
            if seen.name != table.name and pair not in reported:
                reported.add(pair)
                rep.warning("F613", f"lookup entry '{element}' is listed under both '{seen.name}' "
                            f"and '{table.name}': the extractor cannot tell which entity it is",
                            table.span, "keep the entry in one lookup table")


def reprompt_limits(project: model.Project, rep: Reporter) -> None:
    """A form that asks again and again on unusable answers has no way out for the user.
    formc's opt-in key: `formc: {max_reprompts: N, on_reprompt_limit: ACTION}` on the form
    (all its slots) or on a slot."""
    domain = project.domain
    known = ({a.name for a in domain.actions} | {r.name for r in domain.responses}
             | {f.name for f in domain.forms} | set(model.DEFAULT_ACTIONS))
    for form in domain.forms:
        _reprompt_action(form.name, form.on_reprompt_limit, form.span, known, rep)
        if form.max_reprompts is not None:
            continue
        open_slots = [n for n in form.required_slots
                      if not (domain.slot(n) and domain.slot(n).max_reprompts is not None)]
        if form.required_slots and open_slots:
            _info(rep, "F614", f"form '{form.name}' has no re-prompt limit for "
                  f"{', '.join(repr(n) for n in open_slots)}: a user who never gives a usable "
                  "answer is asked the same question forever", form.span,
                  "add 'formc: {max_reprompts: 3, on_reprompt_limit: utter_...}' under the form")
    for slot in domain.slots:
        _reprompt_action(f"slot '{slot.name}'", slot.on_reprompt_limit, slot.span, known, rep)


def _reprompt_action(owner: str, action, span, known: set, rep: Reporter) -> None:
    if action and action not in known:
        rep.error("F615", f"{owner}: on_reprompt_limit names '{action}', which is not a response "
                  "or action of the domain", span,
                  _did_you_mean(action, known) or "name a response (utter_...) or an action")


def rule_policy_needed(project: model.Project, rep: Reporter) -> None:
    """Forms, rules, default intents and the core fallback all belong to RulePolicy."""
    if project.config.policies.has_rule_policy:
        return
    span = project.config.span
    if project.domain.forms:
        rep.error("F616", f"the domain has forms ({', '.join(f.name for f in project.domain.forms)}) "
                  "but config.yml lists no RulePolicy; Rasa refuses to train", span,
                  "add '- name: RulePolicy' under policies")
    rules = [s for s in _training(project) if s.kind == "rule"]
    if rules:
        rep.warning("F617", f"{len(rules)} rule(s) are ignored: config.yml lists no RulePolicy, "
                    "and only RulePolicy learns rules (so do /restart, /back and the core "
                    "fallback)", rules[0].span, "add '- name: RulePolicy' under policies")
