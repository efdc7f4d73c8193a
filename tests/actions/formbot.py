"""formbot custom actions (rasa-sdk): validate_restaurant_form, per corpus/formbot/SOURCE.md."""
from __future__ import annotations

from typing import Any

from rasa_sdk import FormValidationAction

CUISINES = ("caribbean", "chinese", "french", "greek", "indian", "italian", "mexican")


def _positive_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return float(value).is_integer() and value > 0
    if isinstance(value, str):
        try:
            return int(value.strip()) > 0
        except ValueError:
            return False
    return False


class ValidateRestaurantForm(FormValidationAction):
    def name(self) -> str:
        return "validate_restaurant_form"

    def validate_cuisine(self, value, dispatcher, tracker, domain):
        if isinstance(value, str) and value.lower() in CUISINES:
            return {"cuisine": value}
        dispatcher.utter_message(response="utter_wrong_cuisine")
        return {"cuisine": None}

    def validate_num_people(self, value, dispatcher, tracker, domain):
        if _positive_int(value):
            return {"num_people": value}
        dispatcher.utter_message(response="utter_wrong_num_people")
        return {"num_people": None}

    def validate_outdoor_seating(self, value, dispatcher, tracker, domain):
        if isinstance(value, bool):   # from the affirm/deny from_intent mappings
            return {"outdoor_seating": value}
        if isinstance(value, str):
            lowered = value.lower()
            if "out" in lowered:
                return {"outdoor_seating": True}
            if "in" in lowered:
                return {"outdoor_seating": False}
        dispatcher.utter_message(response="utter_wrong_outdoor_seating")
        return {"outdoor_seating": None}
