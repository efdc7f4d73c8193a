"""actions5 oracle bot custom actions (rasa-sdk): tracker + domain in -> events / messages out.

Written for tests/oracles/actions5/bot: the ticket form's validation ends the form early in two
ways (severity "critical" -> requested_slot null; the phone product -> ActiveLoop(None)), an
"urgent" message makes it return a FollowupAction, the ask action for `description` counts how
often it asked, and `action_refuse` always rejects (HTTP 400). Deterministic.
"""
from __future__ import annotations

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.interfaces import ActionExecutionRejection


class ValidateTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_ticket_form"

    async def run(self, dispatcher, tracker, domain):
        events = await super().run(dispatcher, tracker, domain)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "urgent":
            dispatcher.utter_message(text="Understood, this is urgent.")
            return events + [FollowupAction("utter_escalate")]
        return events

    def validate_product(self, value, dispatcher, tracker, domain):
        if value == "phone":
            dispatcher.utter_message(text="Phones are handled elsewhere; closing this form.")
            return {"product": value, "requested_slot": None}
        return {"product": value}

    def validate_severity(self, value, dispatcher, tracker, domain):
        if value == "critical":
            dispatcher.utter_message(text="Critical: no description needed.")
            return {"severity": value, "requested_slot": None}
        return {"severity": value}

    def validate_description(self, value, dispatcher, tracker, domain):
        if isinstance(value, str) and value.lower() == "stop":
            dispatcher.utter_message(text="Stopping the ticket.")
            return {"description": None, "requested_slot": None}
        return {"description": value}


class ActionAskDescription(Action):
    def name(self) -> str:
        return "action_ask_description"

    def run(self, dispatcher, tracker, domain):
        times = (tracker.get_slot("asked_times") or 0) + 1
        dispatcher.utter_message(text=f"Describe the problem (asking {int(times)}).")
        return [SlotSet("asked_times", times)]


class ActionRefuse(Action):
    def name(self) -> str:
        return "action_refuse"

    def run(self, dispatcher, tracker, domain):
        raise ActionExecutionRejection(self.name(), "never runs")
