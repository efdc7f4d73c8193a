"""Project stories (+ the compiled rule table) -> StoryMemo, story control states, diagnostics.

Stories are compiled into the machine instead of being left to ML (issue #5):
  1. checkpoints are resolved by joining story parts (`or` is expanded by expand.py);
  2. every story path is cut into (dialogue states, action) pairs by expand.py, exactly like
     rules, and memorized in a prefix automaton (StoryMemo) keyed by the last max_history
     states (the whole history when max_history is None, Rasa 3.6's default);
  3. every story and rule is replayed against the rules as RulePolicy does at training time:
     a rule that predicts something else than the data is an error (F450, Rasa refuses to
     train); two stories that disagree after the same memo key are a warning (F451: Rasa's
     MemoizationPolicy drops the key, and so does formc); rules never used by a story become
     hidden turns for memoization (§5.6);
  4. story states and transitions (kind "story") are added for inspect / graph / coverage.
Precedence at runtime (one tie-break, §5.8): loop happy path > rules (priority 4) >
memoization (priority 3, confidence 1.0) > core fallback (confidence core_fallback_threshold).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Optional

from .. import model
from ..errors import Reporter
from .control import guard_of
from ..model import LISTEN
from .expand import applied, states_and_actions, story_events
from .machine import ControlState, Transition
from .rules import DO_NOT_PREDICT_LOOP_ACTION, RuleIndex
from .state import SNIPPET, SNS, DState, slots_substate
from .memo import StoryMemo

MAX_PATHS = 20000                  # checkpoint expansion cap (Rasa's generator also caps)
MAX_HOPS = 12                      # checkpoint joins per path (cycles)
DEFAULT_INTENT_ACTIONS = {"restart": "action_restart", "back": "action_back",
                          "session_start": "action_session_start"}


# ------------------------------------------------------------------------ checkpoints
def _segments(story: model.Story) -> list[tuple]:
    """A story split at its checkpoints: (start checkpoints, body steps, end checkpoints)."""
    parts: list = []
    start: list = []
    body: list = []
    pending: list = []
    for step in story.steps:
        if isinstance(step, model.CheckpointStep):
            if body:
                pending.append(step)
            else:
                start.append(step)
            continue
        if pending:
            parts.append((tuple(start), body, tuple(pending)))
            start, body, pending = list(pending), [], []
        body.append(step)
    parts.append((tuple(start), body, tuple(pending)))
    return parts


def story_paths(stories: list, rep: Reporter) -> list[model.Story]:
    """Checkpoint resolution: every path from a story start through joined story parts, as one
    flat story (no checkpoint steps). Paths ending in a checkpoint nobody continues are
    dropped, as Rasa's generator drops them (reported)."""
    segments = []
    for story in stories:
        for seg in _segments(story):
            segments.append((story,) + seg)
    by_start: dict = {}
    produced: dict = {}
    for seg in segments:
        for cp in seg[1]:
            by_start.setdefault(cp.name, []).append((cp, seg))
        for cp in seg[3]:
            produced.setdefault(cp.name, cp)
    for name, starts in sorted(by_start.items()):
        if name not in produced:
            cp, seg = starts[0]
            rep.warning("F452", f"story '{seg[0].name}' starts at checkpoint '{name}', but no story "
                        "ends with it: this part is never trained", cp.span,
                        f"end another story with `- checkpoint: {name}` or remove it")
    out: list = []
    queue = [(seg[0], list(seg[2]), seg, 0, {}) for seg in segments if not seg[1]]
    capped = False
    while queue:
        first, steps, seg, hops, slots = queue.pop(0)
        for step in seg[2]:
            if isinstance(step, model.SlotStep):
                slots = dict(slots, **dict(step.slots))
        if not seg[3]:
            out.append(replace(first, steps=tuple(steps), condition=()))
            continue
        followers = [(cp, nxt) for end in seg[3] for cp, nxt in by_start.get(end.name, ())]
        if not followers:
            continue
        for cp, nxt in followers:
            if any(slots.get(n) != v for n, v in cp.conditions):
                continue
            if hops >= MAX_HOPS or len(out) + len(queue) >= MAX_PATHS:
                capped = True
                continue
            name = f"{first.name} > {nxt[0].name}" if nxt[0].name not in first.name.split(" > ") else first.name
            queue.append((replace(first, name=name), steps + list(nxt[2]), nxt, hops + 1, slots))
    if capped:
        rep.warning("F453", f"checkpoints expand into more than {MAX_PATHS} story paths or joins "
                    f"deeper than {MAX_HOPS}; the rest are not compiled", None,
                    "split the checkpoint graph or remove cycles")
    return out


# ----------------------------------------------------------------------------- replay
def _strip_sns(state: DState) -> DState:
    """A rule tracker's own `null` values read as "not set" when it is replayed."""
    if state.active_loop == SNS:
        state = state._replace(active_loop=None)
    if any(v == SNS for _n, v in state.slots):
        state = state._replace(slots=tuple(p for p in state.slots if p[1] != SNS))
    return state


def _key_text(states: tuple) -> str:
    return json.dumps([s.as_rasa() for s in states], sort_keys=True).replace('"', "")


class _Replay:
    """RulePolicy's training-time replay (§5.6): contradictions and rules used by stories."""

    def __init__(self, rule_keys: tuple, unhappy: RuleIndex, rep: Reporter,
                 slot_conditioned: frozenset = frozenset()) -> None:
        self.keys = list(rule_keys)
        self.slot_conditioned = slot_conditioned   # rules naming a featurized slot
        self.index = RuleIndex(tuple(self.keys))
        self.unhappy = unhappy
        self.rep = rep
        self.used: set = set()
        self.used_loops: set = set()
        self.used_loop_listens: set = set()     # loops whose listen-after-run a story shows
        self.used_defaults: set = set()         # default intents (restart, ...) a story answers
        self.deleted: set = set()
        self.reported: set = set()

    def _delete_instead(self, key, is_rule: bool) -> bool:
        """Rasa deletes (instead of reporting) a one-state rule key predicting action_listen
        that a story contradicts when another rule continues after that state."""
        if is_rule or key.action != LISTEN or sum(1 for s in key.states if s.prev_action) != 1:
            return False
        text = _key_text(key.states)
        return any(other is not key and _key_text(other.states).startswith(text[:-2])
                   and _key_text(other.states) != text for other in self.keys)

    def run(self, story: model.Story, pairs: list, own_keys: set) -> None:
        is_rule = story.kind == "rule"
        states: list = []
        unpredictable = True
        rejected = False
        loop_seen = None
        for state, action in pairs:
            states.append(_strip_sns(state))
            if action.name == SNIPPET:
                unpredictable = True
                continue
            loop = states[-1].active_loop
            if loop != loop_seen:
                rejected, loop_seen = False, loop
            if unpredictable:
                unpredictable = False
            else:
                rejected = self._check(story, is_rule, tuple(states), action, loop, rejected, own_keys)
            if loop and action.name == loop:
                rejected = False

    def _check(self, story, is_rule, window, action, loop, rejected, own_keys) -> bool:
        gold = action.name
        last = window[-1]
        if last.prev_action == LISTEN and last.intent in DEFAULT_INTENT_ACTIONS:
            if not is_rule and gold == DEFAULT_INTENT_ACTIONS[last.intent]:
                self.used_defaults.add(last.intent)
            return rejected
        if loop and not rejected:
            predicted = loop if last.prev_action != loop else LISTEN
            if predicted == gold:
                if not is_rule:
                    (self.used_loops if gold == loop else self.used_loop_listens).add(loop)
                return rejected
            if predicted != loop:
                return rejected          # loop's own listen: no rule to blame (not checked)
            rejected = True              # Rasa emulates the loop's rejection and asks again
        best = self.index.best(window)
        if best is None:
            return rejected
        predicted = best.action
        if loop and predicted == LISTEN and not best.states[-1].active_loop:
            conditions = {k.action for k in self.unhappy.applicable(window)}
            if DO_NOT_PREDICT_LOOP_ACTION not in conditions:
                predicted = loop
        if predicted == gold:
            if not is_rule:
                self.used.add(best)
            return rejected
        if best.action == gold:
            return rejected
        if self._delete_instead(best, is_rule):
            self.deleted.add(best)
            self.keys = [k for k in self.keys if k is not best]
            self.index = RuleIndex(tuple(self.keys))
            return rejected
        if is_rule and (best.states, best.action) in own_keys:
            return rejected              # identical keys: already reported as F406
        if best.rule in self.slot_conditioned and all(s.intent is None for s in best.states):
            # a user-less key (condition-only rule): expand.py leaves slots out of states without
            # a user message, so its slot conditions are not in the key; blaming it would be a
            # false alarm (financial-demo trains in Rasa).
            return rejected
        where = str(action.span) if action.span else str(story.span or "")
        tag = (best.rule, best.span, story.name, where)
        if tag in self.reported:
            return rejected
        self.reported.add(tag)
        kind = "rule" if is_rule else "story"
        self.rep.error("F450", f"{kind} '{story.name}' runs '{gold}' ({where}) where rule "
                       f"'{best.rule}' ({best.span}) predicts '{predicted}' after the same "
                       "history; Rasa refuses to train on contradicting rules and stories",
                       action.span or story.span,
                       f"both locations: {where} and {best.span}; give the {kind} a different "
                       "history (intent, slot_was_set, active_loop) or change the rule")
        return rejected


def _rule_examples(rule: model.Story, pairs: list) -> list:
    """A rule's predictions after its conditions, as (name, span, states, action); turns after a
    `...` snippet or with a `null` condition are left out (no story-like state to match)."""
    out = []
    for j, (_state, action) in enumerate(pairs):
        if j == 0 or action.name == SNIPPET:
            continue
        window = [st for st, _a in pairs[:j + 1]]
        start = max((k + 1 for k, st in enumerate(window) if st.prev_action == SNIPPET), default=0)
        states = [_strip_sns(st) for st in window[start:]]
        if not states or any(v == SNS for st in window[start:] for _n, v in st.slots):
            continue
        out.append((rule.name, str(action.span) if action.span else "", states, action.name))
    return out


# -------------------------------------------------------------------------- memo trie
class _Trie:
    def __init__(self, max_history: Optional[int], rep: Reporter) -> None:
        self.max_history = max_history
        self.rep = rep
        self.state_ids: dict = {}
        self.states: list = []
        self.story_ids: dict = {}
        self.stories: list = []
        self.children: dict = {}
        self.nodes: list = []          # [parent, state, action, story, span, tid]
        self.first: dict = {}          # node -> (action, story name, span) of its first example
        self.ambiguous: set = set()
        self.reported: set = set()
        self.max_key = 0

    def _node(self, parent: int, state: DState) -> int:
        sid = self.state_ids.get(state)
        if sid is None:
            sid = self.state_ids[state] = len(self.states)
            self.states.append(state)
        node = self.children.get((parent, sid))
        if node is None:
            node = self.children[(parent, sid)] = len(self.nodes)
            self.nodes.append([parent, sid, None, 0, "", ""])
        return node

    def walk(self, key: tuple) -> int:
        node = -1
        for state in key:
            node = self._node(node, state)
        return node

    def add(self, node: int, length: int, action: str, story: str, span: str, tid: str) -> None:
        self.max_key = max(self.max_key, length)
        if node in self.ambiguous:
            return
        first = self.first.get(node)
        if first is None:
            sid = self.story_ids.setdefault(story, len(self.stories))
            if sid == len(self.stories):
                self.stories.append(story)
            self.first[node] = (action, story, span)
            self.nodes[node][2:] = [action, sid, span, tid]
            return
        if first[0] == action:
            return
        self.ambiguous.add(node)
        self.nodes[node][2] = None
        tag = (first[2], span, first[0], action)
        if tag in self.reported:
            return
        self.reported.add(tag)
        limit = f"the last {self.max_history} dialogue states" if self.max_history else "the whole history"
        self.rep.warning(
            "F451", f"stories '{first[1]}' and '{story}' want different next actions after the "
            f"same history ({limit}): '{first[1]}' runs '{first[0]}' ({first[2]}), '{story}' runs "
            f"'{action}' ({span}). Rasa's MemoizationPolicy drops this history, so no story "
            "predicts anything there (formc does the same; the core fallback answers)",
            _span_of(span), f"both locations: {first[2]} and {span}; make the histories differ "
            "(an intent, entity or slot_was_set step) or remove one; fails `formc validate --strict`")


def _span_of(text: str):
    from ..artifact import _span_from
    return _span_from(text) if text else None


# ---------------------------------------------------------------------------- compile
def compile_stories(project: model.Project, rule_keys: tuple, unhappy_keys: tuple, used: dict,
                    loops: set, rep: Reporter) -> tuple:
    """-> (StoryMemo, rule keys (minus the ones Rasa deletes), story ControlStates, Transitions)."""
    domain = project.domain
    policies = project.config.policies
    max_history = policies.max_history if policies.max_history and policies.max_history > 0 else None
    stories = [s for s in project.stories if s.kind == "story" and not s.is_test]
    rules = [s for s in project.stories if s.kind == "rule" and not s.is_test]
    featurized = {s.name for s in domain.slots if s.influence_conversation}
    slot_conditioned = frozenset(
        rule.name for rule in rules
        if any(isinstance(step, model.SlotStep) and any(n in featurized for n, _v in step.slots)
               for step in (*rule.condition, *rule.steps)))
    # RulePolicy's check_for_contradictions also finds the rule-only turns, slots and loops;
    # without it Rasa reports nothing, deletes nothing and hides nothing
    check = policies.check_for_contradictions
    replay = _Replay(rule_keys, RuleIndex(unhappy_keys), rep if check else Reporter(),
                     slot_conditioned)
    own = {(k.states, k.action) for k in rule_keys}
    rule_slots: set = set()
    rule_loops: set = set()
    rule_examples: list = []           # rule turns, for the TED stand-in's back-off
    for rule in rules:
        for events in story_events(rule, domain):
            pairs = states_and_actions(applied(events, loops), domain, used)
            if policies.ted:
                rule_examples += _rule_examples(rule, pairs)
            for state, _a in states_and_actions(events, domain, used):   # raw: see below
                rule_slots |= {n for n, _v in state.slots}
                if state.active_loop:
                    rule_loops.add(state.active_loop)
            replay.run(rule, pairs, own)

    trie = _Trie(max_history, rep)
    graph = _StoryGraph(max_history)
    story_slots: set = set()
    story_loops: set = set()
    longest = 0
    examples: list = []                # (story, span, states, action) for the TED stand-in
    for path in story_paths(stories, rep):
        starts_with_action = bool(path.steps) and isinstance(path.steps[0], (model.ActionStep, model.BotStep))
        for events in story_events(path, domain):
            pairs = states_and_actions(applied(events, loops), domain, used)
            # Rasa's training trackers cache one state per logged action (TrackerWithCachedStates:
            # no loop collapse) while the labels come from the applied events (loop happy-path
            # turns collapsed): the memo key of the j-th applied action is the first j+1 RAW
            # states. Stories that write a form's filling turns are thus memorised under keys a
            # live (collapsed) conversation never shows, and rule-only data is read from the raw
            # states (ruleturns/03: Rasa falls back after such a story's utter_submit)
            raw = [s for s, _a in states_and_actions(events, domain, used)]
            replay.run(path, pairs, own)
            longest = max(longest, len(pairs))
            tids = graph.add(path, pairs)
            node = -1
            for state in raw:
                story_slots |= {n for n, _v in state.slots}
                if state.active_loop:
                    story_loops.add(state.active_loop)
            for j, (_state, action) in enumerate(pairs):
                state = raw[j]
                if max_history:
                    start = max(0, j + 1 - max_history)
                    node = trie.walk(tuple(raw[start:j + 1]))
                    length = j + 1 - start
                else:
                    node = trie._node(node, state)
                    length = j + 1
                if j == 0 and starts_with_action:
                    continue             # a story's opening action is unpredictable (§5.3)
                if policies.ted:
                    examples.append((path.name, str(action.span) if action.span else "",
                                     [s for s, _a in pairs[:j + 1]], action.name))
                if policies.has_memoization:
                    trie.add(node, length, action.name, path.name,
                             str(action.span) if action.span else "", tids[j])

    kept = tuple(k for k in rule_keys if k not in replay.deleted) if check else tuple(rule_keys)
    hidden = tuple(i for i, k in enumerate(kept) if k not in replay.used) if check else ()
    window = (2 * max_history + 4) if max_history else (2 * longest + 1)
    memo = StoryMemo(
        policy="AugmentedMemoizationPolicy" if policies.augmented_memoization else "MemoizationPolicy",
        max_history=max_history, augmented=policies.augmented_memoization,
        states=tuple(trie.states), stories=tuple(trie.stories),
        nodes=tuple(tuple(n) for n in trie.nodes) if policies.has_memoization and stories else (),
        max_key=trie.max_key, window=window if stories else 0,
        initial_slots=slots_substate(domain, {s.name: s.initial_value for s in domain.slots}),
        rule_only_slots=tuple(sorted(rule_slots - story_slots)) if check else (),
        rule_only_loops=tuple(sorted(rule_loops - story_loops - {SNS})) if check else (),
        hidden_rules=hidden, hidden_loops=tuple(sorted(loops - replay.used_loops)) if check else (),
        hidden_loop_listens=tuple(sorted(loops - replay.used_loop_listens)) if check else (),
        hidden_defaults=(tuple(sorted(set(DEFAULT_INTENT_ACTIONS) - replay.used_defaults))
                         if check else ()))
    if examples:
        from .backoff import build_backoff
        memo = replace(memo, backoff=build_backoff(
            [(n, sp, [memo._clean(st) for st in states], a) for n, sp, states, a in examples],
            policies.ted_max_history,
            [(n, sp, [memo._clean(st) for st in states], a) for n, sp, states, a in rule_examples]))
    return memo, kept, tuple(graph.states), tuple(graph.transitions)


# --------------------------------------------------------------- inspect / graph view
class _StoryGraph:
    """Story waiting points (after each predicted action_listen) as ControlStates, and the user
    turn + bot actions between two of them as a Transition (why = "story: <name>")."""

    def __init__(self, max_history: Optional[int]) -> None:
        self.max_history = max_history
        self.ids: dict = {}
        self.states: list = []
        self.transitions: list = []
        self.seen: set = set()

    def _wait_id(self, key: tuple, story: str, last: DState) -> str:
        if len(key) <= 1:
            return "listening"
        sid = self.ids.get(key)
        if sid is None:
            sid = self.ids[key] = f"story:{len(self.ids) + 1}"
            said = f" after '{last.intent}'" if last.intent else ""
            self.states.append(ControlState(sid, "story", description=f"story '{story}' waits{said} "
                                            f"(bot just ran '{last.prev_action}')"))
        return sid

    def add(self, path: model.Story, pairs: list) -> list:
        """Registers the path; returns the transition id of every pair (same order)."""
        tids = [""] * len(pairs)
        states = [s for s, _a in pairs]
        source = "listening"
        j = 0
        n = len(pairs)
        while j < n:
            if pairs[j][1].name == LISTEN:
                key = tuple(states[:j + 1])
                key = key[-self.max_history:] if self.max_history and len(key) > 1 else key
                source = self._wait_id(key, path.name, states[j])
                j += 1
                continue
            k = j
            while k < n and pairs[k][1].name != LISTEN:
                k += 1
            if k < n:
                key = tuple(states[:k + 1])
                key = key[-self.max_history:] if self.max_history else key
                target = self._wait_id(key, path.name, states[k])
            else:
                target = "listening"
            tid = f"story:{source}>{target}"
            for m in range(j, k + 1 if k < n else k):
                tids[m] = tid
            if tid not in self.seen:
                self.seen.add(tid)
                self.transitions.append(self._transition(tid, source, target, path, pairs[j:k]))
            j = k
        return tids

    @staticmethod
    def _transition(tid: str, source: str, target: str, path: model.Story, chunk: list) -> Transition:
        first, action = chunk[0]
        guard = guard_of(first)   # story states never hold "must not be set"
        span = str(action.span) if action.span else (str(path.span) if path.span else "")
        return Transition(tid, source, target, guard, tuple(a.name for _s, a in chunk),
                          f"story: {path.name}", span)
