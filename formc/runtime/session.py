"""The conversation state: the only mutable runtime object, bounded in size, JSON-serialisable.

It holds what Rasa's tracker would derive from its whole event log, but kept incrementally:
slots, the active loop and its flags, the latest message/action, the last `window` dialogue
states (+ whether they reach the session start), a rewind stack, the loop-collapse anchor
(§8.3), the last 3 user intents for the two-stage fallback, pending reminders and a capped
event history for the tracker API. Turn 10,000 carries exactly as much as turn 1.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field, fields, replace
from typing import Any, Optional

from ..dialogue.state import DState
from . import events

log = logging.getLogger("formc.runtime")

SCHEMA = 1
REWIND = None                 # marker in fallback_intents: a rewind occupies a position

# Fields restored by a rewind (the "applied" conversation); history/reminders are not.
CORE_FIELDS = (
    "slots", "active_loop", "loop_rejected", "loop_interrupted", "loop_trigger", "latest_message",
    "latest_action", "last_rejected", "paused", "window", "window_complete", "user_sub",
    "anchor", "turn_slot_events", "session_slots", "reprompts",
    # Rasa times a session from the latest *applied* user message: a reverted one, or one
    # before a restart, does not count
    "last_user_time",
)


@dataclass
class LoopAnchor:
    """The last happy-path run of a loop (§8.3): the dialogue window and user sub-state it saw,
    the rewind-stack depth then, and whether a later run of the same loop may still collapse
    the user turns since (`valid`; `user_pending`: a user message came after it). The engine
    updates `valid`/`user_pending` in place; sessions and snapshots hold their own copies."""
    loop: str
    window: list
    complete: bool
    user_sub: Optional[tuple]
    depth: int
    valid: bool = True
    user_pending: bool = False

    def copy(self) -> "LoopAnchor":
        return replace(self)

    def to_json(self, win) -> dict:
        """The stored form: the dict sessions were written with before this class existed."""
        return {"loop": self.loop, "window": win(self.window), "complete": self.complete,
                "user_sub": _user_to_json(self.user_sub), "depth": self.depth,
                "valid": self.valid, "user_pending": self.user_pending}

    @classmethod
    def from_json(cls, data: dict, win) -> "LoopAnchor":
        return cls(loop=data["loop"], window=win(data["window"]), complete=data["complete"],
                   user_sub=_user_from_json(data["user_sub"]), depth=data["depth"],
                   valid=data["valid"], user_pending=data.get("user_pending", False))


@dataclass
class Session:
    sender_id: str
    digest: str = ""
    started: bool = False
    slots: dict = field(default_factory=dict)
    active_loop: Optional[str] = None
    loop_rejected: bool = False
    loop_interrupted: bool = False
    loop_trigger: Optional[dict] = None
    latest_message: Optional[dict] = None
    latest_input_channel: Optional[str] = None
    latest_action: Optional[str] = None
    last_rejected: Optional[str] = None
    followups: list = field(default_factory=list)
    # name of the latest `followup` event not yet followed by an action: Rasa's tracker replay
    # (after a rewind / undo) re-applies such an event, which re-arms the follow-up action
    followup_event: Optional[str] = None
    paused: bool = False
    window: list = field(default_factory=list)          # DState before each applied action
    window_complete: bool = True                        # window reaches the session start
    user_sub: Optional[tuple] = None                    # (intent, entity labels) of applied view
    anchor: Optional[LoopAnchor] = None                 # last happy-path loop run (§8.3)
    snapshots: list = field(default_factory=list)       # rewind stack (core fields)
    pending_snapshot: Optional[dict] = None             # state before the latest action
    fallback_intents: list = field(default_factory=list)
    turn_slot_events: list = field(default_factory=list)  # slot events since the user message
    session_slots: dict = field(default_factory=dict)   # slots set this session (carry-over)
    reprompts: dict = field(default_factory=dict)       # formc re-prompt counters per slot
    last_user_time: Optional[float] = None
    latest_event_time: Optional[float] = None
    reminders: list = field(default_factory=list)
    history: list = field(default_factory=list)         # capped event log (encoded events)
    history_limit: int = 200
    logged: int = 0                                     # events ever logged (stores append the new)
    turns: int = 0
    # actions logged since the last action_listen / action_session_start, over the raw event
    # log (rewinds don't lower it): Rasa's circuit breaker counts these, so a turn it cut short
    # leaves the conversation unable to act until a listen is logged (edge4/04-06)
    actions_since_listen: int = 0
    # events of the prediction whose action runs now (policy events, user_featurization): not yet
    # logged, but Rasa runs the action on a tracker that has them. Transient: never stored.
    prediction_events: list = field(default_factory=list)

    # ----------------------------------------------------------------------------- copies
    def copy(self) -> "Session":
        """A copy safe to mutate (events are never mutated in place, so lists are shallow)."""
        new = copy.copy(self)
        for name in ("followups", "window", "snapshots", "fallback_intents", "turn_slot_events",
                     "history", "reminders"):
            setattr(new, name, list(getattr(self, name)))
        new.slots = dict(self.slots)
        new.session_slots = dict(self.session_slots)
        new.reprompts = dict(self.reprompts)
        new.anchor = _shallow(self.anchor)
        return new

    def snapshot(self) -> dict:
        """Core fields, copied one level deep: values inside (DStates, slot values, messages)
        are never mutated in place by the runtime, only replaced."""
        return {name: _shallow(getattr(self, name)) for name in CORE_FIELDS}

    def restore(self, snap: dict) -> None:
        for name in CORE_FIELDS:
            setattr(self, name, _shallow(snap[name]))

    def log_event(self, event: dict) -> None:
        if event.get("event") == "action":
            listened = event.get("name") in ("action_listen", "action_session_start")
            self.actions_since_listen = 0 if listened else self.actions_since_listen + 1
        self.history.append(events.encode(event))
        self.logged += 1
        if len(self.history) > self.history_limit:
            del self.history[: len(self.history) - self.history_limit]
        self.latest_event_time = event.get("timestamp", self.latest_event_time)

    def events(self) -> list[dict]:
        """The kept event history, decoded (fresh dicts the caller may change)."""
        return [events.decode(e) for e in self.history]

    # ---------------------------------------------------------------------- serialisation
    def to_json(self, raw_states: bool = False, history: bool = True) -> dict:
        """The session as JSON-ready data. raw_states=True leaves the DStates (NamedTuples of
        tuples) in place for an encoder that writes tuples as arrays -- the same JSON text,
        without building ~100 small lists per turn (the server's store encoder does this).
        history=False leaves the event history out (stores keep it as an append-only log).

        Each distinct dialogue state is written once, in "states"; windows hold indices into it
        (the window, the loop anchor and up to 5 rewind snapshots repeat the same states: this
        halves the record a server writes per turn, 18.7 -> 9.6 kB measured)."""
        table = _StateTable(_raw if raw_states else _state_json)
        win = table.window
        out: dict[str, Any] = {"schema": SCHEMA}
        for f in fields(self):
            if f.name == "prediction_events":
                continue
            value = getattr(self, f.name)
            if f.name == "history":
                if not history:
                    continue
                value = self.events()
            elif f.name == "window":
                value = win(value)
            elif f.name == "anchor" and value:
                value = value.to_json(win)
            elif f.name == "user_sub":
                value = _user_to_json(value)
            elif f.name == "snapshots":
                value = [_snap_to_json(s, win) for s in value]
            elif f.name == "pending_snapshot" and value:
                value = _snap_to_json(value, win)
            out[f.name] = value
        out["states"] = table.states()
        return out

    @classmethod
    def from_json(cls, data: dict, machine: Any = None) -> "Session":
        """Rebuild a session; if it was made by another build of the bot (digest differs), keep
        it when every name it uses still exists, otherwise restart it cleanly (logged)."""
        session = cls._decode(data)
        if machine is None or session.digest == getattr(machine, "digest", session.digest):
            return session
        problem = incompatibility(session, machine)
        if problem is None:
            log.info("conversation %s: bot changed (%s -> %s); continuing, all slot/state names "
                     "still exist", session.sender_id, session.digest[:12], machine.digest[:12])
            session.digest = machine.digest
            window = machine.dialogue.window
            if len(session.window) > window:
                session.window = session.window[-window:]
                session.window_complete = False
            return session
        log.warning("conversation %s: bot changed (%s -> %s) and %s; restarting the "
                    "conversation", session.sender_id, session.digest[:12], machine.digest[:12], problem)
        fresh = cls(sender_id=session.sender_id, digest=machine.digest,
                    history_limit=session.history_limit)
        fresh.history, fresh.logged = list(session.history), session.logged
        return fresh

    @classmethod
    def _decode(cls, data: dict) -> "Session":
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ValueError("not a formc session (unknown schema)")
        kwargs = {}
        names = {f.name for f in fields(cls)}
        table = [DState.from_json(s) for s in data.get("states", ())]

        def win(window: list) -> list:   # indices into "states", or states written in place
            return [table[s] if isinstance(s, int) else DState.from_json(s) for s in window]
        for key, value in data.items():
            if key not in names:
                continue
            if key == "window":
                value = win(value)
            elif key == "anchor" and value:
                value = LoopAnchor.from_json(value, win)
            elif key == "user_sub":
                value = _user_from_json(value)
            elif key == "snapshots":
                value = [_snap_from_json(s, win) for s in value]
            elif key == "pending_snapshot" and value:
                value = _snap_from_json(value, win)
            elif key == "history":
                value = [events.encode(e) for e in value]
            kwargs[key] = value
        kwargs.setdefault("logged", len(kwargs.get("history", ())))   # sessions from before
        return cls(**kwargs)


def _shallow(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, LoopAnchor):
        return value.copy()
    return value


def _user_to_json(user: Optional[tuple]):
    return None if user is None else [user[0], list(user[1])]


def _user_from_json(data) -> Optional[tuple]:
    return None if data is None else (data[0], tuple(data[1]))


def _state_json(state: DState) -> list:
    return state.to_json()


def _raw(state: DState) -> DState:
    return state


class _StateTable:
    """Numbers the distinct DStates of one session as they are written."""

    def __init__(self, state_json) -> None:
        self._index: dict = {}
        self._json = state_json

    def window(self, window: list) -> list:
        out = []
        for state in window:
            try:
                out.append(self._index.setdefault(state, len(self._index)))
            except TypeError:   # a state holding an unhashable slot value: written in place
                out.append(self._json(state))
        return out

    def states(self) -> list:
        return [self._json(s) for s in self._index]


def _snap_to_json(snap: dict, win) -> dict:
    out = dict(snap)
    out["window"] = win(snap["window"])
    out["user_sub"] = _user_to_json(snap["user_sub"])
    if snap.get("anchor"):
        out["anchor"] = snap["anchor"].to_json(win)
    return out


def _snap_from_json(data: dict, win) -> dict:
    out = dict(data)
    out["window"] = win(data["window"])
    out["user_sub"] = _user_from_json(data["user_sub"])
    if data.get("anchor"):
        out["anchor"] = LoopAnchor.from_json(data["anchor"], win)
    return out


def incompatibility(session: Session, machine: Any) -> Optional[str]:
    """Why a stored session cannot continue on `machine`, or None if it can."""
    domain = machine.domain
    slot_names = {s.name for s in domain.slots}
    missing = sorted(set(session.slots) - slot_names)
    if missing:
        return f"slot(s) {', '.join(missing)} no longer exist"
    if session.active_loop and not (domain.form(session.active_loop)
                                    or session.active_loop in machine.dialogue.loops):
        return f"active form '{session.active_loop}' no longer exists"
    requested = session.slots.get("requested_slot")
    if session.active_loop and requested and domain.form(session.active_loop) \
            and requested not in domain.form(session.active_loop).required_slots:
        return f"form '{session.active_loop}' no longer asks for '{requested}'"
    return None
