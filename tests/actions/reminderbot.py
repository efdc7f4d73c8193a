"""reminderbot custom actions (rasa-sdk): reminders and external events, from corpus/reminderbot/SOURCE.md.

The reminder delay is 5 seconds as described; REMINDERBOT_DELAY_SECONDS overrides it (tests use a
short delay) and FORMC_ACTIONS_NOW fixes "now" (ISO 8601) for fully deterministic events.
"""
from __future__ import annotations

import datetime as dt
import os

from rasa_sdk import Action
from rasa_sdk.events import ReminderCancelled, ReminderScheduled

from ._support import latest_entities, now


def _delay() -> float:
    return float(os.environ.get("REMINDERBOT_DELAY_SECONDS", "5"))


class ActionSetReminder(Action):
    def name(self) -> str:
        return "action_set_reminder"

    def run(self, dispatcher, tracker, domain):
        delay = _delay()
        dispatcher.utter_message(text=f"I will remind you in {delay:g} seconds.")
        entities = (tracker.latest_message or {}).get("entities") or []
        return [ReminderScheduled("EXTERNAL_reminder",
                                  trigger_date_time=now() + dt.timedelta(seconds=delay),
                                  entities=entities, name="my_reminder",
                                  kill_on_user_message=False)]


class ActionReactToReminder(Action):
    def name(self) -> str:
        return "action_react_to_reminder"

    def run(self, dispatcher, tracker, domain):
        name = tracker.get_slot("PERSON") or "someone"
        dispatcher.utter_message(text=f"Remember to call {name}!")
        return []


class ActionTellID(Action):
    def name(self) -> str:
        return "action_tell_id"

    def run(self, dispatcher, tracker, domain):
        sender = tracker.sender_id
        dispatcher.utter_message(text=f"The ID of this conversation is '{sender}'.")
        dispatcher.utter_message(
            text="Trigger an intent with: \n"
                 "curl -H \"Content-Type: application/json\" "
                 "-X POST -d '{\"name\": \"EXTERNAL_dry_plant\", "
                 "\"entities\": {\"plant\": \"Orchid\"}}' "
                 f"\"http://localhost:5005/conversations/{sender}"
                 "/trigger_intent?output_channel=latest\"")
        return []


class ActionWarnDry(Action):
    def name(self) -> str:
        return "action_warn_dry"

    def run(self, dispatcher, tracker, domain):
        plants = latest_entities(tracker, "plant")
        plant = plants[-1].get("value") if plants else None
        dispatcher.utter_message(text=f"Your {plant or 'someone'} needs some water!")
        return []


class ActionForgetReminders(Action):
    def name(self) -> str:
        return "action_forget_reminders"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Okay, I'll cancel all your reminders.")
        return [ReminderCancelled()]
