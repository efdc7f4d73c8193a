"""Domain dialects (1.x, 2.x, 3.x) are lowered to the same 3.x model, with Rasa's migration rules."""

from __future__ import annotations

import os
import textwrap

import pytest

from formc import model
from formc.errors import Reporter
from formc.reader.domain import read_domain
from formc.reader.stories import read_stories_markdown, read_stories_yaml
from formc.yaml_loader import load_yaml, load_yaml_file

from support.shared_paths import CORPUS


def domain_of(text: str) -> tuple[model.Domain, Reporter]:
    value, diagnostics = load_yaml(textwrap.dedent(text), "domain.yml")
    rep = Reporter(list(diagnostics))
    return read_domain([("domain.yml", value)], rep), rep


def corpus_domain(bot: str) -> model.Domain:
    value, diagnostics = load_yaml_file(os.path.join(CORPUS, bot, "domain.yml"))
    rep = Reporter(list(diagnostics))
    domain = read_domain([(bot, value)], rep)
    assert not rep.has_errors, [d.render() for d in rep.errors()]
    return domain


def test_2x_form_mappings_become_conditioned_slot_mappings():
    domain, rep = domain_of("""
        version: "2.0"
        entities: [cuisine, number]
        slots:
          cuisine: {type: text, influence_conversation: false}
          num_people: {type: float, auto_fill: false}
        forms:
          restaurant_form:
            ignored_intents: [chitchat]
            required_slots:
              cuisine:
              - {type: from_entity, entity: cuisine}
              num_people:
              - {type: from_entity, entity: number, intent: [inform]}
              - {type: from_text}
        """)
    assert not rep.has_errors
    cuisine = domain.slot("cuisine")
    # reference A.4: the form's mapping (conditioned) then auto_fill's unconditioned one
    assert [(m.type, m.entity, m.conditions) for m in cuisine.mappings] == [
        ("from_entity", "cuisine", (model.MappingCondition("restaurant_form", None, True),)),
        ("from_entity", "cuisine", ()),
    ]
    num = domain.slot("num_people")
    assert [(m.type, m.intent, m.conditions) for m in num.mappings] == [
        ("from_entity", ("inform",), (model.MappingCondition("restaurant_form", None, True),)),
        ("from_text", (), (model.MappingCondition("restaurant_form", "num_people", True),)),
    ]
    form = domain.form("restaurant_form")
    assert form.required_slots == ("cuisine", "num_people")
    assert form.ignored_intents == ("chitchat",)
    assert domain.slot("requested_slot").influence_conversation is False


def test_oldest_2x_form_shape_without_required_slots_level():
    domain = corpus_domain("rasa-ch-faq")
    form = domain.form("饭店_form")
    assert form.required_slots == ("cuisine", "num_people", "outdoor_seating", "preferences",
                                   "feedback")
    outdoor = [(m.type, m.intent, m.value) for m in domain.slot("outdoor_seating").mappings]
    assert ("from_intent", ("affirm",), True) in outdoor
    assert ("from_intent", ("deny",), False) in outdoor


def test_1x_domain_templates_unfeaturized_and_listed_forms():
    domain, rep = domain_of("""
        intents: [greet]
        entities: [location]
        slots:
          location: {type: unfeaturized}
        forms:
          - facility_form
        templates:
          utter_greet:
          - text: "Hi"
        """)
    assert not rep.has_errors
    assert [d.code for d in rep.diagnostics] == ["F211", "F212"]
    assert domain.response("utter_greet").variations == ({"text": "Hi"},)
    slot = domain.slot("location")
    assert slot.type == "any" and slot.influence_conversation is False
    assert [(m.type, m.entity) for m in slot.mappings] == [("from_entity", "location")]
    assert "facility_form" in {a.name for a in domain.actions}  # an SDK FormAction


def test_slot_types_written_as_class_paths():
    domain = corpus_domain("formbot")
    assert domain.slot("cuisine").type == "text"
    assert domain.slot("num_people").type == "float"
    assert domain.slot("cuisine").mappings[0].conditions[0].active_loop == "restaurant_form"


@pytest.mark.parametrize("raw,expected", [("true", None), ("false", ()), ("[]", ()),
                                          ("[name]", ("name",))])
def test_use_entities_forms(raw, expected):
    domain, _ = domain_of(f"intents:\n  - greet:\n      use_entities: {raw}\n")
    assert domain.intents[0].use_entities == expected


def test_3x_global_mappings_with_conditions():
    domain = corpus_domain("financial-demo")
    conditioned = [m for s in domain.slots for m in s.mappings if m.conditions]
    assert len(conditioned) >= 20
    assert {m.type for s in domain.slots for m in s.mappings} >= {
        "from_entity", "from_intent", "from_text", "from_trigger_intent", "custom"}


def test_yaml_12_values_survive_in_mappings():
    domain = corpus_domain("financial-demo")
    values = [m.value for m in domain.slot("AA_CONTINUE_FORM").mappings if m.type == "from_intent"]
    assert values[:2] == ["yes", "no"]  # YAML 1.1 would have turned them into True / False


def test_markdown_stories():
    text = textwrap.dedent("""\
        ## happy path   <!-- a comment -->
        * greet
          - utter_greet
        * inform{"cuisine": "thai"} OR affirm
          - slot{"cuisine": "thai"}
          - restaurant_form
          - form{"name": "restaurant_form"}
          - form{"name": null}
        > after_booking
        """)
    rep = Reporter()
    stories = read_stories_markdown(text, "stories.md", rep, False)
    assert not rep.diagnostics
    (story,) = stories
    kinds = [type(s).__name__ for s in story.steps]
    assert kinds == ["UserStep", "ActionStep", "OrStep", "SlotStep", "ActionStep", "LoopStep",
                     "LoopStep", "CheckpointStep"]
    assert story.steps[2].alternatives[0].entities == (model.StepEntity("cuisine", "thai"),)
    assert story.steps[5].name == "restaurant_form" and story.steps[6].name is None


def test_rule_fields_and_or_steps():
    value, _ = load_yaml(textwrap.dedent("""\
        rules:
        - rule: r1
          conversation_start: true
          wait_for_user_input: false
          condition:
          - active_loop: f
          - slot_was_set:
            - done: true
          steps:
          - intent: greet
          - action: utter_greet
        stories:
        - story: s1
          steps:
          - or:
            - intent: affirm
            - intent: thanks
          - action: utter_ok
          - slot_was_set:
            - name
        """), "r.yml")
    rep = Reporter()
    stories = read_stories_yaml(value, "r.yml", rep, False)
    assert not rep.diagnostics
    story, rule = stories
    assert rule.kind == "rule" and rule.conversation_start and not rule.wait_for_user_input
    assert rule.condition == (model.LoopStep("f"), model.SlotStep((("done", True),)))
    assert [a.intent for a in story.steps[0].alternatives] == ["affirm", "thanks"]
    assert story.steps[2].slots == (("name", model.FILLED),)
    assert str(rule.steps[0].span) == "r.yml:10:13"


def test_formc_reprompt_extension_on_forms_and_slots():
    domain, rep = domain_of("""
        slots:
          n:
            type: text
            mappings: [{type: from_text}]
            formc: {max_reprompts: 2, on_reprompt_limit: utter_give_up_n}
        forms:
          f:
            required_slots: [n]
            formc: {max_reprompts: 3, on_reprompt_limit: action_deactivate_loop}
          g:
            required_slots: [n]
            formc: {max_reprompts: 0}
        """)
    assert domain.form("f").max_reprompts == 3
    assert domain.form("f").on_reprompt_limit == "action_deactivate_loop"
    assert (domain.slot("n").max_reprompts, domain.slot("n").on_reprompt_limit) == (2, "utter_give_up_n")
    bad = [d for d in rep.diagnostics if d.code == "F219"]
    assert len(bad) == 1 and bad[0].span.line == 13 and "whole number >= 1" in bad[0].message
