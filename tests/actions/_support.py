"""Helpers shared by the corpus-bot actions: fixed clock, handoff behaviour (plain functions, no Action classes)."""
from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any, Optional

# A fixed "today" keeps every action deterministic; override with FORMC_ACTIONS_TODAY=YYYY-MM-DD.
DEFAULT_TODAY = "2024-01-15"


def today() -> dt.date:
    return dt.date.fromisoformat(os.environ.get("FORMC_ACTIONS_TODAY", DEFAULT_TODAY))


def now() -> dt.datetime:
    """The current time: FORMC_ACTIONS_NOW (ISO 8601) when set, else the real clock (UTC)."""
    fixed = os.environ.get("FORMC_ACTIONS_NOW")
    if fixed:
        return dt.datetime.fromisoformat(fixed)
    return dt.datetime.now(dt.timezone.utc)


def latest_entities(tracker, entity: str) -> list[dict]:
    return [e for e in (tracker.latest_message or {}).get("entities") or []
            if isinstance(e, dict) and e.get("entity") == entity]


def handoff_options(dispatcher, hosts: dict[str, dict]) -> list:
    """Offer one button per configured bot; without any URL there is nowhere to go."""
    if not any(h.get("url") for h in hosts.values()):
        dispatcher.utter_message(response="utter_no_handoff")
        return []
    buttons = [
        {"title": h["title"], "payload": "/trigger_handoff" + json.dumps({"handoff_to": key}, separators=(",", ":"))}
        for key, h in hosts.items() if h.get("url")
    ]
    dispatcher.utter_message(text="I can't transfer you to a human, but I can transfer you to one "
                                  "of these bots", buttons=buttons)
    return []


def handoff(dispatcher, tracker, hosts: dict[str, dict]) -> list:
    dispatcher.utter_message(response="utter_handoff")
    target: Optional[str] = tracker.get_slot("handoff_to")
    host: Optional[dict[str, Any]] = hosts.get(target) if isinstance(target, str) else None
    if not host or not host.get("url"):
        dispatcher.utter_message(response="utter_no_handoff")
        return []
    if tracker.get_latest_input_channel() == "rest":
        dispatcher.utter_message(json_message={"handoff_host": host["url"], "title": host["title"]})
    else:
        dispatcher.utter_message(response="utter_wouldve_handed_off", handoffhost=host["url"])
    return []
