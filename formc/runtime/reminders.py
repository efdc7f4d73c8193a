"""Reminder events (§11) <-> the pending-reminder records a session keeps for the server."""

from __future__ import annotations

import datetime as dt
from typing import Any


def _entities(value: Any) -> list:
    if isinstance(value, dict):
        return [{"entity": k, "value": v} for k, v in value.items()]
    return list(value or [])


def fire_time(date_time: Any) -> float:
    if isinstance(date_time, (int, float)):
        return float(date_time)
    try:
        when = dt.datetime.fromisoformat(str(date_time).replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def reminder_from_event(ev: dict, rng: Any) -> dict:
    name = ev.get("name") or "reminder-%032x" % rng.getrandbits(128)
    return {"name": str(name), "intent": ev.get("intent"), "entities": _entities(ev.get("entities")),
            "date_time": ev.get("date_time"), "fire_at": fire_time(ev.get("date_time")),
            "kill_on_user_msg": bool(ev.get("kill_on_user_msg", True)),
            "scheduled_at": ev.get("timestamp", 0.0)}


def cancel_matches(reminder: dict, ev: dict) -> bool:
    """cancel_reminder matches when every given criterion matches (none given: all)."""
    if ev.get("name") and ev["name"] != reminder["name"]:
        return False
    if ev.get("intent") and ev["intent"] != reminder["intent"]:
        return False
    if ev.get("entities") and _entities(ev["entities"]) != reminder["entities"]:
        return False
    return True
