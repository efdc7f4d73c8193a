"""rasa-ch-faq custom actions (rasa-sdk), from corpus/rasa-ch-faq/SOURCE.md; offline stand-ins for web APIs.

The restaurant form (validate_饭店_form, action_clear_饭店_form_slots) and the anime form's
validation behave as described. Actions that call public web services upstream (weather, animal
pictures, anime-scene search, coin history) answer deterministically without any network access.
"""
from __future__ import annotations

import hashlib
import re

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.events import SlotSet

from ._support import latest_entities

CUISINES = ("西餐", "中餐", "泰餐", "火锅", "串串", "川菜", "粤菜", "本帮", "麻辣烫", "湘菜", "日料")
FORM_SLOTS = ("cuisine", "num_people", "outdoor_seating", "preferences", "feedback")
ANIMAL_PICTURES = {"猫": "https://images.invalid/animals/cat.jpg",
                   "狗": "https://images.invalid/animals/dog.jpg",
                   "狐狸": "https://images.invalid/animals/fox.jpg"}
IMAGE_FILE = re.compile(r"\.(jpe?g|png|gif|bmp|webp)$", re.IGNORECASE)


def _positive_int(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return float(value).is_integer() and value > 0
    if isinstance(value, str):
        return value.strip().isdigit() and int(value.strip()) > 0
    return False


class ValidateRestaurantForm(FormValidationAction):
    def name(self) -> str:
        return "validate_饭店_form"

    def validate_cuisine(self, value, dispatcher, tracker, domain):
        if value in CUISINES:
            return {"cuisine": value}
        dispatcher.utter_message(response="utter_wrong_cuisine")
        return {"cuisine": None}

    def validate_num_people(self, value, dispatcher, tracker, domain):
        numbers = latest_entities(tracker, "number")
        candidate = numbers[-1].get("value") if numbers else value
        if _positive_int(candidate):
            return {"num_people": candidate}
        dispatcher.utter_message(response="utter_wrong_num_people")
        return {"num_people": None}

    def validate_outdoor_seating(self, value, dispatcher, tracker, domain):
        if isinstance(value, bool):
            return {"outdoor_seating": value}
        if isinstance(value, str):
            if "外面" in value:
                return {"outdoor_seating": True}
            if "里面" in value:
                return {"outdoor_seating": False}
        dispatcher.utter_message(response="utter_wrong_outdoor_seating")
        return {"outdoor_seating": None}


class ActionClearRestaurantFormSlots(Action):
    def name(self) -> str:
        return "action_clear_饭店_form_slots"

    def run(self, dispatcher, tracker, domain):
        slots = (domain or {}).get("slots") or {}
        return [SlotSet(s, (slots.get(s) or {}).get("initial_value")) for s in FORM_SLOTS]


class ActionFindImg(Action):
    def name(self) -> str:
        return "action_find_img"

    def run(self, dispatcher, tracker, domain):
        animals = latest_entities(tracker, "look_img")
        animal = animals[-1].get("value") if animals else None
        if animal in ANIMAL_PICTURES:
            dispatcher.utter_message(image=ANIMAL_PICTURES[animal])
        else:
            dispatcher.utter_message(text="不好意思，暂时不能吸该动物呢～～")
        return []


class ValidateAnimeForm(FormValidationAction):
    def name(self) -> str:
        return "validate_搜动漫_form"

    def validate_img(self, value, dispatcher, tracker, domain):
        if isinstance(value, str):
            text = value.strip()
            if re.match(r"https?://\S+$", text):
                return {"img": f"u_{text}"}
            if IMAGE_FILE.search(text):
                return {"img": f"f_{text}"}
        dispatcher.utter_message(response="utter_url错误")
        return {"img": None}


class ActionSearchAnimeImg(Action):
    def name(self) -> str:
        return "action_search_anime_img"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="（离线）无法连接动漫场景搜索服务，请稍后再试。")
        return [SlotSet("img", None)]


class ActionQueryWeather(Action):
    def name(self) -> str:
        return "action_query_weather"

    def run(self, dispatcher, tracker, domain):
        text = (tracker.latest_message or {}).get("text") or ""
        digest = hashlib.sha256(text.encode("utf-8")).digest()
        condition = ("晴", "多云", "阴", "小雨")[digest[0] % 4]
        wind = ("东风", "南风", "西风", "北风")[digest[1] % 4]
        temp = 5 + digest[2] % 25
        dispatcher.utter_message(text=f"{condition} 风向 {wind}\n温度: {temp} 摄氏度\n体感温度：{temp - 2}")
        return []


class ActionSearchCoinHistory(Action):
    def name(self) -> str:
        return "action_search_coin_history"

    def run(self, dispatcher, tracker, domain):
        dispatcher.utter_message(text="BTC 近期价格走势：",
                                 image="https://images.invalid/coin/btc-history.png")
        return []
