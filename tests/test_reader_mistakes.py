"""Distinct user mistakes: each is reported with the exact file, line, column and message."""

from __future__ import annotations

import os
import textwrap

import pytest

from formc.api import compile_project

DOMAIN_OK = """\
version: "3.1"
intents:
  - greet
  - inform
entities:
  - cuisine
slots:
  cuisine:
    type: text
    mappings:
      - type: from_entity
        entity: cuisine
forms:
  table_form:
    required_slots:
      - cuisine
responses:
  utter_greet:
    - text: "Hi!"
  utter_ask_cuisine:
    - text: "Which cuisine?"
"""


def write_bot(tmp_path, files: dict) -> str:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(tmp_path)


def diagnostics_for(tmp_path, files):
    bot = write_bot(tmp_path, files)
    machine, diagnostics = compile_project(bot)
    return bot, machine, diagnostics


def find(diagnostics, code):
    found = [d for d in diagnostics if d.code == code]
    assert found, f"no {code} in {[d.render() for d in diagnostics]}"
    return found[0]


def where(d, bot):
    return (os.path.relpath(d.span.file, bot), d.span.line, d.span.col)


CASES = [
    # (name, files, code, (file, line, col), message fragment)
    ("bad indentation", {"domain.yml": "intents:\n  - greet\n slots: {}\n"}, "F100",
     ("domain.yml", 3, 2), "invalid YAML"),
    ("duplicate key", {"domain.yml": "intents:\n  - greet\nintents:\n  - bye\n"}, "F101",
     ("domain.yml", 3, 1), "duplicate key 'intents' (first defined at line 1)"),
    ("duplicate intent", {"domain.yml": "intents:\n  - greet\n  - bye\n  - greet\n"}, "F203",
     ("domain.yml", 4, 5), "duplicate intent 'greet' (first declared at line 2)"),
    ("slot without type", {"domain.yml": "slots:\n  name:\n    mappings: []\n"}, "F207",
     ("domain.yml", 2, 3), "slot 'name' has no type"),
    ("unknown slot type", {"domain.yml": "slots:\n  name:\n    type: txt\n    mappings: []\n"},
     "F207", ("domain.yml", 3, 11), "slot 'name' has unknown type 'txt'"),
    ("unknown mapping type", {"domain.yml": "slots:\n  name:\n    type: text\n    mappings:\n"
                                            "      - type: from_entitty\n        entity: x\n"},
     "F215", ("domain.yml", 5, 15), "unknown type the string \"from_entitty\""),
    ("from_entity without entity", {"domain.yml": "slots:\n  name:\n    type: text\n"
                                                  "    mappings:\n      - type: from_entity\n"},
     "F216", ("domain.yml", 5, 9), "from_entity mapping of slot 'name' names no entity"),
    ("from_intent without value", {"domain.yml": "intents: [affirm]\nslots:\n  ok:\n    type: bool\n"
                                                 "    mappings:\n      - type: from_intent\n"
                                                 "        intent: affirm\n"},
     "F216", ("domain.yml", 6, 9), "from_intent mapping of slot 'ok' has no value"),
    ("form requires unknown slot", {"domain.yml": DOMAIN_OK.replace("      - cuisine\n",
                                                                     "      - cuisine\n      - cusine\n")},
     "F230", ("domain.yml", 14, 3), "form 'table_form' requires slot 'cusine', which is not declared"),
    ("condition on unknown form", {"domain.yml": DOMAIN_OK.replace(
        "        entity: cuisine\n", "        entity: cuisine\n        conditions:\n"
        "          - active_loop: tabel_form\n", 1)},
     "F231", ("domain.yml", 11, 9), "conditioned on active_loop 'tabel_form', which is not a form"),
    ("float min above max", {"domain.yml": "slots:\n  n:\n    type: float\n    min_value: 5\n"
                                           "    max_value: 1\n    mappings: []\n"},
     "F209", ("domain.yml", 4, 16), "min_value 5 must be below max_value 1"),
    ("slots is a list", {"domain.yml": "slots:\n  - name\n"}, "F201",
     ("domain.yml", 2, 3), "'slots' must be a mapping, found a list"),
    ("intent with empty properties", {"domain.yml": "intents:\n  - greet:\n"}, "F202",
     ("domain.yml", 2, 5), "intent 'greet' has an empty property block"),
    ("response variation without text", {"domain.yml": "responses:\n  utter_x:\n    - channel: web\n"},
     "F218", ("domain.yml", 3, 7), "a variation of response 'utter_x' has neither 'text' nor 'custom'"),
    ("unset environment variable", {"domain.yml": "responses:\n  utter_x:\n"
                                                  "    - text: ${FORMC_TEST_SURELY_UNSET}\n"},
     "F103", ("domain.yml", 3, 13), "environment variable 'FORMC_TEST_SURELY_UNSET' is not set"),
    ("not UTF-8", {"domain.yml": b"intents:\n  - caf\xe9\n"}, "F104",
     ("domain.yml", 2, 8), "file is not valid UTF-8 (byte 0xe9)"),
    ("rule condition with an intent", {"domain.yml": DOMAIN_OK, "data/rules.yml":
                                       "rules:\n- rule: r\n  condition:\n  - intent: greet\n"
                                       "  steps:\n  - intent: greet\n  - action: utter_greet\n"},
     "F424", ("data/rules.yml", 4, 13), "a rule condition may only hold 'active_loop' and 'slot_was_set'"),
]


@pytest.mark.parametrize("name,files,code,location,message", CASES, ids=[c[0] for c in CASES])
def test_mistake_is_reported_at_its_place(tmp_path, name, files, code, location, message):
    bot, machine, diagnostics = diagnostics_for(tmp_path, files)
    d = find(diagnostics, code)
    assert where(d, bot) == location
    assert message in d.message
    assert d.severity == "error"
    assert machine is None


def test_all_errors_are_reported_in_one_run(tmp_path):
    files = {"domain.yml": "intents:\n  - greet\n  - greet\nslots:\n  a:\n    mappings: []\n"
                           "  b:\n    type: nope\n    mappings: []\n"}
    _bot, machine, diagnostics = diagnostics_for(tmp_path, files)
    codes = sorted(d.code for d in diagnostics if d.is_error)
    assert codes == ["F203", "F207", "F207"]
    assert machine is None


def test_missing_directory_is_an_error(tmp_path):
    machine, diagnostics = compile_project(str(tmp_path / "nope"))
    assert machine is None
    assert diagnostics[0].code == "F106"


def test_unknown_top_level_key_is_a_warning_not_an_error(tmp_path):
    bot = write_bot(tmp_path, {"domain.yml": "intents: [greet]\nfancy: 1\n"})
    from formc.reader import read_project

    project, diagnostics = read_project(bot)
    assert project is not None
    d = find(diagnostics, "F210")
    assert d.severity == "warning" and d.span.line == 2
