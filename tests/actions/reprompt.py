"""A validation action that rejects phone numbers not starting with 555 (tests/test_truth_runtime.py)."""
from __future__ import annotations

from rasa_sdk import FormValidationAction


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    def validate_phone_number(self, value, dispatcher, tracker, domain):
        if str(value or "").startswith("555"):
            return {"phone_number": value}
        dispatcher.utter_message(text="That number does not look right.")
        return {"phone_number": None}
