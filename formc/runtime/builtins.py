"""Built-in action implementations (forms §6, default actions §7.1, custom-action calls §10).

Each runner is a generator used by Engine: it may yield ActionRequest (custom action / form
validation on the action server) and returns an ActionResult holding the events the action
produced (bot events first for remote actions, as Rasa logs them). Runners never mutate the
session; Builtins.run() logs the action and applies its events through Engine.apply().
"""

from __future__ import annotations

import copy
import logging
from typing import Optional

from .. import model
from ..model import TWO_STAGE
from ..dialogue.extract import coerce, extract_slots
from . import events as E
from .session import Session
from .tracker import applied_events, tracker_state
from .types import (LISTEN, SESSION_START, ActionReply, ActionRequest, ActionResult, Ctx,
                    EngineContext, Prediction)

log = logging.getLogger("formc.runtime")

NLU_FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"


def _responses():
    from . import responses
    return responses


class Builtins:
    def __init__(self, engine: EngineContext) -> None:
        self.engine = engine
        self.domain: model.Domain = engine.domain

    # ---------------------------------------------------------------------------- helpers
    def channel(self, s: Session) -> Optional[str]:
        ch = s.latest_input_channel
        return "collector" if ch in (None, "rest") else ch

    def render(self, s: Session, name: str, slots: dict, ts: float) -> list:
        response = self.engine.responses.get(name)
        if response is None:
            return []
        message = _responses().render_response(response, slots, self.channel(s), self.engine.rng)
        return [E.bot(message, ts)] if message else []

    def call(self, s: Session, name: str, purpose: str, extra_events: Optional[list] = None):
        tracker = tracker_state(self.domain, s, "ALL", extra_events, self.engine.event_stamp)
        reply = yield ActionRequest(name, tracker, purpose)
        return reply if isinstance(reply, ActionReply) else ActionReply(error="no reply from the agent")

    def reply_events(self, s: Session, reply: ActionReply, slots: dict, ts: float) -> list:
        """Bot events for the reply's responses, then its events (§10.2 logging order)."""
        out = []
        for entry in reply.responses or []:
            message = _responses().render_action_response(entry, self.domain, slots, self.channel(s),
                                                          self.engine.rng)
            if message:
                out.append(E.bot(message, ts))
        for ev in reply.events or []:
            norm = E.normalize(ev, ts)
            if norm is not None:
                out.append(norm)
        return out

    # -------------------------------------------------------------------------- dispatch
    def run(self, s: Session, pred: Prediction, ctx: Ctx):
        engine, name, ts = self.engine, pred.action, ctx.ts()
        # Rasa appends user_featurization to the prediction's events and runs the action on a
        # tracker that already has them (a custom action sees them in `events`, actions3); they
        # are logged, in that order, only if the action is not rejected
        prediction_events = [dict(ev, timestamp=ts) for ev in pred.events]
        if s.latest_action == LISTEN:
            prediction_events.append(E.user_featurization(ts))
        s.prediction_events = prediction_events
        try:
            result = yield from self._dispatch(s, pred, ts)
        finally:
            s.prediction_events = []
        if result.rejected:
            engine.apply(s, E.rejected(name, ts, pred.policy, pred.confidence), ctx)
            return result
        if result.manual_rejected:
            for ev in result.events:
                engine.apply(s, ev, ctx)
            return result
        for ev in prediction_events:
            engine.apply(s, ev, ctx)
        # ActionReverted ("undo", §8.3): Rasa drops the latest action and every event after it
        # from the applied events and replays the rest, i.e. the state before this action
        # comes back (and a followup event that triggered the action is re-armed by the replay)
        undo = any(ev.get("event") == "undo" for ev in result.events)
        before = (s.snapshot(), s.followup_event) if undo else None
        engine.apply(s, E.action(name, ts, pred.policy, pred.confidence, pred.hide_rule_turn,
                                 bot_text=name in engine.bot_texts), ctx)
        for ev in result.events:
            engine.apply(s, ev, ctx)
            if before is not None and ev.get("event") == "undo":
                s.restore(before[0])
                s.followup_event = before[1]
                s.followups = [before[1]] if before[1] else []
                before = None
        if any(ev.get("event") == "user" for ev in result.events):
            yield from self.extract(s, ctx)
        return result

    def _dispatch(self, s: Session, pred: Prediction, ts: float):
        """Run the predicted action -> ActionResult. Rasa's resolution order (§2.7): defaults
        unless overridden, retrieval and utter_ responses (even when listed under actions),
        end-to-end bot texts, forms unless overridden, else the action server."""
        engine, name = self.engine, pred.action
        overridden = name in engine.custom
        if name == LISTEN and not overridden:
            return ActionResult()
        if name == SESSION_START and not overridden:
            return ActionResult(self.session_start_events(s, ts))
        if name == TWO_STAGE and not overridden:
            return self.two_stage(s, ts)
        if hasattr(self, "default_" + name) and not overridden:
            return getattr(self, "default_" + name)(s, ts)
        if name.startswith("utter_") and name[6:] in engine.retrieval:
            return ActionResult(self.retrieval(s, name[6:], ts))
        if name in engine.bot_texts:
            return ActionResult([E.bot({"text": name}, ts)])
        if name.startswith("utter_"):
            return ActionResult(self.render(s, name, s.slots, ts))
        if name in engine.forms and not overridden:
            interrupted = any(ev.get("event") == "loop_interrupted" for ev in pred.events)
            return (yield from self.form(s, engine.forms[name], ts, interrupted))
        return (yield from self.custom(s, name, ts))

    def custom(self, s: Session, name: str, ts: float, purpose: str = "action"):
        reply = yield from self.call(s, name, purpose)
        if reply.rejected:
            return ActionResult(rejected=True)
        if reply.error:
            log.error("conversation %s: custom action %r failed: %s", s.sender_id, name, reply.error)
            return ActionResult(failed=reply.error)
        return ActionResult(self.reply_events(s, reply, s.slots, ts))

    # ------------------------------------------------------------------- session start
    def session_start_events(self, s: Session, ts: float) -> list:
        carry = self.domain.session_config.carry_over_slots_to_new_session
        events = [E.simple("session_started", ts)]
        if carry:
            events += [E.slot(n, copy.deepcopy(v), ts) for n, v in carried_slots(s)]
        events.append(E.action(LISTEN, ts, None, None))
        return events

    def start_session(self, s: Session, ctx: Ctx, metadata: Optional[dict]):
        engine, ts = self.engine, ctx.ts()
        if metadata:
            engine.apply(s, E.slot("session_started_metadata", metadata, ts), ctx)
        s.started = True
        if SESSION_START in engine.custom:
            reply = yield from self.call(s, SESSION_START, "session_start")
            engine.apply(s, E.action(SESSION_START, ts, None, 1.0), ctx)
            for ev in (self.reply_events(s, reply, s.slots, ts) if not reply.error else []):
                engine.apply(s, ev, ctx)
            return
        engine.apply(s, E.action(SESSION_START, ts, None, 1.0), ctx)
        for ev in self.session_start_events(s, ts):
            engine.apply(s, ev, ctx)

    # ------------------------------------------------------------------ slot extraction
    def extract(self, s: Session, ctx: Ctx):
        engine, ts = self.engine, ctx.ts()
        pairs, customs = extract_slots(self.domain, s.slots, s.active_loop, s.loop_rejected,
                                       s.latest_message, engine.intents)
        events = [E.slot(n, v, ts) for n, v in pairs]
        for action in customs:
            reply = yield from self.call(s, action, "mapping")
            if reply.error or reply.rejected:
                log.warning("conversation %s: slot mapping action %r failed", s.sender_id, action)
                continue
            events += [e for e in self.reply_events(s, reply, s.slots, ts) if e.get("event") == "slot"]
        if "action_validate_slot_mappings" in engine.custom:
            reply = yield from self.call(s, "action_validate_slot_mappings", "validate", events)
            if not reply.error and not reply.rejected:
                validated = [e for e in self.reply_events(s, reply, s.slots, ts)
                             if e.get("event") in ("slot", "bot")]
                names = {e.get("name") for e in validated if e.get("event") == "slot"}
                events = validated + [e for e in events if e.get("name") not in names]
        for ev in events:
            engine.apply(s, ev, ctx)

    # ------------------------------------------------------------------------------ forms
    def form(self, s: Session, form: model.Form, ts: float, interrupted: bool):
        engine = self.engine
        events: list = []
        slots = dict(s.slots)

        def add(evs: list) -> None:
            for ev in evs:
                events.append(ev)
                if ev.get("event") == "slot":
                    slots[ev["name"]] = coerce(engine.slot_defs.get(ev["name"]), ev.get("value"))
                elif ev.get("event") == "reset_slots":
                    # AllSlotsReset from validate_<form>: Rasa applies it before the form picks
                    # its next slot, so the form asks its first slot again (actions2/17).
                    slots.clear()
                    slots.update(engine.initial_slots())

        validate = f"validate_{form.name}"
        has_validate = validate in engine.custom
        requested = s.slots.get("requested_slot")
        validated_turn = False
        if s.active_loop != form.name:
            add([E.active_loop(form.name, ts)])
            pairs, _customs = extract_slots(self.domain, slots, form.name, False, s.latest_message,
                                            engine.intents)
            extracted = [E.slot(n, v, ts) for n, v in pairs]
            scratch = dict(slots)
            for n, v in pairs:
                scratch[n] = v
            prefilled = [n for n in form.required_slots if scratch.get(n) is not None]
            result = extracted
            if has_validate and prefilled:
                cand = [E.active_loop(form.name, ts)] + [E.slot(n, scratch[n], ts) for n in prefilled]
                reply = yield from self.call(s, validate, "validate", cand)
                if reply.rejected:
                    return ActionResult(rejected=True)
                got = self.reply_events(s, reply, scratch, ts) if not reply.error else []
                names = {e.get("name") for e in got if e.get("event") == "slot"}
                result = got + [e for e in extracted if e.get("name") not in names]
            add(result)
            if not result and has_validate:
                cand = self._candidates(s, form, requested)
                extra = [E.slot("requested_slot", requested, ts), E.action(form.name, ts)] + \
                        [E.slot(n, v, ts) for n, v in cand]
                reply = yield from self.call(s, validate, "validate", extra)
                if not reply.error and not reply.rejected:
                    add(self.reply_events(s, reply, slots, ts))
        elif s.latest_action == LISTEN and not (s.loop_interrupted or interrupted):
            validated_turn = True
            cand = self._candidates(s, form, requested)
            got: list = []
            if has_validate:
                extra = [E.slot("requested_slot", requested, ts), E.action(form.name, ts)] + \
                        [E.slot(n, v, ts) for n, v in cand]
                reply = yield from self.call(s, validate, "validate", extra)
                if reply.rejected:
                    return ActionResult(rejected=True)
                got = self.reply_events(s, reply, slots, ts) if not reply.error else []
            some_validated = any(e.get("event") == "slot" and e.get("name") != "requested_slot" for e in got)
            manual = any(e.get("event") == "action_execution_rejected" for e in got)
            if requested and not cand and not some_validated and not manual:
                self._count_reprompt(s, form, requested)
                return ActionResult(rejected=True, transitions=[f"form:{form.name}:reject:{requested}"])
            add(got)
            if manual:
                return ActionResult(events, manual_rejected=True)
        elif has_validate:
            reply = yield from self.call(s, validate, "validate",
                                         [E.slot("requested_slot", requested, ts), E.action(form.name, ts)])
            if reply.rejected:
                return ActionResult(rejected=True)
            if not reply.error:
                add(self.reply_events(s, reply, slots, ts))
        transitions = [f"form:{form.name}:activate"] if s.active_loop != form.name else []
        yield from self._ask_next(s, form, events, slots, add, ts, requested, validated_turn, transitions)
        return ActionResult(events, transitions=transitions)

    def _candidates(self, s: Session, form: model.Form, requested: Optional[str]) -> list:
        cand: dict = {}
        for name, value in s.turn_slot_events:
            if name in form.required_slots or name == requested:
                cand.pop(name, None)
                cand[name] = value
        return list(cand.items())

    def _limit(self, form: model.Form, slot: str) -> tuple[Optional[int], Optional[str]]:
        slot_def = self.engine.slot_defs.get(slot)
        if slot_def is not None and slot_def.max_reprompts is not None:
            return slot_def.max_reprompts, slot_def.on_reprompt_limit or form.on_reprompt_limit
        return form.max_reprompts, form.on_reprompt_limit

    def _count_reprompt(self, s: Session, form: model.Form, slot: str) -> None:
        if self._limit(form, slot)[0] is not None:
            key = f"{form.name}:{slot}"
            s.reprompts[key] = s.reprompts.get(key, 0) + 1

    def _ask_next(self, s, form, events, slots, add, ts, requested, validated_turn, transitions):
        deactivated = any(e.get("event") == "active_loop" and not e.get("name") for e in events)
        asked = [e.get("value") for e in events
                 if e.get("event") == "slot" and e.get("name") == "requested_slot"]
        # A validation action may choose the next slot (dynamic forms). Like Rasa's form: the
        # *last* such event set to null ends the form, otherwise the *first* one names the slot
        # to ask, and then the form logs no requested_slot of its own (actions4/02)
        chosen = asked[0] if asked and asked[-1] is not None else None
        if deactivated or (asked and asked[-1] is None):
            nxt = None
        else:
            nxt = chosen or next((n for n in form.required_slots if slots.get(n) is None), None)
        if nxt is None:
            if not deactivated:
                add([E.slot("requested_slot", None, ts), E.active_loop(None, ts)])
            transitions.append(f"form:{form.name}:submit")
            return
        if requested and nxt != requested:
            s.reprompts.pop(f"{form.name}:{requested}", None)   # it moved on: that slot is done
        if validated_turn and nxt == requested:
            self._count_reprompt(s, form, nxt)
        limit, on_limit = self._limit(form, nxt)
        if limit is not None and s.reprompts.get(f"{form.name}:{nxt}", 0) >= limit:
            default = getattr(self.engine.slot_defs.get(nxt), "reprompt_default", None)
            if default is not None:
                # formc extension: after `limit` failed attempts the slot takes its default
                # value and the form goes on with its next slot
                s.reprompts.pop(f"{form.name}:{nxt}", None)
                add([E.slot(nxt, default, ts)])
                transitions.append(f"form:{form.name}:reprompt_default:{nxt}")
                yield from self._ask_next(s, form, events, slots, add, ts, nxt, False, transitions)
                return
            # formc extension: give up on this slot after `limit` failed attempts
            add([E.slot("requested_slot", None, ts), E.active_loop(None, ts)])
            if on_limit:
                add([E.followup(on_limit, ts)])
            add([E.followup(LISTEN, ts)])
            transitions.append(f"form:{form.name}:reprompt_limit:{nxt}")
            return
        if not chosen:
            add([E.slot("requested_slot", nxt, ts)])
        for name in (f"action_ask_{form.name}_{nxt}", f"utter_ask_{form.name}_{nxt}",
                     f"action_ask_{nxt}", f"utter_ask_{nxt}"):
            if name.startswith("action_") and name in self.engine.custom:
                reply = yield from self.call(s, name, "ask", list(events))
                if not reply.error and not reply.rejected:
                    add(self.reply_events(s, reply, slots, ts))
                return
            if name.startswith("utter_") and name in self.engine.responses:
                add(self.render(s, name, slots, ts))
                return

    def retrieval(self, s: Session, intent: str, ts: float) -> list:
        """utter_<retrieval intent>: the response the selector chose (§4.6)."""
        selector = (s.latest_message or {}).get("response_selector") or {}
        chosen = selector.get(intent) or selector.get("default") or {}
        name = (chosen.get("response") or {}).get("utter_action")
        if not name:
            key = (chosen.get("response") or {}).get("intent_response_key")
            name = f"utter_{key}" if key else None
        if not name:
            full = ((s.latest_message or {}).get("intent") or {}).get("full_retrieval_intent_name")
            name = f"utter_{full}" if full else None
        return self.render(s, name, s.slots, ts) if name else []

    # ------------------------------------------------------------------ default actions
    def default_action_restart(self, s: Session, ts: float) -> ActionResult:
        return ActionResult(self.render(s, "utter_restart", s.slots, ts) + [E.simple("restart", ts)])

    def default_action_default_fallback(self, s: Session, ts: float) -> ActionResult:
        return ActionResult(self.render(s, "utter_default", s.slots, ts) + [E.simple("rewind", ts)])

    def default_action_deactivate_loop(self, s: Session, ts: float) -> ActionResult:
        return ActionResult([E.active_loop(None, ts), E.slot("requested_slot", None, ts)])

    def default_action_default_ask_affirmation(self, s: Session, ts: float) -> ActionResult:
        return ActionResult([self._affirmation(s, ts)])

    def default_action_default_ask_rephrase(self, s: Session, ts: float) -> ActionResult:
        return ActionResult(self.render(s, "utter_ask_rephrase", s.slots, ts))

    def default_action_back(self, s: Session, ts: float) -> ActionResult:
        return ActionResult(self.render(s, "utter_back", s.slots, ts)
                            + [E.simple("rewind", ts), E.simple("rewind", ts)])

    def default_action_revert_fallback_events(self, s: Session, ts: float) -> ActionResult:
        return ActionResult()

    def default_action_unlikely_intent(self, s: Session, ts: float) -> ActionResult:
        return ActionResult()

    def default_action_extract_slots(self, s: Session, ts: float) -> ActionResult:
        return ActionResult()

    def _affirmation(self, s: Session, ts: float) -> dict:
        msg = s.latest_message or {}
        intent = (msg.get("intent") or {}).get("name")
        ranking = msg.get("intent_ranking") or []
        if intent == NLU_FALLBACK and len(ranking) >= 2:
            intent = ranking[1].get("name")
        message = {"text": f"Did you mean '{intent}'?",
                   "buttons": [{"title": "Yes", "payload": f"/{intent}"},
                               {"title": "No", "payload": f"/{OUT_OF_SCOPE}"}],
                   "metadata": {"utter_action": "action_default_ask_affirmation"}}
        return E.bot(message, ts)

    def two_stage(self, s: Session, ts: float) -> ActionResult:
        """The two-stage fallback loop (§7.3)."""
        intent = ((s.latest_message or {}).get("intent") or {}).get("name")
        last = s.fallback_intents
        clarified = intent not in (NLU_FALLBACK, OUT_OF_SCOPE)
        two_in_row = len(last) >= 2 and last[-1] == NLU_FALLBACK and last[-2] == NLU_FALLBACK
        failed_twice = len(last) >= 3 and last[-3:] == [OUT_OF_SCOPE, NLU_FALLBACK, OUT_OF_SCOPE]
        events: list = []
        just_activated = s.active_loop != TWO_STAGE
        transitions = []
        if just_activated:
            events.append(E.active_loop(TWO_STAGE, ts))
        done = clarified or two_in_row or failed_twice
        if not done:
            if just_activated or intent == NLU_FALLBACK:
                events.append(self._affirmation(s, ts))
                transitions.append("fallback:ask_affirmation")
            else:
                events += self.render(s, "utter_ask_rephrase", s.slots, ts)
                transitions.append("fallback:denied")
            return ActionResult(events, transitions=transitions)
        events.append(E.active_loop(None, ts))
        if two_in_row or failed_twice:
            events += self.render(s, "utter_default", s.slots, ts) + [E.simple("rewind", ts)]
            return ActionResult(events, transitions=["fallback:give_up"])
        message = copy.deepcopy(s.latest_message or {})
        message.setdefault("intent", {})["confidence"] = 1.0
        user = E.user(message.get("text"), message, ts, s.latest_input_channel,
                      message.get("message_id"), message.get("metadata"))
        events += [E.simple("rewind", ts), E.action(LISTEN, ts), user]
        return ActionResult(events, transitions=["fallback:affirmed"])


def carried_slots(s: Session) -> list:
    """The slot events action_session_start carries over: like Rasa, every slot event of the
    applied history in order, repeats included (a form's requested_slot city, then nights).
    Slots whose setting fell off the capped history come first with their current value."""
    replayed = [(ev.get("name"), ev.get("value")) for ev in applied_events(s.events())
                if ev.get("event") == "slot"]
    final = dict(replayed)
    lost = [(n, v) for n, v in s.session_slots.items() if n not in final or final[n] != v]
    return lost + replayed
