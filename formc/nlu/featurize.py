"""Text -> sparse sentence features, as Rasa's RegexFeaturizer + CountVectorsFeaturizer build them.

Count features (CountVectorsFeaturizer, analyzer `char_wb` by default here): tokens from
`tokenize`, digit-only words replaced by `__NUMBER__`, lowercased, joined by one space; then
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

from .tokenize import tokenize

_NUMBER = re.compile(r"\b[0-9]+\b")
_WORD = re.compile(r"(?u)\b\w+\b")


def processed_tokens(text: str, lowercase: bool = True) -> list[str]:
    """Token texts as CountVectorsFeaturizer sees them."""
    out = []
    for word, _s, _e in tokenize(text):
        word = _NUMBER.sub("__NUMBER__", word)
        out.append(word.lower() if lowercase else word)
    return out


def char_wb_ngrams(doc: str, min_n: int, max_n: int) -> list[str]:
    """sklearn CountVectorizer(analyzer='char_wb') n-grams of an already preprocessed doc."""
    grams: list[str] = []
    for word in doc.split():
        w = " " + word + " "
        w_len = len(w)
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

    def __init__(self, vocabulary: dict[str, int], patterns: list, analyzer: str = "char_wb",
                 min_n: int = 1, max_n: int = 4, lowercase: bool = True):
        self.vocabulary = vocabulary
        self.patterns = patterns            # compiled `re` patterns, already with their flags
        self.analyzer = analyzer
        self.min_n, self.max_n = min_n, max_n
        self.lowercase = lowercase

    @property
    def n_features(self) -> int:
        return len(self.patterns) + len(self.vocabulary)

    def grams(self, text: str) -> list[str]:
        doc = " ".join(processed_tokens(text, self.lowercase))
        if self.lowercase:
            doc = doc.lower()
        if self.analyzer == "word":
            return word_ngrams(doc, self.min_n, self.max_n)
        return char_wb_ngrams(doc, self.min_n, self.max_n)

    def features(self, text: str) -> dict[int, float]:
        out: dict[int, float] = {}
        if self.patterns:
            tokens = tokenize(text)
            for col, pattern in enumerate(self.patterns):
                if pattern_hits_token(pattern, text, tokens):
                    out[col] = 1.0
        base = len(self.patterns)
        vocab = self.vocabulary
        for gram, count in Counter(self.grams(text)).items():
            idx = vocab.get(gram)
            if idx is not None:
                out[base + idx] = float(count)
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
                     max_n: int = 4, lowercase: bool = True) -> dict[str, int]:
    """Vocabulary as sklearn's CountVectorizer.fit builds it: sorted grams -> column."""
    probe = Featurizer({}, [], analyzer, min_n, max_n, lowercase)
    grams: set[str] = set()
    for text in texts:
        if text:
            grams.update(probe.grams(text))
    return {g: i for i, g in enumerate(sorted(grams))}


def lookup_pattern(elements: list[str], word_boundaries: bool) -> str:
    """Rasa's lookup-table regex: escaped elements in list order, `|`-joined, one group."""
    escaped = [re.escape(e) for e in elements]
    if word_boundaries:
        escaped = [rf"\b{e}\b" for e in escaped]
    return "(" + "|".join(escaped) + ")"
