"""Helpers for the story tests: tiny bots from YAML text, an engine driver without NLU."""

from __future__ import annotations

import random

from formc.runtime import events as E
from formc.runtime.engine import LISTEN, Engine
from support.runtime_helpers import machine_for, project_from_yaml

DOMAIN = """
version: "3.1"
intents: [greet, ask, affirm, deny, bye, chitchat, order, inform]
entities: [item]
slots:
  vip:
    type: bool
    influence_conversation: true
    mappings: [{type: custom}]
  item:
    type: text
    influence_conversation: false
    mappings: [{type: from_entity, entity: item}]
forms:
  order_form:
    required_slots: [item]
responses:
  utter_greet: [{text: hi}]
  utter_a: [{text: a}]
  utter_b: [{text: b}]
  utter_vip: [{text: vip}]
  utter_happy: [{text: happy}]
  utter_sad: [{text: sad}]
  utter_bye: [{text: bye}]
  utter_chitchat: [{text: chitchat}]
  utter_ask_item: [{text: "which item?"}]
  utter_done: [{text: done}]
"""


def config(policies: str = "  - name: MemoizationPolicy\n  - name: RulePolicy\n") -> str:
    return "language: en\npipeline: []\npolicies:\n" + policies


def bot(tmp_path, stories: str = "", rules: str = "", policies: str = None):
    project = project_from_yaml(tmp_path, DOMAIN, rules=rules, stories=stories,
                                config=config(policies) if policies else config())
    return project, machine_for(project)


class Driver:
    """Plays a conversation on the real engine: user turns are logged with an intent, the bot
    predicts and runs (logs) actions until it listens."""

    def __init__(self, machine) -> None:
        self.engine = Engine(machine, random.Random(0))
        self.s = self.engine.new_session("t")
        self.s.started = True
        for ev in self.engine.builtins.session_start_events(self.s, 0.0):
            self.engine.apply(self.s, ev)
        self.trace: list = []

    def predict(self):
        return self.engine.predict(self.s)

    def run(self, name: str, policy: str = "test") -> None:
        self.engine.apply(self.s, E.action(name, 0.0, policy, 1.0))

    def user(self, intent: str, entities: list = ()) -> None:
        if self.s.latest_action != LISTEN:
            self.run(LISTEN)
        parse = {"text": intent, "intent": {"name": intent, "confidence": 1.0},
                 "entities": list(entities)}
        self.engine.apply(self.s, E.user(intent, parse, 0.0, "rest", None, None))

    def slot(self, name: str, value) -> None:
        self.engine.apply(self.s, E.slot(name, value, 0.0))

    def bot_turn(self, limit: int = 6) -> list:
        """Predict and log actions until action_listen; returns the predictions."""
        out = []
        for _ in range(limit):
            pred = self.predict()
            out.append(pred)
            self.run(pred.action, pred.policy or "")
            if pred.action == LISTEN:
                break
        self.trace.extend(out)
        return out


def actions(preds) -> list:
    return [p.action for p in preds]
