"""helpdesk-assistant custom actions (rasa-sdk), from corpus/helpdesk-assistant/SOURCE.md, always in "local mode".

There is no ServiceNow here: e-mail addresses are accepted as given, incidents are only described,
and an incident's status is made up deterministically from the e-mail address.
"""
from __future__ import annotations

import hashlib

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import AllSlotsReset, SlotSet

from ._support import handoff, handoff_options

HANDOFF_HOSTS = {"financial_demo": {"title": "Financial Assistant",
                                    "url": "http://localhost:5006"}}   # actions/handoff_config.yml
PRIORITIES = {"low": "3", "medium": "2", "high": "1"}
STATUSES = ("awaiting triage", "in progress", "on hold", "closed")


def _validate_email(value, tracker) -> dict:
    if not value:   # empty, or False from "deny" (do not reuse the previous address)
        return {"email": None, "previous_email": None}
    if value is True:   # "affirm": reuse the previous address
        return {"email": tracker.get_slot("previous_email")}
    return {"email": value}   # local mode: accepted as is


class ActionAskEmail(Action):
    def name(self) -> str:
        return "action_ask_email"

    def run(self, dispatcher, tracker, domain):
        if tracker.get_slot("previous_email"):
            dispatcher.utter_message(response="utter_ask_use_previous_email")
        else:
            dispatcher.utter_message(response="utter_ask_email")
        return []


class ValidateOpenIncidentForm(FormValidationAction):
    def name(self) -> str:
        return "validate_open_incident_form"

    def validate_email(self, value, dispatcher, tracker, domain):
        return _validate_email(value, tracker)

    def validate_priority(self, value, dispatcher, tracker, domain):
        if isinstance(value, str) and value.strip().lower() in PRIORITIES:
            return {"priority": value.strip().lower()}
        dispatcher.utter_message(response="utter_no_priority", priority=value)
        return {"priority": None}


class ValidateIncidentStatusForm(FormValidationAction):
    def name(self) -> str:
        return "validate_incident_status_form"

    def validate_email(self, value, dispatcher, tracker, domain):
        return _validate_email(value, tracker)


class ActionOpenIncident(Action):
    def name(self) -> str:
        return "action_open_incident"

    def run(self, dispatcher, tracker, domain):
        email = tracker.get_slot("email")
        if tracker.get_slot("confirm") is False:
            dispatcher.utter_message(response="utter_incident_creation_canceled")
        else:
            dispatcher.utter_message(
                text="An incident with the following details would be opened if ServiceNow "
                     f"was connected:\nemail: {email}\n"
                     f"problem description: {tracker.get_slot('problem_description')}\n"
                     f"title: {tracker.get_slot('incident_title')}\n"
                     f"priority: {tracker.get_slot('priority')}")
        return [AllSlotsReset(), SlotSet("previous_email", email)]


class ActionCheckIncidentStatus(Action):
    def name(self) -> str:
        return "action_check_incident_status"

    def run(self, dispatcher, tracker, domain):
        email = tracker.get_slot("email")
        digest = hashlib.sha256(str(email).encode("utf-8")).digest()
        status = STATUSES[digest[0] % len(STATUSES)]
        dispatcher.utter_message(
            text="Since ServiceNow isn't connected, I'm making this up!\n"
                 f"The most recent incident for {email} is currently {status}")
        return [AllSlotsReset(), SlotSet("previous_email", email)]


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
