"""A small, clean bot written into a temp dir for the validate tests; each test edits one file."""

from __future__ import annotations

import os

DOMAIN = """\
version: "3.1"
intents:
  - greet
  - inform
  - stop
entities:
  - cuisine
slots:
  cuisine:
    type: text
    mappings:
      - type: from_entity
        entity: cuisine
forms:
  order_form:
    required_slots:
      - cuisine
responses:
  utter_greet:
    - text: "Hello!"
  utter_ask_cuisine:
    - text: "Which cuisine?"
  utter_done:
    - text: "Ordering {cuisine} food."
  utter_stopped:
    - text: "Stopped."
"""

NLU = """\
version: "3.1"
nlu:
- lookup: cuisine
  examples: |
    - italian
    - thai
    - indian
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
- intent: inform
  examples: |
    - [italian](cuisine) food please
    - I want [thai](cuisine)
    - something [indian](cuisine)
- intent: stop
  examples: |
    - stop
    - cancel that
    - never mind
"""

RULES = """\
version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet

- rule: start the order
  steps:
  - intent: inform
  - action: order_form
  - active_loop: order_form

- rule: submit the order
  condition:
  - active_loop: order_form
  steps:
  - action: order_form
  - active_loop: null
  - slot_was_set:
    - requested_slot: null
  - action: utter_done

- rule: stop the order
  condition:
  - active_loop: order_form
  steps:
  - intent: stop
  - action: action_deactivate_loop
  - active_loop: null
  - action: utter_stopped
"""

CONFIG = """\
recipe: default.v1
language: en
assistant_id: validate_test_bot
pipeline:
  - name: KeywordIntentClassifier
policies:
  - name: RulePolicy
"""

FILES = {"domain.yml": DOMAIN, "data/nlu.yml": NLU, "data/rules.yml": RULES, "config.yml": CONFIG}


def write_bot(root, **changes) -> str:
    """Write the clean bot under root; keyword args replace files (domain=..., nlu=..., rules=...,
    config=...). Returns the bot directory as a string."""
    names = {"domain": "domain.yml", "nlu": "data/nlu.yml", "rules": "data/rules.yml",
             "config": "config.yml"}
    files = dict(FILES)
    for key, text in changes.items():
        files[names[key]] = text
    for rel, text in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return str(root)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing needle."""
    seen = 0
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found")
