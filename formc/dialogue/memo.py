"""Story memo (MemoizationPolicy, §5.7): a conversation's recent dialogue states -> the action
the training stories take next, or None.

The memo is a trie (prefix automaton) over memo keys: with `max_history` None a key is the
whole history since the session start, so the trie is the story prefix tree (linear in the
stories' total length); with max_history N the keys are the last N states. Ambiguous keys (two
stories disagree) carry no action, as in Rasa. Lookup is pure: the engine hands in its window
of dialogue states, this module rebuilds the view memoization sees (rule-only turns, slots and
loops hidden, §5.6) and, for AugmentedMemoizationPolicy, retries with the history cut at
earlier action boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Optional

from ..model import LISTEN
from .state import SNS, DState

MEMO_CONFIDENCE = 1.0


@dataclass(frozen=True)
class MemoHit:
    action: str
    story: str
    span: str
    transition: str
    cut: int = 0                      # states dropped by augmented truncation (0 = exact)


@dataclass(frozen=True)
class StoryMemo:
    """The compiled memo table plus what its runtime view needs."""

    policy: str = "MemoizationPolicy"          # or AugmentedMemoizationPolicy
    max_history: Optional[int] = None
    augmented: bool = False
    states: tuple = ()                # interned DStates
    stories: tuple = ()               # story names (nodes refer to them by index)
    nodes: tuple = ()                 # (parent, state idx, action|None, story idx, span, transition)
    max_key: int = 0                  # longest key, in states
    window: int = 0                   # dialogue states the session must keep for lookups
    initial_slots: tuple = ()         # slot features of the domain's initial values
    rule_only_slots: tuple = ()
    rule_only_loops: tuple = ()
    hidden_rules: tuple = ()          # indices into DialogueMachine.rule_keys unused by stories
    hidden_loops: tuple = ()          # loops whose happy-path runs no story shows
    hidden_loop_listens: tuple = ()   # loops whose listen after a run no story shows
    hidden_defaults: tuple = ()       # default intents (restart, back, session_start) no story answers
    backoff: Any = None               # formc.dialogue.backoff.StoryBackoff (config names TEDPolicy)

    # ------------------------------------------------------------------ serialisation
    def to_json(self) -> dict:
        return {
            "policy": self.policy, "max_history": self.max_history, "augmented": self.augmented,
            "states": [s.to_json() for s in self.states], "stories": list(self.stories),
            "nodes": [_node_json(n) for n in self.nodes], "max_key": self.max_key,
            "window": self.window,
            "initial_slots": [[n, v if isinstance(v, str) else list(v)] for n, v in self.initial_slots],
            "rule_only_slots": list(self.rule_only_slots),
            "rule_only_loops": list(self.rule_only_loops),
            "hidden_rules": list(self.hidden_rules), "hidden_loops": list(self.hidden_loops),
            "hidden_loop_listens": list(self.hidden_loop_listens),
            "hidden_defaults": list(self.hidden_defaults),
            **({"backoff": self.backoff.to_json()} if self.backoff is not None else {}),
        }

    @classmethod
    def from_json(cls, d: Optional[dict]) -> "StoryMemo":
        if not d:
            return cls()
        nodes = []
        for n in d.get("nodes", ()):
            n = list(n) + [None, 0, "", ""][len(n) - 2:] if len(n) < 6 else list(n)
            nodes.append((int(n[0]), int(n[1]), n[2], int(n[3]), str(n[4]), str(n[5])))
        return cls(
            policy=d.get("policy", "MemoizationPolicy"), max_history=d.get("max_history"),
            augmented=bool(d.get("augmented", False)),
            states=tuple(DState.from_json(s) for s in d.get("states", ())),
            stories=tuple(d.get("stories", ())), nodes=tuple(nodes),
            max_key=int(d.get("max_key", 0)), window=int(d.get("window", 0)),
            initial_slots=tuple((n, v if isinstance(v, str) else tuple(v))
                                for n, v in d.get("initial_slots", ())),
            rule_only_slots=tuple(d.get("rule_only_slots", ())),
            rule_only_loops=tuple(d.get("rule_only_loops", ())),
            hidden_rules=tuple(int(i) for i in d.get("hidden_rules", ())),
            hidden_loops=tuple(d.get("hidden_loops", ())),
            hidden_loop_listens=tuple(d.get("hidden_loop_listens", ())),
            hidden_defaults=tuple(d.get("hidden_defaults", ())),
            backoff=_backoff(d.get("backoff")),
        )

    # ------------------------------------------------------------------------ lookup
    @cached_property
    def _state_index(self) -> dict:
        return {s: i for i, s in enumerate(self.states)}

    @cached_property
    def _children(self) -> dict:
        return {(n[0], n[1]): i for i, n in enumerate(self.nodes)}

    def lookup(self, key: tuple) -> Optional[MemoHit]:
        """The action memorized for exactly this state sequence (None: unknown or ambiguous)."""
        node = -1
        index, children = self._state_index, self._children
        for state in key:
            idx = index.get(state)
            if idx is None:
                return None
            node = children.get((node, idx))
            if node is None:
                return None
        if node < 0:
            return None
        _p, _s, action, story, span, tid = self.nodes[node]
        if action is None:
            return None
        return MemoHit(action, self.stories[story], span, tid)

    def hidden_keys(self, rule_keys: tuple) -> set:
        cache = self.__dict__.setdefault("_hidden_cache", {})
        key = id(rule_keys)
        if key not in cache:
            cache.clear()
            cache[key] = {rule_keys[i] for i in self.hidden_rules if i < len(rule_keys)}
        return cache[key]

    def predict(self, states: tuple, complete: bool, rule_index: Any, rule_keys: tuple) -> Optional[MemoHit]:
        """Memoization on the engine's window (`complete`: it reaches the session start)."""
        if not self.nodes or not states:
            return None
        flags = self._hide_flags(states, rule_index, self.hidden_keys(rule_keys))
        n = self.max_history
        if n is not None or complete:
            view = self._view(states, flags)
            key = tuple(view[-n:]) if n else tuple(view)
            hit = self.lookup(key) if len(key) <= self.max_key else None
            if hit is not None or not self.augmented:
                return hit
        elif not self.augmented:
            return None                 # unlimited history, window overflowed: no story is this long
        return self._truncated(states, flags)

    # ----------------------------------------------------------------- memo view (§5.6)
    def _hide_flags(self, states: tuple, rule_index: Any, hidden: set) -> list:
        """Per state: was the action taken after it a rule-only turn (hide_rule_turn)? Known from
        the rules themselves: the engine lets a matching rule win, so the rule that matches the
        history before an action and predicts that action is the one that produced it."""
        flags = []
        hidden_loops = set(self.hidden_loops)
        for i in range(len(states) - 1):
            state, nxt = states[i], states[i + 1].prev_action
            loop = state.active_loop if state.active_loop != SNS else None
            if (loop and nxt == loop and state.prev_action != loop
                    and not self._loop_rerun(states, i, loop)):
                flags.append(loop in hidden_loops)
                continue
            if not hidden or (state.prev_action is None and nxt == LISTEN):
                # the listen after the session start is logged by action_session_start itself,
                # not predicted, so it is never a rule-only turn (even when a conversation_start
                # rule's key [start state] -> action_listen matches it)
                flags.append(False)
                continue
            best = rule_index.best(states[:i + 1])
            flags.append(best is not None and best.action == nxt and best in hidden)
        flags.append(False)
        return flags

    @staticmethod
    def _loop_rerun(states: tuple, i: int, loop: str) -> bool:
        """Was the loop action run after states[i] (a user turn) NOT by RulePolicy's loop happy
        path? The happy path only predicts an active loop that is not rejected, and a rejection
        lasts until the loop action runs again. So when the loop was already active before the
        last action_listen but that listen followed another action (utter_ask_continue after
        the loop rejected `stop`, ...), the loop is still rejected at this user turn: the re-run
        comes from a story (MemoizationPolicy, never hidden) or a rule (looked up like any rule
        turn), not from the loop happy path, whose hidden-ness `hidden_loops` describes.
        (formbot 04_stop_continue: treating such a re-run as a hidden happy-path turn dropped
        the whole 'affirm -> form resumed' turn, and a later `deny` matched story 'stop form +
        stop' where Rasa's memoization sees the full history and finds no story.)"""
        if i < 1 or states[i].prev_action != LISTEN:
            return False
        before = states[i - 1]
        return before.active_loop == loop and before.prev_action not in (None, loop)

    def _clean(self, state: DState) -> DState:
        if self.rule_only_slots and state.slots:
            drop = set(self.rule_only_slots)
            state = state._replace(slots=tuple(p for p in state.slots if p[0] not in drop))
        if self.rule_only_loops and state.active_loop in self.rule_only_loops:
            state = state._replace(active_loop=None)
        return state

    def _view(self, states, flags) -> list:
        """Rasa's states_for_tracker_history with ignore_rule_only_turns (§5.6): hidden turns
        vanish, the next visible state inherits the last visible prev_action and user input."""
        out: list = []
        last_prev: Optional[str] = None
        was_hidden = False
        for state, flag in zip(states, flags):
            if not was_hidden:
                last_prev = state.prev_action
            # Rasa keeps the hidden flag unchanged when the tracker's latest action equals its
            # active loop -- including None == None, the empty tracker a truncated
            # (AugmentedMemoization) history starts with: that start state is never hidden even
            # when the action after it was a rule-only turn (stories2/05_vip_rules)
            if not (state.active_loop and state.prev_action == state.active_loop) and not (
                    state.prev_action is None and not state.active_loop):
                was_hidden = flag
            if was_hidden:
                continue
            state = self._clean(state)
            if out and state.prev_action != LISTEN:
                state = state._replace(intent=out[-1].intent, entities=out[-1].entities)
            if last_prev:
                state = state._replace(prev_action=last_prev)
            out.append(state)
        return out

    # ------------------------------------------------------ AugmentedMemoizationPolicy
    def _truncated(self, states: tuple, flags: list) -> Optional[MemoHit]:
        """Retry with the history cut before each later action, replayed from a fresh tracker:
        slots back at their initial values, no active loop, no user message until one is
        heard after the cut (what Rasa's truncated tracker sees)."""
        n, count = self.max_history, len(states)
        start = 0
        if n:
            for k in range(count - 2 - n, -1, -1):   # trim to > n actions, starting at a listen
                if states[k + 1].prev_action == LISTEN:
                    start = k
                    break
        tried = None
        initial = dict(self.initial_slots)
        for k in range(start, count - 1):
            sub = [DState()]
            changed: set = set()
            loop_changed = heard = False
            before = states[k]
            for j in range(k + 1, count):
                cur = states[j]
                heard = heard or cur.prev_action == LISTEN
                old, new = dict(before.slots), dict(cur.slots)
                changed |= {name for name in set(old) | set(new) if old.get(name) != new.get(name)}
                loop_changed = loop_changed or cur.active_loop != before.active_loop
                before = cur
                if not heard:
                    sub.append(DState(prev_action=cur.prev_action,
                                      active_loop=cur.active_loop if loop_changed else None))
                    continue
                slots = dict(initial)
                for name in changed:
                    if name in new:
                        slots[name] = new[name]
                    else:
                        slots.pop(name, None)
                sub.append(cur._replace(slots=tuple(sorted(slots.items())),
                                        active_loop=cur.active_loop if loop_changed else None))
            view = self._view(sub, [flags[k]] + flags[k + 1:])
            key = tuple(view[-n:]) if n else tuple(view)
            if key == tried or len(key) > self.max_key:
                continue
            tried = key
            hit = self.lookup(key)
            if hit is not None:
                return MemoHit(hit.action, hit.story, hit.span, hit.transition, cut=k + 1)
        return None


def _backoff(d: Optional[dict]) -> Any:
    if not d:
        return None
    from .backoff import StoryBackoff
    return StoryBackoff.from_json(d)


def _node_json(n: tuple) -> list:
    parent, state, action, story, span, tid = n
    if action is None and not tid:
        return [parent, state]
    return [parent, state, action, story, span, tid]
