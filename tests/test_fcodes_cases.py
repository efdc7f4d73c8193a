"""One small bot per F-code that no other test triggers: each case edits the clean validate bot
(support.validate_fixtures), runs `formc validate`'s checks on it and asserts the code with its
message, file, line and column."""

from __future__ import annotations

import os
from typing import NamedTuple, Optional

import pytest

from formc.api import validate_project
from formc.errors import CODES, FormcError
from formc.nlu.evaluate import evaluate_bot
from support.validate_fixtures import CONFIG, DOMAIN, FILES, NLU, RULES

MISSING = object()          # a file value meaning "this file does not exist"


class Link(NamedTuple):
    """A symlink to `target` (relative to the bot) instead of a file."""
    target: str


class Case(NamedTuple):
    code: str
    files: dict               # relative path -> text, MISSING or Link (over the clean bot)
    message: str              # a substring of the diagnostic's message
    file: Optional[str]       # relative to the bot directory; None: the diagnostic has no span
    line: int = 0
    col: int = 0


def _domain(old: str, new: str) -> str:
    assert old in DOMAIN
    return DOMAIN.replace(old, new, 1)


SLOT = "  cuisine:\n    type: text\n"
MAPPING = "      - type: from_entity\n        entity: cuisine\n"
FORM = "  order_form:\n    required_slots:\n      - cuisine\n"
RULE = "- rule: greet\n  steps:\n  - intent: greet\n  - action: utter_greet\n"
STORY_HEAD = 'version: "3.1"\nstories:\n- story: s\n  steps:\n'
NESTED = "".join(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 7))

CASES = [
    # -- files and YAML
    Case("F102", {"domain.yml": DOMAIN + "? [a, b]\n: 1\n"},
         "a mapping key must be a plain value", "domain.yml", 27, 3),
    Case("F105", {"data/extra.yml": Link("nowhere.yml")},
         "cannot read file", "data/extra.yml"),
    Case("F107", {"domain.yml": MISSING}, "no domain found", "domain.yml"),
    Case("F108", {"data/new.yml": 'version: "3.2"\nnlu:\n- intent: greet\n  examples: |\n    - yo\n'},
         "format version '3.2' is newer than 3.1", "data/new.yml", 1, 10),
    Case("F109", {"data/nlu.json": '{"rasa_nlu_data": '},
         "JSON file is not valid JSON and is ignored", "data/nlu.json"),
    Case("F130", {"data/bomb.yml": "l0: &l0 x\n" + NESTED},
         "YAML aliases expand to more than 100,0", "data/bomb.yml", 6, 5),
    Case("F131", {"data/huge.yml": "# padding\n" * 900_000},
         "file is over 8,388,608 bytes", "data/huge.yml", 1, 1),
    Case("F132", {"data/long.yml": "# " + "x" * 70_000 + "\nversion: '3.1'\n"},
         "line is 70,002 characters long", "data/long.yml", 1, 1),
    # -- domain
    Case("F204", {"domain.yml": _domain("  - greet\n", "  - greet:\n      triggers: utter_greet\n")},
         "intent 'greet' uses 'triggers'", "domain.yml", 4, 7),
    Case("F205", {"domain.yml": _domain(FORM, "  order_form:\n    ignored_intents: [stop]\n")},
         "form 'order_form' has ignored_intents but no required_slots", "domain.yml", 15, 3),
    Case("F206", {"domain.yml": _domain(FORM, FORM + "      - cuisine\n")},
         "slot 'cuisine' is listed twice in required_slots", "domain.yml", 18, 9),
    Case("F208", {"domain.yml": _domain(SLOT, "  cuisine:\n    type: any\n"
                                              "    influence_conversation: true\n")},
         "slot 'cuisine' of type any cannot influence the conversation", "domain.yml", 11, 29),
    Case("F213", {"domain.yml": _domain(SLOT, SLOT + "    colour: red\n")},
         "unknown key 'colour' in slot 'cuisine' is ignored", "domain.yml", 11, 5),
    Case("F214", {"domain.yml": _domain(MAPPING, MAPPING + "        colour: red\n")},
         "unknown key 'colour' in a mapping of slot 'cuisine' is ignored", "domain.yml", 14, 9),
    Case("F217", {"domain.yml": _domain(FORM, "  order_form:\n    required_slots:\n      size:\n"
                                              "      - type: from_text\n")},
         "form 'order_form' requires slot 'size', which is not declared", "domain.yml", 18, 9),
    Case("F220", {"config.yml": CONFIG.replace("pipeline:\n  - name: KeywordIntentClassifier\n",
                                               "pipeline: KeywordIntentClassifier\n")},
         "'pipeline' must be a list", "config.yml", 4, 11),
    Case("F221", {"endpoints.yml": "action_endpoint: http://localhost:5055/webhook\n"},
         "'action_endpoint' must be a mapping with 'url'", "endpoints.yml", 1, 18),
    # -- cross-references
    Case("F232", {"domain.yml": _domain(SLOT + "    mappings:\n", SLOT + "    mappings:\n"
                                        "      - type: from_text\n        conditions:\n"
                                        "          - active_loop: order_form\n"
                                        ).replace("      - cuisine\n", "      - size\n") +
                  "  size:\n    type: text\n    mappings:\n      - type: from_text\n"},
         "slot 'cuisine' has a mapping conditioned on form 'order_form' but is not one of its "
         "required_slots", "domain.yml", 12, 9),
    Case("F233", {"domain.yml": _domain(MAPPING, "      - type: from_text\n        conditions:\n"
                                        "          - active_loop: order_form\n"
                                        "            requested_slot: size\n")},
         "names requested_slot 'size', which is not a slot", "domain.yml", 12, 9),
    Case("F234", {"domain.yml": _domain(MAPPING, MAPPING + "      - type: from_entity\n"
                                        "        entity: dish\n")},
         "slot 'cuisine' maps from entity 'dish', which is not declared", "domain.yml", 15, 17),
    Case("F235", {"domain.yml": _domain(MAPPING, MAPPING + "        intent: orderr\n")},
         "names intent 'orderr', which is not declared", "domain.yml", 12, 9),
    Case("F236", {"domain.yml": _domain(FORM, FORM + "    ignored_intents: [chitchat]\n")},
         "form 'order_form' ignores intent 'chitchat', which is not declared", "domain.yml", 15, 3),
    Case("F237", {"domain.yml": _domain('    - text: "Hello!"\n', '    - text: "Hello {name}!"\n')},
         "response 'utter_greet' refers to '{name}', which is not a slot", "domain.yml", 20, 20),
    Case("F238", {"domain.yml": DOMAIN + "actions:\n  - order_form\n"},
         "'order_form' is both a form and a custom action", "domain.yml", 28, 5),
    Case("F239", {"domain.yml": _domain(MAPPING, MAPPING + "        role: origin\n")},
         "with role 'origin', which entity 'cuisine' does not declare", "domain.yml", 14, 15),
    Case("F240", {"data/nlu.yml": NLU + "- intent: thank\n  examples: |\n    - thanks\n"},
         "intent 'thank' has NLU examples but is not declared in the domain", "data/nlu.yml", 25, 7),
    Case("F241", {"domain.yml": _domain("  - cuisine\n", "  - cuisine\n  - size\n"),
                  "data/nlu.yml": NLU + "- regex: size\n  examples: |\n    - \\d+\n"},
         "regex 'size' is not used for extraction", "data/nlu.yml", 25, 7),
    # -- NLU data
    Case("F305", {"data/nlu.yml": NLU + "- synonym: ''\n  examples: |\n    - it\n"},
         "skipped a `synonym:` item with an empty name", "data/nlu.yml", 23, 12),
    Case("F309", {"data/nlu.yml": NLU + "- intent: thank\n  examples: 5\n"},
         "`examples` of intent 'thank' must be a block string", "data/nlu.yml", 24, 13),
    Case("F314", {"data/nlu.yml": NLU + "- intent: faq/hours\n  examples: |\n    - when are you open\n"
                                        "    - opening hours\n",
                  "domain.yml": _domain("  - stop\n", "  - stop\n  - faq\n"),
                  "config.yml": CONFIG.replace("policies:", "  - name: ResponseSelector\npolicies:")},
         "retrieval intent 'faq/hours' has no response 'utter_faq/hours'", None),
    # -- stories and rules
    Case("F420", {"data/rules.yml": RULES + "- just a line\n"},
         "each rule must be a mapping, found", "data/rules.yml", 32, 3),
    Case("F421", {"data/rules.yml": RULES + "- story: misplaced\n  steps:\n  - intent: greet\n"},
         "a 'story' entry inside 'rules:'", "data/rules.yml", 32, 3),
    Case("F422", {"data/rules.yml": RULES + "- steps:\n  - intent: greet\n"},
         "a rule without a name is skipped", "data/rules.yml", 32, 3),
    Case("F423", {"data/rules.yml": RULES.replace("- rule: greet\n", "- rule: greet\n  priority: 1\n")},
         "unknown key 'priority' in rule 'greet' is ignored", "data/rules.yml", 4, 3),
    Case("F425", {"data/rules.yml": RULES.replace("  - action: utter_greet\n", "  - action: ''\n")},
         "'action' needs an action name", "data/rules.yml", 6, 13),
    Case("F426", {"data/stories.yml": STORY_HEAD + "  - or:\n    - intent: greet\n"
                                                   "    - action: utter_greet\n"},
         "'or' alternatives must be intents or slot_was_set steps", "data/stories.yml", 7, 15),
    Case("F427", {"data/stories.yml": STORY_HEAD + "  - intent: greet\n  - wait: 5\n"},
         "unknown step ['wait'] is skipped", "data/stories.yml", 6, 5),
    Case("F428", {"data/rules.yml": RULES.replace("  - intent: greet\n", "  - intent: /greet\n", 1)},
         "intent '/greet' written with a leading '/'", "data/rules.yml", 5, 13),
    Case("F429", {"data/stories.yml": STORY_HEAD + "  - intent:\n    entities: [cuisine]\n"},
         "a user step needs 'intent' or 'user'", "data/stories.yml", 5, 5),
    Case("F430", {"data/stories.yml": STORY_HEAD + "  - intent: inform\n    entities:\n"
                                                   "    - [cuisine]\n"},
         "an entity of a user step must be a name or 'name: value', found", "data/stories.yml",
         7, 7),
    Case("F431", {"data/stories.yml": STORY_HEAD + "  - intent: inform\n  - slot_was_set:\n"
                                                   "    - [cuisine]\n"},
         "slot_was_set items must be 'slot: value' or a slot name", "data/stories.yml", 7, 7),
    Case("F432", {"data/stories.md": "## broken\n* greet\n  - slot{\"cuisine\": }\n"},
         "invalid JSON in 'slot' event", "data/stories.md", 3, 3),
    Case("F433", {"data/stories.md": "## followup\n* greet\n  - followup{\"name\": \"utter_greet\"}\n"},
         "event 'followup' in a Markdown story is not supported", "data/stories.md", 3, 3),
    Case("F453", {"data/stories.yml": STORY_HEAD + "  - checkpoint: loop\n  - intent: greet\n"
                                                   "  - action: utter_greet\n  - checkpoint: loop\n"
                                                   "- story: start\n  steps:\n  - intent: stop\n"
                                                   "  - action: utter_stopped\n"
                                                   "  - checkpoint: loop\n"},
         "checkpoints expand into more than 20000 story paths or joins deeper than 12", None),
    # -- validation rules
    Case("F619", {"domain.yml": _domain("        entity: cuisine\n", "        entity: dish\n")},
         "slot 'cuisine' can never be filled: it maps only from entity 'dish'", "domain.yml", 13, 17),
]


def write(root: str, files: dict) -> str:
    for rel, text in {**FILES, **files}.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if isinstance(text, Link):
            os.symlink(os.path.join(root, text.target), path)
        elif text is not MISSING:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(text)
    return root


@pytest.mark.parametrize("case", CASES, ids=[c.code for c in CASES])
def test_code_is_reported_where_the_mistake_is(case, tmp_path):
    bot = write(str(tmp_path), case.files)
    found = [d for d in validate_project(bot) if d.code == case.code]
    assert found, f"{case.code} not reported; got {[d.render() for d in validate_project(bot)]}"
    d = found[0]
    assert case.message in d.message
    assert d.severity == CODES[case.code][0]
    if case.file is None:
        assert d.span is None
    else:
        assert os.path.relpath(d.span.file, bot) == case.file
        assert (d.span.line, d.span.col) == (case.line, case.col)


def test_f120_nlu_eval_on_a_test_file_without_examples(tmp_path):
    bot = write(str(tmp_path / "bot"), {})
    empty = tmp_path / "empty.yml"
    empty.write_text('version: "3.1"\nnlu: []\n')
    with pytest.raises(FormcError) as caught:
        evaluate_bot(bot, 2, str(empty))
    [d] = caught.value.diagnostics
    assert (d.code, d.message, d.span.file) == ("F120", "no NLU examples found", str(empty))
