"""Fallback MemoizationPolicy table (§5.7): stories -> exact (last max_history states) -> action.

Used only while the full story memo (formc.dialogue.memo.StoryMemo, issue #5) is not built
into the machine; exact lookups, no augmentation, no rule-only turn hiding. Keys are DState
tuples like rule keys.
Stories with checkpoints are not joined here (only self-contained stories are memorised).
"""

from __future__ import annotations

from typing import Optional

from .. import model
from .expand import applied, states_and_actions, story_events
from .rules import RuleKey


def memo_keys(project: model.Project, loops: set, used: dict, max_history: Optional[int]) -> tuple:
    table: dict[tuple, tuple[str, str, str]] = {}
    ambiguous: set = set()
    for story in project.training_stories:
        if any(isinstance(step, model.CheckpointStep) for step in story.steps):
            continue
        for events in story_events(story, project.domain):
            pairs = states_and_actions(applied(events, loops), project.domain, used)
            states = [s for s, _a in pairs]
            for i, (_state, action) in enumerate(pairs):
                if i == 0 and action.name == "action_listen":
                    pass
                start = 0 if max_history is None else max(0, i + 1 - max_history)
                key = tuple(states[start:i + 1])
                if key in table and table[key][0] != action.name:
                    ambiguous.add(key)
                table.setdefault(key, (action.name, story.name, str(action.span) if action.span else ""))
    return tuple(RuleKey(k, v[0], v[1], v[2], 0) for k, v in table.items() if k not in ambiguous)


def memo_lookup(index: dict, states: tuple, complete: bool, max_history: Optional[int]) -> Optional[RuleKey]:
    """Exact lookup of the conversation's last states (all of them when max_history is None)."""
    if max_history is None:
        if not complete:
            return None
        key = states
    else:
        if len(states) < max_history and not complete:
            return None
        key = states[-max_history:]
    return index.get(key)
