"""`formc test BOT_DIR [TEST_FILES]`: replay Rasa test stories (§13.2) against the machine.

Replay semantics: user steps are logged with their annotated intent/entities (plus the implicit
entity slots of §5.3); for each action step the next action is predicted and compared, then
the *expected* action is logged (actions are not executed); slot_was_set / active_loop steps
are applied as written. A form predicted where the story wants something else is rejected and
the prediction repeated (how unhappy paths are tested). Prints a diff per failing story and
ends with `N passed, N failed`; `--coverage` lists machine transitions never taken.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any, Optional

from .. import model
from ..dialogue.expand import _alternatives, _entity_slot_events, step_entities
from ..model import LISTEN
from ..runtime import events as E
from ..runtime.engine import Engine
from ..runtime.types import Ctx
from . import TestReport


def _load(bot_dir: str, test_files: tuple) -> tuple[Any, Optional[model.Project], list]:
    from ..reader import read_project
    project, diagnostics = read_project(bot_dir, extra_test_paths=tuple(test_files))
    if project is None or any(d.is_error for d in diagnostics):
        return None, project, diagnostics
    from ..api import build_machine
    machine, more = build_machine(project)
    return machine, project, diagnostics + more


def _selected(project: model.Project, test_files: tuple) -> list:
    if not test_files:
        return list(project.tests)
    wanted = {os.path.abspath(os.path.join(project.root, f)) if not os.path.isabs(f) else f
              for f in test_files} | {os.path.abspath(f) for f in test_files}
    out = []
    for story in project.tests:
        file = os.path.abspath(story.span.file) if story.span else ""
        if any(file == w or file.startswith(w.rstrip("/") + "/") for w in wanted):
            out.append(story)
    return out


class StoryRun:
    """One expanded test story replayed on a fresh session."""

    def __init__(self, engine: Engine, nlu: Any) -> None:
        self.engine = engine
        self.nlu = nlu
        self.lines: list[str] = []
        self.failed = False
        self.nlu_mismatch = False
        self.transitions: set = set()
        self.actions = self.correct = 0      # every predicted action, as Rasa's action report
        self.record: list[dict] = []         # the story as run (failed_test_stories.yml)
        self.asking: Optional[str] = None    # the slot the active form asks for (coverage)
        # the last event replayed is action_listen: Rasa's story reader logs a listen before a
        # user step unless the event just before it is one (not merely the latest action)
        self.after_listen = False

    def run(self, steps: list) -> None:
        engine = self.engine
        s = engine.new_session("formc-test")
        ctx = Ctx(time.time())
        s.started = True
        for ev in engine.builtins.session_start_events(s, ctx.ts()):
            engine.apply(s, ev)
        self.after_listen = s.latest_action == LISTEN
        for step in steps:
            self._form_progress(s)
            if isinstance(step, model.UserStep):
                self._user(s, step, ctx)
            elif isinstance(step, (model.ActionStep, model.BotStep)):
                name = step.name if isinstance(step, model.ActionStep) else step.text
                self._action(s, name, step, ctx)
            elif isinstance(step, model.SlotStep):
                for name, value in step.slots:
                    engine.apply(s, E.slot(name, value, ctx.ts()))
                self.after_listen = self.after_listen and not step.slots
                self.lines.append(f"  - slot_was_set: {dict(step.slots)}")
                self.record.append({"slot_was_set": list(step.slots)})
            elif isinstance(step, model.LoopStep):
                if step.name is None and s.active_loop and s.latest_action == s.active_loop:
                    # the form ran and ended itself: its submit step (a rule's
                    # action_deactivate_loop ends it without submitting)
                    self.transitions.add(f"form:{s.active_loop}:submit")
                engine.apply(s, E.active_loop(step.name, ctx.ts()))
                self.after_listen = False
                self.lines.append(f"  - active_loop: {step.name}")
                self.record.append({"active_loop": step.name})
        # a story ends listening, and Rasa checks that prediction too (unless it ends waiting
        # for a user message or at a checkpoint)
        if steps and not isinstance(steps[-1], (model.UserStep, model.CheckpointStep)) \
                and s.latest_action != LISTEN:
            self._action(s, LISTEN, None, ctx)

    def _form_progress(self, s) -> None:
        """Replay does not run forms, so requested_slot is only set where a story says so: the
        slot the form asks for is followed here (its first empty required slot), and once a
        story step fills it, the form's fill step counts as taken."""
        form = self.engine.forms.get(s.active_loop or "")
        if form is None:
            self.asking = None
            return
        if self.asking and s.slots.get(self.asking) is not None:
            self.transitions.add(f"form:{form.name}:fill:{self.asking}")
            self.asking = None
        if self.asking is None and s.latest_action == form.name:
            self.asking = next((n for n in form.required_slots if s.slots.get(n) is None), None)

    def _user(self, s, step: model.UserStep, ctx) -> None:
        engine = self.engine
        if not self.after_listen:
            self._action(s, LISTEN, step, ctx)
        self.after_listen = False
        ents = step_entities(step)
        intent = step.intent
        comment = ""
        if step.text is not None and self.nlu is not None:
            parsed = self.nlu.parse(step.text)
            got = (parsed.get("intent") or {}).get("name")
            if intent and got != intent.split("/")[0] and got != intent:
                self.nlu_mismatch = True
                comment = f"   # predicted: {got}: {step.text}"
        if intent is None and step.text is not None and self.nlu is not None:
            intent = (self.nlu.parse(step.text).get("intent") or {}).get("name")
        parse = {"text": step.text, "intent": {"name": (intent or "").split("/")[0] or None,
                                               "confidence": 1.0}, "entities": ents}
        engine.apply(s, E.user(step.text, parse, ctx.ts(), "rest", None, None))
        for ev in _entity_slot_events(engine.domain, ents):
            engine.apply(s, E.slot(ev.name, ev.value, ctx.ts()))
        shown = f"user: {step.text!r}, intent: {intent}" if step.text else f"intent: {intent}"
        self.lines.append(f"  - {shown}{comment}")
        self.record.append({"user": step.text, "intent": step.intent, "entities": [
            {"entity": a.entity, "value": a.value, "start": a.start, "end": a.end,
             "role": a.role, "group": a.group} for a in step.text_entities] or ents})

    def _action(self, s, expected: str, step, ctx) -> None:
        engine = self.engine
        pred = engine.predict(s)
        if pred.action != expected and s.active_loop and pred.action == s.active_loop:
            requested = s.slots.get("requested_slot")
            if requested:       # the form found nothing for its slot: rules take the message
                self.transitions.add(f"form:{s.active_loop}:reject:{requested}")
            engine.apply(s, E.rejected(pred.action, ctx.ts(), pred.policy, pred.confidence))
            pred = engine.predict(s)
        if pred.policy == "followup_action" and s.followups:
            s.followups.pop(0)
        where = f" ({step.span})" if getattr(step, "span", None) else ""
        self.actions += 1
        self.correct += pred.action == expected
        if isinstance(step, (model.ActionStep, model.BotStep)) or pred.action != expected:
            self.record.append({"action": expected,
                                "predicted": pred.action if pred.action != expected else None})
        if pred.action == expected:
            if pred.transition:
                self.transitions.add(pred.transition)
            if expected in engine.forms and s.active_loop != expected:
                self.transitions.add(f"form:{expected}:activate")
            if expected != LISTEN or step is not None and isinstance(step, model.ActionStep):
                self.lines.append(f"  - action: {expected}")
        else:
            self.failed = True
            self.lines.append(f"  - action: {expected}   # predicted: {pred.action}{where}  [{pred.why}]")
        if s.latest_action == LISTEN:
            engine.apply(s, E.user_featurization(ctx.ts()))
        engine.apply(s, E.action(expected, ctx.ts(), pred.policy, pred.confidence))
        self.after_listen = expected == LISTEN


def report_story(story, variant: int, run, fail_on_nlu: bool, nlu_marker: str, out: list) -> bool:
    """Add one story's outcome to `out` (a diff when it failed); True when it passed."""
    label = story.name + (f" (variant {variant + 1})" if variant else "")
    if run.failed or (fail_on_nlu and run.nlu_mismatch):
        out.append(f"FAILED {label} ({story.span})")
        out.extend(run.lines)
        return False
    if run.nlu_mismatch:
        out.append(f"NLU differs in {label}:")
        out.extend(line for line in run.lines if nlu_marker in line)
    return True


def run_tests(bot_dir: str, test_files: tuple = (), coverage: bool = False,
              json_out: Optional[str] = None, fail_on_nlu: bool = False) -> TestReport:
    """`formc test` in replay mode (as `rasa test`): the report, one line per finding."""
    out: list = []
    machine, project, diagnostics = _load(bot_dir, tuple(test_files))
    errors = [d for d in diagnostics if d.is_error]
    if machine is None or project is None:
        for d in errors:
            out.append(d.render())
        return TestReport(out, 0, 1)
    engine = Engine(machine, random.Random(0))
    nlu = machine.nlu if machine.nlu_data else None   # steps with only an intent need no NLU
    passed = failed = actions = correct = 0
    taken: set = set()
    failed_blocks: list[str] = []
    for story in _selected(project, tuple(test_files)):
        for variant, steps in enumerate(_alternatives(story.steps)):
            run = StoryRun(engine, nlu)
            run.run(steps)
            taken |= run.transitions
            actions, correct = actions + run.actions, correct + run.correct
            if report_story(story, variant, run, fail_on_nlu, "# predicted", out):
                passed += 1
            else:
                failed += 1
                failed_blocks.append(failed_block(story, variant, run.record))
    results = {"passed": passed, "failed": failed, "actions": actions,
               "actions_correct": correct}
    if coverage:
        results.update(report_coverage(machine, taken, out))
    if actions:
        out.append(f"actions: {correct}/{actions} predicted correctly ({correct / actions:.3f})")
    if json_out:
        out.append(write_reports(json_out, results, failed_blocks))
    return TestReport(out, passed, failed)


def failed_block(story: model.Story, variant: int, record: list) -> str:
    """One failed story as Rasa writes it to failed_test_stories.yml (wrong actions marked
    `# predicted: ...`), titled with the story's name and file as Rasa does."""
    from ..workflow.stories_yaml import story_block
    where = f" ({story.span.file})" if story.span else ""
    title = story.name + (f" (variant {variant + 1})" if variant else "") + where
    return story_block(title, record)


def write_reports(json_out: str, results: dict, failed_blocks: Optional[list]) -> str:
    """The JSON report, and failed_test_stories.yml (Rasa's name and format) beside it
    (unless `failed_blocks` is None: live runs do not rebuild the stories they ran)."""
    from ..workflow.stories_yaml import stories_document
    os.makedirs(os.path.dirname(os.path.abspath(json_out)), exist_ok=True)
    with open(json_out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=True)
    if failed_blocks is None:
        return f"wrote {json_out}"
    failed_path = os.path.join(os.path.dirname(os.path.abspath(json_out)), "failed_test_stories.yml")
    with open(failed_path, "w", encoding="utf-8") as handle:
        handle.write(stories_document(failed_blocks, empty_note="None of the test stories "
                                      "failed - all good!"))
    return f"wrote {json_out} and {failed_path}"


def report_coverage(machine: Any, taken: set, out: list) -> dict:
    """Transitions taken / never taken (of those that can run: no two-stage fallback steps
    for a bot without a two-stage fallback rule) -> lines in `out`; returns the JSON fields."""
    from ..views.graph import running
    states, transitions = running(machine)
    ids = [t.id for t in transitions]
    used = [i for i in ids if i in taken]
    never = [t for t in transitions if t.id not in taken]
    states_used = {machine.dialogue.transition_by_id[i].source for i in used} | \
                  {machine.dialogue.transition_by_id[i].target for i in used}
    out.append(f"coverage: {len(used)}/{len(ids)} transitions, {len(states_used)}/"
               f"{len(states)} states")
    for t in never:
        out.append(f"  never taken: {t.id}  {t.why}" + (f"  ({t.span})" if t.span else ""))
    return {"transitions_total": len(ids), "transitions_taken": sorted(used),
            "transitions_never_taken": sorted(t.id for t in never),
            "states_total": len(states), "states_visited": sorted(states_used)}
