"""Issue 14: what a real rasa-sdk action server may return is capped and schema-checked; a reply
that breaks the contract is logged and dropped, the user's message is kept and the turn answered."""
from __future__ import annotations

import os

import pytest

from support.action_server import start_action_server
from support.hostile import hello_copy
from support.serve_helpers import FormcServer, http

pytestmark = pytest.mark.timeout(300)
ACTIONS = ["action_bad_event", "action_many_events", "action_big_slot", "action_huge_reply",
           "action_fine"]
INTENTS = ["ask_bad", "ask_many", "ask_big", "ask_huge", "ask_fine"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("hostile-actions"))
    url, stop_actions = start_action_server("hostile")
    bot = hello_copy(tmp)
    with open(os.path.join(bot, "domain.yml"), "a") as f:
        f.write("\nactions:\n" + "".join(f"  - {a}\n" for a in ACTIONS))
        f.write("\nslots:\n  note:\n    type: any\n    mappings:\n    - type: custom\n")
    with open(os.path.join(bot, "domain.yml")) as f:
        text = f.read().replace("intents:\n", "intents:\n" + "".join(f"  - {i}\n" for i in INTENTS), 1)
    with open(os.path.join(bot, "domain.yml"), "w") as f:
        f.write(text)
    with open(os.path.join(bot, "data", "rules.yml"), "a") as f:
        for intent, action in zip(INTENTS, ACTIONS):
            f.write(f"\n- rule: {action}\n  steps:\n  - intent: {intent}\n  - action: {action}\n")
    endpoints = os.path.join(tmp, "endpoints.yml")
    with open(endpoints, "w") as f:
        f.write(f"action_endpoint:\n  url: {url}\n")
    try:
        server = FormcServer(bot, "--store", f"sqlite:///{tmp}/a.db", "--endpoints", endpoints,
                             "--auth-token", "t", cwd=tmp)
        try:
            yield server
        finally:
            server.stop()
    finally:
        stop_actions()


def turn(server, sender: str, text: str):
    status, _, body = http("POST", server.url("/webhooks/rest/webhook"),
                           {"sender": sender, "message": text}, timeout=120)
    assert status == 200, body
    status, _, tracker = http("GET", server.url(f"/conversations/{sender}/tracker?token=t"))
    assert status == 200
    return body, tracker


def user_texts(tracker) -> list:
    return [e.get("text") for e in tracker["events"] if e["event"] == "user"]


@pytest.mark.parametrize("intent,log", [("ask_bad", "is a slot event whose 'name' is a list"),
                                        ("ask_many", "5,000 events"),
                                        ("ask_big", "100,002 bytes"),
                                        ("ask_huge", "6,000,141 bytes; at most 4,194,304 are read")])
def test_a_reply_breaking_the_contract_is_dropped_and_the_user_message_kept(served, intent, log):
    sender = f"user-{intent}"
    _, tracker = turn(served, sender, f"/{intent}")
    assert user_texts(tracker) == [f"/{intent}"]
    assert tracker["slots"].get("note") is None
    served.wait_for_output(log)
    _, tracker = turn(served, sender, "/ask_fine")   # the conversation goes on
    assert tracker["slots"]["note"] == "ok"
    assert user_texts(tracker) == [f"/{intent}", "/ask_fine"]
