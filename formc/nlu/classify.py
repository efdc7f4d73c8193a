"""Compiled NLU dict + message text -> Rasa `/model/parse` dict (pure; never raises on any str).

Order as in a Rasa pipeline: intent scorer (ranking cut to `ranking_length`), regex/lookup
entities, EntitySynonymMapper, FallbackClassifier (§4.5: strict `<`, `nlu_fallback` inserted at
ranking[0]), response selector (§4.6), and last the `/intent{...}@conf` handler (§3.7), which
replaces the whole result when the intent is known to the domain.
"""

from __future__ import annotations

import json
import re
import zlib
from functools import lru_cache
from typing import Any, Optional

import numpy as np

from ..gcpause import gc_paused
from .crf import CrfExtractor
from .entities import Extractor, apply_synonyms
from .lookup_index import IndexCache
from .regex_budget import message_budget
from .scorers import KeywordScorer, load_scorer
from .duckling import Duckling
from .jieba_tokens import register as register_jieba
from .tokenize import tokenize

_INTENT_MESSAGE = re.compile(
    r"^/(?P<intent>[^{@]+)(?P<conf>@[0-9.]+)?(?P<entities>\{.+\})?(?P<rest>.*)$", re.S)


class Nlu:
    @gc_paused
    def __init__(self, d: dict):
        self.d = d
        self.intents = set(d.get("intents", []))
        self.entity_types = set(d.get("entities", []))
        tables = [t["elements"] for t in d.get("lookup_tables", [])]
        # one lookup map shared by the extractor and the scorers' lookup features; the
        # extractor picks its folding first, the (case-sensitive) featurizers verify on it
        indexes = IndexCache(tables, _tables_used(d))
        register_jieba((d.get("tokenizer") or {}).get("jieba"))    # before the scorers
        self.extractor = Extractor(d.get("extractor") or {}, tables, indexes)
        self.scorer = load_scorer(d.get("scorer"), tables, indexes)
        self.crfs = [c for c in map(CrfExtractor.load, d.get("crf") or []) if c is not None]
        self.duckling = Duckling.load(d.get("duckling"))
        self.synonyms: dict[str, str] = dict(d.get("synonyms") or {})
        self.nfkc = (d.get("extractor") or {}).get("normalize", "nfkc") == "nfkc"
        self.fallback = d.get("fallback")
        self.ranking_length = int(d.get("ranking_length", 10))
        self.text_tokens = d.get("text_tokens")       # the tokenizer's CJK mode, or None
        rs = d.get("response_selector")
        self.retrieval_intents = list(rs["retrieval_intents"]) if rs else []
        self.selectors = {}
        if rs:
            for key, sel in rs["selectors"].items():
                self.selectors[key] = (load_scorer(sel["model"], tables, indexes),
                                       sel["responses"])

    @property
    def drops_empty_text(self) -> bool:
        """Rasa's light pipeline crashes on an empty message when the RegexFeaturizer has
        patterns (no sentence features -> a feature-count mismatch in the classifier); the REST
        channel then answers [] and logs nothing. Without patterns "" is classified normally."""
        scorer = self.d.get("scorer") or {}
        return scorer.get("kind") == "logreg" and bool(scorer.get("patterns"))

    @classmethod
    def from_dict(cls, d: dict) -> "Nlu":
        return cls(d)

    # ------------------------------------------------------------------------------ parse
    def parse(self, text: str) -> dict:
        with message_budget():   # issue 14: every regex of one message shares one time budget
            return self._parse(text)

    def _parse(self, text: str) -> dict:
        text = text.strip() if isinstance(text, str) else ""
        result: dict[str, Any] = {"text": text, "intent": {"name": None, "confidence": 0.0},
                                  "entities": []}
        if not text:
            return result
        if self.text_tokens:
            result["text_tokens"] = [[start, end] for _w, start, end in tokenize(text, self.text_tokens)]
        ranking = self._rank(text, result)
        entities = self._entities(text)
        apply_synonyms(entities, self.synonyms, self.nfkc)
        result["entities"] = entities
        self._fallback(result, ranking)
        if self.selectors:
            self._select_response(text, result)
        intent_message = self._intent_message(text)
        return intent_message if intent_message is not None else result

    def _entities(self, text: str) -> list[dict]:
        """Every extractor's entities in pipeline order (CRFs and Duckling around the regex
        extractor; Duckling before or after the CRFs)."""
        if not self.crfs and self.duckling is None:
            return self.extractor.extract(text)
        parts = [(1, 1, self.extractor.extract)]
        parts += [(0 if crf.before_regex else 2, 1, crf.extract) for crf in self.crfs]
        if self.duckling is not None:
            duck = self.duckling
            parts.append((0 if duck.before_regex else 2, 0 if duck.before_model else 2,
                          duck.extract))
        parts.sort(key=lambda part: part[:2])
        return [e for _side, _order, extract in parts for e in extract(text)]

    def _rank(self, text: str, result: dict) -> Optional[list]:
        scorer = self.scorer
        if scorer is None:
            return None
        if isinstance(scorer, KeywordScorer):
            name = scorer.match(text)
            if name is not None:
                result["intent"] = {"name": name, "confidence": 1.0}
            return None
        probs = scorer.scores(text)
        order = _ranked(probs, self.ranking_length)
        classes = scorer.classes
        ranking = [{"name": classes[i], "confidence": p} for i, p in order]
        result["intent"] = dict(ranking[0])
        result["intent_ranking"] = ranking
        return ranking

    def _fallback(self, result: dict, ranking: Optional[list]) -> None:
        if not self.fallback:
            return
        threshold = self.fallback["threshold"]
        conf = result["intent"].get("confidence")
        conf = 0.0 if conf is None else conf
        low = conf < threshold
        ambiguous = False
        if not low and ranking and len(ranking) >= 2:
            first = ranking[0].get("confidence", 1.0)
            second = ranking[1].get("confidence", 1.0)
            ambiguous = first - second < self.fallback["ambiguity_threshold"]
        if low or ambiguous:
            fb = {"name": "nlu_fallback", "confidence": threshold}
            result["intent"] = fb
            if ranking is not None:
                result["intent_ranking"] = [dict(fb), *ranking]

    def _select_response(self, text: str, result: dict) -> None:
        out: dict[str, Any] = {"all_retrieval_intents": list(self.retrieval_intents)}
        for key, (scorer, responses) in sorted(self.selectors.items()):
            if scorer is None or isinstance(scorer, KeywordScorer):
                continue
            order = _ranked(scorer.scores(text), 10)
            best = scorer.classes[order[0][0]]
            out[key] = {
                "response": {"responses": responses.get(best, []),
                             "confidence": order[0][1],
                             "intent_response_key": best, "utter_action": f"utter_{best}"},
                "ranking": [{"id": _label_id(scorer.classes[i]), "confidence": p,
                             "intent_response_key": scorer.classes[i]} for i, p in order],
            }
        result["response_selector"] = out
        name = result["intent"].get("name")
        if name in self.retrieval_intents and name in out:
            result["intent"]["full_retrieval_intent_name"] = \
                out[name]["response"]["intent_response_key"]

    # --------------------------------------------------------------------- /intent syntax
    def _intent_message(self, text: str) -> Optional[dict]:
        if not text.startswith("/"):
            return None
        m = _INTENT_MESSAGE.match(text)
        if m is None:
            return None
        intent = m.group("intent").strip()
        if intent not in self.intents:
            return None                       # unknown intent: keep the pipeline's result
        confidence = 1.0
        if m.group("conf"):
            try:
                confidence = min(1.0, float(m.group("conf")[1:]))
            except ValueError:
                confidence = 0.0
        entities = []
        if m.group("entities"):
            start, end = m.span("entities")
            try:
                parsed = json.loads(m.group("entities"))
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                for etype, value in parsed.items():
                    if etype not in self.entity_types:
                        continue
                    for v in value if isinstance(value, list) else [value]:
                        entities.append({"entity": etype, "start": start, "end": end,
                                         "value": v, "extractor": "RegexMessageHandler"})
        intent_dict = {"name": intent, "confidence": confidence}
        return {"text": text, "intent": intent_dict, "intent_ranking": [dict(intent_dict)],
                "entities": entities}


def _tables_used(d: dict) -> set[int]:
    """Lookup tables that the extractor or a logreg scorer (lookup features) refers to."""
    patterns = list((d.get("extractor") or {}).get("patterns", []))
    selectors = ((d.get("response_selector") or {}).get("selectors") or {}).values()
    for model in [d.get("scorer"), *(sel.get("model") for sel in selectors)]:
        if model and model.get("kind") == "logreg":
            patterns += model.get("patterns", [])
    return {int(p["table"]) for p in patterns if p.get("kind") == "lookup"}


def _ranked(probs, length: int) -> list[tuple[int, float]]:
    """(class index, probability) best first, ties in class order; the first `length` only
    (all when length <= 0). `probs` is a list (few classes) or an array."""
    if isinstance(probs, list):
        order = sorted(range(len(probs)), key=lambda i: -probs[i])
        if length > 0:
            order = order[:length]
        return [(i, probs[i]) for i in order]
    probs = np.asarray(probs, dtype=float)
    n = len(probs)
    if 0 < length < n and n > 64:       # many classes: sort only the top candidates
        top = np.argpartition(-probs, length - 1)[:length]
        cut = probs[top].min()
        top = np.flatnonzero(probs >= cut)           # keep every tie of the cut value
        order = top[np.argsort(-probs[top], kind="stable")][:length]
    else:
        order = np.argsort(-probs, kind="stable")
        if length > 0:
            order = order[:length]
    values = probs[order].tolist()
    return list(zip(order.tolist(), values))


@lru_cache(maxsize=4096)        # a selector's few hundred keys, asked for on every parse
def _label_id(key: str) -> int:
    """Opaque but stable integer id for a response key (Rasa's ids are opaque too)."""
    return zlib.crc32(key.encode("utf-8")) - (1 << 31)
