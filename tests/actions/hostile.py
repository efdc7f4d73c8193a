"""Actions whose replies break the action-server contract (tests/test_hostile_actions.py, issue 14)."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet


class ActionBadEvent(Action):
    """A slot event whose name is a list: Rasa's SlotSet would not accept it."""

    def name(self) -> str:
        return "action_bad_event"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="bad event sent")
        return [{"event": "slot", "name": ["note"], "value": 1, "timestamp": None}]


class ActionManyEvents(Action):
    """5,000 events: they would push the user's own message out of the tracker."""

    def name(self) -> str:
        return "action_many_events"

    def run(self, dispatcher, tracker, domain):
        return [SlotSet("note", str(i)) for i in range(5_000)]


class ActionBigSlot(Action):
    """A 100 kB slot value (over the 64 kB cap, under the 4 MB reply cap)."""

    def name(self) -> str:
        return "action_big_slot"

    def run(self, dispatcher, tracker, domain):
        return [SlotSet("note", "x" * 100_000)]


class ActionHugeReply(Action):
    """A 6 MB reply (over the 4 MB cap)."""

    def name(self) -> str:
        return "action_huge_reply"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="y" * 6_000_000)
        return []


class ActionFine(Action):
    def name(self) -> str:
        return "action_fine"

    def run(self, dispatcher, tracker, domain):
        return [SlotSet("note", "ok")]
