"""`formc test BOT_DIR --live`: test stories run as real conversations (Agent + action server) -> diff, exit code.

Unlike replay mode (formc.testing.replay), nothing in the story is applied by hand: each user step is
sent to a formc Agent (its text through formc's NLU; an intent-only step as parse data built
from its intent/entities; an `EXTERNAL_*` intent-only step fires the pending reminder with that
intent, else goes through trigger_intent), the bot runs whatever it predicts (custom actions on
the real action server), and the actions it actually ran until it listened again are compared
with the story's `action:` steps (action_listen, action_session_start and the loop rejections
are not actions the story lists). `slot_was_set` / `active_loop` / `bot:` (a text the bot said,
not an action here) steps must match an event the bot emitted in that turn after the preceding
story action; extra events are fine. `active_loop: X` also holds when X simply stayed active
(a form re-run after a rejection emits no active_loop event).
The last turn may run more actions than the story lists (a story may end mid-turn, as in
replay mode). The first mismatch ends the story: what follows would test a different
conversation.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Optional

from .. import model
from ..dialogue.expand import _alternatives, step_entities
from . import TestReport
from .replay import _load, _selected, report_coverage, report_story, write_reports

NOT_STORY_ACTIONS = frozenset({"action_listen", "action_session_start", "action_extract_slots"})


class RecordingClient:
    """Wraps an ActionClient; remembers why calls failed so the diff can say so."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.errors: list[str] = []

    async def run(self, payload: dict) -> dict:
        try:
            return await self.inner.run(payload)
        except Exception as exc:  # noqa: BLE001 - re-raised; recorded only for the report
            name = type(exc).__name__
            if name == "ActionRejected":   # a form's validation refusing: the unhappy path
                self.errors.append(f"{payload.get('next_action')} rejected")
            elif name != "ActionDomainRequired":
                self.errors.append(f"{payload.get('next_action')}: {exc}")
            raise

    async def close(self) -> None:
        await self.inner.close()


def _segments(steps: list) -> tuple[list, list]:
    """Steps before the first user step, and [(user step, steps up to the next user step)]."""
    head: list = []
    turns: list = []
    for step in steps:
        if isinstance(step, model.UserStep):
            turns.append((step, []))
        elif turns:
            turns[-1][1].append(step)
        else:
            head.append(step)
    return head, turns


def _same(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, (int, float, str)) and isinstance(b, (int, float, str)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return str(a).strip().lower() == str(b).strip().lower()
    return False


def _parse_for(step: model.UserStep) -> dict:
    """Parse data of an intent-only step (what a `/intent{...}` message would give)."""
    ents = step_entities(step)
    full = step.intent or ""
    base = full.split("/")[0]
    intent: dict = {"name": base or None, "confidence": 1.0}
    if "/" in full:
        intent["full_retrieval_intent_name"] = full
    text = "/" + base + (json.dumps({e["entity"]: e["value"] for e in ents}) if ents else "")
    return {"text": text, "intent": intent, "entities": ents,
            "intent_ranking": [dict(intent)]}


def _label(step: model.UserStep) -> str:
    if step.text is not None:
        return f"user: {step.text!r}" + (f", intent: {step.intent}" if step.intent else "")
    ents = step_entities(step)
    return f"intent: {step.intent}" + (f" {json.dumps({e['entity']: e['value'] for e in ents})}" if ents else "")


class LiveRun:
    """One expanded test story as a live conversation."""

    def __init__(self, agent: Any, client: Optional[RecordingClient], sender: str) -> None:
        self.agent = agent
        self.client = client
        self.sender = sender
        self.session = None
        self.lines: list[str] = []
        self.failed = False
        self.nlu_mismatch = False
        self.transitions: set = set()      # machine transitions the conversation really took

    async def run(self, steps: list) -> None:
        head, turns = _segments(steps)
        for step in head:            # nothing has been said yet: nothing the bot did to compare
            self.lines.append(f"  {_show(step)}   # not checked (before the first user step)")
        for i, (user, rest) in enumerate(turns):
            loop_before = self.session.active_loop if self.session is not None else None
            events = await self._send(user)
            ok = self._compare(rest, events, loop_before, last=i == len(turns) - 1)
            if not ok:
                self.failed = True
                for later_user, later in turns[i + 1:]:
                    self.lines.append(f"  - {_label(later_user)}   # not sent (story diverged)")
                    self.lines += [f"  {_show(s)}" for s in later]
                return

    async def _send(self, step: model.UserStep) -> list:
        agent, comment = self.agent, ""
        if self.client is not None:
            self.client.errors.clear()
        external = step.text is None and (step.intent or "").startswith("EXTERNAL_")
        pending = [r for r in (self.session.reminders if self.session else ())
                   if r.get("intent") == step.intent]
        if external and pending:
            result = await agent.fire_reminder(self.session, self.sender, pending[0]["name"],
                                               now=max(time.time(), pending[0].get("fire_at") or 0))
            comment = f"   # fired reminder {pending[0]['name']!r}"
        elif external:
            ents = {e["entity"]: e["value"] for e in step_entities(step)}
            result = await agent.trigger_intent(self.session, self.sender, step.intent, ents)
            comment = "   # via trigger_intent"
        elif step.text is not None:
            result = await agent.handle_message(self.session, self.sender, step.text)
        else:
            parse = _parse_for(step)
            result = await agent.handle_message(self.session, self.sender, parse["text"],
                                                parse_data=parse)
        self.session = result.session
        self.transitions.update(result.transitions or ())
        events = list(result.events)
        users = [i for i, ev in enumerate(events) if ev.get("event") == "user"]
        got = None
        if users:
            got = ((events[users[0]].get("parse_data") or {}).get("intent") or {}).get("name")
            events = events[users[0] + 1:]
        if step.intent and step.text is not None and got not in (step.intent, step.intent.split("/")[0]):
            self.nlu_mismatch = True
            comment = f"   # NLU predicted: {got}"
        elif step.intent is None:
            comment = f"   # NLU: {got}"
        self.lines.append(f"  - {_label(step)}{comment}")
        return events

    def _compare(self, steps: list, events: list, loop_before: Optional[str], last: bool) -> bool:
        ran = [(i, ev["name"]) for i, ev in enumerate(events)
               if ev.get("event") == "action" and ev.get("name") not in NOT_STORY_ACTIONS]
        names = [n for _, n in ran]
        cursor, k = 0, 0
        for n, step in enumerate(steps):
            if isinstance(step, model.ActionStep):
                expected = step.name
                if expected in NOT_STORY_ACTIONS:
                    self.lines.append(f"  {_show(step)}")
                    continue
                if k < len(ran) and ran[k][1] == expected:
                    cursor = ran[k][0] + 1
                    k += 1
                    self.lines.append(f"  {_show(step)}")
                    continue
                actual = ran[k][1] if k < len(ran) else "action_listen"
                self._mismatch(step, f"bot ran: {actual}", names, steps[n + 1:])
                return False
            missing = self._missing(step, events, cursor, loop_before)
            if missing:
                self._mismatch(step, missing, names, steps[n + 1:])
                return False
            self.lines.append(f"  {_show(step)}")
        if k < len(ran) and not last:
            self._mismatch(None, f"bot ran: {ran[k][1]}", names, [])
            return False
        return True

    @staticmethod
    def _bot_said(events: list, cursor: int, text: str) -> bool:
        return any(ev.get("event") == "bot" and (ev.get("text") or "").strip() == text.strip()
                   for ev in events[cursor:])

    def _missing(self, step: Any, events: list, cursor: int, loop_before: Optional[str]) -> str:
        after = events[cursor:]
        if isinstance(step, model.SlotStep):
            for name, value in step.slots:
                set_ = [ev.get("value") for ev in after if ev.get("event") == "slot" and ev.get("name") == name]
                if not set_:
                    return f"bot did not set {name}"
                if value is not None and not any(_same(v, value) for v in set_):
                    return f"bot set {name} to {set_[-1]!r}"
        elif isinstance(step, model.LoopStep):
            loops = [ev.get("name") for ev in after if ev.get("event") == "active_loop"]
            # A loop that simply stays active emits no event (a form re-run after a rejection):
            # the step then restates the loop in effect at this point of the turn.
            end = next((i for i in range(cursor, len(events)) if events[i].get("event") == "action"),
                       len(events))
            current = loop_before
            for ev in events[:end]:
                if ev.get("event") == "active_loop":
                    current = ev.get("name")
            if step.name not in loops and current != step.name:
                return f"bot's active_loop events: {loops}" if loops else f"no active_loop event (active loop: {current})"
        elif isinstance(step, model.BotStep) and not self._bot_said(events, cursor, step.text):
            return "bot did not say this"
        return ""

    def _mismatch(self, step: Any, why: str, names: list, rest: list) -> None:
        where = f" ({step.span})" if getattr(step, "span", None) else ""
        shown = _show(step) if step is not None else "- action: action_listen"
        detail = f"  [turn: {', '.join(names) or 'no actions'}]"
        errors = self.client.errors if self.client is not None else []
        if errors:
            detail += "  [action server: " + "; ".join(errors) + "]"
        self.lines.append(f"  {shown}   # {why}{where}{detail}")
        self.lines += [f"  {_show(s)}" for s in rest]


def _show(step: Any) -> str:
    if isinstance(step, model.ActionStep):
        return f"- action: {step.name}"
    if isinstance(step, model.BotStep):
        return f"- bot: {step.text}"
    if isinstance(step, model.SlotStep):
        return f"- slot_was_set: {dict(step.slots)}"
    if isinstance(step, model.LoopStep):
        return f"- active_loop: {step.name}"
    return f"- {type(step).__name__}"


def _client(machine: Any, endpoints: Optional[str], action_url: Optional[str]) -> Any:
    if action_url:
        from ..runtime.action_client import ActionClient
        return ActionClient(model.ActionEndpoint(url=action_url))
    if endpoints:
        from ..server.turns import _action_client
        return _action_client(machine, endpoints)
    endpoint = getattr(machine.endpoints, "action_endpoint", None)
    if endpoint is None:
        return None
    from ..runtime.action_client import ActionClient
    return ActionClient(endpoint)


async def _run_all(machine: Any, stories: list, client: Any, fail_on_nlu: bool,
                   out: list, taken: Optional[set] = None) -> tuple[int, int]:
    from ..runtime.agent import Agent
    recording = RecordingClient(client) if client is not None else None
    passed = failed = 0
    try:
        for n, story in enumerate(stories):
            for variant, steps in enumerate(_alternatives(story.steps)):
                # A fresh agent per story: the same seed gives every story the same responses.
                agent = Agent(machine, action_client=recording, seed=0)
                run = LiveRun(agent, recording, f"formc-live-{n}-{variant}")
                await run.run(steps)
                if taken is not None:
                    taken |= run.transitions
                if report_story(story, variant, run, fail_on_nlu, "# NLU predicted", out):
                    passed += 1
                else:
                    failed += 1
    finally:
        if client is not None:
            await client.close()
    return passed, failed


def run_live_tests(bot_dir: str, test_files: tuple = (), endpoints: Optional[str] = None,
                   action_url: Optional[str] = None, fail_on_nlu: bool = False,
                   coverage: bool = False, json_out: Optional[str] = None) -> TestReport:
    """`formc test --live`: each test story as a real conversation; the report."""
    out: list = []
    machine, project, diagnostics = _load(bot_dir, tuple(test_files))
    if machine is None or project is None:
        for d in diagnostics:
            if d.is_error:
                out.append(d.render())
        return TestReport(out, 0, 1)
    client = _client(machine, endpoints, action_url)
    if client is None and any(a.name for a in machine.domain.actions):
        out.append("note: no action endpoint (--action-url / --endpoints / endpoints.yml): "
                   "custom actions will fail")
    stories = _selected(project, tuple(test_files))
    taken: set = set()
    passed, failed = asyncio.run(_run_all(machine, stories, client, fail_on_nlu, out, taken))
    results = {"passed": passed, "failed": failed}
    if coverage:
        results.update(report_coverage(machine, taken, out))
    if json_out:
        out.append(write_reports(json_out, results, None))
    return TestReport(out, passed, failed)
