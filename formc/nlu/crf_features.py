"""Tokens -> CRF feature dicts and tag sequences, exactly as Rasa 3.6's CRFEntityExtractor builds them.

A token's features are read from a window of tokens: the config's `features` is a list of an
odd number of lists, the middle one for the token itself, the others for its neighbours
(prefixes "-1", "0", "1" for three lists). Keys are "<offset>:<feature>", string values become
"key:value" attributes in crfsuite, booleans weigh 1.0 / 0.0; "BOS"/"EOS" mark a window that
runs past the sentence. `pattern` adds one boolean per RegexFeaturizer pattern name (true when
a match of that pattern overlaps the token; the last pattern of a name decides). The role and
group CRFs see each token's entity tag as one more feature ("entity").

Tags are BILOU (`U-city`, `B-city`, `I-city`, `L-city`, `O`) when `BILOU_flag` is on, else the
plain label of the entity that covers most of the token.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from .regex_budget import budget_compile   # issue 14: matching bounded per message

NO_ENTITY = "O"
TAG_NAMES = ("entity", "role", "group")     # one CRF each, in this order (Rasa's crf_order)

DEFAULT_FEATURES = (
    ("low", "title", "upper"),
    ("low", "bias", "prefix5", "prefix2", "suffix5", "suffix3", "suffix2", "upper", "title",
     "digit", "pattern"),
    ("low", "title", "upper"),
)

# feature name -> value for one token text (pattern, entity and the unsupported ones aside)
_TEXT_FEATURES = {
    "low": str.lower,
    "title": str.istitle,
    "prefix5": lambda t: t[:5],
    "prefix2": lambda t: t[:2],
    "suffix5": lambda t: t[-5:],
    "suffix3": lambda t: t[-3:],
    "suffix2": lambda t: t[-2:],
    "suffix1": lambda t: t[-1:],
    "bias": lambda _t: "bias",
    "upper": str.isupper,
    "digit": str.isdigit,
}
SUPPORTED = frozenset(_TEXT_FEATURES) | {"pattern"}
# need spaCy part-of-speech tags or dense featurizers, which formc does not run
UNSUPPORTED = frozenset({"pos", "pos2", "text_dense_features"})


class PatternMatcher:
    """RegexFeaturizer's token patterns: per token, {pattern name: overlapped by a match}."""

    def __init__(self, patterns: list[tuple[str, str]], case_sensitive: bool = True):
        flags = 0 if case_sensitive else re.IGNORECASE
        self.patterns: list[tuple[str, Any]] = []
        for name, pattern in patterns:
            try:
                self.patterns.append((name, budget_compile(pattern, flags)))
            except (re.error, RecursionError, OverflowError, ValueError):
                continue

    def token_patterns(self, text: str, tokens: list) -> list[dict[str, bool]]:
        out: list[dict[str, bool]] = [{} for _ in tokens]
        for name, regex in self.patterns:
            try:
                spans = [m.span() for m in regex.finditer(text)]
            except RecursionError:
                spans = []
            for found, (_w, ts, te) in zip(out, tokens):
                found[name] = any(ts < e and te > s for s, e in spans)
        return out


_WINDOWS: dict[tuple, list[tuple[int, list[tuple[str, str]]]]] = {}


def _windows(features, with_entity: bool) -> list[tuple[int, list[tuple[str, str]]]]:
    """Per window position: (offset, [(feature name, key)]), the keys built once per config
    ("pattern" keys end in ":" and take the pattern name)."""
    cache_key = (tuple(map(tuple, features)), with_entity)
    found = _WINDOWS.get(cache_key)
    if found is None:
        half = len(features) // 2
        found = []
        for pos in range(-half, half + 1):
            names = list(features[pos + half]) + (["entity"] if with_entity else [])
            found.append((pos, [(name, f"{pos}:pattern:" if name == "pattern" else
                                 f"{pos}:{name}") for name in names]))
        if len(_WINDOWS) < 64:
            _WINDOWS[cache_key] = found
    return found


def token_features(tokens: list, patterns: list[dict], features, tags: Optional[list] = None,
                   keep_false: bool = True) -> list[dict[str, Any]]:
    """One feature dict per token; `tags` (entity tags) adds the "entity" feature. Keys keep
    Rasa's order (crfsuite sums a token's weights in that order); a token's text features are
    computed once, not once per window that sees it.

    Without `keep_false` the false booleans are left out: for tagging only (training must see
    them, they make attributes of the model). crfsuite weighs a false attribute 0.0 and adds
    weight x 0.0 to a state score that starts at +0.0, which changes no bit of any score, so
    the marginals are the same while the tagger looks up about half as many attributes."""
    windows = _windows(features, tags is not None)
    n = len(tokens)
    values: list[dict[str, Any]] = [{} for _ in range(n)]
    out = []
    for idx in range(n):
        feats: dict[str, Any] = {}
        for pos, named in windows:
            j = idx + pos
            if j >= n:
                feats["EOS"] = True
                continue
            if j < 0:
                feats["BOS"] = True
                continue
            known = values[j]
            for name, key in named:
                if name == "pattern":
                    for pname, matched in patterns[j].items():
                        if matched or keep_false:
                            feats[key + pname] = matched
                    continue
                if name == "entity":
                    value = tags[j]
                elif name in known:
                    value = known[name]
                else:
                    value = known[name] = _TEXT_FEATURES[name](tokens[j][0])
                if value is not False or keep_false:
                    feats[key] = value
        out.append(feats)
    return out


def bilou_tags(tokens: list, spans: list[tuple[int, int, str]]) -> list[str]:
    """BILOU tags of the tokens for (start, end, label) spans; a span whose start or end is not
    a token boundary is left out (Rasa's bilou_tags_from_offsets)."""
    starts = {s: i for i, (_w, s, _e) in enumerate(tokens)}
    ends = {e: i for i, (_w, _s, e) in enumerate(tokens)}
    tags = [NO_ENTITY] * len(tokens)
    for start, end, label in spans:
        first, last = starts.get(start), ends.get(end)
        if first is None or last is None:
            continue
        if first == last:
            tags[first] = f"U-{label}"
            continue
        tags[first] = f"B-{label}"
        for i in range(first + 1, last):
            tags[i] = f"I-{label}"
        tags[last] = f"L-{label}"
    return tags


def plain_tags(tokens: list, entities: list[dict], attribute: str) -> list[str]:
    """Without BILOU: per token the label of the entity it intersects most (first on ties)."""
    tags = []
    for _w, ts, te in tokens:
        best, best_overlap = None, 0
        for ent in entities:
            overlap = max(0, min(te, ent["end"]) - max(ts, ent["start"]))
            if overlap > best_overlap:
                best, best_overlap = ent, overlap
        tags.append((best.get(attribute) or NO_ENTITY) if best is not None else NO_ENTITY)
    return tags


def example_tags(tokens: list, entities: list[dict], tag_name: str, bilou: bool) -> list[str]:
    """Training tags of one example for the CRF `tag_name` ("entity", "role" or "group")."""
    if not bilou:
        return plain_tags(tokens, entities, tag_name)
    spans = [(e["start"], e["end"], e.get(tag_name)) for e in entities]
    return bilou_tags(tokens, [s for s in spans if s[2] and s[2] != NO_ENTITY])


def strip_prefix(tag: str) -> str:
    return tag[2:] if tag[:2] in ("B-", "I-", "L-", "U-") else tag


def prefix_of(tag: str) -> Optional[str]:
    return tag[:2] if tag[:2] in ("B-", "I-", "L-", "U-") else None
