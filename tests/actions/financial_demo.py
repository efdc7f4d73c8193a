"""financial-demo custom actions (rasa-sdk), written from corpus/financial-demo/SOURCE.md.

Back end: tests.actions._bank (a deterministic mock profile per sender, fixed "today").
"""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import (ActionExecuted, FollowupAction, Restarted, SessionStarted, SlotSet,
                             UserUtteranceReverted)
from rasa_sdk.interfaces import ActionExecutionRejection

from . import _bank
from ._support import handoff, handoff_options

MAX_VALIDATION_FAILURES = 2          # actions/custom_forms_config.yml
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


def _entities(tracker) -> list[dict]:
    return [e for e in (tracker.latest_message or {}).get("entities") or [] if isinstance(e, dict)]


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _direct_user_turn(tracker, form_name: str) -> bool:
    """Is this validation call answering a user message (not a re-run after another action)?"""
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind in ("slot", "user_featurization"):
            continue
        if kind == "action" and event.get("name") in (form_name, "action_extract_slots"):
            continue
        return kind == "user"
    return False


def _return_to_form(tracker) -> list:
    """After answering a side question inside a form: drop the question, ask to continue."""
    form = tracker.active_loop.get("name") if tracker.active_loop else None
    if not form:
        return []
    return [UserUtteranceReverted(), SlotSet("AA_CONTINUE_FORM", None), FollowupAction(form)]


# ----------------------------------------------------------------------- form validation

class _BankFormValidation(FormValidationAction, ABC):
    """Shared behaviour: continue/confirm slots, failure counting, rejection when nothing fits."""

    DEFAULT_SLOTS: tuple[str, ...] = ()

    @abstractmethod
    def name(self) -> str:  # abstract, so rasa-sdk does not register this base class
        ...

    def domain_slots(self, domain) -> list[str]:
        return super().domain_slots(domain) or list(self.DEFAULT_SLOTS)

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("AA_CONTINUE_FORM") == "no":
            return ["AA_CONTINUE_FORM", "zz_confirm_form"]
        return domain_slots

    async def run(self, dispatcher, tracker, domain):
        requested = tracker.get_slot("requested_slot")
        if (requested and requested not in tracker.slots_to_validate()
                and _direct_user_turn(tracker, self.form_name())):
            raise ActionExecutionRejection(
                self.name(), f"Failed to extract slot {requested} with action {self.name()}")
        return await super().run(dispatcher, tracker, domain)

    async def get_validation_events(self, dispatcher, tracker, domain):
        requested = tracker.get_slot("requested_slot")
        candidates = tracker.slots_to_validate()
        events = await super().get_validation_events(dispatcher, tracker, domain)
        values = {e["name"]: e["value"] for e in events}
        if requested is None and tracker.get_slot("AA_CONTINUE_FORM") is None \
                and "AA_CONTINUE_FORM" not in values:
            # The form was just activated: continuing is implied.
            events.append(SlotSet("AA_CONTINUE_FORM", "yes"))
        if requested in candidates:
            failures = tracker.get_slot("repeated_validation_failures") or 0
            if values.get(requested) is None:
                failures = int(failures) + 1
                if failures >= MAX_VALIDATION_FAILURES:
                    explain = getattr(self, f"explain_{requested.replace('-', '_')}", None)
                    if explain:
                        explain(dispatcher, tracker)
                    events += [SlotSet("repeated_validation_failures", 0),
                               SlotSet("AA_CONTINUE_FORM", None)]
                else:
                    events.append(SlotSet("repeated_validation_failures", failures))
            elif failures:
                events.append(SlotSet("repeated_validation_failures", 0))
        return events

    def validate_AA_CONTINUE_FORM(self, value, dispatcher, tracker, domain):
        answer = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        answer = answer.strip().lower() if isinstance(answer, str) else None
        if answer == "yes":
            return {"AA_CONTINUE_FORM": "yes"}
        if answer == "no":
            return {"AA_CONTINUE_FORM": "no", "requested_slot": None, "zz_confirm_form": "no"}
        return {"AA_CONTINUE_FORM": None}

    def validate_zz_confirm_form(self, value, dispatcher, tracker, domain):
        answer = {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value
        answer = answer.strip().lower() if isinstance(answer, str) else None
        return {"zz_confirm_form": answer if answer in ("yes", "no") else None}

    def _validate_amount(self, value, dispatcher, tracker, card: Optional[str]) -> dict:
        p = _bank.profile(tracker.sender_id)
        kind = _bank.balance_type(value)
        if kind and card:
            amount = p.cards[card][kind]
            if amount == 0:
                dispatcher.utter_message(response="utter_nothing_due", credit_card=card)
                return {"amount-of-money": None, "credit_card": None, "payment_amount_type": None}
            if amount > p.balance:
                dispatcher.utter_message(response="utter_insufficient_funds_specific",
                                         payment_amount_type=kind, credit_card=card,
                                         **{"amount-of-money": _money(amount)})
                return {"amount-of-money": None}
            return {"amount-of-money": _money(amount), "payment_amount_type": f" (your {kind})"}
        parsed = _bank.parse_money(value, _entities(tracker))
        if parsed is None:
            dispatcher.utter_message(response="utter_no_payment_amount")
            return {"amount-of-money": None}
        amount, currency = parsed
        if amount > p.balance:
            dispatcher.utter_message(response="utter_insufficient_funds")
            return {"amount-of-money": None}
        return {"amount-of-money": _money(amount), "currency": currency, "payment_amount_type": ""}


class ValidateCcPaymentForm(_BankFormValidation):
    DEFAULT_SLOTS = ("AA_CONTINUE_FORM", "credit_card", "amount-of-money", "time", "zz_confirm_form")

    def name(self) -> str:
        return "validate_cc_payment_form"

    def validate_credit_card(self, value, dispatcher, tracker, domain):
        card = _bank.find_card(_bank.profile(tracker.sender_id), value)
        if card:
            return {"credit_card": card}
        dispatcher.utter_message(response="utter_no_creditcard")
        return {"credit_card": None}

    def explain_credit_card(self, dispatcher, tracker) -> None:
        p = _bank.profile(tracker.sender_id)
        for card, balances in p.cards.items():
            dispatcher.utter_message(response="utter_credit_card_balance", credit_card=card,
                                     credit_card_balance=_money(balances["current balance"]))

    def validate_amount_of_money(self, value, dispatcher, tracker, domain):
        card = _bank.find_card(_bank.profile(tracker.sender_id), tracker.get_slot("credit_card"))
        return self._validate_amount(value, dispatcher, tracker, card)

    def validate_time(self, value, dispatcher, tracker, domain):
        parsed = _bank.parse_time(value, _entities(tracker))
        if parsed is None or parsed[0] != "single":
            dispatcher.utter_message(response="utter_no_transactdate")
            return {"time": None}
        _, when, grain = parsed
        return {"time": when.isoformat(), "grain": grain,
                "time_formatted": _bank.format_time(when, grain)}


class ValidateTransferMoneyForm(_BankFormValidation):
    DEFAULT_SLOTS = ("AA_CONTINUE_FORM", "PERSON", "amount-of-money", "zz_confirm_form")

    def name(self) -> str:
        return "validate_transfer_money_form"

    def validate_PERSON(self, value, dispatcher, tracker, domain):
        name = _bank.find_recipient(_bank.profile(tracker.sender_id), value)
        if name:
            return {"PERSON": name}
        dispatcher.utter_message(response="utter_unknown_recipient", PERSON=value)
        return {"PERSON": None}

    def explain_PERSON(self, dispatcher, tracker) -> None:
        _utter_recipients(dispatcher, tracker)

    def validate_amount_of_money(self, value, dispatcher, tracker, domain):
        return self._validate_amount(value, dispatcher, tracker, None)


class ValidateTransactionSearchForm(_BankFormValidation):
    DEFAULT_SLOTS = ("AA_CONTINUE_FORM", "search_type", "time", "zz_confirm_form")

    def name(self) -> str:
        return "validate_transaction_search_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot("search_type") == "spend" and "search_type" in slots \
                and "vendor_name" not in slots:
            slots = list(slots)
            slots.insert(slots.index("search_type") + 1, "vendor_name")
        return slots

    def validate_search_type(self, value, dispatcher, tracker, domain):
        return {"search_type": value if value in ("spend", "deposit") else None}

    def validate_vendor_name(self, value, dispatcher, tracker, domain):
        if isinstance(value, str) and value.strip().lower() in _bank.VENDORS:
            return {"vendor_name": value.strip().lower()}
        dispatcher.utter_message(response="utter_no_vendor_name")
        return {"vendor_name": None}

    def validate_time(self, value, dispatcher, tracker, domain):
        parsed = _bank.parse_time(value, _entities(tracker))
        if parsed is None:
            dispatcher.utter_message(response="utter_no_transactdate")
            return {"time": None}
        if parsed[0] == "single":
            _, start, grain = parsed
            end = _bank.add_grain(start, grain)
        else:
            _, start, end, grain = parsed
        return {"time": value, "start_time": start.isoformat(), "end_time": end.isoformat(),
                "start_time_formatted": _bank.format_time(start, grain),
                "end_time_formatted": _bank.format_time(end, grain), "grain": grain}


# ------------------------------------------------------------------------ other actions

def _utter_recipients(dispatcher, tracker) -> None:
    names = _bank.profile(tracker.sender_id).recipients
    dispatcher.utter_message(response="utter_recipients",
                             formatted_recipients="".join(f"\n- {n}" for n in names))


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
