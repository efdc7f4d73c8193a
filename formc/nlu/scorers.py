"""Labelled example texts -> intent scorers (train -> JSON-able dict -> runtime `scores(text)`).

* logreg  - emulates Rasa's light pipeline: RegexFeaturizer + CountVectorsFeaturizer sentence
            features and LogisticRegressionClassifier (featurize.py, logreg.py, lbfgs.py).
* tfidf   - training-free: char n-gram TF-IDF cosine to every example; an intent's score is its
            best example; softmax(20 * cosine) calibrates to [0, 1]. Used above a size limit.
* keyword - KeywordIntentClassifier (§4.4): the whole example text as a `\\b`-wrapped regex.

Arrays are stored as base64 of little-endian float32/int32 so `.fsm` files stay small, load in
milliseconds and are byte-identical across runs.
"""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from typing import Optional

import numpy as np

from . import logreg
from .entities import Extractor, table_hits
from .featurize import Featurizer, build_vocabulary, pattern_hits_token
from .tokenize import tokenize

TFIDF_SCALE = 20.0


def b64(arr: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype=dtype).tobytes()).decode("ascii")


def unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


# ------------------------------------------------------------------------------- logreg

def train_logreg(texts: list[str], labels: list[str], regexes: list[tuple[str, str]],
                 lookups: list[tuple[str, list[str]]], *, count_vectors=(("char_wb", 1, 4),),
                 regex_features: bool = True, regex_case_sensitive: bool = True,
                 word_boundaries: bool = True, max_iter: int = 100) -> dict:
    """`lookups` is the bot's full list of tables; the model refers to them by index."""
    classes = sorted(set(labels))
    vocabs = [build_vocabulary(texts, a, lo, hi) for a, lo, hi in count_vectors]
    patterns: list[dict] = []
    if regex_features:          # RegexFeaturizer: every regex line, then every lookup table
        patterns += [{"kind": "regex", "pattern": p} for _n, p in regexes]
        patterns += [{"kind": "lookup", "table": i} for i, (_n, el) in enumerate(lookups) if el]
    model = {"kind": "logreg", "classes": classes,
             "count_vectors": [{"analyzer": a, "min_n": lo, "max_n": hi,
                                "vocabulary": sorted(v, key=v.get)}
                               for (a, lo, hi), v in zip(count_vectors, vocabs)],
             "patterns": patterns, "patterns_case_sensitive": regex_case_sensitive,
             "patterns_word_boundaries": word_boundaries}
    feats = _LogregFeatures(model, [el for _n, el in lookups])
    rows = [feats.features(t) for t in texts]
    index = {c: i for i, c in enumerate(classes)}
    if len(classes) < 2:
        coef = np.zeros((feats.n_features, 1))
        intercept = np.zeros(1)
        iters = 0
    else:
        X = logreg.SparseRows(rows, feats.n_features)
        coef, intercept, iters = logreg.fit(X, [index[l] for l in labels], len(classes),
                                            max_iter=max_iter)
    model.update({"n_features": feats.n_features, "coef": b64(coef, "<f4"),
                  "intercept": [round(float(x), 7) for x in intercept], "iterations": iters})
    return model


class _LogregFeatures:
    """Feature space [patterns | count vectorizer 1 | count vectorizer 2 ...] of one message."""

    def __init__(self, model: dict, tables: list):
        case = model.get("patterns_case_sensitive", True)
        flags = 0 if case else re.IGNORECASE
        self.regex_cols: list[tuple[int, re.Pattern]] = []
        lookup_patterns, self.table_cols = [], {}
        for col, p in enumerate(model.get("patterns", [])):
            if p["kind"] == "regex":
                try:
                    self.regex_cols.append((col, re.compile(p["pattern"], flags)))
                except (re.error, RecursionError, OverflowError, ValueError):
                    continue
            else:
                self.table_cols.setdefault(p["table"], []).append(col)
                lookup_patterns.append({"name": "", "kind": "lookup", "table": p["table"]})
        self.matcher = Extractor({"case_sensitive": case, "normalize": "none",
                                  "word_boundaries": model.get("patterns_word_boundaries", True),
                                  "cjk_boundaries": True, "patterns": lookup_patterns}, tables)
        self.n_patterns = len(model.get("patterns", []))
        self.parts: list = []
        offset = self.n_patterns
        for cv in model["count_vectors"]:
            vocab = {g: j for j, g in enumerate(cv["vocabulary"])}
            f = Featurizer(vocab, [], cv["analyzer"], cv["min_n"], cv["max_n"])
            self.parts.append((offset, f))
            offset += f.n_features
        self.n_features = offset

    def features(self, text: str) -> dict[int, float]:
        out: dict[int, float] = {}
        if self.regex_cols:
            tokens = tokenize(text)
            for col, pattern in self.regex_cols:
                if pattern_hits_token(pattern, text, tokens):
                    out[col] = 1.0
        if self.table_cols:
            for table in table_hits(self.matcher, text):
                for col in self.table_cols.get(table, ()):
                    out[col] = 1.0
        for offset, f in self.parts:
            for col, v in f.features(text).items():
                out[offset + col] = v
        return out


class LogregScorer:
    def __init__(self, model: dict, tables: Optional[list] = None):
        self.classes = list(model["classes"])
        self.feats = _LogregFeatures(model, tables or [])
        k = len(self.classes) if len(self.classes) != 2 else 1
        self.coef = unb64(model["coef"], "<f4").astype(float).reshape(-1, k if k else 1)
        self.intercept = np.asarray(model["intercept"], dtype=float)

    def scores(self, text: str) -> Optional[np.ndarray]:
        if len(self.classes) == 1:
            return np.ones(1)
        feats = self.feats.features(text)
        raw = self.intercept.copy()
        if feats:
            cols = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
            vals = np.fromiter(feats.values(), dtype=float, count=len(feats))
            raw = raw + vals @ self.coef[cols]
        return logreg.predict_proba(raw)


# -------------------------------------------------------------------------------- tfidf

def train_tfidf(texts: list[str], labels: list[str]) -> dict:
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    probe = Featurizer({}, [])
    counts = [Counter(probe.grams(t)) for t in texts]      # one n-gram pass per example
    vocab = {g: i for i, g in enumerate(sorted(set().union(*counts)))}
    rows = [{vocab[g]: float(c) for g, c in cnt.items()} for cnt in counts]
    df = np.bincount(np.fromiter((c for r in rows for c in r), dtype=np.int64),
                     minlength=len(vocab)).astype(float)
    n = len(texts)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    # L2-normalised tf-idf rows, vectorised over all examples at once
    cols = [sorted(r) for r in rows]
    lengths = np.fromiter((len(c) for c in cols), dtype=np.int64, count=len(cols))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter((c for row in cols for c in row), dtype=np.int64, count=int(indptr[-1]))
    counts_flat = np.fromiter((r[c] for r, row in zip(rows, cols) for c in row), dtype=float,
                              count=int(indptr[-1]))
    vals = counts_flat * idf[indices]
    row_of = np.repeat(np.arange(len(cols)), lengths)
    norms = np.sqrt(np.bincount(row_of, weights=vals * vals, minlength=len(cols)))
    norms[norms == 0] = 1.0
    data = vals / norms[row_of]
    return {"kind": "tfidf", "classes": classes, "vocabulary": sorted(vocab, key=vocab.get),
            "idf": b64(idf, "<f4"), "indptr": b64(np.array(indptr), "<i4"),
            "indices": b64(np.array(indices, dtype=np.int64), "<i4"),
            "data": b64(np.array(data), "<f4"),
            "labels": b64(np.array([index[l] for l in labels]), "<i4")}


class TfidfScorer:
    def __init__(self, model: dict):
        self.classes = list(model["classes"])
        vocab = {g: j for j, g in enumerate(model["vocabulary"])}
        self.feats = Featurizer(vocab, [])
        self.idf = unb64(model["idf"], "<f4").astype(float)
        indptr = unb64(model["indptr"], "<i4").astype(np.int64)
        indices = unb64(model["indices"], "<i4").astype(np.int64)
        data = unb64(model["data"], "<f4").astype(float)
        self.labels = unb64(model["labels"], "<i4").astype(np.int64)
        self.n_examples = len(indptr) - 1
        rows = np.repeat(np.arange(self.n_examples), np.diff(indptr))
        order = np.argsort(indices, kind="stable")      # CSC: feature -> examples
        self.csc_rows, self.csc_data = rows[order], data[order]
        counts = np.bincount(indices, minlength=len(vocab))
        self.colptr = np.concatenate([[0], np.cumsum(counts)])

    def scores(self, text: str) -> Optional[np.ndarray]:
        feats = self.feats.features(text)
        best = np.zeros(len(self.classes))
        if feats:
            cols = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
            vals = np.fromiter(feats.values(), dtype=float, count=len(feats)) * self.idf[cols]
            vals /= math.sqrt(float(vals @ vals)) or 1.0
            starts, stops = self.colptr[cols], self.colptr[cols + 1]
            lens = stops - starts
            if lens.sum():
                idx = np.concatenate([np.arange(a, b) for a, b in zip(starts, stops)])
                weights = self.csc_data[idx] * np.repeat(vals, lens)
                sims = np.bincount(self.csc_rows[idx], weights=weights, minlength=self.n_examples)
                np.maximum.at(best, self.labels, sims)
        z = TFIDF_SCALE * best
        z -= z.max()
        ex = np.exp(z)
        return ex / ex.sum()


# ------------------------------------------------------------------------------ keyword

def train_keyword(texts: list[str], labels: list[str], case_sensitive: bool = True) -> dict:
    """KeywordIntentClassifier training (§4.4): drop keywords of two intents, then keywords
    found (as \\b-wrapped regex) inside a keyword of another intent."""
    order: dict[str, str] = {}
    ambiguous: set[str] = set()
    for text, label in zip(texts, labels):
        if text in order and order[text] != label:
            ambiguous.add(text)
        order.setdefault(text, label)
    for k in ambiguous:
        order.pop(k, None)
    flags = 0 if case_sensitive else re.IGNORECASE
    keys = list(order)
    removed = set()
    for k1 in keys:
        for k2 in keys:
            if k1 != k2 and order[k1] != order[k2]:
                try:
                    if re.search(r"\b" + k1 + r"\b", k2, flags):
                        removed.add(k1)
                except re.error:
                    removed.add(k1)
    return {"kind": "keyword", "case_sensitive": case_sensitive,
            "keywords": [[k, order[k]] for k in keys if k not in removed]}


class KeywordScorer:
    def __init__(self, model: dict):
        flags = 0 if model.get("case_sensitive", True) else re.IGNORECASE
        self.rules = []
        for k, intent in model["keywords"]:
            try:
                self.rules.append((re.compile(r"\b" + k + r"\b", flags), intent))
            except re.error:
                continue

    def match(self, text: str) -> Optional[str]:
        for pattern, intent in self.rules:
            if pattern.search(text):
                return intent
        return None


def load_scorer(model: Optional[dict], tables: Optional[list] = None):
    if not model:
        return None
    kind = model.get("kind")
    if kind == "logreg":
        return LogregScorer(model, tables)
    if kind == "tfidf":
        return TfidfScorer(model)
    if kind == "keyword":
        return KeywordScorer(model)
    return None
