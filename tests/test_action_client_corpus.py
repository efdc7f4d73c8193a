"""Smoke tests of our corpus-bot actions (tests/actions/*) over HTTP on real rasa-sdk servers, via ActionClient.

Each reply's `responses` are rendered with the bot's own domain (read by formc's reader), so the
texts checked here are what a user would see.
"""
from __future__ import annotations

import asyncio
import os
import random

import pytest

from support.action_server import (domain_dict, form_events, initial_slots, start_action_servers,
                           tracker_payload)
from formc.model import ActionEndpoint
from formc.reader.project import read_project
from formc.runtime.action_client import ActionClient, ActionRejected
from formc.runtime.responses import render_action_response

from support.shared_paths import CORPUS
pytestmark = pytest.mark.skipif(not os.path.isdir(CORPUS), reason="corpus not available")

_DOMAINS: dict = {}


def domain_of(bot: str):
    if bot not in _DOMAINS:
        project, _ = read_project(os.path.join(CORPUS, bot))
        _DOMAINS[bot] = project.domain
    return _DOMAINS[bot]


SERVERS = {"formbot": None,
           "financial_demo": {"FORMC_ACTIONS_TODAY": "2024-01-15"},
           "helpdesk_assistant": None,
           "reminderbot": {"FORMC_ACTIONS_NOW": "2024-05-01T10:30:00+00:00",
                           "REMINDERBOT_DELAY_SECONDS": "5"},
           "rasa_ch_faq": None}


@pytest.fixture(scope="module")
def urls():
    started = start_action_servers(SERVERS)   # in parallel: each takes seconds to import
    yield {module: url for module, (url, _) in started.items()}
    for _, stop in started.values():
        stop()


@pytest.fixture
def formbot_url(urls):
    return urls["formbot"]


@pytest.fixture
def financial_url(urls):
    return urls["financial_demo"]


@pytest.fixture
def helpdesk_url(urls):
    return urls["helpdesk_assistant"]


@pytest.fixture
def reminder_url(urls):
    return urls["reminderbot"]


@pytest.fixture
def faq_url(urls):
    return urls["rasa_ch_faq"]


class Bot:
    """Calls one bot's action server with payloads built from its domain."""

    def __init__(self, url: str, bot: str) -> None:
        self.url, self.domain = url, domain_of(bot)

    def run(self, action: str, slots=None, events=None, latest=None, active_loop=None,
            sender="u1", channel="rest"):
        slot_values = initial_slots(self.domain, **(slots or {}))
        payload = tracker_payload(action, sender=sender, slots=slot_values, events=events,
                                  latest_message=latest, active_loop=active_loop,
                                  domain=domain_dict(self.domain), input_channel=channel)

        async def go():
            async with ActionClient(ActionEndpoint(self.url)) as client:
                return await client.run(payload)

        result = asyncio.run(go())
        bots = [render_action_response(r, self.domain, slot_values, "collector", random.Random(0))
                for r in result["responses"]]
        texts = [b["text"] for b in bots if b]
        slots_set = [(e["name"], e["value"]) for e in result["events"] if e["event"] == "slot"]
        return result, bots, texts, slots_set

    def validate(self, form: str, requested, candidates: dict, slots=None, user=None):
        events = form_events(form, requested, candidates, user=user)
        values = {"requested_slot": requested, **(slots or {}), **candidates}
        return self.run(f"validate_{form}", slots=values, events=events, active_loop=form,
                        latest=user)


def intent(name: str, text: str = "", entities=()):
    return {"intent": {"name": name, "confidence": 1.0}, "entities": list(entities), "text": text}


# ------------------------------------------------------------------------------- formbot

def test_formbot_validation(formbot_url):
    bot = Bot(formbot_url, "formbot")
    _, _, texts, slots = bot.validate("restaurant_form", "cuisine", {"cuisine": "afghan"})
    assert slots == [("cuisine", None)]
    assert texts == ["Cuisine type is not in the database, please try again"]
    _, _, texts, slots = bot.validate("restaurant_form", "cuisine", {"cuisine": "Italian"})
    assert slots == [("cuisine", "Italian")] and texts == []
    for value, expected in [("0", None), ("4", "4"), (2.0, 2.0), ("many", None)]:
        assert bot.validate("restaurant_form", "num_people",
                            {"num_people": value})[3] == [("num_people", expected)]
    for value, expected in [("outside please", True), ("inside", False), (False, False),
                            ("whatever", None)]:
        assert bot.validate("restaurant_form", "outdoor_seating",
                            {"outdoor_seating": value})[3] == [("outdoor_seating", expected)]
    # unvalidated slots pass through unchanged
    assert bot.validate("restaurant_form", "feedback", {"feedback": "great"})[3] == [
        ("feedback", "great")]


# ------------------------------------------------------------------------ financial-demo

def test_financial_session_start_and_restart(financial_url):
    bot = Bot(financial_url, "financial-demo")
    result, _, _, _ = bot.run("action_session_start")
    assert [e["event"] for e in result["events"]] == ["session_started", "slot", "action"]
    assert result["events"][1]["name"] == "currency" and result["events"][1]["value"] == "$"
    assert result["events"][2]["name"] == "action_listen"
    result, _, _, _ = bot.run("action_restart")
    assert [(e["event"], e.get("name")) for e in result["events"]] == [
        ("restart", None), ("followup", "action_session_start")]


def test_financial_cc_form_activation_and_card(financial_url):
    bot = Bot(financial_url, "financial-demo")
    user = intent("pay_cc", "pay my emblem card")
    _, _, texts, slots = bot.validate("cc_payment_form", None, {"credit_card": "emblem"}, user=user)
    assert ("credit_card", "Emblem") in slots and ("AA_CONTINUE_FORM", "yes") in slots
    assert texts == []


def test_financial_rejects_when_requested_slot_not_extracted(financial_url):
    bot = Bot(financial_url, "financial-demo")
    user = intent("check_balance", "what's my balance")
    with pytest.raises(ActionRejected) as info:
        bot.validate("cc_payment_form", "credit_card", {}, slots={"AA_CONTINUE_FORM": "yes"},
                     user=user)
    assert info.value.action_name == "validate_cc_payment_form"
    # not a direct answer (re-run after another action): no rejection
    assert bot.validate("cc_payment_form", "credit_card", {},
                        slots={"AA_CONTINUE_FORM": "yes"})[3] == []


def test_financial_failure_counting_and_explanation(financial_url):
    bot = Bot(financial_url, "financial-demo")
    user = intent("inform", "foo card")
    _, _, texts, slots = bot.validate("cc_payment_form", "credit_card", {"credit_card": "foo"},
                                      slots={"AA_CONTINUE_FORM": "yes"}, user=user)
    assert texts == ["Sorry, that is not a valid credit card account to make payments towards."]
    assert slots == [("credit_card", None), ("repeated_validation_failures", 1)]
    _, _, texts, slots = bot.validate("cc_payment_form", "credit_card", {"credit_card": "foo"},
                                      slots={"AA_CONTINUE_FORM": "yes",
                                             "repeated_validation_failures": 1}, user=user)
    assert len(texts) == 5 and all("The current balance for your" in t for t in texts[1:])
    assert slots == [("credit_card", None), ("repeated_validation_failures", 0),
                     ("AA_CONTINUE_FORM", None)]


def test_financial_continue_no_ends_the_form(financial_url):
    bot = Bot(financial_url, "financial-demo")
    _, _, _, slots = bot.validate("cc_payment_form", "AA_CONTINUE_FORM", {"AA_CONTINUE_FORM": "no"},
                                  user=intent("deny", "no"))
    assert ("zz_confirm_form", "no") in slots
    assert slots[-1] == ("requested_slot", None)


def test_financial_amount_and_time(financial_url):
    bot = Bot(financial_url, "financial-demo")
    money = {"entity": "amount-of-money", "value": 50, "additional_info": {"unit": "$"}}
    _, _, _, slots = bot.validate("cc_payment_form", "amount-of-money", {"amount-of-money": 50},
                                  slots={"credit_card": "Emblem"},
                                  user=intent("inform", "$50", [money]))
    assert ("amount-of-money", "50.00") in slots and ("currency", "$") in slots
    _, _, _, slots = bot.validate("cc_payment_form", "amount-of-money",
                                  {"amount-of-money": "current balance"},
                                  slots={"credit_card": "Emblem"}, user=intent("inform", "balance"))
    values = dict(slots)
    assert values["payment_amount_type"] == " (your current balance)"
    assert float(values["amount-of-money"]) > 0
    _, _, texts, slots = bot.validate("cc_payment_form", "amount-of-money",
                                      {"amount-of-money": "lots"}, user=intent("inform", "lots"))
    assert texts == ["Sorry, I don't understand that payment amount."]
    time_entity = {"entity": "time", "value": "2019-01-01T00:00:00.000-08:00",
                   "additional_info": {"grain": "month"}}
    _, _, _, slots = bot.validate("cc_payment_form", "time",
                                  {"time": "2019-01-01T00:00:00.000-08:00"},
                                  user=intent("inform", "January 2019", [time_entity]))
    assert dict(slots)["time_formatted"] == "Jan 2019" and dict(slots)["grain"] == "month"
    _, _, _, slots = bot.validate("cc_payment_form", "time", {"time": "tomorrow"},
                                  user=intent("inform", "tomorrow"))
    assert dict(slots)["time_formatted"] == "Tuesday Jan 16, 2024"


def test_financial_search_form_asks_vendor_for_spending(financial_url):
    bot = Bot(financial_url, "financial-demo")
    _, _, _, slots = bot.validate("transaction_search_form", None, {"search_type": "spend"},
                                  user=intent("search_transactions", "my spending"))
    assert slots[-1] == ("requested_slot", "vendor_name")
    _, _, _, slots = bot.validate("transaction_search_form", "time", {"time": "last month"},
                                  slots={"search_type": "deposit", "AA_CONTINUE_FORM": "yes"},
                                  user=intent("inform", "last month"))
    values = dict(slots)
    assert (values["start_time_formatted"], values["end_time_formatted"]) == ("Dec 2023", "Jan 2024")


def test_financial_submit_actions(financial_url):
    bot = Bot(financial_url, "financial-demo")
    _, _, texts, slots = bot.run("action_pay_cc", slots={
        "zz_confirm_form": "yes", "amount-of-money": "50.00", "credit_card": "Emblem",
        "time_formatted": "Tuesday Jan 16, 2024"}, sender="payer")
    assert texts == ["Payment of $50.00 towards your Emblem account scheduled to be paid at "
                     "Tuesday Jan 16, 2024."]
    assert ("amount_transferred", 50.0) in slots and ("credit_card", None) in slots
    _, _, texts, _ = bot.run("action_show_balance", slots={"amount_transferred": 50.0},
                             sender="payer")
    assert texts[0].startswith("Your bank account balance was $") and "after transfers" in texts[0]
    _, _, texts, _ = bot.run("action_transfer_money", slots={"zz_confirm_form": "no"})
    assert texts == ["Transfer cancelled."]
    _, _, texts, slots = bot.run("action_transaction_search", slots={
        "zz_confirm_form": "yes", "search_type": "spend", "vendor_name": "target",
        "start_time": "2023-12-01T00:00:00", "end_time": "2024-01-01T00:00:00",
        "start_time_formatted": "Dec 2023", "end_time_formatted": "Jan 2024"})
    assert texts[0] == "Searching transactions at Target between Dec 2023 and Jan 2024..."
    assert texts[1].startswith("I found ") and " transactions at Target totalling $" in texts[1]
    assert ("search_type", None) in slots


def test_financial_side_questions_return_to_the_form(financial_url):
    bot = Bot(financial_url, "financial-demo")
    result, _, texts, _ = bot.run("action_show_transfer_charge", active_loop="transfer_money_form")
    assert texts[0].startswith("You are entitled to six transfers")
    assert [(e["event"], e.get("name")) for e in result["events"]] == [
        ("rewind", None), ("slot", "AA_CONTINUE_FORM"), ("followup", "transfer_money_form")]
    result, _, texts, _ = bot.run("action_show_recipients")
    assert result["events"] == [] and "- Katy Parrow" in texts[0]


def test_financial_form_switching(financial_url):
    bot = Bot(financial_url, "financial-demo")
    _, bots, texts, slots = bot.run("action_switch_forms_ask", active_loop="cc_payment_form",
                                    latest=intent("transfer_money", "transfer money"))
    assert texts == ["We haven't completed the credit card payment form yet. Are you sure you "
                     "want to switch to money transfer form?"]
    assert [b["payload"] for b in bots[0]["buttons"]] == ["/affirm", "/deny"]
    assert slots == [("next_form_name", "transfer_money_form")]
    _, _, _, slots = bot.run("action_switch_forms_affirm", active_loop="cc_payment_form",
                             slots={"next_form_name": "transfer_money_form"})
    assert slots == [("next_form_name", None), ("previous_form_name", "cc_payment_form")]
    _, _, texts, slots = bot.run("action_switch_forms_deny", active_loop="cc_payment_form")
    assert texts == ["Ok, let's continue with the credit card payment form."]
    _, _, _, slots = bot.run("action_switch_back_ask", slots={"previous_form_name": "cc_payment_form"})
    assert slots == [("previous_form_name", None)]


def test_financial_handoff(financial_url):
    bot = Bot(financial_url, "financial-demo")
    _, bots, _, _ = bot.run("action_handoff_options")
    assert bots[0]["buttons"] == [{"title": "Helpdesk Assistant",
                                   "payload": '/trigger_handoff{"handoff_to":"helpdesk_assistant"}'}]
    _, bots, texts, _ = bot.run("action_handoff", slots={"handoff_to": "helpdesk_assistant"})
    assert texts[0] == "Alright, I'll try to transfer you."
    assert bots[1]["custom"] == {"handoff_host": "http://localhost:5005", "title": "Helpdesk Assistant"}
    _, _, texts, _ = bot.run("action_handoff", slots={"handoff_to": "helpdesk_assistant"},
                             channel="socketio")
    assert texts[1] == "If you were talking to me via chatroom, I would have handed you off to " \
                       "http://localhost:5005."
    _, _, texts, _ = bot.run("action_handoff")
    assert texts[1].startswith("Since you haven't configured a host")


# -------------------------------------------------------------------- helpdesk-assistant

def test_helpdesk_email_and_priority(helpdesk_url):
    bot = Bot(helpdesk_url, "helpdesk-assistant")
    assert bot.run("action_ask_email")[2] == ["What is your email address?"]
    assert bot.run("action_ask_email", slots={"previous_email": "a@b.c"})[2] == [
        "Would you like to use the last email address you used, a@b.c?"]
    assert bot.validate("open_incident_form", "email", {"email": True},
                        slots={"previous_email": "a@b.c"})[3] == [("email", "a@b.c")]
    assert bot.validate("open_incident_form", "email", {"email": False},
                        slots={"previous_email": "a@b.c"})[3] == [("email", None),
                                                                 ("previous_email", None)]
    assert bot.validate("incident_status_form", "email", {"email": "x@y.z"})[3] == [("email", "x@y.z")]
    _, _, texts, slots = bot.validate("open_incident_form", "priority", {"priority": "urgent"})
    assert texts == ['Sorry "urgent" is not a valid priority. Please try again.']
    assert slots == [("priority", None)]
    assert bot.validate("open_incident_form", "priority", {"priority": "HIGH"})[3] == [
        ("priority", "high")]


def test_helpdesk_incidents(helpdesk_url):
    bot = Bot(helpdesk_url, "helpdesk-assistant")
    result, _, texts, _ = bot.run("action_open_incident", slots={
        "confirm": True, "email": "a@b.c", "problem_description": "no wifi",
        "incident_title": "Wifi", "priority": "low"})
    assert "email: a@b.c" in texts[0] and "priority: low" in texts[0]
    assert [e["event"] for e in result["events"]] == ["reset_slots", "slot"]
    assert result["events"][1]["name"] == "previous_email"
    assert bot.run("action_open_incident", slots={"confirm": False})[2] == [
        "Alright, I have cancelled the incident."]
    first = bot.run("action_check_incident_status", slots={"email": "a@b.c"})[2]
    assert first == bot.run("action_check_incident_status", slots={"email": "a@b.c"})[2]
    assert "The most recent incident for a@b.c is currently " in first[0]


# --------------------------------------------------------------------------- reminderbot

def test_reminderbot_actions(reminder_url):
    bot = Bot(reminder_url, "reminderbot")
    person = {"entity": "PERSON", "value": "Bob"}
    result, _, texts, _ = bot.run("action_set_reminder",
                                  latest=intent("ask_remind_call", "remind me to call Bob", [person]))
    assert texts == ["I will remind you in 5 seconds."]
    (event,) = result["events"]
    assert event["event"] == "reminder" and event["intent"] == "EXTERNAL_reminder"
    assert event["date_time"] == "2024-05-01T10:30:05+00:00"
    assert event["name"] == "my_reminder" and event["kill_on_user_msg"] is False
    assert event["entities"] == [person]
    assert bot.run("action_react_to_reminder", slots={"PERSON": "Bob"})[2] == ["Remember to call Bob!"]
    assert bot.run("action_react_to_reminder")[2] == ["Remember to call someone!"]
    texts = bot.run("action_tell_id", sender="abc")[2]
    assert texts[0] == "The ID of this conversation is 'abc'."
    assert "/conversations/abc/trigger_intent?output_channel=latest" in texts[1]
    plant = {"entity": "plant", "value": "Orchid"}
    assert bot.run("action_warn_dry", latest=intent("EXTERNAL_dry_plant", "", [plant]))[2] == [
        "Your Orchid needs some water!"]
    result, _, texts, _ = bot.run("action_forget_reminders")
    assert texts == ["Okay, I'll cancel all your reminders."]
    assert result["events"][0]["event"] == "cancel_reminder"


# --------------------------------------------------------------------------- rasa-ch-faq

def test_rasa_ch_faq_restaurant_form(faq_url):
    bot = Bot(faq_url, "rasa-ch-faq")
    assert bot.validate("饭店_form", "cuisine", {"cuisine": "川菜"})[3] == [("cuisine", "川菜")]
    _, _, texts, slots = bot.validate("饭店_form", "cuisine", {"cuisine": "汉堡"})
    assert texts == ["店铺类型不在数据库中，请换一种餐种"] and slots == [("cuisine", None)]
    number = {"entity": "number", "value": "4"}
    assert bot.validate("饭店_form", "num_people", {"num_people": "4"},
                        user=intent("inform", "4个人", [number]))[3] == [("num_people", "4")]
    assert bot.validate("饭店_form", "outdoor_seating", {"outdoor_seating": "坐外面"})[3] == [
        ("outdoor_seating", True)]
    result, _, _, slots = bot.run("action_clear_饭店_form_slots", slots={"cuisine": "川菜"})
    assert slots == [(s, None) for s in ("cuisine", "num_people", "outdoor_seating",
                                         "preferences", "feedback")]


def test_rasa_ch_faq_offline_actions(faq_url):
    bot = Bot(faq_url, "rasa-ch-faq")
    _, bots, _, _ = bot.run("action_find_img", latest=intent("看图片", "", [{"entity": "look_img",
                                                                          "value": "猫"}]))
    assert bots[0]["image"].endswith("cat.jpg")
    assert bot.run("action_find_img")[2] == ["不好意思，暂时不能吸该动物呢～～"]
    assert bot.validate("搜动漫_form", "img", {"img": "https://x.org/a.png"})[3] == [
        ("img", "u_https://x.org/a.png")]
    assert bot.validate("搜动漫_form", "img", {"img": "scene.jpg"})[3] == [("img", "f_scene.jpg")]
    assert bot.validate("搜动漫_form", "img", {"img": "hello"})[2] == ["url有误，请检查后再重试～"]
    weather = bot.run("action_query_weather", latest=intent("查询天气", "上海天气"))[2]
    assert "温度" in weather[0] and weather == bot.run(
        "action_query_weather", latest=intent("查询天气", "上海天气"))[2]
