"""Labelled example texts -> intent scorers (train -> JSON-able dict -> runtime `scores(text)`).

* logreg  - emulates Rasa's light pipeline: RegexFeaturizer + CountVectorsFeaturizer sentence
            features and LogisticRegressionClassifier (featurize.py, logreg.py).
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
from typing import Any, Optional

import numpy as np

from . import logreg
from .entities import table_hits
from .featurize import Featurizer, build_vocabulary, pattern_hits_token
from .lookup_index import IndexCache
from .regex_budget import budget_compile, message_memo  # issue 14: bounded per message
from .tokenize import RUN, tokenize

TFIDF_SCALE = 20.0


def b64(arr: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype=dtype).tobytes()).decode("ascii")


def unb64(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype)


# ------------------------------------------------------------------------------- logreg

def train_logreg(texts: list[str], labels: list[str], regexes: list[tuple[str, str]],
                 lookups: list[tuple[str, list[str]]], *, count_vectors=(("char_wb", 1, 4),),
                 regex_features: bool = True, regex_case_sensitive: bool = True,
                 word_boundaries: bool = True, max_iter: int = 100, tol: float = 1e-4,
                 cjk_tokens: str = RUN) -> dict:
    """`lookups` is the bot's full list of tables; the model refers to them by index."""
    classes = sorted(set(labels))
    # (analyzer, min_n, max_n[, lowercase, min_df, max_df]): defaults for the missing options
    count_vectors = [tuple(cv) + (True, 1, 1.0)[len(cv) - 3:] for cv in count_vectors]
    vocabs = [build_vocabulary(texts, a, lo, hi, lower, cjk_tokens, min_df, max_df)
              for a, lo, hi, lower, min_df, max_df in count_vectors]
    patterns: list[dict] = []
    if regex_features:          # RegexFeaturizer: every regex line, then every lookup table
        patterns += [{"kind": "regex", "pattern": p} for _n, p in regexes]
        patterns += [{"kind": "lookup", "table": i} for i, (_n, el) in enumerate(lookups) if el]
    model = {"kind": "logreg", "classes": classes,
             "count_vectors": [{"analyzer": a, "min_n": lo, "max_n": hi,
                                "vocabulary": sorted(v, key=v.get),
                                **({} if lower else {"lowercase": False})}
                               for (a, lo, hi, lower, _min, _max), v in zip(count_vectors, vocabs)],
             "patterns": patterns, "patterns_case_sensitive": regex_case_sensitive,
             "patterns_word_boundaries": word_boundaries}
    _record_cjk(model, cjk_tokens)
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
                                            max_iter=max_iter, tol=tol)
    model.update({"n_features": feats.n_features, "coef": b64(coef, "<f4"),
                  "intercept": [round(float(x), 7) for x in intercept], "iterations": iters})
    return model


def _record_cjk(model: dict, cjk_tokens: str) -> None:
    """Only a non-default mode is written: "run" models stay byte-identical to older ones."""
    if cjk_tokens != RUN:
        model["cjk_tokens"] = cjk_tokens


class _LogregFeatures:
    """Feature space [patterns | count vectorizer 1 | count vectorizer 2 ...] of one message."""

    def __init__(self, model: dict, tables: list, indexes: Optional[IndexCache] = None):
        self.cjk = model.get("cjk_tokens", RUN)
        self.case = model.get("patterns_case_sensitive", True)
        flags = 0 if self.case else re.IGNORECASE
        self.regex_cols: list[tuple[int, re.Pattern]] = []
        self.table_cols: dict[int, list[int]] = {}
        for col, p in enumerate(model.get("patterns", [])):
            if p["kind"] == "regex":
                try:
                    self.regex_cols.append((col, budget_compile(p["pattern"], flags)))
                except (re.error, RecursionError, OverflowError, ValueError):
                    continue
            else:
                self.table_cols.setdefault(p["table"], []).append(col)
        self.boundaries = model.get("patterns_word_boundaries", True)
        # the intent scorer and each response selector share one RegexFeaturizer setup: a
        # message's pattern columns are found once (keyed by this) and shared in its memo
        self._memo_key = ("pattern_cols", self.cjk, self.case, self.boundaries,
                          tuple((p["kind"], p.get("pattern"), p.get("table"))
                                for p in model.get("patterns", [])))
        self.index = None
        if self.table_cols:
            indexes = indexes or IndexCache(tables, set(self.table_cols))
            self.index = indexes.for_featurizer(self.case)
        self.n_patterns = len(model.get("patterns", []))
        self.parts: list = []
        offset = self.n_patterns
        for cv in model["count_vectors"]:
            vocab = {g: j for j, g in enumerate(cv["vocabulary"])}
            f = Featurizer(vocab, [], cv["analyzer"], cv["min_n"], cv["max_n"],
                           cv.get("lowercase", True), cjk=self.cjk)
            self.parts.append((offset, f))
            offset += f.n_features
        self.n_features = offset

    def pattern_cols(self, text: str, tokens) -> list[int]:
        """Columns of the regex / lookup-table features that fire (each 1.0). Inside a parse
        the list is shared with the other scorers of the same setup: read it, never change it."""
        memo = message_memo()
        if memo is None:
            return self._pattern_cols(text, tokens)
        key = (*self._memo_key, text)
        found = memo.get(key)
        if found is None:
            found = memo[key] = self._pattern_cols(text, tokens)
        return found

    def _pattern_cols(self, text: str, tokens) -> list[int]:
        out = []
        for col, pattern in self.regex_cols:
            if pattern_hits_token(pattern, text, tokens):
                out.append(col)
        if self.index is not None:
            for table in sorted(table_hits(self.index, text, tokens, case_sensitive=self.case,
                                           boundaries=self.boundaries)):
                out.extend(self.table_cols.get(table, ()))
        return out

    def features(self, text: str) -> dict[int, float]:
        out: dict[int, float] = {}
        if self.regex_cols or self.index is not None:
            for col in self.pattern_cols(text, tokenize(text, self.cjk)):
                out[col] = 1.0
        for offset, f in self.parts:
            for col, v in f.features(text).items():
                out[offset + col] = v
        return out


class LogregScorer:
    """Scores = softmax(intercept + sum of the coefficient rows of the active features). Count
    features decompose over words, so each word's summed rows are cached (words repeat). With
    few classes the sums run on Python floats: numpy's per-call overhead would dominate."""

    CACHE_WORDS = 20_000
    SMALL = 8                   # classes up to which Python floats beat numpy

    def __init__(self, model: dict, tables: Optional[list] = None,
                 indexes: Optional[IndexCache] = None):
        self.classes = list(model["classes"])
        self.feats = _LogregFeatures(model, tables or [], indexes)
        k = len(self.classes) if len(self.classes) != 2 else 1
        self.coef = unb64(model["coef"], "<f4").astype(float).reshape(-1, k if k else 1)
        self.intercept = np.asarray(model["intercept"], dtype=float)
        self.small = self.coef.shape[1] <= self.SMALL
        # per class, its coefficients as a Python list: a row sum is then k C-level sum()s
        self.columns = [col.tolist() for col in self.coef.T] if self.small else None
        self.word_parts = [(offset, f) for offset, f in self.feats.parts if f.per_word]
        self.other_parts = [(offset, f) for offset, f in self.feats.parts if not f.per_word]
        self._words: dict[str, Any] = {}

    def _rows(self, cols: list[int]):
        """Sum of the coefficient rows `cols` (None if none): a tuple when small."""
        if not cols:
            return None
        if self.small:
            return tuple([sum(map(column.__getitem__, cols)) for column in self.columns])
        return self.coef[cols].sum(axis=0)

    def _word_row(self, word: str):
        """Summed coefficient rows of every per-word count feature of one token."""
        row = self._rows([offset + c for offset, f in self.word_parts
                          for c in f.token_columns(word, cache=False)])
        if len(self._words) >= self.CACHE_WORDS:
            self._words.clear()
        self._words[word] = row
        return row

    def scores(self, text: str):
        """Probabilities per class (a list with few classes, else an array)."""
        if len(self.classes) == 1:
            return [1.0]
        feats = self.feats
        tokens = tokenize(text, feats.cjk)
        rows = []
        if feats.regex_cols or feats.index is not None:
            row = self._rows(feats.pattern_cols(text, tokens))
            if row is not None:
                rows.append(row)
        words = self._words
        for word, _s, _e in tokens:
            row = words[word] if word in words else self._word_row(word)
            if row is not None:
                rows.append(row)
        for offset, f in self.other_parts:
            grams = f.features(text)
            if grams:
                cols = np.fromiter(grams.keys(), dtype=np.int64, count=len(grams)) + offset
                vals = np.fromiter(grams.values(), dtype=float, count=len(grams))
                row = vals @ self.coef[cols]
                rows.append(tuple(row.tolist()) if self.small else row)
        if not self.small:
            raw = self.intercept.copy()
            for row in rows:
                raw += row
            return logreg.predict_proba(raw)
        raw = self.intercept.tolist()
        for row in rows:
            raw = [a + b for a, b in zip(raw, row)]
        if len(raw) == 1:                   # binary: one weight vector, sigmoid
            z = raw[0]
            p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
            return [1.0 - p, p]
        mx = max(raw)
        ex = [math.exp(r - mx) for r in raw]
        total = sum(ex)
        return [e / total for e in ex]


# -------------------------------------------------------------------------------- tfidf

def train_tfidf(texts: list[str], labels: list[str], cjk_tokens: str = RUN) -> dict:
    classes = sorted(set(labels))
    index = {c: i for i, c in enumerate(classes)}
    probe = Featurizer({}, [], cjk=cjk_tokens)
    # grams per distinct token (words repeat a lot), numbered in order of first sight and
    # kept as int32 bytes, so that all examples' grams become one array by a bytes join
    first_seen: dict[str, int] = {}
    token_ids: dict[str, bytes] = {}
    parts: list[bytes] = []
    lengths = []
    for text in texts:
        size = 0
        for word, _s, _e in tokenize(text, cjk_tokens):
            ids = token_ids.get(word)
            if ids is None:
                ids = token_ids[word] = np.array(
                    [first_seen.setdefault(g, len(first_seen)) for g in probe.token_grams(word)],
                    dtype=np.int32).tobytes()
            parts.append(ids)
            size += len(ids)
        lengths.append(size // 4)
    vocabulary = sorted(first_seen)
    n, n_vocab = len(texts), len(vocabulary)
    span = max(n_vocab, 1)
    rank = np.empty(n_vocab, dtype=np.int64)           # first-seen id -> sorted column
    rank[np.fromiter((first_seen[g] for g in vocabulary), dtype=np.int64, count=n_vocab)] = \
        np.arange(n_vocab)
    # one key per gram: example * span + column; sorted, equal keys are one CSR entry
    small = n * span < 2 ** 31                          # int32 keys sort ~4x faster
    key_type = np.int32 if small else np.int64
    keys = np.repeat(np.arange(n, dtype=key_type) * key_type(span), lengths)
    keys += rank[np.frombuffer(b"".join(parts), dtype=np.int32)].astype(key_type)
    keys.sort(kind="stable")                            # examples are already in order
    if len(keys):
        starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
        counts = np.diff(np.append(starts, len(keys)))
        row_of, indices = np.divmod(keys[starts].astype(np.int64), span)
    else:
        counts = row_of = indices = np.zeros(0, dtype=np.int64)
    df = np.bincount(indices, minlength=n_vocab).astype(float)
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    # L2-normalised tf-idf rows, vectorised over all examples at once
    vals = counts.astype(float) * idf[indices]
    norms = np.sqrt(np.bincount(row_of, weights=vals * vals, minlength=n))
    norms[norms == 0] = 1.0
    data = vals / norms[row_of]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=n))])
    model = {"kind": "tfidf", "classes": classes, "vocabulary": vocabulary,
             "idf": b64(idf, "<f4"), "indptr": b64(indptr, "<i4"),
             "indices": b64(indices, "<i4"), "data": b64(data, "<f4"),
             "labels": b64(np.array([index[l] for l in labels]), "<i4")}
    _record_cjk(model, cjk_tokens)
    return model


class TfidfScorer:
    def __init__(self, model: dict):
        self.classes = list(model["classes"])
        vocab = {g: j for j, g in enumerate(model["vocabulary"])}
        self.feats = Featurizer(vocab, [], cjk=model.get("cjk_tokens", RUN))
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
        # examples grouped by class, for a per-class maximum in one reduceat (every class
        # has an example: classes are the labels seen in training)
        self.by_label = np.argsort(self.labels, kind="stable")
        self.label_starts = np.searchsorted(self.labels[self.by_label],
                                            np.arange(len(self.classes)))
        self.grouped = bool(len(self.labels)) and \
            np.array_equal(np.unique(self.labels), np.arange(len(self.classes)))
        # small models: a dense (feature x example) matrix makes a message one gather + one
        # product instead of a dozen small numpy calls
        self.dense = None
        if len(vocab) * self.n_examples <= self.DENSE_MAX:
            self.dense = np.zeros((len(vocab), self.n_examples))
            self.dense[indices, rows] = data

    DENSE_MAX = 1_000_000

    def scores(self, text: str):
        """Probabilities per class (a list with few classes, else an array)."""
        feats = self.feats.count_features(text)
        best = np.zeros(len(self.classes))
        if feats:
            cols = np.fromiter(feats.keys(), dtype=np.int64, count=len(feats))
            vals = np.fromiter(feats.values(), dtype=float, count=len(feats)) * self.idf[cols]
            vals /= math.sqrt(float(vals @ vals)) or 1.0
            if self.dense is not None:
                # summed feature by feature, like the sparse path (same floats, same ties)
                sims = np.add.reduce(vals[:, None] * self.dense[cols], axis=0)
                if self.grouped:
                    best = np.maximum.reduceat(sims[self.by_label], self.label_starts)
                else:
                    np.maximum.at(best, self.labels, sims)
                return self._softmax(best)
            # sparse: every example of each feature, features in message order (the order
            # of the sums decides exact ties, so it is kept); slices of the CSC arrays
            cp = self.colptr
            starts, stops = cp[cols].tolist(), cp[cols + 1].tolist()
            lens = np.subtract(stops, starts)
            if lens.sum():
                data, rows = self.csc_data, self.csc_rows
                weights = np.concatenate([data[a:b] for a, b in zip(starts, stops)])
                weights *= np.repeat(vals, lens)
                sims = np.zeros(self.n_examples)
                np.add.at(sims, np.concatenate([rows[a:b] for a, b in zip(starts, stops)]),
                          weights)
                if self.grouped:
                    best = np.maximum.reduceat(sims[self.by_label], self.label_starts)
                else:
                    np.maximum.at(best, self.labels, sims)
        return self._softmax(best)

    def _softmax(self, best: np.ndarray):
        if len(best) <= LogregScorer.SMALL:
            z = [TFIDF_SCALE * b for b in best.tolist()]
            mx = max(z)
            ex = [math.exp(v - mx) for v in z]
            total = sum(ex)
            return [e / total for e in ex]
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
                self.rules.append((budget_compile(r"\b" + k + r"\b", flags), intent))
            except re.error:
                continue

    def match(self, text: str) -> Optional[str]:
        for pattern, intent in self.rules:
            if pattern.search(text):
                return intent
        return None


def load_scorer(model: Optional[dict], tables: Optional[list] = None,
                indexes: Optional[IndexCache] = None):
    if not model:
        return None
    kind = model.get("kind")
    if kind == "logreg":
        return LogregScorer(model, tables, indexes)
    if kind == "tfidf":
        return TfidfScorer(model)
    if kind == "keyword":
        return KeywordScorer(model)
    return None
