"""The NLU's fast paths agree with the plain definitions they replace.

* one lookup map serves the case-insensitive extractor and the case-sensitive RegexFeaturizer
  (the featurizer verifies candidates against the elements);
* the logistic-regression scorer's per-word cached rows = softmax(intercept + x @ coef);
* the tf-idf scorer's dense and sparse paths give the same floats; training matches a
  straightforward Counter-based construction;
* compile/load pause the cyclic GC and restore it.
"""

from __future__ import annotations

import gc
import json
import math
from collections import Counter

import numpy as np
from hypothesis import given, settings, strategies as st

from formc.gcpause import gc_paused
from formc.model import (Domain, Entity, EntityAnnotation, Intent, LookupDef, NluConfig, NluData,
                         NluExample, RegexDef)
from formc.nlu.classify import Nlu
from formc.nlu.compile import compile_nlu
from formc.nlu.entities import table_hits
from formc.nlu.featurize import Featurizer
from formc.nlu.lookup_index import LookupIndex
from formc.nlu.scorers import TfidfScorer, train_tfidf, unb64
from formc.nlu.tokenize import tokenize

TABLES = [["Paris", "paris", "New York", "ﬁn", "北京", "x-y"], ["PARIS", "rome"], [], ["new york"]]
ALPHABET = list("aPpArRiIsS NnewYyork.,-xﬁfn北京") + ["Paris", "new york", "ROME"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=12).map("".join), st.booleans())
def test_featurizer_on_a_folding_index_equals_its_own_index(text, boundaries):
    own = LookupIndex(TABLES, nfkc=False, fold=False)          # the featurizer's own folding
    tokens = tokenize(text)
    expected = table_hits(own, text, tokens, case_sensitive=True, boundaries=boundaries)
    for nfkc, fold in ((True, True), (False, True), (True, False)):
        shared = LookupIndex(TABLES, nfkc=nfkc, fold=fold)
        got = table_hits(shared, text, tokens, case_sensitive=True, boundaries=boundaries)
        assert got == expected, (nfkc, fold)


def test_index_keeps_every_element_of_a_folded_key():
    index = LookupIndex(TABLES, nfkc=True, fold=True)
    assert [index.locate(g) for g in index.gids("paris")] == [(0, 0), (0, 1), (1, 0)]
    assert [index.locate(g) for g in index.gids("new york")] == [(0, 2), (3, 0)]
    assert index.gids("fin") == index.gids("ﬁn".replace("ﬁ", "fi")) != ()
    assert sorted(index.first) == ["fin", "new york", "paris", "rome", "x-y", "北京"]


def _bot(case_sensitive_extractor=False):
    examples = [NluExample("fly to Paris", "travel", (EntityAnnotation(7, 12, "Paris", "city"),)),
                NluExample("go to rome now", "travel"), NluExample("hello there", "greet"),
                NluExample("hi", "greet"), NluExample("bye 12", "bye"), NluExample("see you", "bye")]
    data = NluData(examples=tuple(examples), regexes=(RegexDef("number", r"\d+"),),
                   lookups=(LookupDef("city", ("Paris", "paris", "rome")),))
    domain = Domain(intents=(Intent("travel"), Intent("greet"), Intent("bye")),
                    entities=(Entity("city"),))
    config = NluConfig(intent_scorer="logreg", regex_case_sensitive=case_sensitive_extractor)
    model, _ = compile_nlu(data, config, domain)
    return Nlu(json.loads(json.dumps(model)))


def test_extractor_and_featurizer_share_one_map():
    nlu = _bot()
    assert nlu.scorer.feats.index is nlu.extractor.index
    feats = nlu.scorer.feats
    lookup_col = feats.table_cols[0][0]
    for text, fires in (("to Paris", True), ("to paris", True), ("to PARIS", False),
                        ("to Rome", False), ("to rome", True)):
        assert (lookup_col in feats.features(text)) is fires, text
    # the extractor itself is case-insensitive
    got = nlu.parse("to PARIS and ROME")["entities"]
    assert [(e["start"], e["end"]) for e in got] == [(3, 8), (13, 17)]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["fly", "to", "Paris", "rome", "hello", "12", "there", "bye",
                                 "x", "?", "see", "you!"]), min_size=1, max_size=8))
def test_logreg_cached_word_rows_equal_the_dense_definition(words):
    nlu = _bot()
    scorer = nlu.scorer
    text = " ".join(words)
    feats = scorer.feats.features(text)
    raw = scorer.intercept.copy()
    for col, value in feats.items():
        raw = raw + value * scorer.coef[col]
    ex = np.exp(raw - raw.max())
    expected = ex / ex.sum()
    for _ in range(2):                      # first with empty caches, then from the caches
        got = scorer.scores(text)
        assert np.allclose(got, expected, rtol=0, atol=1e-12)


def _reference_tfidf(texts):
    probe = Featurizer({}, [])
    counts = [Counter(probe.grams(t)) for t in texts]
    vocab = sorted(set().union(*counts))
    col = {g: i for i, g in enumerate(vocab)}
    df = Counter(g for c in counts for g in c)
    idf = {g: math.log((1 + len(texts)) / (1 + df[g])) + 1 for g in vocab}
    rows = []
    for c in counts:
        vals = {col[g]: n * idf[g] for g, n in c.items()}
        norm = math.sqrt(sum(v * v for v in vals.values())) or 1.0
        rows.append({k: v / norm for k, v in sorted(vals.items())})
    return vocab, rows


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(alphabet="ab c1.Ü", min_size=1, max_size=12), min_size=1, max_size=8))
def test_tfidf_training_matches_the_reference(texts):
    labels = [f"i{k % 3}" for k in range(len(texts))]
    model = train_tfidf(texts, labels)
    vocab, rows = _reference_tfidf(texts)
    assert model["vocabulary"] == vocab
    indptr = unb64(model["indptr"], "<i4")
    indices = unb64(model["indices"], "<i4")
    data = unb64(model["data"], "<f4")
    for r, row in enumerate(rows):
        a, b = indptr[r], indptr[r + 1]
        assert list(indices[a:b]) == list(row)
        assert np.allclose(data[a:b], list(row.values()), atol=1e-6)


def test_tfidf_dense_and_sparse_paths_give_the_same_floats():
    texts = ["book a table", "a table for two", "hello there", "hi there", "thanks a lot",
             "thank you", "table for four please", "hey"]
    labels = ["book", "book", "greet", "greet", "thanks", "thanks", "book", "greet"]
    scorer = TfidfScorer(train_tfidf(texts, labels))
    assert scorer.dense is not None
    for text in ("a table for two please", "hello", "xyz", "thanks for the table"):
        dense = np.asarray(scorer.scores(text))
        saved, scorer.dense = scorer.dense, None
        sparse = np.asarray(scorer.scores(text))
        scorer.dense = saved
        assert np.array_equal(dense, sparse), text


def test_gc_paused_restores_the_collector():
    @gc_paused
    def inner():
        return gc.isenabled()

    @gc_paused
    def outer():
        return inner(), gc.isenabled()

    assert gc.isenabled()
    assert outer() == (False, False)
    assert gc.isenabled()
    gc.disable()
    try:
        assert outer() == (False, False)
        assert not gc.isenabled()                  # was off: stays off
    finally:
        gc.enable()
