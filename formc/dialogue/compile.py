"""Project rules/stories/forms -> (DialogueMachine, [Diagnostic]); rule problems are F4xx."""

from __future__ import annotations

from typing import NamedTuple, Optional

from .. import model
from ..model import TWO_STAGE
from ..errors import Reporter, Span, did_you_mean
from .control import build_control
from .expand import applied, rule_keys, states_and_actions, story_events, unhappy_key
from .machine import DialogueMachine
from .stories import compile_stories
from .rules import DO_NOT_PREDICT_LOOP_ACTION, LOOP_WAS_INTERRUPTED, RuleKey
from .state import SNIPPET, SNS, used_entities, key_json_length



def _span(span: Optional[Span]) -> str:
    return str(span) if span else ""


def known_actions(domain: model.Domain) -> set:
    return (set(model.DEFAULT_ACTIONS) | {a.name for a in domain.actions}
            | {r.name for r in domain.responses} | {f.name for f in domain.forms} | {SNIPPET}
            | {f"utter_{i.name}" for i in domain.intents if i.is_retrieval})


class _Names(NamedTuple):
    """The domain's names, computed once per compile (not once per story)."""

    actions: set
    intents: set
    slots: set
    loops: set

    @classmethod
    def of(cls, domain: model.Domain) -> "_Names":
        return cls(known_actions(domain), set(domain.intent_names()) | set(model.DEFAULT_INTENTS),
                   {s.name for s in domain.slots} | set(model.BUILTIN_SLOTS),
                   {f.name for f in domain.forms} | {TWO_STAGE} | {a.name for a in domain.actions})


def _check_story(story: model.Story, names: _Names, policies: model.PolicyConfig,
                 rep: Reporter) -> None:
    """Unknown names in a rule/story (F401-F404) and restrict_rules (F405)."""
    actions, intents, slots, loops = names
    kind = story.kind
    user_turns = 0

    def visit(step, count: bool = True) -> None:
        nonlocal user_turns
        if isinstance(step, model.OrStep):
            if any(isinstance(alt, model.UserStep) for alt in step.alternatives):
                user_turns += 1          # one user turn, whichever alternative
            for alt in step.alternatives:
                visit(alt, False)
            return
        if isinstance(step, model.UserStep):
            user_turns += 1 if count else 0
            base = (step.intent or "").split("/")[0]
            if step.intent and base not in intents:
                # a warning, as in Rasa: training goes on, the step can simply never match
                rep.warning("F402", f"{kind} '{story.name}' uses intent '{step.intent}', which is "
                            "not declared in the domain", step.span,
                            did_you_mean(base, intents) or "add it under `intents:` in domain.yml")
        elif isinstance(step, model.ActionStep):
            if step.name not in actions:
                rep.error("F401", f"{kind} '{story.name}' runs action '{step.name}', which is not a "
                          "response, form, custom or default action", step.span,
                          did_you_mean(step.name, actions) or
                          "add a response `utter_...`, list it under `actions:`, or fix the name")
        elif isinstance(step, model.SlotStep):
            for name, _value in step.slots:
                if name not in slots:
                    rep.warning("F403", f"{kind} '{story.name}' sets slot '{name}', which is "
                                "not declared in the domain (Rasa ignores such slot events)",
                                step.span, did_you_mean(name, slots) or "declare it under `slots:`")
        elif isinstance(step, model.LoopStep):
            if step.name and step.name not in loops:
                rep.error("F404", f"{kind} '{story.name}' names active_loop '{step.name}', which is "
                          "not a form", step.span,
                          did_you_mean(step.name, loops) or "declare it under `forms:`")

    for step in tuple(story.condition) + tuple(story.steps):
        visit(step)
    if kind == "rule" and policies.restrict_rules and user_turns > 1:
        rep.error("F405", f"rule '{story.name}' has {user_turns} user turns; rules may contain at "
                  "most one (restrict_rules)", story.span,
                  "split it into several rules or write it as a story")


def compile_dialogue(project: model.Project):
    """Compile the project's rules (and stories, for loop unhappy paths) into a DialogueMachine."""
    rep = Reporter()
    domain = project.domain
    used = used_entities(domain)
    loops = {f.name for f in domain.forms} | {TWO_STAGE}
    names = _Names.of(domain)
    for story in project.stories:
        _check_story(story, names, project.config.policies, rep)

    learned: dict[tuple, tuple[str, str, str]] = {}     # key states -> (action, rule, span)
    order: list[tuple] = []
    per_rule: list[tuple[model.Story, list]] = []
    unhappy: dict[tuple, str] = {}
    for story in sorted(project.stories, key=lambda s: (s.kind != "rule",)):
        for events in story_events(story, domain):
            pairs = states_and_actions(applied(events, loops), domain, used)
            if story.kind == "rule":
                keys = rule_keys(pairs)
                per_rule.append((story, keys))
                for states, action in keys:
                    span = _span(action.span)
                    if states in learned:
                        other = learned[states]
                        if other[0] != action.name:
                            rep.error("F406", f"rule '{story.name}' predicts '{action.name}' where "
                                      f"rule '{other[1]}' ({other[2]}) predicts '{other[0]}' in "
                                      "the same situation", action.span,
                                      "make the rules differ (conditions, intents) or remove one")
                        continue
                    learned[states] = (action.name, story.name, span)
                    order.append(states)
            _learn_unhappy(pairs, unhappy)

    rule_table = tuple(RuleKey(k, learned[k][0], learned[k][1], learned[k][2], key_json_length(k))
                       for k in order)
    unhappy_table = tuple(RuleKey(k, v, "", "", key_json_length(k)) for k, v in unhappy.items())
    # issue #5: stories -> StoryMemo (+ F450/F451, hidden rule turns, story control states)
    story_memo, rule_table, story_states, story_transitions = compile_stories(
        project, rule_table, unhappy_table, used, loops, rep)
    window = max([len(k.states) for k in rule_table + unhappy_table] + [2, story_memo.window])
    states, transitions = build_control(domain, per_rule)
    states, transitions = states + story_states, transitions + story_transitions
    machine = DialogueMachine(states=states, transitions=transitions, rule_keys=rule_table,
                              unhappy_keys=unhappy_table, loops=tuple(sorted(loops)), window=window,
                              memo=story_memo if story_memo.nodes else None)
    return machine, rep.diagnostics


def _learn_unhappy(pairs: list, table: dict) -> None:
    """RulePolicy's loop-unhappy-path conditions from every rule and story (§6.7)."""
    states_so_far = []
    for state, action in pairs:
        states_so_far.append(state)
        loop = state.active_loop
        if not loop or loop == SNS:
            continue
        key = unhappy_key(states_so_far)
        key = tuple(s for s in key if s.prev_action != SNIPPET) if key[-1].prev_action != SNIPPET else ()
        if not key:
            continue
        if state.prev_action == "action_listen" and action.name == loop:
            table[key] = LOOP_WAS_INTERRUPTED
        elif state.prev_action != "action_listen" and action.name != loop:
            table[key] = DO_NOT_PREDICT_LOOP_ACTION
