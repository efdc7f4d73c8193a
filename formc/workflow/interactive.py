"""`formc shell --interactive FILE`: after each turn the user confirms or corrects the intent and
the bot's next action, as `rasa interactive`; the conversation with its corrections is written to
FILE as a training story (intents and entities, actions, slots, loops) to add to data/."""

from __future__ import annotations

from typing import Any, Callable, Optional

from .record import steps_from_events
from .stories_yaml import stories_document, story_block


def _ask(shell: Any, read_line: Callable, question: str) -> str:
    shell.say(f"  ? {question}")
    answer = read_line("  > ")
    return (answer or "").strip()


def _turn_actions(result: Any) -> list[str]:
    return [s["action"] for s in steps_from_events(result.events) if "action" in s]


async def review_turn(shell: Any, before: Any, text: str, result: Any,
                      read_line: Callable) -> Any:
    """Confirm or correct one turn; returns the turn's result (re-run when the intent changed)."""
    domain = shell.machine.domain
    intents = set(domain.intent_names())
    parse = next((ev.get("parse_data") for ev in result.events if ev.get("event") == "user"), None)
    if parse is not None:
        shown = (parse.get("intent") or {}).get("name")
        answer = _ask(shell, read_line, f"intent '{shown}' right? Enter = yes, or type the right "
                      "intent")
        if answer and answer != shown:
            if answer not in intents:
                shell.say(f"  '{answer}' is not an intent of the domain; keeping '{shown}'")
            else:
                forced = {"text": text, "intent": {"name": answer, "confidence": 1.0},
                          "entities": parse.get("entities") or []}
                result, _parse, _ms = await _rerun(shell, before, text, forced)
    actions = _turn_actions(result)
    steps = steps_from_events(result.events, with_text=False)
    answer = _ask(shell, read_line, f"actions {', '.join(actions) or '(none)'} right? Enter = yes, "
                  "or type the action that should have come first")
    if answer and (not actions or answer != actions[0]):
        user_at = next((i for i, s in enumerate(steps) if "intent" in s or "user" in s), -1)
        steps = steps[:user_at + 1] + [{"action": answer}]
        shell.say(f"  noted: after this message the bot should run '{answer}'; the story in "
                  f"{shell.interactive} says so (compile the bot with it to teach it)")
    shell.corrected.extend(steps)
    _save(shell)
    return result


async def _rerun(shell: Any, before: Any, text: str, parse: dict):
    """The same message again from the state before it, with the corrected parse."""
    shell.session = before
    result, parse, t_nlu = await shell.turn(text, parse)
    shell.show(result, parse, t_nlu)
    return result, parse, t_nlu


def _save(shell: Any, title: Optional[str] = None) -> None:
    block = story_block(title or f"interactive story ({shell.machine.name})", shell.corrected)
    with open(shell.interactive, "w", encoding="utf-8") as handle:
        handle.write(stories_document([block]))
