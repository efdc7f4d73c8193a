"""MemoizationPolicy at run time: the compiled StoryMemo + the conversation's states -> Prediction."""

from __future__ import annotations

from typing import Any, Optional

from ..dialogue.memo import MEMO_CONFIDENCE
from .types import Prediction


def story_prediction(dialogue: Any, policies: Any, s: Any, states: tuple) -> Optional[Prediction]:
    """A Prediction when the stories know the next action, else None."""
    memo = dialogue.memo
    if memo is None or not memo.nodes or not policies.has_memoization:
        return None
    hit = memo.predict(states, s.window_complete, dialogue.rule_index, dialogue.rule_keys)
    if hit is None or s.last_rejected == hit.action:      # a rejected action scores 0 (§5.8)
        return None
    how = f"history cut after {hit.cut} state(s), " if hit.cut else ""
    return Prediction(hit.action, memo.policy, MEMO_CONFIDENCE,
                      why=f"story '{hit.story}' ({how}{hit.span})", transition=hit.transition or None)
