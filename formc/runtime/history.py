"""A conversation's whole event log -> sessions: the full history, a tracker travelled back to a
time (`until`), a tracker replaced by posted events, and one action executed on request."""

from __future__ import annotations

import time
from typing import Any, Optional

from . import events as E
from .session import Session
from .tracker import UNSTAMPED
from .types import Ctx, Prediction


def with_full_history(session: Session, log: list) -> Session:
    """A copy of `session` whose history is the store's whole event log (GET tracker shows every
    event, as Rasa does; the session itself keeps only its bounded hot window)."""
    if not log or len(log) <= len(session.history):
        return session
    full = session.copy()
    full.history = [E.encode(ev) for ev in log]
    full.history_limit = max(full.history_limit, len(log))
    full.logged = max(session.logged, len(log))
    return full


def replayed(agent: Any, sender_id: str, log: list, until: Optional[float] = None) -> Session:
    """A fresh session with `log` applied as given (no session start added, nothing predicted);
    with `until`, only the events up to that time, as Rasa's travel_back_in_time (it stops at
    the first later event)."""
    work = agent.new_session(sender_id)
    work.history_limit = max(work.history_limit, len(log))
    ctx = Ctx(time.time())
    for ev in log:
        stamp = ev.get("timestamp")
        if until is not None and isinstance(stamp, (int, float)) and stamp > until:
            break
        agent.engine.apply(work, dict(ev), ctx)
    work.started = bool(work.history) or work.started
    if not any(ev.get("event") == "action" for ev in log[:len(work.history)]):
        work.followups = ["action_listen"]   # Rasa's fresh tracker; any action clears it
    return work


def replaced(agent: Any, sender_id: str, posted: list, now: Optional[float] = None) -> Session:
    """PUT /conversations/{id}/tracker/events: the tracker rebuilt from the posted events alone
    (Rasa's DialogueStateTracker.from_dict); events without a timestamp get `now`."""
    stamp = time.time() if now is None else now
    # UNSTAMPED: Rasa stores posted events as given, without the assistant/model metadata
    # its processor adds to the events it logs (tracker.py leaves such events unstamped)
    return replayed(agent, sender_id, [_as_rasa_stores(dict({"timestamp": stamp}, **ev, **{UNSTAMPED: True}))
                                       for ev in posted])


def _as_rasa_stores(ev: dict) -> dict:
    """The fields Rasa's Event.as_dict adds to a posted action or user event."""
    if ev.get("event") == "action":
        for key, default in (("policy", None), ("confidence", None), ("action_text", None),
                             ("hide_rule_turn", False)):
            ev.setdefault(key, default)
    elif ev.get("event") == "user":
        for key, default in (("input_channel", None), ("message_id", None), ("metadata", {})):
            ev.setdefault(key, default)
        parse = dict(ev.get("parse_data") or {})
        parse.setdefault("text", ev.get("text"))
        parse.setdefault("message_id", ev.get("message_id"))
        parse.setdefault("metadata", {})
        ev["parse_data"] = parse
    return ev


async def execute(agent: Any, session: Optional[Session], sender_id: str, name: str,
                  policy: Optional[str], confidence: Optional[float],
                  now: Optional[float] = None) -> tuple:
    """POST /conversations/{id}/execute: run one action as if `policy` had predicted it (no
    prediction after it), after a session start when the conversation needs one. -> (the
    session before the action -- Rasa answers with that tracker --, TurnResult)."""
    from .agent import TurnResult
    engine = agent.engine
    work = agent._work_copy(session, sender_id)
    ctx = Ctx(time.time() if now is None else now)
    gen = _execute_steps(engine, work, ctx, Prediction(name, policy, confidence, why="executed on request"))
    before = None
    try:
        req = next(gen)
        while True:
            if req is None:                       # the marker: the session start is done
                before = work.copy()
                req = next(gen)
                continue
            reply = await agent.run_action(work, req)
            req = gen.send(reply)
    except StopIteration:
        pass
    out = ctx.out
    return before, TurnResult(work, out.messages, out.events, out.trace, out.transitions)


def _execute_steps(engine: Any, s: Session, ctx: Ctx, pred: Prediction):
    if not s.started or engine.expired(s, ctx.now):
        yield from engine.builtins.start_session(s, ctx, None)
    yield None
    mark = len(s.history)
    yield from engine.builtins.run(s, pred, ctx)
    _drop_featurization(s, ctx, mark)


def _drop_featurization(s: Session, ctx: Ctx, mark: int) -> None:
    """Rasa's execute runs the action without a policy prediction, so no user_featurization
    event is logged before it (the engine adds one to every action predicted after a listen)."""
    for i in range(mark, len(s.history)):
        if E.decode(s.history[i]).get("event") == "user_featurization":
            del s.history[i]
            s.logged -= 1
            ctx.out.events = [ev for ev in ctx.out.events if ev.get("event") != "user_featurization"]
            return
