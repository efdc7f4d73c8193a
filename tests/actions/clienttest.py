"""Actions exercising the action-server client's success and failure paths (tests/test_action_client.py)."""
from __future__ import annotations

import asyncio

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection


class ActionHello(Action):
    def name(self) -> str:
        return "action_hello"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Hello {name}!")
        dispatcher.utter_message(response="utter_greet", name="Ann")
        return [SlotSet("greeted", True)]


class ActionReject(Action):
    def name(self) -> str:
        return "action_reject"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name(), "not now")


class ValidateColorForm(FormValidationAction):
    def name(self) -> str:
        return "validate_color_form"

    def validate_color(self, value, dispatcher, tracker, domain):
        if value == "reject":
            raise ActionExecutionRejection(self.name(), "color refused")
        return {"color": str(value).lower()}


class ActionCrash(Action):
    def name(self) -> str:
        return "action_crash"

    def run(self, dispatcher, tracker, domain):
        raise RuntimeError("boom")


class ActionSleep(Action):
    def name(self) -> str:
        return "action_sleep"

    async def run(self, dispatcher, tracker, domain):
        await asyncio.sleep(float(tracker.get_slot("delay") or 3))
        return []


class ActionBadEvent(Action):
    def name(self) -> str:
        return "action_bad_event"

    def run(self, dispatcher, tracker, domain):
        return [{"event": "no_such_event"}]
