"""Rasa event JSON (§8.2) constructors; every event the runtime logs is built here."""

from __future__ import annotations

import json
from typing import Any, Optional

import orjson

BOT_DATA_KEYS = ("elements", "quick_replies", "buttons", "attachment", "image", "custom")
# Rasa 3.6's event type names (§8.2), incl. the legacy form / form_validation aliases
EVENT_TYPES = frozenset((
    "user", "bot", "action", "slot", "entities", "user_featurization", "rewind", "undo", "restart",
    "session_started", "reset_slots", "pause", "resume", "followup", "reminder", "cancel_reminder",
    "active_loop", "loop_interrupted", "action_execution_rejected", "form", "form_validation",
    "export", "agent"))


def _base(kind: str, ts: float, **fields: Any) -> dict:
    ev = {"event": kind, "timestamp": ts}
    ev.update(fields)
    return ev


def user(text: Optional[str], parse_data: dict, ts: float, input_channel: Optional[str],
         message_id: Optional[str], metadata: Optional[dict]) -> dict:
    return _base("user", ts, text=text, parse_data=parse_data, input_channel=input_channel,
                 message_id=message_id, metadata=dict(metadata or {}))


def bot(message: dict, ts: float) -> dict:
    """A bot event from a rendered message dict (text, data keys, metadata)."""
    return _base("bot", ts, text=message.get("text"),
                 data={k: message.get(k) for k in BOT_DATA_KEYS},
                 metadata=dict(message.get("metadata") or {}))


def action(name: str, ts: float, policy: Optional[str] = None, confidence: Optional[float] = None,
           hide_rule_turn: bool = False, bot_text: bool = False) -> dict:
    """bot_text: `name` is an end-to-end bot text, logged as Rasa does (no name, action_text)."""
    return _base("action", ts, name=None if bot_text else name, policy=policy,
                 confidence=confidence, action_text=name if bot_text else None,
                 hide_rule_turn=hide_rule_turn)


def slot(name: str, value: Any, ts: float) -> dict:
    return _base("slot", ts, name=name, value=value)


def active_loop(name: Optional[str], ts: float) -> dict:
    return _base("active_loop", ts, name=name)


def rejected(name: str, ts: float, policy: Optional[str] = None, confidence: Optional[float] = None) -> dict:
    return _base("action_execution_rejected", ts, name=name, policy=policy, confidence=confidence)


def loop_interrupted(flag: bool, ts: float) -> dict:
    return _base("loop_interrupted", ts, is_interrupted=flag)


def user_featurization(ts: float, use_text: bool = False) -> dict:
    return _base("user_featurization", ts, use_text_for_featurization=use_text)


def simple(kind: str, ts: float) -> dict:
    """session_started, restart, rewind, undo, pause, resume, reset_slots."""
    return _base(kind, ts)


def followup(name: str, ts: float) -> dict:
    return _base("followup", ts, name=name)


def normalize(ev: dict, ts: float) -> Optional[dict]:
    """An event returned by an action server -> our canonical shape (fresh timestamp), or None
    if it is not a usable event. Legacy aliases `form` / `form_validation` are translated."""
    if not isinstance(ev, dict) or not isinstance(ev.get("event"), str):
        return None
    kind = ev["event"]
    if kind == "form":
        return active_loop(ev.get("name"), ts)
    if kind == "form_validation":
        return loop_interrupted(not ev.get("validate", True), ts)
    out = dict(ev)
    out["timestamp"] = ts
    if kind == "slot" and "name" not in out:
        return None
    return out


def encode(event: dict) -> bytes:
    """An event -> the compact JSON bytes a session's history keeps. Why bytes: a cached
    conversation's 200 events are ~1,000 dicts and lists that Python's cyclic garbage collector
    would rescan on every full collection (measured: 100+ ms pauses with 1,000 cached
    conversations); bytes are not scanned, and the stores append them as they are."""
    try:
        # orjson's result keeps a 4 kB buffer (measured: 4,098 bytes for a 180-byte event);
        # the copy is exactly as long as the JSON.
        return bytes(memoryview(orjson.dumps(event, default=_tuple_like)))
    except (TypeError, ValueError):   # non-str keys, ints beyond 64 bits from an action server
        return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(data: bytes) -> dict:
    return orjson.loads(data)


def _tuple_like(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
