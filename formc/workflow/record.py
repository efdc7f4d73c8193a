"""Logged conversation events -> story steps (formc.workflow.stories_yaml's step dicts): what
`formc shell --record` writes as a Rasa test story and `--interactive` as a training story."""

from __future__ import annotations

from typing import Iterable

# Actions a story does not list: Rasa writes them implicitly (listen, session start, slot
# extraction) or they are the policy's own note (unlikely intent).
IMPLICIT_ACTIONS = frozenset({"action_listen", "action_session_start", "action_extract_slots",
                              "action_unlikely_intent"})
# Slots Rasa itself sets that a story never states.
IMPLICIT_SLOTS = frozenset({"session_started_metadata"})


def steps_from_events(events: Iterable[dict], with_text: bool = True) -> list[dict]:
    """Rasa events in log order -> story steps. `with_text`: user steps keep the typed text
    (a test story, as `rasa test` reads it); otherwise intent + entities (a training story)."""
    steps: list[dict] = []
    for ev in events:
        kind = ev.get("event")
        if kind == "user":
            parse = ev.get("parse_data") or {}
            intent = (parse.get("intent") or {}).get("name")
            entities = [e for e in parse.get("entities") or () if e.get("entity")]
            text = ev.get("text") if with_text else None
            if text is not None and text.startswith("/"):
                text = None              # a payload: the intent says it, as Rasa writes it
            steps.append({"user": text, "intent": intent, "entities": entities})
        elif kind == "action" and ev.get("name") not in IMPLICIT_ACTIONS:
            steps.append({"action": ev.get("name")})
        elif kind == "slot" and ev.get("name") not in IMPLICIT_SLOTS:
            if steps and "slot_was_set" in steps[-1]:
                steps[-1]["slot_was_set"].append((ev.get("name"), ev.get("value")))
            else:
                steps.append({"slot_was_set": [(ev.get("name"), ev.get("value"))]})
        elif kind == "active_loop":
            steps.append({"active_loop": ev.get("name")})
    return steps
