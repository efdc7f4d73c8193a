"""Every corpus bot compiles, and concrete facts of each compiled machine are checked.

The corpus lives in ../shared/corpus (read in place, never copied). Counts were taken from the
bots' own files (and agree with the corpus README's table).
"""

from __future__ import annotations

import os

import pytest

from formc.artifact import dumps_machine, loads_machine
from formc.api import build_machine
from formc.reader import read_project

from support.shared_paths import CORPUS

# bot: (declared intents, entities, declared slots, {form: required slots}, rules, stories, tests)
FACTS = {
    "carbon-bot": (23, 7, 10, {"airtravel_form": ("travel_flight_class", "travel_departure",
                                                  "travel_destination")}, 4, 51, 7),
    "financial-demo": (22, 10, 24, {
        "cc_payment_form": ("AA_CONTINUE_FORM", "credit_card", "amount-of-money", "time",
                            "zz_confirm_form"),
        "transfer_money_form": ("AA_CONTINUE_FORM", "PERSON", "amount-of-money", "zz_confirm_form"),
        "transaction_search_form": ("AA_CONTINUE_FORM", "search_type", "time", "zz_confirm_form")},
        20, 19, 48),
    "formbot": (9, 4, 6, {"restaurant_form": ("cuisine", "feedback", "num_people",
                                              "outdoor_seating", "preferences")}, 6, 2, 3),
    "helpdesk-assistant": (17, 3, 9, {
        "open_incident_form": ("email", "priority", "problem_description", "incident_title",
                               "confirm"),
        "incident_status_form": ("email",)}, 7, 14, 12),
    "knowledgebasebot": (4, 7, 7, {}, 4, 1, 0),
    "rasa-ch-faq": (17, 7, 8, {"饭店_form": ("cuisine", "num_people", "outdoor_seating",
                                            "preferences", "feedback"),
                               "搜动漫_form": ("img",)}, 10, 7, 2),
    "rasa-demo": (42, 16, 27, {"playground_form": ("problem_description",),
                               "suggestion_form": ("suggestion",),
                               "sales_form": ("budget", "business_email", "company", "job_function"),
                               "subscribe_newsletter_form": ("email",)}, 53, 276, 25),
    "rasa-init-moodbot": (7, 0, 0, {}, 2, 3, 7),
    "reminderbot": (8, 2, 1, {}, 7, 1, 0),
    "responseselectorbot": (8, 0, 0, {}, 3, 3, 0),
    "rules": (11, 1, 2, {"loop_q_form": ("some_slot",)}, 13, 0, 0),
}
YAML_BOTS = sorted(FACTS)


def test_every_corpus_bot_is_covered():
    bots = {b for b in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, b))}
    assert bots == set(FACTS) | {"medicare-masterclass-md"}


@pytest.fixture(scope="module")
def compiled():
    cache = {}

    def get(bot):
        if bot not in cache:
            project, diagnostics = read_project(os.path.join(CORPUS, bot))
            assert project is not None
            machine, more = build_machine(project)
            errors = [d.render() for d in diagnostics + more if d.is_error]
            assert machine is not None and not errors, errors
            cache[bot] = (project, machine)
        return cache[bot]

    return get


@pytest.mark.parametrize("bot", YAML_BOTS)
def test_corpus_bot_compiles_with_expected_shape(bot, compiled):
    project, machine = compiled(bot)
    intents, entities, slots, forms, rules, stories, tests = FACTS[bot]
    domain = machine.domain
    assert len([i for i in domain.intents if i.span is not None]) == intents
    assert len(domain.entities) == entities
    assert len([s for s in domain.slots if s.span is not None]) == slots
    assert {f.name: f.required_slots for f in domain.forms} == forms
    assert (len(project.rules), len(project.training_stories), len(project.tests)) == \
        (rules, stories, tests)
    # default intents are always there
    assert {"restart", "back", "out_of_scope", "session_start", "nlu_fallback"} <= \
        {i.name for i in domain.intents}
    # every rule became at least one transition of the machine
    whys = {t.why for t in machine.dialogue.transitions}
    for rule in project.rules:
        assert f"rule '{rule.name}'" in whys, rule.name
    # each form has a state per required slot
    state_ids = {s.id for s in machine.dialogue.states}
    for form, required in forms.items():
        for slot in required:
            assert f"form:{form}:{slot}" in state_ids


@pytest.mark.parametrize("bot", ["rasa-init-moodbot", "formbot", "rules", "rasa-ch-faq"])
def test_compiled_machine_round_trips_byte_identically(bot, compiled):
    _project, machine = compiled(bot)
    data = dumps_machine(machine)
    again = loads_machine(data)
    assert dumps_machine(again) == data
    assert again.domain == machine.domain


def test_markdown_bot_loads_its_nlu(compiled):
    project, diagnostics = read_project(os.path.join(CORPUS, "medicare-masterclass-md"))
    assert project is not None
    assert not [d for d in diagnostics if d.is_error]
    intents = {e.intent for e in project.nlu.examples}
    assert len(project.nlu.examples) == 269
    assert {"greet", "search_provider", "inform"} <= intents
    assert {r.name for r in project.nlu.regexes} and project.nlu.synonyms
    assert len(project.training_stories) == 5
    assert project.domain.response("utter_greet") is not None  # from 1.x `templates:`
