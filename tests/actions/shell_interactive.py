"""An action for tests/test_shell_interactive_live.py: a corrected custom action whose slot must
reach the live conversation."""
from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.events import SlotSet


class ActionRememberCaller(Action):
    def name(self) -> str:
        return "action_remember_caller"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Noted: we will ask for Grace Hopper.")
        return [SlotSet("name", "Grace Hopper")]
