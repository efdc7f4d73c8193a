"""`formc shell --interactive FILE`: after each turn the user confirms or corrects the intent and
the bot's actions, as `rasa interactive`; a corrected action runs in the live conversation and
the bot goes on from it; the conversation as corrected is written to FILE as a training story."""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, Optional

from ..errors import did_you_mean
from ..model import DEFAULT_ACTIONS
from ..runtime.agent import TurnResult
from ..runtime.history import execute
from ..runtime.types import Ctx, TurnInput
from .record import IMPLICIT_ACTIONS, steps_from_events
from .stories_yaml import stories_document, story_block

# A bound on corrections within one turn (Rasa's own bound on actions after one message is 10).
MAX_CORRECTIONS = 10
CORRECTED = "corrected in formc shell --interactive, run as POST /execute runs it"


def _ask(shell: Any, read_line: Callable, question: str) -> str:
    shell.say(f"  ? {question}")
    answer = read_line("  > ")
    return (answer or "").strip()


def _action_events(result: Any) -> list[dict]:
    """The turn's actions a story lists (action_listen and the session start are implicit)."""
    return [ev for ev in result.events
            if ev.get("event") == "action" and ev.get("name") not in IMPLICIT_ACTIONS]


def action_names(domain: Any) -> set:
    """Every action the bot can run (what POST /execute accepts)."""
    return {*DEFAULT_ACTIONS, *(r.name for r in domain.responses), *(a.name for a in domain.actions),
            *(f.name for f in domain.forms), *getattr(domain, "e2e_actions", ())}


async def review_turn(shell: Any, before: Any, text: str, result: Any,
                      read_line: Callable) -> Any:
    """Confirm or correct one turn; returns the turn's result as it ended up running (re-run
    when the intent changed, re-run from the corrected action when an action changed)."""
    parse = next((ev.get("parse_data") for ev in result.events if ev.get("event") == "user"), None)
    if parse is not None:
        result, parse = await _review_intent(shell, before, text, result, parse, read_line)
    result = await _review_actions(shell, before, text, parse, result, read_line)
    shell.corrected.extend(steps_from_events(result.events, with_text=False))
    _save(shell)
    return result


async def _review_intent(shell: Any, before: Any, text: str, result: Any, parse: dict,
                         read_line: Callable) -> tuple:
    shown = (parse.get("intent") or {}).get("name")
    answer = _ask(shell, read_line, f"intent '{shown}' right? Enter = yes, or type the right intent")
    if not answer or answer == shown:
        return result, parse
    intents = shell.machine.domain.intent_names()
    if answer not in intents:
        hint = did_you_mean(answer, intents)
        shell.say(f"  '{answer}' is not an intent of the domain{'; ' + hint if hint else ''}; "
                  f"keeping '{shown}'")
        return result, parse
    forced = {"text": text, "intent": {"name": answer, "confidence": 1.0},
              "entities": parse.get("entities") or []}
    result, _parse, _ms = await _rerun(shell, before, text, forced)
    return result, forced


def _correction(answer: str, pending: int) -> tuple:
    """'NAME' (the first action shown is wrong) or 'N:NAME' (the N-th is; N = shown + 1 means
    the bot should have run NAME instead of listening) -> (offset into the shown actions, NAME)."""
    head, sep, tail = answer.partition(":")
    if sep and head.strip().isdigit() and 1 <= int(head) <= pending + 1:
        return int(head) - 1, tail.strip()
    return 0, answer


async def _review_actions(shell: Any, before: Any, text: str, parse: Optional[dict], result: Any,
                          read_line: Callable) -> Any:
    """Ask about the actions not yet confirmed; a correction re-runs the turn from it (the
    actions before it as they ran, the corrected one as POST /execute runs it, then the bot
    predicts on as after any action), and the actions that follow are asked about in turn."""
    known = action_names(shell.machine.domain)
    confirmed = 0                   # actions of this turn the user has seen and accepted
    for _ in range(MAX_CORRECTIONS):
        shown = [ev["name"] for ev in _action_events(result)[confirmed:]]
        what = f"{'actions' if confirmed == 0 else 'then'} {', '.join(shown)}, then" if shown \
            else ("then" if confirmed else "")
        answer = _ask(shell, read_line, f"{what} the bot listens: right? Enter = yes, or type "
                      "the action that should have come first (N:action for the N-th)".lstrip())
        if not answer:
            return result
        offset, name = _correction(answer, len(shown))
        if offset < len(shown) and name == shown[offset]:
            return result
        if name not in known:
            hint = did_you_mean(name, known)
            shell.say(f"  '{name}' is not an action of the domain{'; ' + hint if hint else ''}")
            continue
        kept = _action_events(result)[:confirmed + offset]
        result = await corrected_turn(shell, before, text, parse, kept, name)
        confirmed += offset + 1
        shell.say(f"  ran '{name}' instead; the bot goes on from it (the story in "
                  f"{shell.interactive} has the correction: compile the bot with it to teach it)")
        if name == "action_listen":
            return result               # the user chose to listen: nothing left to ask about
    return result


async def _drive(agent: Any, session: Any, steps: Any) -> Any:
    """Run an engine generator to its end, the action server answering its requests."""
    try:
        request = next(steps)
        while True:
            request = steps.send(await agent.run_action(session, request))
    except StopIteration as stop:
        return stop.value


async def corrected_turn(shell: Any, before: Any, text: str, parse: Optional[dict], kept: list,
                         name: str) -> TurnResult:
    """The turn again from the state before it: the user message logged (slots extracted), the
    `kept` action events' actions run as they were predicted, then `name` as POST /execute runs
    it (no policy, confidence 0, as rasa interactive sends a corrected action), then the bot
    predicts and runs actions until it listens. Shows what ran from `name` on."""
    agent, now = shell.agent, time.time()
    work = before.copy() if before is not None else agent.new_session(shell.sender_id)
    logged = await _drive(agent, work, agent.engine.turn(work, TurnInput(
        "log_only", parse or {"text": text, "intent": {"name": None}, "entities": []}, now,
        "rest", None, uuid.uuid4().hex)))
    whole = TurnResult(work, list(logged.messages), list(logged.events), list(logged.trace),
                       list(logged.transitions))
    for ev in kept:
        _add(whole, (await execute(agent, whole.session, shell.sender_id, ev["name"],
                                   ev.get("policy"), ev.get("confidence")))[1], "as predicted")
    mark = (len(whole.messages), len(whole.events), len(whole.trace))
    _add(whole, (await execute(agent, whole.session, shell.sender_id, name, None, 0.0))[1],
         CORRECTED)
    if whole.session.latest_action != "action_listen":
        _add(whole, await _predict_on(agent, whole.session), None)
    shell.show(TurnResult(whole.session, whole.messages[mark[0]:], whole.events[mark[1]:],
                          whole.trace[mark[2]:]), None, 0.0)
    return whole


async def _predict_on(agent: Any, session: Any) -> TurnResult:
    """The engine's prediction loop from the session as it is (what follows any action)."""
    work = session.copy()
    ctx = Ctx(time.time(), agent.engine.event_stamp)
    await _drive(agent, work, agent.engine.predict_loop(work, ctx))
    out = ctx.out
    return TurnResult(work, out.messages, out.events, out.trace, out.transitions)


def _add(whole: TurnResult, part: TurnResult, why: Optional[str]) -> None:
    """Append `part` to `whole`; an executed action gets its trace step (execute records none)."""
    whole.session = part.session
    whole.messages += part.messages
    whole.events += part.events
    if why is not None:
        whole.trace += [{"action": ev["name"], "why": why, "policy": ev.get("policy"),
                         "rejected": False, "predict_ms": 0.0, "run_ms": 0.0}
                        for ev in part.events if ev.get("event") in ("action",
                                                                     "action_execution_rejected")]
    whole.trace += part.trace
    whole.transitions += part.transitions


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
