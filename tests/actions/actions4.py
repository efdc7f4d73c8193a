"""actions4 oracle bot custom actions (rasa-sdk): tracker + domain in -> events / messages out.

Written for tests/oracles/actions4/bot: a dynamic form (required_slots adds `ski` for Austria and
`senior_check` from 65, and skips `nights` for Mars), a validation that rejects by raising
ActionExecutionRejection, a custom `action_ask_nights`, and the global ValidationAction
(`action_validate_slot_mappings`) counting greetings. Deterministic.
"""
from __future__ import annotations

from rasa_sdk import Action, FormValidationAction, ValidationAction
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection


class ValidateInsuranceForm(FormValidationAction):
    def name(self) -> str:
        return "validate_insurance_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain):
        slots = list(domain_slots)
        if tracker.get_slot("destination") == "austria":
            slots.insert(1, "ski")
        if tracker.get_slot("destination") == "mars":
            slots.remove("nights")
        age = tracker.get_slot("age")
        try:
            if age is not None and float(age) >= 65:
                slots.append("senior_check")
        except (TypeError, ValueError):
            pass
        return slots

    def validate_destination(self, value, dispatcher, tracker, domain):
        if value == "spain" and tracker.latest_message.get("text", "").startswith("to "):
            # a validation that refuses to run at all: Rasa treats it as the form rejecting
            raise ActionExecutionRejection(self.name(), "spain via 'to' is refused")
        return {"destination": value}

    def validate_age(self, value, dispatcher, tracker, domain):
        try:
            age = float(value)
        except (TypeError, ValueError):
            age = -1
        if 0 < age < 120:
            return {"age": age}
        dispatcher.utter_message(text="That age looks wrong.")
        return {"age": None}


class ActionAskNights(Action):
    def name(self) -> str:
        return "action_ask_nights"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text=f"How many nights in {tracker.get_slot('destination')}?")
        return []


class ValidatePredefinedSlots(ValidationAction):
    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(self, dispatcher, tracker, domain):
        events = await super().run(dispatcher, tracker, domain)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "greet":
            events.append(SlotSet("greeting_count", (tracker.get_slot("greeting_count") or 0) + 1))
        return events


class ActionQuote(Action):
    def name(self) -> str:
        return "action_quote"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text=f"greetings={tracker.get_slot('greeting_count')} "
                                      f"destination={tracker.get_slot('destination')}")
        return []
