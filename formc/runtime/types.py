"""The engine's value types: action requests/replies, turn input/output, predictions, Ctx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..model import LISTEN, SESSION_START  # noqa: F401 - re-exported: the engine's vocabulary


@dataclass
class ActionRequest:
    """Run custom action `name` on the action server with this tracker (§10.1)."""

    name: str
    tracker: dict
    purpose: str = "action"           # action | validate | mapping | ask | session_start


@dataclass
class ActionReply:
    events: list = field(default_factory=list)
    responses: list = field(default_factory=list)
    rejected: bool = False
    error: Optional[str] = None


@dataclass
class TurnInput:
    kind: str                          # message | external | reminder | log_only
    parse: Optional[dict]              # /model/parse dict; None: message dropped
    now: float
    input_channel: Optional[str] = "rest"
    metadata: Optional[dict] = None
    message_id: Optional[str] = None


@dataclass
class Prediction:
    action: str
    policy: Optional[str] = "RulePolicy"
    confidence: Optional[float] = 1.0
    events: list = field(default_factory=list)
    why: str = ""
    transition: Optional[str] = None
    hide_rule_turn: bool = False      # RulePolicy predicted it from a rule no story shows


@dataclass
class ActionResult:
    events: list = field(default_factory=list)
    rejected: bool = False
    manual_rejected: bool = False
    failed: Optional[str] = None
    transitions: list = field(default_factory=list)


@dataclass
class TurnOutput:
    messages: list = field(default_factory=list)
    events: list = field(default_factory=list)
    trace: list = field(default_factory=list)
    transitions: list = field(default_factory=list)


class Ctx:
    """Per-turn accumulator (events of this turn, bot messages, trace)."""

    def __init__(self, now: float, stamp: Optional[dict] = None) -> None:
        self.now = now
        self.out = TurnOutput()
        # metadata (model_id, assistant_id) stamped on the events a turn stores, so that after
        # PUT /model the older events still name the model that produced them
        self.stamp = stamp

    def ts(self) -> float:
        return self.now


@dataclass(frozen=True)
class EngineContext:
    """What the built-in actions may use of the engine: the bot's tables, the seeded rng, the
    initial slot values and `apply` (the one place an event changes a session)."""

    domain: Any
    responses: dict
    custom: frozenset
    forms: dict
    slot_defs: dict
    intents: frozenset
    retrieval: frozenset
    bot_texts: frozenset
    rng: Any
    event_stamp: Any
    initial_slots: Callable[[], dict]
    apply: Callable[..., None]
