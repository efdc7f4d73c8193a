"""Rule lookup (§5.5): a conversation's recent dialogue states -> the applicable rule keys.

Pure and bounded: matching only ever looks at the last `len(key)` states, so the engine keeps a
window of max_key_length states. Keys are indexed by the prev_action of their last state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .state import SNS, DState

LOOP_WAS_INTERRUPTED = "loop_was_interrupted"
DO_NOT_PREDICT_LOOP_ACTION = "do_not_predict_loop_action"


@dataclass(frozen=True)
class RuleKey:
    """One learned rule prediction: the states it needs -> the action it predicts."""

    states: tuple                      # tuple[DState, ...]
    action: str
    rule: str                          # rule name (several rules may share a key)
    span: str = ""                     # "file:line:col" of the predicted step
    json_length: int = 0               # Rasa's tie-break: longest serialized key wins

    def to_json(self) -> dict:
        return {"states": [s.to_json() for s in self.states], "action": self.action,
                "rule": self.rule, "span": self.span, "json_length": self.json_length}

    @classmethod
    def from_json(cls, d: dict) -> "RuleKey":
        return cls(tuple(DState.from_json(s) for s in d["states"]), d["action"], d["rule"],
                   d.get("span", ""), d.get("json_length", 0))


def state_matches(rule: DState, conv: DState) -> bool:
    """One rule state against one conversation state (feature-based, §5.5 step 3)."""
    if rule.prev_action is None or conv.prev_action is None:
        return rule.prev_action is None and conv.prev_action is None
    if rule.prev_action != conv.prev_action:
        return False
    if rule.intent is not None and rule.intent != conv.intent:
        return False
    if rule.entities and rule.entities != conv.entities:
        return False
    if rule.active_loop is not None:
        if rule.active_loop == SNS:
            if conv.active_loop:
                return False
        elif rule.active_loop != conv.active_loop:
            return False
    if rule.slots:
        conv_slots = dict(conv.slots)
        for name, value in rule.slots:
            have = conv_slots.get(name)
            if value == SNS:
                if have:
                    return False
            elif have != value:
                return False
    return True


def key_applies(key: tuple, window: tuple) -> bool:
    """Walk back from the newest state; rule states older than the window's start are not
    checked (Rasa only iterates over the conversation's own states)."""
    n = min(len(key), len(window))
    for i in range(1, n + 1):
        if not state_matches(key[-i], window[-i]):
            return False
    return True


class RuleIndex:
    """RuleKeys grouped by (prev_action, intent) of their last state, for fast lookup.

    A key whose last state names no intent matches any intent, so a lookup reads two buckets
    and merges them back into compile order (the tie-break depends on that order)."""

    def __init__(self, keys: tuple) -> None:
        self.keys = keys
        self.buckets: dict[tuple, list[tuple[int, RuleKey]]] = {}
        for position, key in enumerate(keys):
            last = key.states[-1]
            self.buckets.setdefault((last.prev_action, last.intent), []).append((position, key))
        self.max_length = max((len(k.states) for k in keys), default=1)

    def applicable(self, window: tuple) -> list[RuleKey]:
        if not window:
            return []
        last = window[-1]
        exact = self.buckets.get((last.prev_action, last.intent), ())
        anything = self.buckets.get((last.prev_action, None), ()) if last.intent is not None else ()
        candidates = sorted(exact + anything, key=lambda pair: pair[0]) if exact and anything \
            else (exact or anything)
        return [k for _position, k in candidates if key_applies(k.states, window)]

    def best(self, window: tuple) -> Optional[RuleKey]:
        """The applicable key with the longest serialized form (ties: first compiled)."""
        best: Optional[RuleKey] = None
        for key in self.applicable(window):
            if best is None or key.json_length > best.json_length:
                best = key
        return best
