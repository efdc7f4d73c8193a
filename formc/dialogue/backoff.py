"""Story back-off, formc's deterministic stand-in for TEDPolicy: story examples -> a table of
ever less specific keys over the dialogue states -> the action the stories take there.

TED is a trained network; formc keeps every prediction explainable instead. Each story turn
(the states before an action, and the action) is memorised under keys that back off step by
step, and at run time the most specific key that some story agrees with wins:
  1. the last h states exactly (h = TED's max_history down to 1: the oldest turns dropped),
  2. the last h states without slots and entities (h down to 1),
  3. after a user message: the intent alone (the previous action, and with it the active
     loop, ignored),
  4. after a bot action nothing matched: wait for the user (action_listen), as TED would.
Where stories disagree under one key, the action most of their turns take wins; a tie goes to
the story read first (file order). A guess backed by one turn never repeats the action that just
ran (a form that has just completed is not asked again). The confidence falls with each level and the prediction
only counts above the core fallback threshold, as TED's would against RulePolicy's fallback.
Only built when config.yml names TEDPolicy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Optional

from ..model import LISTEN
from .state import DState

EXACT, REDUCED, INTENT, WAIT = 1, 2, 3, 4
CONFIDENCE = {EXACT: 0.9, REDUCED: 0.75, INTENT: 0.6, WAIT: 0.5}
DEFAULT_HISTORY = 5                      # TEDPolicy's default max_history


@dataclass(frozen=True)
class BackoffHit:
    action: str
    story: str
    span: str
    level: int
    turns: int                           # states matched (levels 1 and 2)
    confidence: float

    def explain(self) -> str:
        if self.level == WAIT:
            return "story back-off: no story continues after this action, wait for the user"
        where = {EXACT: f"on the last {self.turns} turn(s)",
                 REDUCED: f"on the last {self.turns} turn(s), slots and entities ignored",
                 INTENT: "on the user's intent alone"}[self.level]
        return f"story back-off: matched '{self.story}' {where} ({self.span})"


def reduced(state: DState) -> DState:
    return DState(state.intent, (), state.prev_action, (), state.active_loop)


def intent_only(state: DState) -> DState:
    return DState(state.intent)


@dataclass(frozen=True)
class StoryBackoff:
    history: int = DEFAULT_HISTORY
    states: tuple = ()                   # interned DStates of the keys
    stories: tuple = ()
    entries: tuple = ()                  # (level, state idx tuple, action, story idx, span)

    def to_json(self) -> dict:
        return {"history": self.history, "states": [s.to_json() for s in self.states],
                "stories": list(self.stories),
                "entries": [[lv, list(key), a, st, sp] for lv, key, a, st, sp in self.entries]}

    @classmethod
    def from_json(cls, d: dict) -> "StoryBackoff":
        return cls(history=int(d.get("history", DEFAULT_HISTORY)),
                   states=tuple(DState.from_json(s) for s in d.get("states", ())),
                   stories=tuple(d.get("stories", ())),
                   entries=tuple((int(lv), tuple(int(i) for i in key), str(a), int(st), str(sp))
                                 for lv, key, a, st, sp in d.get("entries", ())))

    @cached_property
    def _table(self) -> dict:
        index = {}
        for level, key, action, story, span in self.entries:
            index[(level, tuple(self.states[i] for i in key))] = (action, story, span)
        return index

    def predict(self, states: tuple, threshold: float) -> Optional[BackoffHit]:
        """The most specific agreeing key for the conversation's (cleaned) states."""
        if not states:
            return None
        table, last = self._table, states[-1]
        longest = min(self.history, len(states))
        for level, shape in ((EXACT, lambda s: s), (REDUCED, reduced)):
            for h in range(longest, 0, -1):
                found = table.get((level, tuple(shape(s) for s in states[-h:])))
                # a guess from one turn never repeats the action that just ran (e.g. a form
                # that has just completed): that needs a longer history to agree
                if found and not (found[0] == last.prev_action and (level != EXACT or h == 1)):
                    return self._hit(found, level, h, threshold)
        if last.prev_action == LISTEN:
            found = table.get((INTENT, (intent_only(last),)))
            return self._hit(found, INTENT, 1, threshold) if found else None
        if last.prev_action and last.prev_action != last.active_loop:
            return self._hit((LISTEN, -1, ""), WAIT, 0, threshold)
        return None

    def summary(self) -> str:
        """One line for `formc graph`'s title."""
        return f"story back-off for TEDPolicy: {len(self.entries)} keys, last {self.history} turns"

    def describe(self, limit: int = 40) -> list[str]:
        """`formc inspect`: the levels' sizes, then what a user message alone leads to (the
        least specific level, where the back-off ends up when nothing closer agrees)."""
        count = {lv: sum(1 for e in self.entries if e[0] == lv) for lv in (EXACT, REDUCED, INTENT)}
        lines = ["story back-off (stands in for TEDPolicy; used where rules and stories are silent):",
                 f"  {count[EXACT]} keys on the last 1-{self.history} turns, {count[REDUCED]} with "
                 f"slots and entities ignored, {count[INTENT]} on the user's intent alone; after a "
                 "bot action nothing matches: wait for the user"]
        shown = [e for e in self.entries if e[0] == INTENT]
        for _lv, key, action, story, span in shown[:limit]:
            lines.append(f"  intent {self.states[key[0]].intent} -> {action}  "
                         f"(from '{self.stories[story]}', {span})")
        if len(shown) > limit:
            lines.append(f"  ... {len(shown) - limit} more")
        return lines

    def _hit(self, found: tuple, level: int, turns: int, threshold: float) -> Optional[BackoffHit]:
        confidence = CONFIDENCE[level]
        if confidence <= threshold:
            return None
        action, story, span = found
        name = self.stories[story] if story >= 0 else ""
        return BackoffHit(action, name, span, level, turns, confidence)


def _keys(states: list, history: int, rule: bool) -> list:
    keys = []
    for h in range(min(history, len(states)), 0, -1):
        if not rule:        # a rule's states are partial (its conditions): its last state only
            keys.append((EXACT, tuple(states[-h:])))
        if not rule or h == 1:
            keys.append((REDUCED, tuple(reduced(s) for s in states[-h:])))
    if states and states[-1].prev_action == LISTEN:
        keys.append((INTENT, (intent_only(states[-1]),)))
    return list(dict.fromkeys(keys))


def build_backoff(examples: list, history: Optional[int], rule_examples: list = ()) -> StoryBackoff:
    """examples / rule_examples: (story or rule name, span, states before the action, action),
    in file order. Rules only fill keys no story has (TED learns from stories; the rules' turns
    give the back-off what a story-less greeting should do, e.g. a rule's utter_greet)."""
    history = history or DEFAULT_HISTORY
    votes: dict = {}                     # key -> {action: [count, first example no, story, span]}
    story_keys: set = set()
    for no, (story, span, states, action) in enumerate([*examples, *rule_examples]):
        is_rule = no >= len(examples)
        for key in _keys(states, history, is_rule):
            if is_rule and key in story_keys:
                continue
            if not is_rule:
                story_keys.add(key)
            tally = votes.setdefault(key, {})
            if action in tally:
                tally[action][0] += 1
            else:
                tally[action] = [1, no, story, span]
    state_ids: dict = {}
    story_ids: dict = {}
    entries = []
    for (level, key), tally in votes.items():
        # most turns first; a tie goes to the action seen first (story file order)
        action, (_count, _no, story, span) = min(tally.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
        ids = tuple(state_ids.setdefault(s, len(state_ids)) for s in key)
        entries.append((level, ids, action, story_ids.setdefault(story, len(story_ids)), span))
    return StoryBackoff(history, tuple(state_ids), tuple(story_ids), tuple(sorted(
        entries, key=lambda e: (e[0], e[1], e[2]))))
