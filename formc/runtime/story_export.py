"""A conversation's event log -> a Rasa test story in YAML (GET /conversations/{id}/story)."""

from __future__ import annotations

import json
from typing import Any, Optional

SKIPPED_ACTIONS = {"action_listen", "action_session_start"}


def sessions(log: list) -> list[list]:
    """The log cut at every action_session_start (the first part: events before any start)."""
    out: list = [[]]
    for ev in log:
        if ev.get("event") == "action" and ev.get("name") == "action_session_start" and out[-1]:
            out.append([])
        out[-1].append(ev)
    return [part for part in out if part]


def conversation_story(domain: Any, sender_id: str, log: list, all_sessions: bool = False,
                       until: Optional[float] = None) -> str:
    """Rasa's get_test_stories: the latest session (or every one, each its own story) as a test
    story, optionally only the events up to `until`."""
    parts = sessions(log)
    if not all_sessions:
        parts = parts[-1:]
    if until is not None:
        parts = [_until(part, until) for part in parts]
        parts = [part for part in parts if part]
    stories = []
    for i, part in enumerate(parts, 1):
        name = f"{sender_id}, story {i}" if len(parts) > 1 else sender_id
        steps = _steps(part)     # Rasa's as_story: the raw events, not the applied ones
        if steps:
            stories.append(f"- story: {_scalar(name)}\n  steps:\n" + "".join(steps))
    text = 'version: "3.1"\n'
    if stories:
        text += "stories:\n" + "".join(stories)
    return text


def _until(events: list, until: float) -> list:
    out = []
    for ev in events:
        stamp = ev.get("timestamp")
        if isinstance(stamp, (int, float)) and stamp > until:
            break
        out.append(ev)
    return out


def _steps(events: list) -> list:
    steps = []
    for ev in events:
        kind = ev.get("event")
        if kind == "user":
            step = _user_step(ev)
        elif kind == "action" and ev.get("name") not in SKIPPED_ACTIONS:
            step = f"  - action: {_scalar(ev.get('name'))}\n"
        elif kind == "slot":
            step = f"  - slot_was_set:\n    - {_scalar(ev.get('name'))}: {_scalar(ev.get('value'))}\n"
        elif kind == "active_loop":
            step = f"  - active_loop: {_scalar(ev.get('name'))}\n"
        else:
            step = None
        if step:
            steps.append(step)
    return steps


def _user_step(ev: dict) -> Optional[str]:
    parse = ev.get("parse_data") or {}
    intent = (parse.get("intent") or {}).get("name")
    if not intent:
        return None
    text = ev.get("text")
    step = f"  - intent: {_scalar(intent)}\n"
    if text:
        annotated = _annotated(text, parse.get("entities") or [])
        step += "    user: |-\n" + "".join(f"      {line}\n" for line in annotated.split("\n"))
    return step


def _annotated(text: str, entities: list) -> str:
    """Rasa's entity markup: [text](entity), or [text]{"entity": .., "value": ..} when the
    value differs from the text (a synonym), for entities that carry their position."""
    spans = sorted((e for e in entities if isinstance(e.get("start"), int) and isinstance(e.get("end"), int)),
                   key=lambda e: e["start"])
    out, pos = [], 0
    for ent in spans:
        start, end = ent["start"], ent["end"]
        if start < pos or end > len(text):
            continue
        piece = text[start:end]
        label = {"entity": ent.get("entity")}
        for key in ("role", "group"):
            if ent.get(key):
                label[key] = ent[key]
        if str(ent.get("value")) != piece:
            label["value"] = ent.get("value")
        mark = (f"({label['entity']})" if len(label) == 1 else json.dumps(label, ensure_ascii=False))
        out.append(text[pos:start] + f"[{piece}]" + mark)
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _scalar(value: Any) -> str:
    """A YAML scalar as Rasa's writer prints it (plain when that reads back the same)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    text = str(value)
    plain = (text and text.strip() == text and ": " not in text and " #" not in text
             and "\n" not in text and not text.endswith(":") and text[0] not in "-?:,[]{}#&*!|>'\"%@`"
             and text.lower() not in ("null", "true", "false", "yes", "no", "~") and not _numeric(text))
    return text if plain else json.dumps(text, ensure_ascii=False)


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
