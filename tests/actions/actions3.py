"""actions3 oracle bot custom actions (rasa-sdk): tracker + domain in -> events / messages out.

Written for tests/oracles/actions3/bot. `action_probe` reports what the tracker Rasa sends looks
like (event kinds, latest message, loop, slots, domain keys), so a recording pins down the
request formc must build; the others fail, pause, override action_session_start and
action_default_fallback, and return unusual events. Deterministic: answers depend only on the
tracker (no timestamps, no sender ids).
"""
from __future__ import annotations

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import (ActionExecuted, BotUttered, ConversationPaused, FollowupAction,
                             SessionStarted, SlotSet, UserUtteranceReverted)


def _event_label(event: dict) -> str:
    kind = event.get("event")
    if kind == "action":
        return f"action:{event.get('name') or event.get('action_text')}"
    if kind == "user":
        return f"user:{((event.get('parse_data') or {}).get('intent') or {}).get('name')}"
    if kind == "slot":
        return f"slot:{event.get('name')}"
    if kind == "active_loop":
        return f"loop:{event.get('name')}"
    return str(kind)


class ActionSessionStart(Action):
    """The usual override: start the session, count visits, then listen."""

    def name(self) -> str:
        return "action_session_start"

    def run(self, dispatcher, tracker, domain):
        visits = tracker.get_slot("visits") or 0
        dispatcher.utter_message(text=f"Session {int(visits) + 1} starts.")
        return [SessionStarted(), SlotSet("visits", visits + 1), ActionExecuted("action_listen")]


class ActionProbe(Action):
    def name(self) -> str:
        return "action_probe"

    def run(self, dispatcher, tracker, domain):
        events = tracker.events
        latest = tracker.latest_message or {}
        entities = ",".join(f"{e.get('entity')}={e.get('value')}" for e in latest.get("entities") or [])
        slots = ",".join(f"{k}={v}" for k, v in sorted(tracker.slots.items()))
        dispatcher.utter_message(text=f"events={len(events)} last={' '.join(_event_label(e) for e in events[-8:])}")
        dispatcher.utter_message(
            text=f"latest_action={tracker.latest_action_name} intent="
                 f"{(latest.get('intent') or {}).get('name')} text={latest.get('text')} "
                 f"entities=[{entities}] loop={tracker.active_loop_name} "
                 f"followup={tracker.followup_action} paused={tracker.is_paused()} "
                 f"channel={tracker.get_latest_input_channel()}")
        dispatcher.utter_message(text=f"slots: {slots}")
        dispatcher.utter_message(
            text=f"domain: keys={sorted(domain)} slots={sorted(domain.get('slots') or {})} "
                 f"forms={domain.get('forms')}")
        return []


class ActionCrash(Action):
    def name(self) -> str:
        return "action_crash"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="about to fail")
        raise RuntimeError("deliberate failure")


class ActionOddSlots(Action):
    def name(self) -> str:
        return "action_odd_slots"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="setting slots")
        return [SlotSet("not_in_domain", "x"), SlotSet("book", "ulysses"),
                SlotSet("visits", "many")]


class ActionPause(Action):
    def name(self) -> str:
        return "action_pause"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Pausing. Say /restart to wake me.")
        return [ConversationPaused()]


class ActionDirectBot(Action):
    def name(self) -> str:
        return "action_direct_bot"

    def run(self, dispatcher, tracker, domain):
        return [BotUttered(text="direct bot event", data={"buttons": [{"title": "ok", "payload": "/affirm"}]})]


class ActionChain(Action):
    def name(self) -> str:
        return "action_chain"

    def run(self, dispatcher, tracker, domain):
        return [FollowupAction("utter_chained")]


class ActionWelcomeName(Action):
    def name(self) -> str:
        return "action_welcome_name"

    def run(self, dispatcher, tracker, domain):
        name = next(tracker.get_latest_entity_values("name"), None) or "guest"
        dispatcher.utter_message(response="utter_hello_name", name=name.title(), count=2)
        return []


class ActionDefaultFallback(Action):
    def name(self) -> str:
        return "action_default_fallback"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text=f"Custom fallback for '{(tracker.latest_message or {}).get('text')}'.")
        return [UserUtteranceReverted()]


class ValidateBorrowForm(FormValidationAction):
    def name(self) -> str:
        return "validate_borrow_form"

    def validate_member(self, value, dispatcher, tracker, domain):
        if isinstance(value, str) and len(value.strip()) >= 2:
            return {"member": value.strip().title()}
        dispatcher.utter_message(text="A member name needs two letters.")
        return {"member": None}
