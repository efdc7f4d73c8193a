"""The compiled dialogue: explicit control states + transitions (with a source map) and the
rule tables the engine runs. Frozen, deterministic to_json()/from_json()."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .rules import RuleIndex, RuleKey


@dataclass(frozen=True)
class ControlState:
    """A place the conversation can wait in: listening, a form waiting for a slot, a fallback."""

    id: str
    kind: str                         # listening | form | fallback
    form: str = ""
    slot: str = ""
    description: str = ""

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "form": self.form, "slot": self.slot,
                "description": self.description}


@dataclass(frozen=True)
class Transition:
    """From a control state, on a guard, the bot runs `actions` and ends in `target`."""

    id: str
    source: str
    target: str
    guard: dict                       # intent, entities, slots, active_loop, conversation_start, prev_action
    actions: tuple
    why: str                          # rule name / form logic / fallback
    span: str = ""                    # file:line:col

    def to_json(self) -> dict:
        return {"id": self.id, "source": self.source, "target": self.target, "guard": self.guard,
                "actions": list(self.actions), "why": self.why, "span": self.span}


@dataclass(frozen=True)
class DialogueMachine:
    states: tuple = ()                # ControlState
    transitions: tuple = ()           # Transition
    rule_keys: tuple = ()             # RuleKey: state window -> action
    unhappy_keys: tuple = ()          # RuleKey whose action is a loop-unhappy-path marker
    loops: tuple = ()                 # action names that are loops (forms, two-stage fallback)
    window: int = 1                   # dialogue states the engine must keep (longest key)
    memo: Any = None                  # formc.dialogue.memo.StoryMemo when built (issue #5)
    version: int = 1
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "window": self.window,
            "loops": list(self.loops),
            "states": [s.to_json() for s in self.states],
            "transitions": [t.to_json() for t in self.transitions],
            "rule_keys": [k.to_json() for k in self.rule_keys],
            "unhappy_keys": [k.to_json() for k in self.unhappy_keys],
            "memo_keys": [],      # retired in format 1 (stories always build `memo`); kept for stable bytes
            **({"memo": self.memo.to_json()} if self.memo is not None else {}),
            "extra": self.extra,
        }

    @classmethod
    def from_json(cls, d: dict) -> "DialogueMachine":
        memo = None
        if d.get("memo"):
            from .memo import StoryMemo
            memo = StoryMemo.from_json(d["memo"])
        return cls(
            memo=memo,
            states=tuple(ControlState(**s) for s in d.get("states", ())),
            transitions=tuple(Transition(t["id"], t["source"], t["target"], dict(t["guard"]),
                                         tuple(t["actions"]), t["why"], t.get("span", ""))
                              for t in d.get("transitions", ())),
            rule_keys=tuple(RuleKey.from_json(k) for k in d.get("rule_keys", ())),
            unhappy_keys=tuple(RuleKey.from_json(k) for k in d.get("unhappy_keys", ())),
            loops=tuple(d.get("loops", ())),
            window=int(d.get("window", 1)),
            version=int(d.get("version", 1)),
            extra=dict(d.get("extra", {})),
        )

    @cached_property
    def rule_index(self) -> RuleIndex:
        return RuleIndex(self.rule_keys)

    @cached_property
    def unhappy_index(self) -> RuleIndex:
        return RuleIndex(self.unhappy_keys)

    @cached_property
    def transition_by_id(self) -> dict:
        return {t.id: t for t in self.transitions}
