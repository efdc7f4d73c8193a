"""Conversation turns for the server: (sender, input) -> locked load, agent turn, one store write.

The one place where the HTTP layer meets the agent and the store. Each turn runs under the
store's per-conversation lock, loads the bounded session, lets the agent run, and writes the
new session (without its event history) once, appending the turn's new events and its trace
to the store's logs; if the agent raises, nothing is written. Turns are
shielded from client disconnects (a half-run turn would be worse than an unread reply) and
tracked so a graceful shutdown can wait for them.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Awaitable, Callable, Optional

from ..stores import ConversationStore

log = logging.getLogger("formc.turns")


class Bot:
    """The machine being served and its agent; replaced as a whole by PUT /model."""

    def __init__(self, machine: Any, path: str, endpoints_path: Optional[str] = None) -> None:
        from ..runtime.agent import Agent
        self.machine = machine
        self.path = path
        self.endpoints_path = endpoints_path
        self.agent = Agent(machine, action_client=_action_client(machine, endpoints_path))
        machine.nlu.parse("warm up")   # build the NLU now: fail at load time, not on a message
        self.loaded_at = time.time()


def _action_client(machine: Any, endpoints_path: Optional[str]) -> Any:
    """None lets the agent build its client from the machine's compiled endpoints."""
    if not endpoints_path:
        return None
    from ..errors import FormcError, Reporter
    from ..reader.config import read_endpoints
    from ..runtime.action_client import ActionClient
    from ..yaml_loader import load_yaml_file
    doc, diagnostics = load_yaml_file(endpoints_path)
    rep = Reporter()
    endpoints = read_endpoints(doc, endpoints_path, rep)
    errors = [d for d in list(diagnostics) + list(getattr(rep, "diagnostics", ())) if d.is_error]
    if errors:
        raise FormcError(errors)
    if endpoints.action_endpoint is None:
        return None
    return ActionClient(endpoints.action_endpoint)


def next_fire(session: Any) -> Optional[float]:
    """The earliest fire time among the session's pending reminders (None: nothing pending)."""
    times = [r["fire_at"] for r in _reminders(session)]
    return min(times) if times else None


def _reminders(session: Any) -> list:
    reminders = getattr(session, "reminders", None) or ()
    return list(reminders.values()) if isinstance(reminders, dict) else list(reminders)


def summarize(events: list) -> tuple[Optional[str], list[str]]:
    """(intent of the turn's user event, action names run) for the per-turn log line."""
    intent, actions = None, []
    for e in events or ():
        kind = e.get("event")
        if kind == "user" and intent is None:
            intent = ((e.get("parse_data") or {}).get("intent") or {}).get("name")
        elif kind == "action" and e.get("name") != "action_listen":
            actions.append(e.get("name"))
    return intent, actions


class Conversations:
    """Runs turns of all conversations against one store; `bot` may be swapped at any time."""

    def __init__(self, store: ConversationStore, bot: Bot, debug: bool = False) -> None:
        self.store = store
        self.bot = bot
        self.debug = debug
        self._in_flight: set[asyncio.Task] = set()
        self.on_push: Optional[Callable[[str, Any, list], Awaitable[Any]]] = None   # server.channels

    # ---------------------------------------------------------------- turn plumbing

    def _session(self, bot: Bot, sender_id: str, record: Optional[dict],
                 logs: Optional[dict]) -> Any:
        """The stored session, its event history taken from the `events` log."""
        from ..runtime.agent import Session
        if not record:
            return None
        data = record["session"]
        if "history" not in data:   # records written before the history moved to the log
            data = dict(data, history=(logs or {}).get("events", []))
        try:
            return Session.from_json(data, bot.machine)
        except Exception:   # e.g. a session of another model after PUT /model: start afresh
            log.warning(json.dumps({"sender": sender_id, "warning": "stored session could not be "
                                    "loaded for this model; starting a new session"}))
            return None

    async def run(self, sender_id: str, kind: str, step: Callable[[Bot, Any], Awaitable[Any]],
                  write: bool = True) -> Any:
        """Run one turn to completion even if the client goes away; returns the TurnResult."""
        task = asyncio.ensure_future(self._turn(sender_id, kind, step, write))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return await asyncio.shield(task)

    async def _turn(self, sender_id: str, kind: str, step, write: bool) -> Any:
        bot = self.bot
        t0 = time.perf_counter()
        async with self.store.conversation(sender_id) as conv:
            t1 = time.perf_counter()
            live = conv.live
            if live is not None and live.digest == bot.machine.digest:
                # This process wrote the stored record last: reuse its session object (the
                # agent never mutates the session it is given) instead of decoding the JSON.
                session = live
            elif live is not None:   # the model was swapped since: check the session against it
                session = self._session(bot, sender_id, {"session": live.to_json()}, None)
            else:
                session = self._session(bot, sender_id, conv.record, conv.logs)
            result = await step(bot, session)
            t2 = time.perf_counter()
            if write and result.session is not None:
                after = result.session
                # Only the events this turn logged are appended (all of them for a session
                # that was not loaded, e.g. a new conversation, or whose record still held its
                # history: written before the history moved to the log).
                new = after.logged - (session.logged if session is not None else 0)
                if conv.logs is not None and "history" in (conv.record or {}).get("session", {}):
                    new = len(after.history)
                events = after.history[len(after.history) - min(new, len(after.history)):]
                trace = {"kind": kind, "at": time.time(), "trace": result.trace,
                         "ms": {"lock_and_load": round((t1 - t0) * 1000, 3),
                                "agent": round((t2 - t1) * 1000, 3)}}
                record = {"session": after.to_json(raw_states=True, history=False),
                          "model": bot.machine.digest}
                conv.write(record, next_fire(after), live=after,
                           append={"events": events, "trace": [trace]})
        t3 = time.perf_counter()
        intent, actions = summarize(result.events)
        line = {"sender": sender_id, "kind": kind, "intent": intent, "actions": actions,
                "ms": round((t3 - t0) * 1000, 2)}
        if self.debug:
            line["stages_ms"] = {"lock_and_load": round((t1 - t0) * 1000, 3),
                                 "agent": round((t2 - t1) * 1000, 3),
                                 "save": round((t3 - t2) * 1000, 3)}
        if log.isEnabledFor(logging.INFO):
            log.info(json.dumps(line, ensure_ascii=False))
        return result

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for turns still running (graceful shutdown)."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=timeout)

    # ---------------------------------------------------------------- reads

    async def load_session(self, sender_id: str) -> tuple[Bot, Any]:
        bot = self.bot
        record = await self.store.load(sender_id)
        logs = await self.store.logs(sender_id) if record else None
        session = self._session(bot, sender_id, record, logs)
        return bot, (session if session is not None else bot.agent.new_session(sender_id))

    async def traces(self, sender_id: str) -> Optional[list]:
        if await self.store.load(sender_id) is None:
            return None
        return (await self.store.logs(sender_id)).get("trace", [])

    # ---------------------------------------------------------------- reminders

    async def fire_due(self, now: Optional[float] = None) -> int:
        """Fire every reminder due by `now` through the agent; returns how many fired."""
        now = time.time() if now is None else now
        fired = 0
        for sender_id in await self.store.due(now):
            try:
                fired += await self._fire_sender(sender_id, now)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad conversation must not stop the rest
                if _store_outage(exc):
                    raise         # the store is down: every conversation fails; retry next tick
                log.error(json.dumps({"sender": sender_id, "error": "reminder could not fire; "
                                      "its reminders are dropped", "exception":
                                      f"{type(exc).__name__}: {exc}"[:500]}, ensure_ascii=False))
                try:
                    await self.store.clear_fire(sender_id)
                except Exception:  # noqa: BLE001 - logged above; retried next tick
                    pass
        return fired

    async def _fire_sender(self, sender_id: str, now: float) -> int:
        count = [0]

        async def step(bot: Bot, session: Any):
            if session is None:
                return None
            result = None
            # Another worker may have fired them already: re-check on the locked session.
            for reminder in sorted(_reminders(session), key=lambda r: r["fire_at"]):
                if reminder["fire_at"] > now:
                    continue
                result = await bot.agent.fire_reminder(session, sender_id, reminder["name"], now=now)
                session = result.session
                count[0] += 1
            return result

        result = await self.run(sender_id, "reminder", _or_noop(step), write=True)
        if result is None or result.session is None:
            await self.store.clear_fire(sender_id)
        elif result.messages and self.on_push is not None:   # socketio / callback users hear it
            await self.on_push(sender_id, result.session, result.messages)
        return count[0]


def _store_outage(exc: Exception) -> bool:
    from .middleware import store_down
    return store_down(exc)


class _Noop:
    """Stand-in result for a reminder pass that found nothing to do (writes nothing)."""
    session = None
    events: list = []
    trace: Any = None
    messages: list = []


def _or_noop(step):
    async def wrapped(bot, session):
        result = await step(bot, session)
        return result if result is not None else _Noop()
    return wrapped
