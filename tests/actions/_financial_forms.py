"""financial-demo form validation actions (validate_<form>), from corpus/financial-demo/SOURCE.md.

Imported by tests.actions.financial_demo (the module to run); kept apart only for size.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Optional

from rasa_sdk import FormValidationAction
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection

from . import _bank

MAX_VALIDATION_FAILURES = 2          # actions/custom_forms_config.yml


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


def _utter_recipients(dispatcher, tracker) -> None:
    names = _bank.profile(tracker.sender_id).recipients
    dispatcher.utter_message(response="utter_recipients",
                             formatted_recipients="".join(f"\n- {n}" for n in names))


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
