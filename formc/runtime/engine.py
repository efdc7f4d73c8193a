"""The pure dialogue core: (session, input) -> new session + events, bot messages, trace.

`Engine.turn(session, TurnInput)` is a generator: it yields ActionRequest values whenever a
custom action (action server) must run, is resumed with an ActionReply, and finally returns a
TurnOutput. No clock of its own (the agent hands one in for the trace's stage timings), no
network, no randomness besides the seeded rng handed in: the agent (formc.runtime.agent)
drives it and does all I/O. This module is the only place transitions
fire: apply() updates the session for each logged event, predict() picks the next action.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Callable, Generator, Optional

from .. import model
from ..dialogue.extract import coerce
from ..dialogue.rules import DO_NOT_PREDICT_LOOP_ACTION, LOOP_WAS_INTERRUPTED
from ..dialogue.state import DState, slots_substate, used_entities, user_substate
from . import events as E
from .builtins import Builtins
from .policies import story_prediction
from .session import REWIND, LoopAnchor, Session
from .tracker import UNSTAMPED, event_stamp, user_message
from .types import (LISTEN, SESSION_START, ActionReply, ActionRequest, Ctx, EngineContext, Prediction,
                    TurnInput, TurnOutput)

log = logging.getLogger("formc.runtime")

MAX_NUMBER_OF_PREDICTIONS = 10     # Rasa's circuit breaker: actions since the last action_listen
MAX_SNAPSHOTS = 4


def _shift_anchor_depths(s: Session) -> None:
    """The oldest rewind snapshot was dropped: the loop anchors (live and inside the kept
    snapshots) count stack positions, so they move down by one. Without this a loop collapse
    (§8.3) after a capped stack kept the snapshot of the last happy-path answer, and a rewind
    after the form (core fallback) returned into the form instead of to before the message that
    activated it, as Rasa's replay does (stories2/14_form_after_prefix)."""
    if s.anchor:
        s.anchor = replace(s.anchor, depth=max(0, s.anchor.depth - 1))
    for i, snap in enumerate(s.snapshots):
        anchor = snap.get("anchor")
        if anchor:
            s.snapshots[i] = dict(snap, anchor=replace(anchor, depth=max(0, anchor.depth - 1)))


class Engine:
    def __init__(self, machine: Any, rng: Any, clock: Callable[[], float] = lambda: 0.0) -> None:
        self.machine = machine
        self.clock = clock      # for the trace's stage timings; the agent hands in a real one
        self.domain: model.Domain = machine.domain
        self.dialogue = machine.dialogue
        self.policies: model.PolicyConfig = machine.config.policies
        self.rng = rng
        self.used = used_entities(self.domain)
        self.slot_defs = {s.name: s for s in self.domain.slots}
        self.custom = {a.name for a in self.domain.actions}
        self.responses = {r.name: r for r in self.domain.responses}
        self.forms = {f.name: f for f in self.domain.forms}
        self.loops = set(self.dialogue.loops) | set(self.forms)
        self.intents = set(self.domain.intent_names()) | set(model.DEFAULT_INTENTS)
        self.retrieval = {i.name for i in self.domain.intents if i.is_retrieval}
        self.bot_texts = set(self.domain.e2e_actions)
        self.event_stamp = event_stamp(machine)
        # what RulePolicy marks hide_rule_turn: predictions whose source no story shows
        memo = getattr(self.dialogue, "memo", None)
        self.hidden_keys = memo.hidden_keys(self.dialogue.rule_keys) if memo else set()
        self.hidden_loops = set(memo.hidden_loops) if memo else set()
        self.hidden_loop_listens = set(memo.hidden_loop_listens) if memo else set()
        self.hidden_defaults = set(memo.hidden_defaults) if memo else set()
        self.window = max(1, self.dialogue.window)
        self.builtins = Builtins(EngineContext(
            self.domain, self.responses, frozenset(self.custom), self.forms, self.slot_defs,
            frozenset(self.intents), frozenset(self.retrieval), frozenset(self.bot_texts), rng,
            self.event_stamp, self.initial_slots, self.apply))

    # ------------------------------------------------------------------------- sessions
    def initial_slots(self) -> dict:
        # the reader already added the built-ins Rasa adds (requested_slot only with forms)
        return {s.name: s.initial_value for s in self.domain.slots}

    def new_session(self, sender_id: str, history_limit: int = 200) -> Session:
        s = Session(sender_id=sender_id, digest=self.machine.digest, history_limit=history_limit)
        s.slots = self.initial_slots()
        return s

    def _reset(self, s: Session) -> None:
        """What restart / session_started do to the tracker's state."""
        s.slots = self.initial_slots()
        s.active_loop, s.loop_rejected, s.loop_interrupted, s.loop_trigger = None, False, False, None
        s.latest_message, s.latest_action, s.last_rejected, s.paused = None, None, None, False
        s.window, s.window_complete, s.user_sub, s.anchor = [], True, None, None
        s.snapshots, s.turn_slot_events, s.session_slots, s.reprompts = [], [], {}, {}
        s.followups = []
        s.followup_event = None
        s.pending_snapshot = None
        s.last_user_time = None

    def expired(self, s: Session, now: float) -> bool:
        minutes = self.domain.session_config.session_expiration_time
        return bool(minutes and minutes > 0 and s.last_user_time is not None
                    and now - s.last_user_time > minutes * 60)

    # ---------------------------------------------------------------------- dialogue state
    def current_state(self, s: Session) -> DState:
        intent, ents = s.user_sub if s.user_sub is not None else (None, ())
        slots = slots_substate(self.domain, s.slots) if s.latest_action else ()
        return DState(intent, ents, s.latest_action, slots, s.active_loop)

    def states(self, s: Session) -> tuple:
        return tuple(s.window) + (self.current_state(s),)

    # ---------------------------------------------------------------------- event effects
    def apply(self, s: Session, ev: dict, ctx: Optional[Ctx] = None) -> None:
        """Log one event and update the session exactly as Rasa's tracker would (§8.2, §8.3)."""
        kind = ev.get("event")
        stamp = ctx.stamp if ctx is not None else None
        if stamp and not ev.get(UNSTAMPED):    # the stored copy names its model (own keys win)
            s.log_event({**ev, "metadata": {**stamp, **(ev.get("metadata") or {})}})
        else:
            s.log_event(ev)
        if ctx is not None:
            ctx.out.events.append(ev)
            if kind == "bot":
                ctx.out.messages.append({"text": ev.get("text"), **(ev.get("data") or {}),
                                         "metadata": ev.get("metadata") or {}})
        handler = getattr(self, "_on_" + str(kind), None)
        if handler is not None:
            handler(s, ev)

    def _on_user(self, s: Session, ev: dict) -> None:
        parse = user_message(ev)
        intent = (parse.get("intent") or {}).get("name")
        # a rewind of this message goes back to before the latest action (normally the listen;
        # after a pausing action, consecutive messages all go back to before that action)
        snap = s.pending_snapshot or s.snapshot()
        s.snapshots.append(snap)
        if len(s.snapshots) > MAX_SNAPSHOTS:
            del s.snapshots[0]
            _shift_anchor_depths(s)
        s.latest_message = parse
        s.latest_input_channel = ev.get("input_channel")   # null for external / logged-only messages
        s.user_sub = user_substate(self.used, intent, parse.get("entities") or [])
        s.turn_slot_events = []
        s.followups = []
        s.fallback_intents = (s.fallback_intents + [intent])[-3:]
        if s.anchor:
            s.anchor.user_pending = True
        if ev.get("text") is not None:
            s.last_user_time = ev.get("timestamp", s.last_user_time)
            s.reminders = [r for r in s.reminders if not r.get("kill_on_user_msg", True)
                           or r.get("scheduled_at", 0) > ev.get("timestamp", 0)]

    def _on_action(self, s: Session, ev: dict) -> None:
        name = ev.get("name") or ev.get("action_text")   # an e2e bot text is its own state
        anchor = s.anchor
        # Rasa's rewind (UserUtteranceReverted) drops the user message and everything after it,
        # then everything back to and including the latest action before it: keep that state
        s.pending_snapshot = s.snapshot()
        if name == LISTEN:
            if s.followup_event == LISTEN:
                # this listen ran as a FollowupAction: a rewind of the next user message pops the
                # listen but keeps the `followup` event before it, and Rasa's replay re-arms it,
                # so the turn ends at once instead of returning to the loop (actions2/12, /15)
                s.pending_snapshot["rearm"] = LISTEN
        if name in self.loops and anchor and anchor.loop == name and anchor.valid:
            # §8.3 loop collapse: the happy-path user turns since the last run vanish
            s.window = list(anchor.window)
            s.window_complete = anchor.complete
            s.user_sub = anchor.user_sub
            del s.snapshots[anchor.depth:]
            anchor.user_pending = False
        else:
            if anchor and anchor.user_pending and name != anchor.loop:
                anchor.valid = False
            if anchor:
                anchor.user_pending = False
            s.window.append(self.current_state(s))
            if len(s.window) > self.window:
                del s.window[: len(s.window) - self.window]
                s.window_complete = False
            if name in self.loops:
                s.anchor = LoopAnchor(loop=name, window=list(s.window), complete=s.window_complete,
                                      user_sub=s.user_sub, depth=len(s.snapshots))
        s.latest_action = name
        s.followup_event = None     # ActionExecuted clears the tracker's follow-up action
        s.last_rejected = None
        s.loop_interrupted = False
        if name == s.active_loop:
            s.loop_rejected = False

    def _on_slot(self, s: Session, ev: dict) -> None:
        name = ev.get("name")
        if name not in s.slots and name not in self.slot_defs:
            log.error("conversation %s: slot event for unknown slot %r ignored", s.sender_id, name)
            return
        value = coerce(self.slot_defs.get(name), ev.get("value"))
        s.slots[name] = value
        s.session_slots.pop(name, None)
        s.session_slots[name] = value
        s.turn_slot_events.append((name, value))
        # re-prompt counters are not reset here: a value the validation action then rejects
        # (set, then set to None) is a failed attempt too; the form resets a slot's counter
        # when it moves on to another slot (Builtins._ask_next)

    def _on_active_loop(self, s: Session, ev: dict) -> None:
        name = ev.get("name")
        if name:
            s.active_loop, s.loop_rejected, s.loop_interrupted = name, False, False
            s.loop_trigger = s.latest_message
        else:
            if s.active_loop:
                s.reprompts = {k: v for k, v in s.reprompts.items() if not k.startswith(s.active_loop + ":")}
            s.active_loop, s.loop_rejected, s.loop_interrupted, s.loop_trigger = None, False, False, None
            if s.anchor:
                s.anchor.valid = False

    def _on_form(self, s: Session, ev: dict) -> None:
        self._on_active_loop(s, ev)

    def _on_loop_interrupted(self, s: Session, ev: dict) -> None:
        if s.active_loop:
            s.loop_interrupted = bool(ev.get("is_interrupted"))

    def _on_form_validation(self, s: Session, ev: dict) -> None:
        if s.active_loop:
            s.loop_interrupted = not ev.get("validate", True)

    def _on_action_execution_rejected(self, s: Session, ev: dict) -> None:
        name = ev.get("name")
        if name and name == s.active_loop:
            s.loop_rejected = True
        s.last_rejected = name
        if s.anchor and s.anchor.loop == name:
            s.anchor.valid = False

    def _on_restart(self, s: Session, ev: dict) -> None:
        self._reset(s)
        s.fallback_intents = []
        s.followups = [SESSION_START]

    def _on_session_started(self, s: Session, ev: dict) -> None:
        self._reset(s)

    def _on_rewind(self, s: Session, ev: dict) -> None:
        s.fallback_intents = (s.fallback_intents + [REWIND])[-3:]
        if s.snapshots:
            snap = s.snapshots.pop()
            depth = len(s.snapshots)
            s.restore(snap)
            del s.snapshots[depth:]
            if snap.get("rearm"):
                s.followups = [snap["rearm"]]
        else:
            self._reset(s)
        s.pending_snapshot = None
        if s.latest_action is None:
            s.followups = [LISTEN]      # reverted the session's first message (§7.1)

    def _on_reset_slots(self, s: Session, ev: dict) -> None:
        s.slots = self.initial_slots()

    def _on_pause(self, s: Session, ev: dict) -> None:
        s.paused = True

    def _on_resume(self, s: Session, ev: dict) -> None:
        s.paused = False

    def _on_followup(self, s: Session, ev: dict) -> None:
        if ev.get("name"):
            s.followups.append(ev["name"])
            s.followup_event = ev["name"]

    def _on_entities(self, s: Session, ev: dict) -> None:
        if s.latest_action == LISTEN and s.latest_message is not None:
            s.latest_message = dict(s.latest_message, entities=list(s.latest_message.get("entities") or [])
                                    + list(ev.get("entities") or []))

    def _on_reminder(self, s: Session, ev: dict) -> None:
        from .reminders import reminder_from_event
        rem = reminder_from_event(ev, self.rng)
        s.reminders = [r for r in s.reminders if r["name"] != rem["name"]] + [rem]

    def _on_cancel_reminder(self, s: Session, ev: dict) -> None:
        from .reminders import cancel_matches
        s.reminders = [r for r in s.reminders if not cancel_matches(r, ev)]

    # --------------------------------------------------------------------------- predict
    def predict(self, s: Session) -> Prediction:
        """Default intents, loop happy path, rules (+ loop adjustments), core fallback (§5.5)."""
        if s.followups:
            return Prediction(s.followups[0], "followup_action", 1.0, why="follow-up action")
        if not self.policies.has_rule_policy:
            return self._without_rule_policy(s)
        intent = ((s.latest_message or {}).get("intent") or {}).get("name")
        if s.latest_action == LISTEN and intent in ("restart", "back", "session_start"):
            action = {"restart": "action_restart", "back": "action_back",
                      "session_start": SESSION_START}[intent]
            return Prediction(action, why=f"default intent '{intent}'",
                              hide_rule_turn=intent in self.hidden_defaults)
        loop = s.active_loop
        if loop and not s.loop_rejected:
            if s.latest_action != loop:
                return Prediction(loop, why=f"active loop '{loop}' (happy path)",
                                  transition=self._form_transition(s),
                                  hide_rule_turn=loop in self.hidden_loops)
            return Prediction(LISTEN, why=f"loop '{loop}' waits for the user (happy path)",
                              hide_rule_turn=loop in self.hidden_loop_listens)
        states = self.states(s)
        best = self.dialogue.rule_index.best(states)
        action = best.action if best else None
        why = f"rule '{best.rule}' ({best.span})" if best else ""
        extra: list = []
        if loop:
            conditions = {k.action for k in self.dialogue.unhappy_index.applicable(states)}
            if action == LISTEN and best and not best.states[-1].active_loop:
                if DO_NOT_PREDICT_LOOP_ACTION not in conditions:
                    return Prediction(loop, why=f"{why}; back to loop '{loop}'",
                                      transition=f"rule:{best.rule}:{best.action}:{len(best.states)}",
                                      hide_rule_turn=best in self.hidden_keys)
                action = None
            if LOOP_WAS_INTERRUPTED in conditions:
                extra = [E.loop_interrupted(True, 0.0)]
        if action is not None and s.last_rejected == action:
            action = None       # observed in Rasa 3.6: the rejected loop's rule gives way to fallback
        if action is not None:
            return Prediction(action, "RulePolicy", 1.0, extra, why,
                              transition=f"rule:{best.rule}:{best.action}:{len(best.states)}",
                              hide_rule_turn=best in self.hidden_keys)
        story = self._story_prediction(s, states, extra)
        if story is not None:
            return story
        if self.policies.enable_fallback_prediction:
            name = self.policies.core_fallback_action_name
            if s.last_rejected == name:
                return Prediction(LISTEN, "RulePolicy", 0.0, why="core fallback was rejected")
            return Prediction(name, "RulePolicy", self.policies.core_fallback_threshold, extra,
                              why="core fallback: no rule or story matches", transition="fallback:core")
        return Prediction(LISTEN, "RulePolicy", 0.0, why="no rule or story matches (fallback prediction disabled)")

    def _without_rule_policy(self, s: Session) -> Prediction:
        """No RulePolicy in config.yml: default intents, loops, rules and the core fallback are
        all RulePolicy's, so only stories predict; when none matches, every policy's scores are
        zero and Rasa's ensemble takes the first action, action_listen (edge6/03, recorded)."""
        story = self._story_prediction(s, self.states(s), [])
        return story or Prediction(LISTEN, "MemoizationPolicy", 0.0,
                                   why="no story matches and there is no RulePolicy")

    def _story_prediction(self, s: Session, states: tuple, extra: list) -> Optional[Prediction]:
        """MemoizationPolicy over the compiled StoryMemo (formc.runtime.policies)."""
        pred = story_prediction(self.dialogue, self.policies, s, states)
        if pred is not None and extra:
            pred.events = list(extra)
        return pred

    def _form_transition(self, s: Session) -> Optional[str]:
        requested = s.slots.get("requested_slot")
        if s.active_loop in self.forms and requested:
            return f"form:{s.active_loop}:fill:{requested}"
        return None

    # ------------------------------------------------------------------------------ turns
    def turn(self, s: Session, inp: TurnInput) -> Generator[ActionRequest, ActionReply, TurnOutput]:
        ctx = Ctx(inp.now, self.event_stamp)
        s.turns += 1
        started = self.clock()
        if inp.parse is None:
            return ctx.out
        if inp.kind in ("message", "log_only", "external") and (not s.started or self.expired(s, inp.now)):
            yield from self.builtins.start_session(s, ctx, inp.metadata)
        if inp.kind == "reminder" and (not s.started or self.expired(s, inp.now)):
            yield from self.builtins.start_session(s, ctx, None)
        text = inp.parse.get("text")
        parse = dict(inp.parse)
        metadata = dict(inp.metadata or {})
        if inp.kind in ("external", "reminder"):
            metadata["is_external"] = True
        parse["metadata"] = metadata          # Rasa keeps the message metadata in parse_data too
        self.apply(s, E.user(text, parse, ctx.ts(), inp.input_channel,
                             inp.message_id, metadata), ctx)
        t_extract = self.clock()
        yield from self.builtins.extract(s, ctx)
        ctx.out.trace.append({"stage": "extract_slots", "ms": round((self.clock() - t_extract) * 1e3, 3)})
        if inp.kind == "log_only" or not self._handles_message(s):
            return ctx.out
        yield from self.predict_loop(s, ctx)
        ctx.out.trace.append({"stage": "turn", "ms": round((self.clock() - started) * 1e3, 3)})
        return ctx.out

    @staticmethod
    def _handles_message(s: Session) -> bool:
        """A paused conversation predicts nothing unless the latest message is a restart; checked
        before every prediction, so a pausing action ends the turn without a listen (actions3/05)."""
        return not s.paused or ((s.latest_message or {}).get("intent") or {}).get("name") == "restart"

    def predict_loop(self, s: Session, ctx: Ctx) -> Generator[ActionRequest, ActionReply, None]:
        while s.actions_since_listen < MAX_NUMBER_OF_PREDICTIONS and self._handles_message(s):
            t0 = self.clock()
            pred = self.predict(s)
            t1 = self.clock()
            if pred.policy == "followup_action" and s.followups:
                s.followups.pop(0)
            result = yield from self.builtins.run(s, pred, ctx)
            t2 = self.clock()
            ctx.out.trace.append({"action": pred.action, "why": pred.why, "policy": pred.policy,
                                  "rejected": result.rejected or result.manual_rejected,
                                  "predict_ms": round((t1 - t0) * 1e3, 3),
                                  "run_ms": round((t2 - t1) * 1e3, 3)})
            if pred.transition and not result.rejected:
                ctx.out.transitions.append(pred.transition)
            ctx.out.transitions.extend(result.transitions)
            if not result.rejected and not result.manual_rejected and pred.action in (LISTEN, SESSION_START):
                return
        if not self._handles_message(s):
            ctx.out.trace.append({"action": None, "why": "the conversation is paused"})
            return
        log.warning("conversation %s: circuit breaker: %d actions since the last action_listen; "
                    "stopped predicting", s.sender_id, s.actions_since_listen)
        ctx.out.trace.append({"action": None, "why": f"circuit breaker: {s.actions_since_listen} "
                              "actions since the last action_listen"})
