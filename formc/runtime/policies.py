"""MemoizationPolicy (and the story back-off standing in for TEDPolicy) at run time: the compiled
StoryMemo + the conversation's states -> Prediction."""

from __future__ import annotations

from typing import Any, Optional

from ..dialogue.memo import MEMO_CONFIDENCE
from ..model import LISTEN
from .types import Prediction

SESSION_START = "action_session_start"


def story_prediction(dialogue: Any, policies: Any, s: Any, states: tuple) -> Optional[Prediction]:
    """A Prediction when the stories know the next action, else None."""
    memo = dialogue.memo
    if memo is None or not memo.nodes or not policies.has_memoization:
        return None
    hit = memo.predict(states, s.window_complete, dialogue.rule_index, dialogue.rule_keys)
    if hit is None and memo.backoff is not None:
        return backoff_prediction(memo, policies, s, states)
    if hit is None or s.last_rejected == hit.action:      # a rejected action scores 0 (§5.8)
        return None
    how = f"history cut after {hit.cut} state(s), " if hit.cut else ""
    return Prediction(hit.action, memo.policy, MEMO_CONFIDENCE,
                      why=f"story '{hit.story}' ({how}{hit.span})", transition=hit.transition or None)


def backoff_prediction(memo: Any, policies: Any, s: Any, states: tuple) -> Optional[Prediction]:
    """TEDPolicy's turn, taken by the story back-off (formc.dialogue.backoff): it only counts
    above the core fallback threshold, as TED's confidence against RulePolicy's fallback."""
    threshold = policies.core_fallback_threshold if policies.has_rule_policy else 0.0
    # the user message right after a session start follows action_session_start in the
    # engine's window; in a story it follows action_listen
    view = tuple(memo._clean(st if st.prev_action != SESSION_START else st._replace(prev_action=LISTEN))
                 for st in states)
    hit = memo.backoff.predict(view, threshold)
    if hit is None or s.last_rejected == hit.action:
        return None
    return Prediction(hit.action, "TEDPolicy", hit.confidence, why=hit.explain())
