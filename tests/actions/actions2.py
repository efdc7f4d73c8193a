"""actions2 oracle bot custom actions (rasa-sdk): tracker + domain in -> events / messages out.

Written for tests/oracles/actions2/bot: every action exercises one part of the action-server
protocol (SlotSet, FollowupAction, ActiveLoop, AllSlotsReset, Restarted, UserUtteranceReverted,
ActionReverted, dispatcher messages of every kind, FormValidationAction extract/validate).
Deterministic: answers depend only on the tracker.
"""
from __future__ import annotations

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import (ActionReverted, ActiveLoop, AllSlotsReset, FollowupAction, Restarted,
                             SlotSet, UserUtteranceReverted)

PRICES = {"small": 6, "medium": 8, "large": 10}


def _intent(tracker) -> str:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name") or ""


def _entities(tracker, name: str) -> list:
    return [e.get("value") for e in (tracker.latest_message or {}).get("entities") or []
            if e.get("entity") == name]


class ActionDetectVip(Action):
    """Custom slot mapping action (run by action_extract_slots on every user turn). Its bot
    message is dropped by Rasa; only the slot event is kept."""

    def name(self) -> str:
        return "action_detect_vip"

    def run(self, dispatcher, tracker, domain):
        text = ((tracker.latest_message or {}).get("text") or "").lower()
        if "vip" in text.split() and tracker.get_slot("vip") is not True:
            dispatcher.utter_message(text="(vip noticed)")
            return [SlotSet("vip", True)]
        return []


class ValidatePizzaForm(FormValidationAction):
    def name(self) -> str:
        return "validate_pizza_form"

    async def run(self, dispatcher, tracker, domain):
        # topping "start over" (only actions2/17): the validation itself returns AllSlotsReset
        if "start over" in _entities(tracker, "topping"):
            dispatcher.utter_message(text="Starting the order from scratch.")
            return [AllSlotsReset()]
        return await super().run(dispatcher, tracker, domain)

    def extract_notes(self, dispatcher, tracker, domain):
        # only while the form asks for notes: deny -> "none", anything else -> the text
        if tracker.get_slot("requested_slot") != "notes":
            return {}
        if _intent(tracker) == "deny":
            return {"notes": "none"}
        return {"notes": (tracker.latest_message or {}).get("text")}

    def validate_size(self, value, dispatcher, tracker, domain):
        # accepted sizes also fill the price slot (an extra slot from a validator)
        if isinstance(value, str) and value in PRICES:
            return {"size": value, "price": float(PRICES[value])}
        dispatcher.utter_message(response="utter_wrong_size")
        return {"size": None}

    def validate_topping(self, value, dispatcher, tracker, domain):
        if isinstance(value, str) and value.lower() == "pineapple":
            dispatcher.utter_message(text="No pineapple here, sorry.")
            return {"topping": None}
        return {"topping": value}


class ActionSubmitOrder(Action):
    def name(self) -> str:
        return "action_submit_order"

    def run(self, dispatcher, tracker, domain):
        price = tracker.get_slot("price") or 0
        vip = tracker.get_slot("vip") is True
        total = int(price - 2) if vip else int(price)
        # response= with an extra template variable (total) beside the slots
        dispatcher.utter_message(response="utter_order_done", total=total)
        orders = (tracker.get_slot("orders") or 0) + 1
        return [SlotSet("orders", float(orders)), SlotSet("notes", None)]


class ActionCheckStatus(Action):
    """Reads active_loop, requested_slot, slots and the latest message."""

    def name(self) -> str:
        return "action_check_status"

    def run(self, dispatcher, tracker, domain):
        loop = (tracker.active_loop or {}).get("name")
        if loop:
            asked = tracker.get_slot("requested_slot")
            dispatcher.utter_message(text=f"You are in {loop}, I am asking for {asked}.")
        else:
            dispatcher.utter_message(text="No form is running.")
        filled = [f"{k}={tracker.get_slot(k)}" for k in ("size", "topping", "notes", "price", "rating")
                  if tracker.get_slot(k) is not None]
        dispatcher.utter_message(text="Known: " + (", ".join(filled) if filled else "nothing") +
                                 f"; orders: {int(tracker.get_slot('orders') or 0)}.")
        ents = [e.get("entity") for e in (tracker.latest_message or {}).get("entities") or []]
        dispatcher.utter_message(text=f"You said '{(tracker.latest_message or {}).get('text')}' "
                                      f"({_intent(tracker)}, entities: {ents}).")
        return []


class ActionShowMenu(Action):
    """Every dispatcher message kind: text + buttons + image, custom json, response=."""

    def name(self) -> str:
        return "action_show_menu"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Our sizes:", buttons=[
            {"title": "small", "payload": '/inform{"size": "small"}'},
            {"title": "medium", "payload": '/inform{"size": "medium"}'},
            {"title": "large", "payload": '/inform{"size": "large"}'}])
        dispatcher.utter_message(image="https://example.com/menu.png")
        dispatcher.utter_message(json_message={"menu": ["margherita", "funghi"], "vegan": True})
        size = tracker.get_slot("size")
        if size in PRICES:
            dispatcher.utter_message(response="utter_price", price=PRICES[size])
        return []


class ActionQuickOrder(Action):
    def name(self) -> str:
        return "action_quick_order"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Quick order: cheese it is.")
        return [SlotSet("topping", "cheese"), FollowupAction("pizza_form")]


class ActionStartFeedback(Action):
    def name(self) -> str:
        return "action_start_feedback"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Let's do a quick survey.")
        return [ActiveLoop("feedback_form")]


class ActionSubmitFeedback(Action):
    def name(self) -> str:
        return "action_submit_feedback"

    def run(self, dispatcher, tracker, domain):
        rating = tracker.get_slot("rating")
        if rating in ("1", "2"):
            dispatcher.utter_message(text=f"Sorry to hear that ({rating}/5).")
        else:
            dispatcher.utter_message(text=f"Thanks for the {rating}/5!")
        return [SlotSet("rating", None)]


class ActionCancelOrder(Action):
    """Deactivates the pizza form from a custom action."""

    def name(self) -> str:
        return "action_cancel_order"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Order cancelled.")
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("size", None),
                SlotSet("topping", None), SlotSet("price", None)]


class ActionStartOver(Action):
    def name(self) -> str:
        return "action_start_over"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Starting over, I forgot everything.")
        return [AllSlotsReset()]


class ActionResetChat(Action):
    def name(self) -> str:
        return "action_reset_chat"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Conversation restarted.")
        return [Restarted()]


class ActionUndo(Action):
    def name(self) -> str:
        return "action_undo"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Ok, I ignore that message.")
        return [UserUtteranceReverted()]


class ActionTakeBack(Action):
    def name(self) -> str:
        return "action_take_back"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="Fine, forget it.")
        return [ActionReverted(), FollowupAction("action_listen")]


class ActionRecommend(Action):
    """Answers from the latest message's entities, else from a slot."""

    def name(self) -> str:
        return "action_recommend"

    def run(self, dispatcher, tracker, domain):
        toppings = _entities(tracker, "topping")
        if toppings:
            dispatcher.utter_message(text=f"With {toppings[-1]} I recommend a large pizza.")
        elif tracker.get_slot("vip"):
            dispatcher.utter_message(text="For our VIP: the truffle special.")
        else:
            dispatcher.utter_message(text="Try the margherita.")
        return []
