"""CRF marginals per token -> Rasa 3.6 entity dicts (tags, BILOU repair, confidences, merging).

Follows Rasa's CRFEntityExtractor and EntityExtractorMixin: each token takes its most likely tag;
with BILOU its confidence is the summed probability of every tag of that entity label (B, I, L,
U together), without BILOU the tag's own probability. BILOU sequences are then repaired (a B-
opens an entity that the next L- or non-I tag closes; mixed labels inside are settled by the
harmonic mean of their average confidence and their share of tokens, both rounded to 2
places). Tokens become entities; an entity's confidences are the minimum over its tokens.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from .crf_features import NO_ENTITY, prefix_of, strip_prefix

# characters that may separate two tokens of one entity when commas do not split it
_JOINERS = frozenset(".,; ")
SPLIT_KEY = "split_entities_by_comma"     # the default's key, as Rasa keeps it


def label_groups(labels: list[str]) -> list[list[int]]:
    """Per label, the indices (in label order) of every label of the same entity label."""
    stripped = [strip_prefix(label) for label in labels]
    return [[j for j, other in enumerate(stripped) if other == mine] for mine in stripped]


def most_likely(labels: list[str], groups: list[list[int]], rows: list[list[float]],
                bilou: bool) -> tuple[list[str], list[float]]:
    """Per token the most likely tag (the first best in label order) and its confidence: with
    BILOU the summed probability of that label's B/I/L/U tags (summed in label order)."""
    tags, confidences = [], []
    for probs in rows:
        best = max(range(len(probs)), key=probs.__getitem__)
        tags.append(labels[best])
        confidences.append(sum(probs[j] for j in groups[best]) if bilou else probs[best])
    return tags, confidences


def _entity_end(start: int, tags: list[str]) -> int:
    """Index of the last token of the entity a B- tag at `start` opens."""
    i = start + 1
    while i < len(tags):
        prefix = prefix_of(tags[i])
        if prefix == "L-":
            return i
        if prefix != "I-":
            return i - 1
        i += 1
    return i - 1


def _settle_label(labels: list[str], confidences: list[float]) -> tuple[str, float]:
    by_label: dict[str, list[float]] = {}
    for label, conf in zip(labels, confidences):
        by_label.setdefault(label, []).append(conf)
    counts = Counter(labels)
    best, best_score = None, None
    for label in counts:                              # first seen wins ties, as max() does
        avg = round(sum(by_label[label]) / len(by_label[label]), 2)
        share = round(counts[label] / len(labels), 2)
        score = 2 * (avg * share) / (avg + share)
        if best_score is None or score > best_score:
            best, best_score = label, score
    return best, best_score


def consistent_bilou(tags: list[str], confidences: list[float]) -> tuple[list[str], list[float]]:
    """Rasa's ensure_consistent_bilou_tagging (in place on copies)."""
    tags, confidences = list(tags), list(confidences)
    for idx in range(len(tags)):
        if prefix_of(tags[idx]) != "B-":
            continue
        label = strip_prefix(tags[idx])
        last = _entity_end(idx, tags)
        labels = [strip_prefix(t) for t in tags[idx:last + 1]]
        if any(other != labels[0] for other in labels):
            label, score = _settle_label(labels, confidences[idx:last + 1])
            for i in range(idx, last + 1):
                if strip_prefix(tags[i]) != label:
                    confidences[i] = round(score, 2)
        if last == idx:
            tags[idx] = f"U-{label}"
        else:
            tags[idx], tags[last] = f"B-{label}", f"L-{label}"
            for i in range(idx + 1, last):
                tags[i] = f"I-{label}"
    return tags, confidences


def _tag_at(tags: dict, name: str, idx: int) -> str:
    return tags[name][idx] if name in tags else NO_ENTITY


def _new_entity(tags: dict, confidences: dict, label: str, role: str, group: str, token,
                idx: int) -> dict[str, Any]:
    entity: dict[str, Any] = {"entity": label, "start": token[1], "end": token[2],
                              "confidence_entity": confidences["entity"][idx]}
    if "role" in tags and role != NO_ENTITY:
        entity["role"] = role
        entity["confidence_role"] = confidences["role"][idx]
    if "group" in tags and group != NO_ENTITY:
        entity["group"] = group
        entity["confidence_group"] = confidences["group"][idx]
    return entity


def _joins(text: str, token, last_end: int, split: dict, label: str) -> bool:
    """Whether a token with the previous token's label continues that entity."""
    gap = token[1] - last_end
    if gap <= 1:
        return True
    between = text[last_end:token[1]]
    return (gap <= 3 and all(c in _JOINERS for c in between)
            and not split.get(label, split[SPLIT_KEY]))


def _opens_entity(tag: str, last_tag: str) -> bool:
    """A BILOU tag starts a new entity: a B/U tag after another tag, or any tag after O/U."""
    prefix = prefix_of(tag)
    if prefix is None:
        return last_tag != tag
    starts = last_tag != tag and prefix not in ("L-", "I-")
    return starts or last_tag == NO_ENTITY or prefix == "U-"


def _extend(entity: dict, confidences: dict, token, idx: int) -> None:
    entity["end"] = token[2]
    entity["confidence_entity"] = min(entity["confidence_entity"],
                                      confidences["entity"][idx])
    for name in ("role", "group"):
        if name in entity:
            key = f"confidence_{name}"
            entity[key] = min(entity[key], confidences[name][idx])


def to_entities(text: str, tokens: list, tags: dict[str, list[str]],
                confidences: dict[str, list[float]], split: dict) -> list[dict[str, Any]]:
    """Rasa's convert_predictions_into_entities (value = the text the tokens span)."""
    entities: list[dict] = []
    last_tag = last_role = last_group = NO_ENTITY
    last_end = -1
    for idx, token in enumerate(tokens):
        tag = _tag_at(tags, "entity", idx)
        if tag == NO_ENTITY:
            last_tag, last_end = NO_ENTITY, token[2]
            continue
        group = strip_prefix(_tag_at(tags, "group", idx))
        role = strip_prefix(_tag_at(tags, "role", idx))
        changed = last_group != group or last_role != role
        new = _opens_entity(tag, last_tag) or changed
        last_tag, label = tag, strip_prefix(tag)
        if new or not _joins(text, token, last_end, split, label):
            entities.append(_new_entity(tags, confidences, label, role, group, token, idx))
        else:
            _extend(entities[-1], confidences, token, idx)
        last_group, last_role, last_end = group, role, token[2]
    for entity in entities:
        entity["value"] = text[entity["start"]:entity["end"]]
    return entities


def split_config(value: Any) -> dict:
    """`split_entities_by_comma`: a bool for every entity, or {entity: bool} (others: True)."""
    if isinstance(value, dict):
        out = {str(k): bool(v) for k, v in value.items()}
        out[SPLIT_KEY] = True
        return out
    return {SPLIT_KEY: bool(value) if value is not None else True}


def decode(text: str, tokens: list, predicted: dict[str, tuple[list[str], list[float]]],
           bilou: bool, split: dict) -> list[dict[str, Any]]:
    """Entities from each CRF's most likely tags and confidences (BILOU-repaired first)."""
    tags: dict[str, list[str]] = {}
    confidences: dict[str, list[float]] = {}
    for name, (t, c) in predicted.items():
        if bilou:
            t, c = consistent_bilou(t, c)
        tags[name], confidences[name] = t, c
    return to_entities(text, tokens, tags, confidences, split)
