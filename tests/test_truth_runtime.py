"""Issue 16, runtime details: the re-prompt limit counts answers the validation action rejects
(a real rasa-sdk action server), a slot can take a default value after N failures, and events
are stamped with the model that produced them when they are stored."""

from __future__ import annotations

import asyncio

import pytest

from formc.api import load
from formc.runtime.agent import Agent
from support.action_server import start_action_server

from support.truth_support import starter_bot


@pytest.fixture(scope="module")
def action_url():
    url, stop = start_action_server("reprompt")
    yield url
    stop()


def _bot(tmp_path, action_url, formc_key: str, where: str = "form"):
    edits = {"domain.yml": [("session_config:", "actions:\n  - validate_callback_form\n\nsession_config:")],
             "endpoints.yml": [("# action_endpoint:", f"action_endpoint:\n  url: \"{action_url}\"\n#")]}
    if where == "form":
        edits["domain.yml"].append(("      - phone_number\n", f"      - phone_number\n    formc: {formc_key}\n"))
    else:
        edits["domain.yml"].append(("  phone_number:\n    type: text\n",
                                    f"  phone_number:\n    type: text\n    formc: {formc_key}\n"))
    return load(starter_bot(tmp_path, edits))


def _talk(machine, texts) -> list[list[str]]:
    async def run():
        agent, session, replies = Agent(machine, seed=0), None, []
        try:
            for text in texts:
                result = await agent.handle_message(session, "u1", text)
                session = result.session
                replies.append([m.get("text") for m in result.messages])
        finally:
            await agent.action_client.close()
        return replies, session
    return asyncio.run(run())


START = ["please call me", "Margaret Hamilton"]


def test_rejected_values_count_towards_the_reprompt_limit(tmp_path, action_url):
    machine = _bot(tmp_path, action_url, "{max_reprompts: 2, on_reprompt_limit: utter_default}")
    replies, session = _talk(machine, START + ["my number is 999 0000", "my number is 999 0001"])
    assert replies[2] == ["That number does not look right.", "Which number should we call?"]
    assert replies[3] == ["That number does not look right.",
                          "Sorry, I did not understand that. Could you say it differently?"]
    assert session.active_loop is None


def test_a_good_answer_resets_the_count(tmp_path, action_url):
    machine = _bot(tmp_path, action_url, "{max_reprompts: 2, on_reprompt_limit: utter_default}")
    replies, session = _talk(machine, START + ["my number is 999 0000", "my number is 555 0001"])
    assert replies[3] == ["Thanks Margaret Hamilton, we will call you at 555 0001."]


def test_default_value_after_n_failures(tmp_path, action_url):
    machine = _bot(tmp_path, action_url, "{max_reprompts: 2, reprompt_default: 'the front desk'}",
                   where="slot")
    assert machine.domain.slot("phone_number").reprompt_default == "the front desk"
    replies, session = _talk(machine, START + ["my number is 999 0000", "my number is 999 0001"])
    assert replies[3] == ["That number does not look right.",
                          "Thanks Margaret Hamilton, we will call you at the front desk."]
    assert session.slots["phone_number"] == "the front desk" and session.active_loop is None


def test_events_keep_the_model_that_produced_them(tmp_path):
    first = load(starter_bot(tmp_path / "a"))
    second = load(starter_bot(tmp_path / "b", {"domain.yml": [("Bye!", "Goodbye!")]}))
    assert first.digest != second.digest

    async def run():
        old = await Agent(first, seed=0).handle_message(None, "u1", "hello")
        return await Agent(second, seed=0).handle_message(old.session, "u1", "bye")
    result = asyncio.run(run())
    state = Agent(second, seed=0).tracker_state(result.session, "ALL")
    ids = {}
    for ev in state["events"]:
        if ev["event"] in ("user", "bot"):
            ids[ev.get("text")] = ev["metadata"]["model_id"]
    assert ids["hello"] == first.digest[:32] and ids["Hello! I can book a callback for you. Just ask."] == first.digest[:32]
    assert ids["bye"] == second.digest[:32] and ids["Goodbye!"] == second.digest[:32]
    stored = result.session.events()                   # what a store writes
    assert all(ev["metadata"]["model_id"] in (first.digest[:32], second.digest[:32])
               for ev in stored if ev["event"] in ("user", "bot", "action"))


def test_shell_closes_the_action_client_session(tmp_path, action_url):
    """A shell that ran custom actions exits without aiohttp's "Unclosed client session"
    (pytest turns that ResourceWarning into an error)."""
    import gc
    import io
    import warnings

    from formc.shell import run_shell
    bot = starter_bot(tmp_path, {
        "domain.yml": [("session_config:", "actions:\n  - validate_callback_form\n\nsession_config:")],
        "endpoints.yml": [("# action_endpoint:", f"action_endpoint:\n  url: \"{action_url}\"\n#")]})
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_shell(bot, stdin=io.StringIO("please call me\nAda Lovelace\nmy number is 999 0000\n"),
                  out=out)
        gc.collect()
    assert "That number does not look right." in out.getvalue()     # the action server ran
    assert not [w for w in caught if "Unclosed" in str(w.message)]
