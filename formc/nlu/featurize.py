"""Text -> sparse sentence features, as Rasa's RegexFeaturizer + CountVectorsFeaturizer build them.

Count features (CountVectorsFeaturizer, analyzer `char_wb` by default here): tokens from
`tokenize` (in the featurizer's CJK mode, "run" or "char"), digit-only words replaced by `__NUMBER__`, lowercased, joined by one space; then
sklearn's char_wb n-grams: every whitespace-separated word padded with one space each side, all
n-grams for n in [min_n, max_n] (a padded word shorter than n yields itself once). With the
`word` analyzer the tokens themselves are the features (sklearn's `\\b\\w+\\b` token pattern).

Regex features (RegexFeaturizer): one binary feature per pattern (each `regex:` line, one per
lookup table): 1 if some match of the pattern overlaps some token. Case-sensitive by default.

A feature vector is a dict {column: value}; columns are [patterns..., vocabulary...].
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

from .tokenize import RUN, tokenize

_NUMBER = re.compile(r"\b[0-9]+\b")
_WORD = re.compile(r"(?u)\b\w+\b")


def processed_tokens(text: str, lowercase: bool = True, cjk: str = RUN) -> list[str]:
    """Token texts as CountVectorsFeaturizer sees them."""
    out = []
    for word, _s, _e in tokenize(text, cjk):
        word = _NUMBER.sub("__NUMBER__", word)
        out.append(word.lower() if lowercase else word)
    return out


def char_wb_ngrams(doc: str, min_n: int, max_n: int) -> list[str]:
    """sklearn CountVectorizer(analyzer='char_wb') n-grams of an already preprocessed doc."""
    grams: list[str] = []
    for word in doc.split():
        w = " " + word + " "
        w_len = len(w)
        if w_len > max_n:           # the usual case: every n fits, one comprehension
            grams += [w[i:i + n] for n in range(min_n, max_n + 1) for i in range(w_len - n + 1)]
            continue
        for n in range(min_n, max_n + 1):
            if w_len <= n:
                grams.append(w)   # a short word counts once, then no longer n-grams
                break
            grams += [w[i:i + n] for i in range(w_len - n + 1)]
    return grams


def word_ngrams(doc: str, min_n: int, max_n: int) -> list[str]:
    words = _WORD.findall(doc)
    if min_n == max_n == 1:
        return words
    grams = []
    for n in range(min_n, max_n + 1):
        grams.extend(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return grams


class Featurizer:
    """Builds sentence feature vectors from a fixed vocabulary and compiled regex patterns."""

    CACHE_WORDS = 20_000

    def __init__(self, vocabulary: dict[str, int], patterns: list, analyzer: str = "char_wb",
                 min_n: int = 1, max_n: int = 4, lowercase: bool = True, cjk: str = RUN):
        self.vocabulary = vocabulary
        self.cjk = cjk                      # tokenize's CJK mode; fixed per instance (caches)
        self.patterns = patterns            # compiled `re` patterns, already with their flags
        self.analyzer = analyzer
        self.min_n, self.max_n = min_n, max_n
        self.lowercase = lowercase
        # char_wb grams never span two words, nor do single words: a sentence's counts are
        # the sum of its tokens' counts, so each token's columns can be cached
        self.per_word = analyzer != "word" or min_n == max_n == 1
        self._columns: dict[str, list[int]] = {}

    @property
    def n_features(self) -> int:
        return len(self.patterns) + len(self.vocabulary)

    def grams(self, text: str) -> list[str]:
        doc = " ".join(processed_tokens(text, self.lowercase, self.cjk))
        if self.lowercase:
            doc = doc.lower()
        if self.analyzer == "word":
            return word_ngrams(doc, self.min_n, self.max_n)
        return char_wb_ngrams(doc, self.min_n, self.max_n)

    def token_grams(self, word: str) -> list[str]:
        """The grams one token adds to the sentence's (per_word analyzers only)."""
        piece = _NUMBER.sub("__NUMBER__", word)
        if self.lowercase:
            piece = piece.lower().lower()     # as processed_tokens, then the doc, lowercase
        if self.analyzer == "word":
            return _WORD.findall(piece)
        return char_wb_ngrams(piece, self.min_n, self.max_n)

    def token_columns(self, word: str, cache: bool = True) -> list[int]:
        """Vocabulary columns of one token's grams, in order, with repeats (cached)."""
        cols = self._columns.get(word)
        if cols is None:
            cols = [c for c in map(self.vocabulary.get, self.token_grams(word)) if c is not None]
            if cache:
                if len(self._columns) >= self.CACHE_WORDS:
                    self._columns.clear()
                self._columns[word] = cols
        return cols

    def count_features(self, text: str, tokens=None) -> dict[int, float]:
        """{vocabulary column: count}, columns in order of first occurrence."""
        if not self.per_word:
            vocab = self.vocabulary
            return {vocab[g]: float(c) for g, c in Counter(self.grams(text)).items()
                    if g in vocab}
        counts: dict[int, float] = {}
        get = counts.get
        for word, _s, _e in (tokenize(text, self.cjk) if tokens is None else tokens):
            for col in self.token_columns(word):
                counts[col] = get(col, 0.0) + 1.0
        return counts

    def features(self, text: str) -> dict[int, float]:
        out: dict[int, float] = {}
        tokens = tokenize(text, self.cjk)
        if self.patterns:
            for col, pattern in enumerate(self.patterns):
                if pattern_hits_token(pattern, text, tokens):
                    out[col] = 1.0
        base = len(self.patterns)
        for col, count in self.count_features(text, tokens).items():
            out[base + col] = count
        return out


def pattern_hits_token(pattern, text: str, tokens) -> bool:
    try:
        for m in pattern.finditer(text):
            s, e = m.span()
            for _w, ts, te in tokens:
                if ts < e and te > s:
                    return True
    except Exception:       # pathological patterns (recursion, ...) must not break a parse
        return False
    return False


def build_vocabulary(texts: Iterable[str], analyzer: str = "char_wb", min_n: int = 1,
                     max_n: int = 4, lowercase: bool = True, cjk: str = RUN,
                     min_df: float = 1, max_df: float = 1.0) -> dict[str, int]:
    """Vocabulary as sklearn's CountVectorizer.fit builds it: sorted grams -> column. min_df /
    max_df keep the grams found in that many documents (an int) or that share of them (a float)."""
    probe = Featurizer({}, [], analyzer, min_n, max_n, lowercase, cjk)
    df: dict[str, int] = {}
    docs = 0
    for text in texts:
        docs += 1
        if text:
            for gram in set(probe.grams(text)):
                df[gram] = df.get(gram, 0) + 1
    low = min_df if isinstance(min_df, int) else min_df * docs
    high = max_df if isinstance(max_df, int) else max_df * docs
    return {g: i for i, g in enumerate(sorted(g for g, n in df.items() if low <= n <= high))}


def lookup_pattern(elements: list[str], word_boundaries: bool) -> str:
    """Rasa's lookup-table regex: escaped elements in list order, `|`-joined, one group."""
    escaped = [re.escape(e) for e in elements]
    if word_boundaries:
        escaped = [rf"\b{e}\b" for e in escaped]
    return "(" + "|".join(escaped) + ")"
