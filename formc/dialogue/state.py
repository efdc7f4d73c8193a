"""Slot values / user messages -> Rasa dialogue states (§5.4): explicit, hashable values.

A DState is Rasa's state dict made flat and hashable: the user sub-state (intent + featurized
entity labels), prev_action, featurized slots and the active loop. Rule states use the same
type; SNS ("should_not_be_set") stands for a rule's `null` slot or `active_loop: null`.
Stories/memoization (issue #5) are meant to reuse exactly this value.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple, Optional

from .. import model

SNS = "should_not_be_set"
SNIPPET = "..."          # the rule-snippet marker action


class DState(NamedTuple):
    """One dialogue state. Empty fields mean "sub-state absent"."""

    intent: Optional[str] = None
    entities: tuple = ()
    prev_action: Optional[str] = None
    slots: tuple = ()                      # sorted ((slot, feature tuple | SNS), ...)
    active_loop: Optional[str] = None

    def to_json(self) -> list:
        return [self.intent, list(self.entities), self.prev_action,
                [[n, v if isinstance(v, str) else list(v)] for n, v in self.slots], self.active_loop]

    @classmethod
    def from_json(cls, data: list) -> "DState":
        intent, entities, prev, slots, loop = data
        return cls(intent, tuple(entities), prev,
                   tuple((n, v if isinstance(v, str) else tuple(v)) for n, v in slots), loop)

    def as_rasa(self) -> dict:
        """Rasa's dict form (for debug output and for the longest-key tie-break)."""
        out: dict = {}
        if self.intent is not None or self.entities:
            user: dict = {}
            if story_text(self.intent) is not None:
                user["text"] = story_text(self.intent)
            elif self.intent is not None:
                user["intent"] = self.intent
            if self.entities:
                user["entities"] = list(self.entities)
            out["user"] = user
        if self.prev_action is not None:
            out["prev_action"] = {"action_name": self.prev_action}
        if self.slots:
            out["slots"] = {n: (v if isinstance(v, str) else list(v)) for n, v in self.slots}
        if self.active_loop is not None:
            out["active_loop"] = {"name": self.active_loop}
        return out

    def describe(self) -> str:
        parts = []
        if self.prev_action:
            parts.append(f"prev={self.prev_action}")
        if self.intent:
            parts.append(f"intent={self.intent}" + (f"{list(self.entities)}" if self.entities else ""))
        if self.slots:
            parts.append("slots=" + ",".join(f"{n}:{v}" for n, v in self.slots))
        if self.active_loop:
            parts.append(f"loop={self.active_loop}")
        return "{" + " ".join(parts) + "}"


def text_key(text: str) -> str:
    """What stands for the intent in the states of a story's text-only user step (`- user: ...`
    without `intent`): Rasa memorises that turn by its text ({user: {text: ...}}), and a live
    message never matches it (its text is dropped from the last state, the intent kept). Quoted,
    so no declared intent name can equal it."""
    return f'"{text}"'


def story_text(intent: Optional[str]) -> Optional[str]:
    """The text of a text_key, else None."""
    if intent and len(intent) >= 2 and intent[0] == '"' and intent[-1] == '"':
        return intent[1:-1]
    return None


def key_json_length(states: tuple) -> int:
    """Length of Rasa's serialized rule key (json.dumps(sort_keys=True)): the tie-break measure."""
    return len(json.dumps([s.as_rasa() for s in states], sort_keys=True))


# --------------------------------------------------------------------------- featurization

def _bool_feature(value: Any) -> Optional[float]:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return 1.0 if float(value) == 1.0 else 0.0
    if isinstance(value, str):
        text = value.strip().lower()
        if text == "true":
            return 1.0
        if text == "false":
            return 0.0
        try:
            return 1.0 if float(text) == 1.0 else 0.0
        except ValueError:
            return None
    return None


def slot_feature(slot: model.Slot, value: Any) -> Optional[tuple]:
    """The slot's feature tuple (§2.4.1), or None when it is absent from the state."""
    if value is None or not slot.influence_conversation or slot.type == "any":
        return None
    if slot.type == "text":
        return (1.0,)
    if slot.type == "list":
        return (1.0,) if value else None
    if slot.type == "bool":
        flag = _bool_feature(value)
        return None if flag is None else (1.0, flag)
    if slot.type == "categorical":
        values = [str(v).lower() for v in slot.values]
        if "__other__" not in values:
            values.append("__other__")
        vec = [0.0] * len(values)
        text = str(value).lower()
        vec[values.index(text) if text in values else values.index("__other__")] = 1.0
        return tuple(vec)
    if slot.type == "float":
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        low, high = slot.min_value, slot.max_value
        capped = max(low, min(high, number))
        return (1.0, (capped - low) / (high - low) if high > low else 1.0)
    return (1.0,) if value else None   # unknown custom type: set / unset


def featurized_slot_names(domain: model.Domain) -> tuple[str, ...]:
    return tuple(s.name for s in domain.slots if s.influence_conversation and s.type != "any")


def slots_substate(domain: model.Domain, slots: dict) -> tuple:
    out = []
    for slot in domain.slots:
        if not slot.influence_conversation or slot.type == "any":
            continue
        value = slots.get(slot.name)
        if value == SNS:
            out.append((slot.name, SNS))
            continue
        feature = slot_feature(slot, value)
        if feature is not None and any(feature):
            out.append((slot.name, feature))
    return tuple(sorted(out))


def used_entities(domain: model.Domain) -> dict[str, frozenset]:
    """Per intent, the entity labels featurized into its user sub-state (§2.2)."""
    all_labels: set = set()
    no_influence: set = set()
    labels_of: dict[str, set] = {}
    for ent in domain.entities:
        labels = {ent.name} | {f"{ent.name}#{r}" for r in ent.roles} | {f"{ent.name}#{g}" for g in ent.groups}
        labels_of[ent.name] = labels
        if ent.influence_conversation:
            all_labels |= labels
        else:
            no_influence |= labels
    out = {}
    for intent in domain.intents:
        if intent.is_retrieval:
            # Rasa's importer re-declares every retrieval intent of the NLU data from its
            # already-converted properties, where use_entities/ignore_entities are gone: the
            # defaults come back (every entity that influences the conversation), whatever the
            # domain says (rasa-demo: `faq: {use_entities: [product]}` still featurizes install_type)
            out[intent.name] = frozenset(all_labels)
            continue
        if intent.use_entities is None:
            candidates = set(all_labels)
        else:
            candidates = set()
            for name in intent.use_entities:
                candidates |= labels_of.get(name, {name})
        if intent.ignore_entities:
            excluded = set()
            for name in intent.ignore_entities:
                excluded |= labels_of.get(name, {name})
        else:
            excluded = no_influence
        out[intent.name] = frozenset(candidates - excluded)
    return out


def entity_labels(entities: list, used: Optional[frozenset]) -> tuple:
    """Sorted featurized labels (entity, entity#role, entity#group) of a message's entities."""
    labels = set()
    for ent in entities or ():
        if not isinstance(ent, dict) or not ent.get("entity"):
            continue
        name = str(ent["entity"])
        labels.add(name)
        if ent.get("role"):
            labels.add(f"{name}#{ent['role']}")
        if ent.get("group"):
            labels.add(f"{name}#{ent['group']}")
    if used is not None:
        labels &= used
    return tuple(sorted(labels))


def user_substate(used: dict, intent: Optional[str], entities: list) -> tuple[Optional[str], tuple]:
    """(intent, featurized entity labels) of a user message; an intent unknown to the domain has
    no intent config in Rasa, hence no featurized entities."""
    return intent, entity_labels(entities, used.get(intent, frozenset()))
