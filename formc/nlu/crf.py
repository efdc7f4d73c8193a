"""Annotated examples -> crfsuite entity taggers at compile time; message text -> CRF entities at run time.

Training is Rasa 3.6's CRFEntityExtractor: one linear-chain CRF per tag kind that the data uses
(entity, then role, then group), python-crfsuite's L-BFGS with `c1` = L1_c, `c2` = L2_c,
`max_iterations` and all possible transitions, on every training example (examples without
entities teach "O"). Rasa retrains these CRFs from the stored token dataset when it loads a
model, with the same library and the same inputs, so the weights and marginals are the same.

A model is stored as crfsuite's own file bytes in base64 with their SHA-256 (no pickle); the
loader checks the digest and the file header before handing the bytes to crfsuite, and a model
that fails those checks is dropped with a logged warning (the message is then parsed without
its CRF entities).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import struct
import tempfile
from typing import Any, Optional

from .crf_decode import decode, label_groups, split_config
from .crf_features import (DEFAULT_FEATURES, NO_ENTITY, SUPPORTED, TAG_NAMES,  # noqa: F401
                           PatternMatcher, example_tags, token_features)
from .regex_budget import message_budget
from .tokenize import RUN, tokenize

log = logging.getLogger("formc.nlu")

DEFAULTS = {"BILOU_flag": True, "split_entities_by_comma": True, "max_iterations": 50,
            "L1_c": 0.1, "L2_c": 0.1}
TRAINING_BUDGET_S = 2.0      # regex time per training example (a parse gets the message budget)
_HEADER = struct.Struct("<4sI4sIIIIIIIII")     # crfsuite model file header (48 bytes)


class CrfModelError(ValueError):
    """A stored CRF model that does not pass the load checks."""


def _example_entities(ex) -> list[dict]:
    out = []
    for e in ex.entities:
        ent = {"start": e.start, "end": e.end, "entity": e.entity}
        if e.role is not None:
            ent["role"] = e.role
        if e.group is not None:
            ent["group"] = e.group
        out.append(ent)
    return out


def _tag_order(entity_lists: list[list[dict]]) -> list[str]:
    """The CRFs Rasa trains: entity when any entity, role / group when any example uses one."""
    used = {"entity": False, "role": False, "group": False}
    for ents in entity_lists:
        for e in ents:
            used["entity"] = True
            for name in ("role", "group"):
                used[name] = used[name] or (e.get(name) not in (None, "O"))
    return [name for name in TAG_NAMES if used[name]]


def prepare_crf(examples: list, options: dict, patterns: list[tuple[str, str]],
                patterns_case_sensitive: bool = True, cjk: str = RUN) -> Optional[tuple]:
    """(model dict without taggers, [(tag name, features, tags)], options) for `examples`
    (training order), or None without entities."""
    entity_lists = [_example_entities(ex) for ex in examples]
    order = _tag_order(entity_lists)
    if not order:
        return None
    opts = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    features = [list(f) for f in (opts.get("features") or DEFAULT_FEATURES)]
    bilou = bool(opts["BILOU_flag"])
    matcher = PatternMatcher(patterns, patterns_case_sensitive)
    tokens = [tokenize(ex.text, cjk) for ex in examples]
    token_patterns = []
    for ex, toks in zip(examples, tokens):
        # a generous budget per example: the training features must not depend on machine load
        with message_budget(TRAINING_BUDGET_S):
            token_patterns.append(matcher.token_patterns(ex.text, toks))
    gold = {name: [example_tags(t, ents, name, bilou) for t, ents in zip(tokens, entity_lists)]
            for name in order}
    sets = [(name, [token_features(t, p, features, None if name == "entity" else g)
                    for t, p, g in zip(tokens, token_patterns, gold["entity"])], gold[name])
            for name in order]
    meta = {"extractor": options.get("extractor", "CRFEntityExtractor"), "features": features,
            "bilou": bilou, "split": _plain(opts["split_entities_by_comma"]),
            "patterns": [[n, p] for n, p in patterns],
            "patterns_case_sensitive": patterns_case_sensitive,
            **({} if cjk == RUN else {"cjk_tokens": cjk})}
    return meta, sets, opts


def finish_crf(meta: dict, sets: list, models: list[bytes]) -> dict:
    taggers = [{"tag": name, "model": base64.b64encode(model).decode("ascii"),
                "sha256": hashlib.sha256(model).hexdigest()}
               for (name, _x, _y), model in zip(sets, models)]
    return {**meta, "taggers": taggers}


def compile_crf(examples: list, options: dict, patterns: list[tuple[str, str]],
                patterns_case_sensitive: bool = True, cjk: str = RUN) -> Optional[dict]:
    """The JSON-able CRF model for `examples` (training order), or None without entities."""
    prepared = prepare_crf(examples, options, patterns, patterns_case_sensitive, cjk)
    if prepared is None:
        return None
    meta, sets, opts = prepared
    return finish_crf(meta, sets, [_train(x, y, opts) for _name, x, y in sets])


def _plain(value: Any) -> Any:
    return {str(k): bool(v) for k, v in value.items()} if isinstance(value, dict) else bool(value)


def _train(xs: list, ys: list, opts: dict, path: Optional[str] = None) -> bytes:
    """crfsuite's model file for these sequences (written to `path` when given)."""
    import pycrfsuite

    params = {"feature.possible_transitions": True, "c1": opts["L1_c"], "c2": opts["L2_c"],
              "max_iterations": opts["max_iterations"]}
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", params=params, verbose=False)
    for x, y in zip(xs, ys):
        trainer.append(x, y)
    with tempfile.TemporaryDirectory(prefix="formc-crf-") as tmp:
        target = path or os.path.join(tmp, "model.crfsuite")
        trainer.train(target, holdout=-1)
        with open(target, "rb") as handle:
            return handle.read()


def check_model(data: bytes, digest: str) -> None:
    """Raise CrfModelError unless `data` is the crfsuite model the digest names."""
    if hashlib.sha256(data).hexdigest() != digest:
        raise CrfModelError("the CRF model bytes do not match their SHA-256")
    if len(data) < _HEADER.size:
        raise CrfModelError("the CRF model is truncated")
    magic, size, kind, _version, *counts_offsets = _HEADER.unpack_from(data)
    if magic != b"lCRF" or kind != b"FOMC" or size != len(data):
        raise CrfModelError("the CRF model is not a crfsuite model file")
    if any(off > size for off in counts_offsets[3:]):
        raise CrfModelError("the CRF model's tables point past its end")


# the marginals of one token sum to 1 up to float rounding (~1e-16 per label): a label that
# beats the mass not yet seen by more than this is certainly the maximum of its row
_SLACK = 1e-9


def best_tags(tagger, n: int, labels: list[str], groups: list[list[int]], bilou: bool,
              order: list[int]) -> tuple[list[str], list[float]]:
    """Per token of the `n`-token sequence set on `tagger`: Rasa's most likely tag (the argmax
    of the marginals over every label, first in label order on ties) and its confidence,
    exactly as `most_likely` gives them from full rows. Asking crfsuite for every label's
    marginal (labels x tokens calls) was most of a parse, so labels are asked for in `order`
    ("O" first: the tag of most tokens) and a row stops once its best so far exceeds all that
    the labels not yet asked can still have (1 - the sum seen). The values are the same
    crfsuite marginals and the BILOU confidence sums the same siblings in the same order, so
    tags and confidences are identical. (crfsuite's Viterbi `tag()` would make a better first
    guess, but it overwrites the forward scores that the marginals are read from.)"""
    marginal = tagger.marginal
    tags, confidences = [], []
    for i in range(n):
        seen: dict[int, float] = {}
        best, best_p, total = -1, -1.0, 0.0
        for j in order:
            p = seen[j] = marginal(labels[j], i)
            total += p
            if p > best_p or (p == best_p and j < best):
                best, best_p = j, p
            if best_p > 1.0 - total + _SLACK:
                break
        if not 0.0 <= best_p <= 1.0 + _SLACK:       # not a probability: the plain way
            seen = {j: marginal(label, i) for j, label in enumerate(labels)}
            best = max(range(len(labels)), key=seen.__getitem__)
        tags.append(labels[best])
        if bilou:
            confidences.append(sum(seen[k] if k in seen else marginal(labels[k], i)
                                   for k in groups[best]))
        else:
            confidences.append(seen[best])
    return tags, confidences


class CrfExtractor:
    """Runtime CRF entity extractor built from compile_crf's dict."""

    def __init__(self, d: dict):
        import pycrfsuite

        self.name = d.get("extractor", "CRFEntityExtractor")
        self.features = d["features"]
        self.bilou = bool(d.get("bilou", True))
        self.split = split_config(d.get("split", True))
        self.cjk = d.get("cjk_tokens", RUN)
        self.before_regex = bool(d.get("before_regex", False))
        self.matcher = PatternMatcher([tuple(p) for p in d.get("patterns", [])],
                                      d.get("patterns_case_sensitive", True))
        self.taggers: list[tuple[str, Any, list[str], list[list[int]], list[int]]] = []
        self._buffers: list[bytes] = []
        for t in d["taggers"]:
            data = base64.b64decode(t["model"], validate=True)
            check_model(data, t["sha256"])
            tagger = pycrfsuite.Tagger()
            try:
                tagger.open_inmemory(data)
            except (ValueError, OSError) as exc:
                raise CrfModelError(f"crfsuite cannot open the CRF model: {exc}") from exc
            self._buffers.append(data)     # crfsuite reads the model from this buffer in place
            labels = list(tagger.labels())
            order = sorted(range(len(labels)), key=lambda j: labels[j] != NO_ENTITY)
            self.taggers.append((t["tag"], tagger, labels, label_groups(labels), order))

    @classmethod
    def load(cls, d: Optional[dict]) -> Optional["CrfExtractor"]:
        """The extractor, or None (logged) when the stored model fails its checks."""
        if not d:
            return None
        try:
            return cls(d)
        except (CrfModelError, KeyError, TypeError, ValueError) as exc:
            log.warning("CRF entity model not loaded (%s); messages are parsed without its "
                        "entities", exc)
            return None

    def extract(self, text: str) -> list[dict[str, Any]]:
        tokens = tokenize(text, self.cjk)
        if not tokens:
            return []
        patterns = self.matcher.token_patterns(text, tokens)
        predicted: dict[str, tuple[list[str], list[float]]] = {}
        entity_tags = None          # the raw most likely entity tags: a feature of role / group
        for name, tagger, labels, groups, order in self.taggers:
            feats = token_features(tokens, patterns, self.features,
                                   None if name == "entity" else entity_tags, keep_false=False)
            tagger.set(feats)
            predicted[name] = best_tags(tagger, len(tokens), labels, groups, self.bilou, order)
            if name == "entity":
                entity_tags = list(predicted[name][0])
        entities = decode(text, tokens, predicted, self.bilou, self.split)
        for entity in entities:
            entity["extractor"] = self.name
        return entities


def _has_features(pipeline, regexes, lookups, regex_featurizer: bool) -> bool:
    """Rasa's CRF skips messages without text features: some featurizer must make them."""
    names = [p.rsplit(".", 1)[-1] for p in pipeline]
    others = [n for n in names if n.endswith("Featurizer") and n != "RegexFeaturizer"]
    return bool(others) or (regex_featurizer and bool(regexes or any(el for _n, el in lookups)))


def _options(pairs: tuple) -> dict:
    """config.py's frozen option pairs back to plain values (features: lists; a per-entity
    split_entities_by_comma map: a dict)."""
    options = dict(pairs)
    if options.get("features") is not None:
        options["features"] = [list(window) for window in options["features"]]
    split = options.get("split_entities_by_comma")
    if isinstance(split, tuple):
        options["split_entities_by_comma"] = {str(k): v for k, v in split}
    return options
