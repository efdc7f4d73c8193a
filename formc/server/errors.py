"""HTTP errors in Rasa's shape and request-body validation: bad input -> ApiError -> JSON 4xx.

Rasa's error body: {"version", "status": "failure", "message", "reason", "details", "help",
"code"}. Every refusal of the server goes through `error_body`, so clients see one shape.
"""
from __future__ import annotations

import json
import re
from typing import Any, Optional

from ..model import RASA_VERSION
# the one event schema, shared with the action-server client (re-exported for the routes)
from ..runtime.event_schema import event_problem, json_problem, json_type  # noqa: F401
MIN_COMPATIBLE_VERSION = "3.5.0"


class ApiError(Exception):
    """A request the server refuses; rendered as a JSON error body with `status`."""

    def __init__(self, status: int, reason: str, message: str,
                 details: Optional[dict] = None, help: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.details = details or {}
        self.help = help


def error_body(status: int, reason: str, message: str, details: Optional[dict] = None,
               help: Optional[str] = None) -> dict:
    return {"version": RASA_VERSION, "status": "failure", "message": message, "reason": reason,
            "details": details or {}, "help": help, "code": status}


def bad_request(message: str, **details: Any) -> ApiError:
    return ApiError(400, "BadRequest", message, details)


_TYPE_NAMES = {str: "a string", dict: "an object", list: "a list", bool: "true or false",
               int: "an integer", float: "a number"}


def parse_json_object(body: bytes, example: str) -> dict:
    """The request body as a JSON object, or an ApiError saying exactly what is wrong."""
    value = parse_json_value(body, example)
    if not isinstance(value, dict):
        raise bad_request(f"The request body is {json_type(value)}; expected a JSON object "
                          f"like {example}.")
    return value


def parse_json_value(body: bytes, example: str) -> Any:
    """The request body as any JSON value, or an ApiError saying exactly what is wrong."""
    if not body or not body.strip():
        raise bad_request(f"The request body is empty; expected a JSON object like {example}.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad_request(f"The request body is not valid UTF-8 (byte {e.start}).") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise bad_request(f"The request body is nested too deeply to be read; expected JSON "
                          f"like {example}.") from None
    except ValueError as e:
        pos = getattr(e, "pos", None)
        raise bad_request(f"The request body is not valid JSON: {getattr(e, 'msg', e)}"
                          + (f" at line {e.lineno} column {e.colno}" if pos is not None else "")
                          + f". Expected JSON like {example}.") from None
    if _may_be_hostile(body):
        problem = json_problem(value)
        if problem:
            raise bad_request(f"The request body {problem}.")
    return value


_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


def parse_user_message(body: bytes) -> tuple[dict, str, str]:
    """A channel webhook's body {sender, message, ...} -> (body, sender id, message text)."""
    data = parse_json_object(body, '{"sender": "user-1", "message": "hello"}')
    sender = str(field(data, "sender", (str, int), default="default"))
    if not sender:
        raise bad_request("The field 'sender' is empty; give the conversation id.", field="sender")
    return data, sender, field(data, "message", (str,), required=True)


def parse_posted_events(body: bytes, example: str) -> list:
    """A posted event or list of events, each checked against the one event schema."""
    posted = parse_json_value(body, example)
    posted = posted if isinstance(posted, list) else [posted]
    for i, ev in enumerate(posted):
        problem = event_problem(ev)
        if problem:
            raise bad_request(f"Event {i} {problem}.", event=i)
    return posted


def _may_be_hostile(body: bytes) -> bool:
    """Cheap test before walking the parsed body: escaped surrogates (a lone one cannot be
    stored or answered) or enough brackets to nest deeper than the stores recurse."""
    return (body.count(b"[") + body.count(b"{") > 64) or _SURROGATE.search(body) is not None


def field(body: dict, name: str, kinds: tuple, required: bool = False, default: Any = None,
          nullable: bool = True) -> Any:
    """One field of a JSON object, type-checked (bool is never accepted as a number)."""
    if name not in body or (body[name] is None and nullable and not required):
        if required:
            raise bad_request(f"The request body has no '{name}' field; it is required.",
                              missing=name)
        return default
    value = body[name]
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        wanted = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
        raise bad_request(f"The field '{name}' is {json_type(value)}; expected {wanted}.",
                          field=name)
    check = _FIELD_CHECKS.get(name)
    if check is not None and value is not None:
        check(name, value)
    return value


# A message text is classified on the event loop (~3-6 ms per 1,000 characters): a longer one
# would stall every other conversation. Rasa has no such limit (README: "Limits").
MAX_TEXT_CHARS = 10_000


def _text_cap(name: str, value: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        raise ApiError(413, "PayloadTooLarge", f"The field '{name}' is {len(value):,} characters "
                       f"long; the server classifies messages of at most {MAX_TEXT_CHARS:,}.",
                       {"field": name})


def _parse_data_problem(name: str, value: Any) -> None:
    """A client's parse_data is used as the user event's parse_data: the same schema."""
    found = event_problem({"event": "user", "parse_data": value})
    if found:
        raise bad_request(f"The field '{name}' is not usable parse data: the user event it makes "
                          f"{found}.", field=name)


# Fields with one meaning wherever a route reads them (webhook message, parse text, ...).
_FIELD_CHECKS = {"message": _text_cap, "text": _text_cap, "parse_data": _parse_data_problem}
