"""The CRF's fast paths give Rasa's answers: best_tags (few marginals asked) equals the argmax of full
marginal rows, and the cached token features equal the plain per-window construction."""

from __future__ import annotations

import os
import random

import pytest

from formc.nlu.classify import Nlu
from formc.nlu.compile import compile_nlu
from formc.nlu.crf import best_tags
from formc.nlu.crf_decode import most_likely
from formc.nlu.crf_features import token_features
from formc.nlu.tokenize import tokenize

from support.nlu_support import read_bot_config, read_bot_nlu, read_domain_names

CRF1 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles", "crf1", "bot")


@pytest.fixture(scope="module")
def crf1():
    data, _ = read_bot_nlu(CRF1)
    model, _ = compile_nlu(data, read_bot_config(CRF1), read_domain_names(CRF1))
    texts = [ex.text for ex in data.examples if ex.text]
    rng = random.Random(3)
    words = [w for t in texts for w in t.split()]
    # shuffled word salads: many tokens whose most likely tag is far from certain
    texts += [" ".join(rng.sample(words, rng.randint(1, 9))) for _ in range(300)]
    return Nlu(model).crfs[0], texts


def _full_rows(tagger, labels, n):
    return [[tagger.marginal(label, i) for label in labels] for i in range(n)]


def test_best_tags_equals_the_argmax_of_every_marginal(crf1):
    crf, texts = crf1
    uncertain = checked = 0
    for text in texts:
        tokens = tokenize(text, crf.cjk)
        patterns = crf.matcher.token_patterns(text, tokens)
        entity_tags = None
        for name, tagger, labels, groups, order in crf.taggers:
            tagger.set(token_features(tokens, patterns, crf.features,
                                      None if name == "entity" else entity_tags))
            rows = _full_rows(tagger, labels, len(tokens))
            for bilou in (True, False):
                assert best_tags(tagger, len(tokens), labels, groups, bilou, order) == \
                    most_likely(labels, groups, rows, bilou), (name, text)
            uncertain += sum(max(row) < 0.9 for row in rows)
            checked += len(rows)
            if name == "entity":
                entity_tags = most_likely(labels, groups, rows, True)[0]
    assert checked > 1000 and uncertain > 50     # the early stop and the full rows both ran


def test_label_order_asks_for_o_first_and_then_every_label_once(crf1):
    crf, _ = crf1
    for _name, _tagger, labels, _groups, order in crf.taggers:
        assert labels[order[0]] == "O"
        assert sorted(order) == list(range(len(labels)))


def _plain_features(tokens, patterns, features, tags=None):
    """The per-window construction written out directly (Rasa's _crf_tokens_to_features)."""
    half = len(features) // 2
    out = []
    for idx in range(len(tokens)):
        feats = {}
        for pos in range(-half, half + 1):
            j = idx + pos
            if j >= len(tokens):
                feats["EOS"] = True
            elif j < 0:
                feats["BOS"] = True
            else:
                text = tokens[j][0]
                for name in list(features[pos + half]) + (["entity"] if tags else []):
                    key = f"{pos}:{name}"
                    if name == "pattern":
                        for pname, hit in patterns[j].items():
                            feats[f"{key}:{pname}"] = hit
                    elif name == "entity":
                        feats[key] = tags[j]
                    else:
                        feats[key] = {"low": text.lower(), "title": text.istitle(),
                                      "upper": text.isupper(), "digit": text.isdigit(),
                                      "bias": "bias", "prefix5": text[:5], "prefix2": text[:2],
                                      "suffix5": text[-5:], "suffix3": text[-3:],
                                      "suffix2": text[-2:], "suffix1": text[-1:]}[name]
        out.append(feats)
    return out


@pytest.mark.parametrize("features", [
    [["low", "title", "upper"], ["low", "bias", "prefix5", "prefix2", "suffix5", "suffix3",
                                 "suffix2", "upper", "title", "digit", "pattern"],
     ["low", "title", "upper"]],
    [["suffix1", "low"], ["digit", "pattern", "low"], ["bias"], ["upper"], ["pattern"]],
    [["low", "low", "pattern"]],
])
def test_token_features_keep_rasas_keys_values_and_order(features):
    text = "Book 2 TICKETS to New-York for 12 people, Mr Smith"
    tokens = tokenize(text)
    patterns = [{"num": w.isdigit(), "city": w.istitle()} for w, _s, _e in tokens]
    tags = ["O", "U-n", "O", "O", "B-c", "L-c", "O", "U-n", "O", "O", "O"][:len(tokens)]
    for t in (None, tags):
        got = token_features(tokens, patterns, features, t)
        want = _plain_features(tokens, patterns, features, t)
        assert [list(f.items()) for f in got] == [list(f.items()) for f in want]


def test_leaving_out_false_features_changes_no_bit_of_any_marginal(crf1):
    crf, texts = crf1
    for text in texts:
        tokens = tokenize(text, crf.cjk)
        patterns = crf.matcher.token_patterns(text, tokens)
        for name, tagger, labels, _groups, _order in crf.taggers[:1]:
            rows = []
            for keep in (True, False):
                feats = token_features(tokens, patterns, crf.features, keep_false=keep)
                if not keep:
                    assert all(v is not False for f in feats for v in f.values())
                tagger.set(feats)
                rows.append([[tagger.marginal(label, i).hex() for label in labels]
                             for i in range(len(tokens))])
            assert rows[0] == rows[1], (name, text)
