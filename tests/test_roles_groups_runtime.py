"""Typed messages fill form slots through the CRF: roles, groups, DIET's stand-in, payloads as Rasa.

formbot (../shared/corpus/formbot, read in place, its own config: DIETClassifier) and our crf1
oracle bot (CRFEntityExtractor, roles and groups) are compiled and driven through the Agent with
text only; the slot mappings of tests/oracles/crf1/bot/domain.yml are filled as Rasa 3.6's
action_extract_slots does (an entity fills a mapping only when its role and group are the
mapping's, absent ones included).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from formc.api import compile_project
from formc.dialogue.extract import extract_slots
from formc.runtime.action_client import ActionClient
from formc.runtime.agent import Agent

from support.action_server import start_action_server
from support.runtime_helpers import CORPUS

CRF1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles", "crf1", "bot")
T0 = 1_700_000_000.0


class Chat:
    def __init__(self, machine, action_url=None):
        client = ActionClient(action_url) if action_url else None
        self.agent = Agent(machine, action_client=client, seed=0)
        self.session = None

    def say(self, text: str) -> list:
        result = asyncio.run(self.agent.handle_message(self.session, "u1", text, now=T0))
        self.session = result.session
        return [m.get("text") for m in result.messages]

    @property
    def slots(self) -> dict:
        return {k: v for k, v in self.session.slots.items() if v is not None}


@pytest.fixture(scope="module")
def crf1():
    machine, diags = compile_project(CRF1)
    assert machine is not None, diags
    return machine


def test_formbot_fills_cuisine_from_typed_text_with_its_own_config():
    machine, diags = compile_project(os.path.join(CORPUS, "formbot"))
    assert machine is not None, diags
    url, stop = start_action_server("formbot")
    try:
        chat = Chat(machine, url)
        assert chat.say("I want to book a restaurant") == ["What cuisine?"]
        reply = chat.say("I want mexican food")
        assert chat.slots["cuisine"] == "mexican"
        assert chat.slots["requested_slot"] != "cuisine" and reply != ["What cuisine?"]
    finally:
        stop()


def test_roles_fill_their_own_slots_in_one_message(crf1):
    chat = Chat(crf1)
    assert chat.say("book a trip from Berlin to Paris") == ["Trip from Berlin to Paris booked."]
    assert chat.slots["departure"] == "Berlin" and chat.slots["destination"] == "Paris"


def test_a_payload_entity_has_no_role_so_role_slots_stay_empty(crf1):
    chat = Chat(crf1)
    assert chat.say('/book_trip{"city": "Berlin"}') == ["Where do you leave from?"]
    assert "departure" not in chat.slots and "destination" not in chat.slots


def test_groups_fill_their_own_slots(crf1):
    chat = Chat(crf1)
    chat.say("one large with ham and a small with olives")
    assert chat.slots["first_size"] == "large" and chat.slots["second_size"] == "small"
    assert "toppings" not in chat.slots        # grouped toppings never fill a group-less mapping


def _message(*entities) -> dict:
    return {"text": "x", "intent": {"name": "inform"},
            "entities": [dict(zip(("entity", "value", "role", "group"), e)) for e in entities]}


def test_extract_slots_matches_role_and_group_exactly(crf1):
    domain = crf1.domain
    events, _ = extract_slots(domain, {}, None, False, _message(("city", "Rome", "destination"),
                                                                 ("city", "Oslo")))
    assert dict(events) == {"destination": "Rome"}
    events, _ = extract_slots(domain, {}, None, False, _message(("size", "small", None, "2"),
                                                                 ("topping", "ham")))
    assert dict(events) == {"second_size": "small", "toppings": ["ham"]}
