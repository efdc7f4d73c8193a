"""The one event schema (Rasa 3.6's event classes, §8.2): an event dict -> what is wrong with it, or None.

Shared by the HTTP routes (POST /tracker/events) and the action-server client, so an event the
server stores or applies always has the field types Rasa's `Event.from_parameters` reads: an
event that would make Rasa raise (or formc crash later, on every message of that sender) is
refused at the edge instead. Unknown extra keys are allowed, as in Rasa.
"""
from __future__ import annotations

from typing import Any, Optional

STR, NUM, BOOL, DICT, LIST, ANY = "a string", "a number", "true or false", "an object", \
    "a list", "any value"

# kind -> {field: (expected type, required)}; a field absent or null is fine unless required.
_FIELDS: dict[str, dict[str, tuple[str, bool]]] = {
    "user": {"text": (STR, False), "parse_data": (DICT, False), "input_channel": (STR, False),
             "message_id": (STR, False)},
    "bot": {"text": (STR, False), "data": (DICT, False)},
    "action": {"name": (STR, False), "policy": (STR, False), "confidence": (NUM, False),
               "action_text": (STR, False), "hide_rule_turn": (BOOL, False)},
    "slot": {"name": (STR, True), "value": (ANY, True)},
    "entities": {"entities": (LIST, True)},
    "user_featurization": {"use_text_for_featurization": (BOOL, False)},
    "followup": {"name": (STR, True)},
    "reminder": {"intent": (STR, True), "date_time": (STR, True), "name": (STR, False),
                 "kill_on_user_msg": (BOOL, False), "entities": (ANY, False)},
    "cancel_reminder": {"name": (STR, False), "intent": (STR, False), "entities": (ANY, False)},
    "active_loop": {"name": (STR, False)},
    "form": {"name": (STR, False)},
    "loop_interrupted": {"is_interrupted": (BOOL, False)},
    "form_validation": {"validate": (BOOL, False)},
    "action_execution_rejected": {"name": (STR, True), "policy": (STR, False),
                                  "confidence": (NUM, False)},
    "agent": {"text": (STR, False)},
}
_NO_FIELDS = ("rewind", "undo", "restart", "session_started", "reset_slots", "pause", "resume",
              "export")
EVENT_KINDS = frozenset(_FIELDS) | frozenset(_NO_FIELDS)
_COMMON = {"timestamp": (NUM, False), "metadata": (DICT, False)}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _fits(value: Any, kind: str) -> bool:
    if kind == ANY:
        return True
    if kind == NUM:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return json_type(value) == {STR: "a string", BOOL: "a boolean", DICT: "an object",
                                LIST: "a list"}[kind]


def event_problem(event: Any) -> Optional[str]:
    """What makes `event` invalid (a phrase to follow "Event 3 ..."), or None."""
    if not isinstance(event, dict):
        return f"is {json_type(event)}, not an event object"
    kind = event.get("event")
    if not isinstance(kind, str):
        return "has no 'event' type"
    if kind not in EVENT_KINDS:
        return f"has an unknown event type {kind!r}"
    for name, (wanted, required) in {**_COMMON, **_FIELDS.get(kind, {})}.items():
        if name not in event:
            if required:
                return f"is a {kind} event without '{name}'"
            continue
        value = event[name]
        if value is None and (wanted == ANY or not required):
            continue
        if not _fits(value, wanted):
            return f"is a {kind} event whose '{name}' is {json_type(value)}, not {wanted}"
    return _nested_problem(kind, event)


def _nested_problem(kind: str, event: dict) -> Optional[str]:
    """The parts of a user/entities event the runtime reads inside (intent, entities)."""
    if kind == "entities":
        return _entities_problem(event["entities"], "'entities'")
    if kind == "user" and isinstance(event.get("parse_data"), dict):
        parse = event["parse_data"]
        intent = parse.get("intent")
        if intent is not None and not isinstance(intent, dict):
            return f"is a user event whose parse_data.intent is {json_type(intent)}, not an object"
        if isinstance(intent, dict) and intent.get("name") is not None \
                and not isinstance(intent["name"], str):
            return "is a user event whose parse_data.intent.name is not a string"
        if parse.get("entities") is not None:
            return _entities_problem(parse["entities"], "parse_data.entities")
    return None


def _entities_problem(entities: Any, where: str) -> Optional[str]:
    if not isinstance(entities, list):
        return f"has {where} that is {json_type(entities)}, not a list"
    for i, entity in enumerate(entities):
        if not isinstance(entity, dict) or not isinstance(entity.get("entity"), str):
            return f"has {where}[{i}] that is not an object with an 'entity' name"
        for key in ("start", "end"):
            if entity.get(key) is not None and not _fits(entity[key], NUM):
                return f"has {where}[{i}].{key} that is {json_type(entity[key])}, not a number"
    return None


MAX_DEPTH = 64


def json_problem(value: Any, max_depth: int = MAX_DEPTH) -> Optional[str]:
    """What makes a parsed JSON value unusable, or None: nesting deeper than `max_depth` (the
    stores and encoders recurse) or a string with a lone surrogate ("\\ud800": valid JSON,
    but not encodable as UTF-8, so it could never be stored or answered)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _utf8(item):
                return "contains a lone surrogate (e.g. \\ud800) that is not valid Unicode text"
            continue
        if isinstance(item, (dict, list)):
            if depth > max_depth:
                return f"is nested more than {max_depth} levels deep"
            if isinstance(item, dict):
                for key, child in item.items():
                    if isinstance(key, str) and not _utf8(key):
                        return ("contains a lone surrogate (e.g. \\ud800) that is not valid "
                                "Unicode text")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
