"""financial-demo custom actions (rasa-sdk), written from corpus/financial-demo/SOURCE.md.

Back end: tests.actions._bank (a deterministic mock profile per sender, fixed "today").
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from rasa_sdk import Action
from rasa_sdk.events import (ActionExecuted, FollowupAction, Restarted, SessionStarted, SlotSet,
                             UserUtteranceReverted)

from . import _bank
from ._financial_forms import (ValidateCcPaymentForm, ValidateTransactionSearchForm,  # noqa: F401
                               ValidateTransferMoneyForm, _as_float, _money, _utter_recipients)
from ._support import handoff, handoff_options

HANDOFF_HOSTS = {"helpdesk_assistant": {"title": "Helpdesk Assistant",
                                        "url": "http://localhost:5005"}}   # actions/handoff_config.yml
FORM_TITLES = {"cc_payment_form": "credit card payment form",
               "transfer_money_form": "money transfer form",
               "transaction_search_form": "transaction search form"}
INTENT_FORMS = {"pay_cc": "cc_payment_form", "transfer_money": "transfer_money_form",
                "search_transactions": "transaction_search_form",
                "check_earnings": "transaction_search_form"}
YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
TIME_SLOTS = ("time", "time_formatted", "start_time", "end_time", "start_time_formatted",
              "end_time_formatted", "grain")


def _return_to_form(tracker) -> list:
    """After answering a side question inside a form: drop the question, ask to continue."""
    form = tracker.active_loop.get("name") if tracker.active_loop else None
    if not form:
        return []
    return [UserUtteranceReverted(), SlotSet("AA_CONTINUE_FORM", None), FollowupAction(form)]


# ------------------------------------------------------------------------ other actions

class ActionAskTransactionSearchFormZzConfirmForm(Action):
    def name(self) -> str:
        return "action_ask_transaction_search_form_zz_confirm_form"

    def run(self, dispatcher, tracker, domain):
        start = tracker.get_slot("start_time_formatted")
        end = tracker.get_slot("end_time_formatted")
        if tracker.get_slot("search_type") == "deposit":
            text = f"Do you want to search deposits made to your account between {start} and {end}?"
        else:
            vendor = tracker.get_slot("vendor_name")
            with_vendor = f" with {vendor.title()}" if isinstance(vendor, str) and vendor else ""
            text = f"Do you want to search for transactions{with_vendor} between {start} and {end}?"
        dispatcher.utter_message(text=text, buttons=YES_NO)
        return []


class ActionPayCC(Action):
    def name(self) -> str:
        return "action_pay_cc"

    def run(self, dispatcher, tracker, domain):
        events = []
        if tracker.get_slot("zz_confirm_form") == "yes":
            p = _bank.profile(tracker.sender_id)
            amount = _as_float(tracker.get_slot("amount-of-money"))
            card = _bank.find_card(p, tracker.get_slot("credit_card"))
            if card:
                p.cards[card]["current balance"] = round(max(
                    0.0, p.cards[card]["current balance"] - amount), 2)
            p.balance = round(p.balance - amount, 2)
            dispatcher.utter_message(response="utter_cc_pay_scheduled")
            total = _as_float(tracker.get_slot("amount_transferred")) + amount
            events.append(SlotSet("amount_transferred", round(total, 2)))
        else:
            dispatcher.utter_message(response="utter_cc_pay_cancelled")
        cleared = ("AA_CONTINUE_FORM", "zz_confirm_form", "credit_card", "account_type",
                   "amount-of-money") + TIME_SLOTS + ("number",)
        events += [SlotSet(slot, None) for slot in cleared]
        events.append(SlotSet("payment_amount_type", ""))
        return events


class ActionTransferMoney(Action):
    def name(self) -> str:
        return "action_transfer_money"

    def run(self, dispatcher, tracker, domain):
        events = []
        if tracker.get_slot("zz_confirm_form") == "yes":
            p = _bank.profile(tracker.sender_id)
            amount = _as_float(tracker.get_slot("amount-of-money"))
            p.balance = round(p.balance - amount, 2)
            dispatcher.utter_message(response="utter_transfer_complete")
            total = _as_float(tracker.get_slot("amount_transferred")) + amount
            events.append(SlotSet("amount_transferred", round(total, 2)))
        else:
            dispatcher.utter_message(response="utter_transfer_cancelled")
        cleared = ("AA_CONTINUE_FORM", "zz_confirm_form", "PERSON", "amount-of-money", "number")
        return events + [SlotSet(slot, None) for slot in cleared]


class ActionTransactionSearch(Action):
    def name(self) -> str:
        return "action_transaction_search"

    def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("zz_confirm_form") == "yes":
            kind = tracker.get_slot("search_type") or "spend"
            vendor = tracker.get_slot("vendor_name")
            start = _parse_iso(tracker.get_slot("start_time"))
            end = _parse_iso(tracker.get_slot("end_time"))
            found = [t for t in _bank.profile(tracker.sender_id).transactions
                     if t["kind"] == kind
                     and (kind != "spend" or not vendor or t["party"] == str(vendor).lower())
                     and (start is None or t["date"] >= start) and (end is None or t["date"] < end)]
            at_vendor = f" at {str(vendor).title()}" if kind == "spend" and vendor else ""
            args = {"vendor_name": at_vendor,
                    "start_time_formatted": tracker.get_slot("start_time_formatted"),
                    "end_time_formatted": tracker.get_slot("end_time_formatted")}
            dispatcher.utter_message(response=f"utter_searching_{kind}_transactions", **args)
            dispatcher.utter_message(response=f"utter_found_{kind}_transactions", **args,
                                     numtransacts=len(found),
                                     total=_money(sum(t["amount"] for t in found)))
        else:
            dispatcher.utter_message(response="utter_transaction_search_cancelled")
        cleared = ("AA_CONTINUE_FORM", "zz_confirm_form", "search_type", "vendor_name") + TIME_SLOTS
        return [SlotSet(slot, None) for slot in cleared]


def _parse_iso(value: Any) -> Optional[dt.date]:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        return None


class ActionShowBalance(Action):
    def name(self) -> str:
        return "action_show_balance"

    def run(self, dispatcher, tracker, domain):
        p = _bank.profile(tracker.sender_id)
        if tracker.get_slot("account_type") == "credit":
            card = _bank.find_card(p, tracker.get_slot("credit_card"))
            for name in [card] if card else list(p.cards):
                dispatcher.utter_message(
                    response="utter_credit_card_balance", credit_card=name,
                    credit_card_balance=_money(p.cards[name]["current balance"]))
        elif tracker.get_slot("amount_transferred"):
            dispatcher.utter_message(response="utter_changed_account_balance",
                                     init_account_balance=_money(p.init_balance),
                                     account_balance=_money(p.balance))
        else:
            dispatcher.utter_message(response="utter_account_balance",
                                     init_account_balance=_money(p.init_balance))
        return _return_to_form(tracker)


class ActionShowRecipients(Action):
    def name(self) -> str:
        return "action_show_recipients"

    def run(self, dispatcher, tracker, domain):
        _utter_recipients(dispatcher, tracker)
        return _return_to_form(tracker)


class ActionShowTransferCharge(Action):
    def name(self) -> str:
        return "action_show_transfer_charge"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(response="utter_transfer_charge")
        return _return_to_form(tracker)


def _form_title(name: Any) -> str:
    return FORM_TITLES.get(name, str(name))


class ActionSwitchFormsAsk(Action):
    def name(self) -> str:
        return "action_switch_forms_ask"

    def run(self, dispatcher, tracker, domain):
        intent = (tracker.latest_message or {}).get("intent", {}).get("name")
        next_form = INTENT_FORMS.get(intent)
        current = tracker.active_loop.get("name") if tracker.active_loop else None
        if next_form is None:
            return []
        dispatcher.utter_message(
            text=f"We haven't completed the {_form_title(current)} yet. "
                 f"Are you sure you want to switch to {_form_title(next_form)}?",
            buttons=YES_NO)
        return [SlotSet("next_form_name", next_form)]


class ActionSwitchFormsAffirm(Action):
    def name(self) -> str:
        return "action_switch_forms_affirm"

    def run(self, dispatcher, tracker, domain):
        current = tracker.active_loop.get("name") if tracker.active_loop else None
        next_form = tracker.get_slot("next_form_name")
        dispatcher.utter_message(
            text=f"Great. Let's switch from the {_form_title(current)} "
                 f"to {_form_title(next_form)}. Once completed, you will have the option "
                 f"to switch back.")
        return [SlotSet("next_form_name", None), SlotSet("previous_form_name", current)]


class ActionSwitchFormsDeny(Action):
    def name(self) -> str:
        return "action_switch_forms_deny"

    def run(self, dispatcher, tracker, domain):
        current = tracker.active_loop.get("name") if tracker.active_loop else None
        dispatcher.utter_message(text=f"Ok, let's continue with the {_form_title(current)}.")
        return [SlotSet("next_form_name", None)]


class ActionSwitchBackAsk(Action):
    def name(self) -> str:
        return "action_switch_back_ask"

    def run(self, dispatcher, tracker, domain):
        previous = tracker.get_slot("previous_form_name")
        dispatcher.utter_message(
            text=f"Would you like to go back to the {_form_title(previous)} now?", buttons=YES_NO)
        return [SlotSet("previous_form_name", None)]


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher, tracker, domain):
        p = _bank.profile(tracker.sender_id, fresh=True)
        return [SessionStarted(), SlotSet("currency", p.currency), ActionExecuted("action_listen")]


class ActionRestart(Action):
    def name(self) -> str:
        return "action_restart"

    def run(self, dispatcher, tracker, domain):
        return [Restarted(), FollowupAction("action_session_start")]


class ActionHandoffOptions(Action):
    def name(self) -> str:
        return "action_handoff_options"

    def run(self, dispatcher, tracker, domain):
        return handoff_options(dispatcher, HANDOFF_HOSTS)


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher, tracker, domain):
        return handoff(dispatcher, tracker, HANDOFF_HOSTS)
