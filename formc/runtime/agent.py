"""The I/O edge of the dialogue runtime: drives Engine turns, calls the action server, parses text.

Agent.handle_message / trigger_intent / fire_reminder take a Session (or None for a new
conversation) and return a TurnResult with the *new* session; the input session is never
mutated, so a failure mid-turn cannot corrupt a stored conversation.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Optional

from .. import model
from ..model import RASA_VERSION
from .engine import Engine
from .types import ActionReply, ActionRequest, Ctx, TurnInput
from .session import Session
from .tracker import domain_dict, tracker_state

log = logging.getLogger("formc.runtime")


@dataclass
class TurnResult:
    session: Session
    messages: list = field(default_factory=list)     # bot message dicts (text, buttons, ..., metadata)
    events: list = field(default_factory=list)       # Rasa event JSON logged this turn
    trace: list = field(default_factory=list)        # per step: action, why, timings
    transitions: list = field(default_factory=list)  # machine transition ids taken (coverage)


class Agent:
    def __init__(self, machine: Any, action_client: Any = None, seed: Optional[int] = None,
                 history_limit: int = 200) -> None:
        self.machine = machine
        self.rng = random.Random(seed)
        self.engine = Engine(machine, self.rng, clock=time.perf_counter)
        self.history_limit = history_limit
        endpoint = getattr(getattr(machine, "endpoints", None), "action_endpoint", None)
        if action_client is None and endpoint is not None:
            from .action_client import ActionClient
            action_client = ActionClient(endpoint)
        self.action_client = action_client
        self._domain_dict: Optional[dict] = None

    # --------------------------------------------------------------------------- sessions
    def new_session(self, sender_id: str) -> Session:
        return self.engine.new_session(sender_id, self.history_limit)

    def load_session(self, data: dict) -> Session:
        return Session.from_json(data, self.machine)

    def _work_copy(self, session: Optional[Session], sender_id: str) -> Session:
        if session is None:
            return self.new_session(sender_id)
        return session.copy()

    # ------------------------------------------------------------------------ actions I/O
    def domain_json(self) -> dict:
        if self._domain_dict is None:
            self._domain_dict = domain_dict(self.machine.domain)
        return self._domain_dict

    def _payload(self, session: Session, req: ActionRequest, with_domain: bool) -> dict:
        payload = {"next_action": req.name, "sender_id": session.sender_id, "tracker": req.tracker,
                   "version": RASA_VERSION}
        if with_domain:
            payload["domain"] = self.domain_json()
        return payload

    def _needs_domain(self, name: str) -> bool:
        endpoint = getattr(self.machine.endpoints, "action_endpoint", None)
        if endpoint is None or not endpoint.enable_selective_domain:
            return True
        action = next((a for a in self.machine.domain.actions if a.name == name), None)
        return name.startswith("validate_") or bool(action and action.send_domain)

    async def run_action(self, session: Session, req: ActionRequest) -> ActionReply:
        if self.action_client is None:
            return ActionReply(error="no action endpoint configured (endpoints.yml action_endpoint)")
        from .action_client import ActionDomainRequired, ActionFailed, ActionRejected
        try:
            try:
                body = await self.action_client.run(self._payload(session, req, self._needs_domain(req.name)))
            except ActionDomainRequired:
                body = await self.action_client.run(self._payload(session, req, True))
        except ActionRejected:
            return ActionReply(rejected=True)
        except ActionFailed as exc:
            return ActionReply(error=exc.message)
        except Exception as exc:  # noqa: BLE001 - any failure of the edge leaves the turn intact
            return ActionReply(error=f"{type(exc).__name__}: {exc}")
        return ActionReply(events=list(body.get("events") or []), responses=list(body.get("responses") or []))

    async def _drive(self, session: Session, inp: TurnInput) -> TurnResult:
        gen = self.engine.turn(session, inp)
        try:
            req = next(gen)
            while True:
                started = time.perf_counter()
                reply = await self.run_action(session, req)
                log.debug("action %s took %.1f ms", req.name, (time.perf_counter() - started) * 1e3)
                req = gen.send(reply)
        except StopIteration as stop:
            out = stop.value
        return TurnResult(session, out.messages, out.events, out.trace, out.transitions)

    def _drive_sync(self, session: Session, inp: TurnInput) -> TurnResult:
        """Drive a turn without I/O: custom actions are reported as failed (logged)."""
        gen = self.engine.turn(session, inp)
        try:
            req = next(gen)
            while True:
                log.warning("action %s not run (no action server in this call)", req.name)
                req = gen.send(ActionReply(error="action server not available in this call"))
        except StopIteration as stop:
            out = stop.value
        return TurnResult(session, out.messages, out.events, out.trace, out.transitions)

    # ------------------------------------------------------------------------- entry points
    def _message_id(self) -> str:
        return "%032x" % self.rng.getrandbits(128)

    def _parse(self, text: str, parse_data: Optional[dict]) -> Optional[dict]:
        if parse_data is not None:
            parse = dict(parse_data)
            parse.setdefault("text", text)
            parse.setdefault("entities", [])
            parse.setdefault("intent", {"name": None})
            return parse
        if not (text or "").strip() and self.machine.nlu.drops_empty_text:
            return None                  # as Rasa: NLU fails on it, no events, no reply
        return self.machine.nlu.parse(text)

    async def handle_message(self, session: Optional[Session], sender_id: str, text: str,
                             metadata: Optional[dict] = None, input_channel: str = "rest",
                             now: Optional[float] = None, parse_data: Optional[dict] = None) -> TurnResult:
        work = self._work_copy(session, sender_id)
        parse = self._parse(text, parse_data)
        if parse is None:
            return TurnResult(work)
        message_id = parse.get("message_id") or self._message_id()
        parse.setdefault("message_id", message_id)
        inp = TurnInput("message", parse, time.time() if now is None else now, input_channel,
                        metadata, message_id)
        return await self._drive(work, inp)

    def _external_parse(self, intent: str, entities: Any) -> dict:
        if isinstance(entities, dict):
            entities = [{"entity": k, "value": v} for k, v in entities.items()]
        return {"intent": {"name": intent}, "entities": list(entities or []),
                "text": f"EXTERNAL: {intent}"}

    async def trigger_intent(self, session: Optional[Session], sender_id: str, intent: str,
                             entities: Any = None, now: Optional[float] = None) -> TurnResult:
        work = self._work_copy(session, sender_id)
        parse = self._external_parse(intent, entities)
        inp = TurnInput("external", parse, time.time() if now is None else now,
                        None, None, self._message_id())
        return await self._drive(work, inp)

    async def fire_reminder(self, session: Optional[Session], sender_id: str, reminder_name: str,
                            now: Optional[float] = None) -> TurnResult:
        """Fire a pending reminder (§11.2); a reminder no longer pending does nothing."""
        work = self._work_copy(session, sender_id)
        reminder = next((r for r in work.reminders if r["name"] == reminder_name), None)
        if reminder is None:
            return TurnResult(work)
        work.reminders = [r for r in work.reminders if r["name"] != reminder_name]
        parse = self._external_parse(reminder["intent"], reminder.get("entities"))
        inp = TurnInput("reminder", parse, time.time() if now is None else now,
                        None, None, self._message_id())
        return await self._drive(work, inp)

    def add_user_message_only(self, session: Optional[Session], sender_id: str, text: str,
                              parse_data: Optional[dict] = None, metadata: Optional[dict] = None,
                              input_channel: Optional[str] = None, now: Optional[float] = None) -> TurnResult:
        """POST /conversations/{id}/messages: log the user message + slot extraction, no actions."""
        work = self._work_copy(session, sender_id)
        parse = self._parse(text, parse_data)
        if parse is None:
            parse = {"text": text, "intent": {"name": None}, "entities": []}
        message_id = parse.get("message_id") or self._message_id()
        inp = TurnInput("log_only", parse, time.time() if now is None else now, input_channel,
                        metadata, message_id)
        return self._drive_sync(work, inp)

    def _start_session_offline(self, work: Session, ctx: Ctx) -> None:
        """The session start outside a turn: the built-in one (a custom action_session_start
        would need the action server, so such a start stops at its request)."""
        for _ in self.engine.builtins.start_session(work, ctx, None):
            break

    def append_events(self, session: Optional[Session], sender_id: str, events: list,
                      now: Optional[float] = None) -> TurnResult:
        """POST /conversations/{id}/tracker/events: log `events` as given (no prediction, no side
        effects). A conversation not started yet gets its session start first, unless the
        events begin with one (§9.6); events without a timestamp get `now`."""
        work = self._work_copy(session, sender_id)
        ctx = Ctx(time.time() if now is None else now)
        opens = [(e.get("event"), e.get("name")) for e in events[:2]] == [
            ("action", "action_session_start"), ("session_started", None)]
        if not work.started and not opens:
            self._start_session_offline(work, ctx)
        work.started = True
        for ev in events:
            event = dict(ev)
            event.setdefault("timestamp", ctx.now)
            self.engine.apply(work, event, ctx)
        return TurnResult(work, [], ctx.out.events, ctx.out.trace, ctx.out.transitions)

    def predict_next(self, session: Optional[Session], sender_id: str) -> dict:
        """POST /conversations/{id}/predict: the next action's scores, nothing executed. They
        are the winning policy's probabilities over every action Rasa knows (its defaults, the
        rule-snippet marker `...`, the domain's): the predicted action at its confidence, and a
        RulePolicy winner also carries the core fallback's threshold; sorted by score, then name."""
        domain, policies = self.machine.domain, self.engine.policies
        pred = self.engine.predict(self._work_copy(session, sender_id))
        scores = dict.fromkeys(
            (*model.DEFAULT_ACTIONS, "...", *(r.name for r in domain.responses),
             *(a.name for a in domain.actions), *(f.name for f in domain.forms),
             *domain.e2e_actions), 0.0)
        if pred.policy == "RulePolicy" and policies.enable_fallback_prediction:
            scores[policies.core_fallback_action_name] = policies.core_fallback_threshold
        confidence = pred.confidence if pred.confidence is not None else 1.0
        scores[pred.action] = confidence
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return {"scores": [{"action": a, "score": s} for a, s in ranked], "policy": pred.policy,
                "confidence": confidence}

    def tracker_state(self, session: Optional[Session], include_events: str = "AFTER_RESTART",
                      sender_id: str = "default", now: Optional[float] = None,
                      reloaded: bool = True) -> dict:
        """The tracker as the HTTP API shows it: read back from the store (`reloaded`, as for GET
        tracker, predict and appended events) or live, right after the turn that produced it
        (as trigger_intent and messages answer)."""
        if session is None or not session.started:
            work = self._work_copy(session, sender_id if session is None else session.sender_id)
            self._start_session_offline(work, Ctx(time.time() if now is None else now))
            session = work
        return tracker_state(self.machine.domain, session, include_events,
                             stamp=self.engine.event_stamp, reloaded=reloaded)
