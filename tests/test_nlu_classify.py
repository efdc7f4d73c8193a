"""Runtime parse: ranking, FallbackClassifier, `/intent` syntax, retrieval intents, scorers,
property tests (any Unicode text parses; spans index the original text)."""

from __future__ import annotations

import dataclasses
import json
import time

from hypothesis import given, settings, strategies as st

from formc.model import (Domain, Entity, EntityAnnotation, Intent, LookupDef, NluConfig, NluData,
                         NluExample, RegexDef, Response)
from formc.nlu.classify import Nlu
from formc.nlu.compile import choose_scorer, compile_nlu

DOMAIN = Domain(intents=tuple(Intent(n) for n in ("greet", "inform", "bye", "faq")),
                entities=(Entity("city"), Entity("number")),
                responses=(Response("utter_faq/ask_name", ({"text": "I am formc."},)),
                           Response("utter_faq/ask_age", ({"text": "Brand new."},))))
EXAMPLES = [("hello", "greet"), ("hi there", "greet"), ("good morning", "greet"),
            ("hey", "greet"), ("bye", "bye"), ("goodbye", "bye"), ("see you later", "bye"),
            ("ciao", "bye"), ("what is your name", "faq/ask_name"), ("who are you", "faq/ask_name"),
            ("how old are you", "faq/ask_age"), ("what is your age", "faq/ask_age")]


def data():
    ex = [NluExample(t, i) for t, i in EXAMPLES]
    ex += [NluExample("to Berlin", "inform", (EntityAnnotation(3, 9, "Berlin", "city"),)),
           NluExample("for 4 people", "inform", (EntityAnnotation(4, 5, "4", "number"),)),
           NluExample("in Rome please", "inform", (EntityAnnotation(3, 7, "Rome", "city"),))]
    return NluData(examples=tuple(ex), regexes=(RegexDef("number", r"\d+"),),
                   lookups=(LookupDef("city", ("Berlin", "Rome", "Paris")),))


def nlu(**kw):
    config = dataclasses.replace(NluConfig(), **kw)
    model, diags = compile_nlu(data(), config, DOMAIN)
    assert not [d for d in diags if d.is_error]
    return Nlu.from_dict(json.loads(json.dumps(model, sort_keys=True)))


LOGREG = nlu(fallback_threshold=0.3, retrieval_selectors=("",))  # a ResponseSelector


def test_ranking_shape_and_confidences():
    r = LOGREG.parse("  hello  ")
    assert r["text"] == "hello" and r["intent"]["name"] == "greet"
    ranking = r["intent_ranking"]
    assert [x["name"] for x in ranking][0] == "greet" and len(ranking) == 4
    assert abs(sum(x["confidence"] for x in ranking) - 1.0) < 1e-6
    assert all(0.0 <= x["confidence"] <= 1.0 for x in ranking)
    assert ranking == sorted(ranking, key=lambda x: -x["confidence"])


def test_ranking_is_cut_to_ten():
    ex = tuple(NluExample(f"word{i} thing{i}", f"intent{i}") for i in range(15))
    model, _ = compile_nlu(NluData(examples=ex), NluConfig(), Domain())
    r = Nlu.from_dict(model).parse("word3 thing3")
    assert r["intent"]["name"] == "intent3" and len(r["intent_ranking"]) == 10


def test_fallback_threshold_and_ambiguity():
    high = nlu(fallback_threshold=0.99)
    r = high.parse("hello")
    assert r["intent"] == {"name": "nlu_fallback", "confidence": 0.99}
    assert r["intent_ranking"][0] == {"name": "nlu_fallback", "confidence": 0.99}
    assert r["intent_ranking"][1]["name"] == "greet" and len(r["intent_ranking"]) == 5
    amb = nlu(fallback_threshold=0.0, ambiguity_threshold=1.0)
    assert amb.parse("hello")["intent"]["name"] == "nlu_fallback"
    none = nlu()
    assert none.parse("hello")["intent"]["name"] == "greet"


def test_fallback_is_strictly_less_than():
    conf = nlu().parse("hello")["intent"]["confidence"]
    exact = nlu(fallback_threshold=conf, ambiguity_threshold=0.0)
    assert exact.parse("hello")["intent"]["name"] == "greet"


def test_intent_message_syntax():
    r = LOGREG.parse('/inform@0.4{"number": ["2", "3"], "unknown": "x"}trailing')
    assert r["intent"] == {"name": "inform", "confidence": 0.4}
    assert r["intent_ranking"] == [{"name": "inform", "confidence": 0.4}]
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in r["entities"]] == [
        ("number", "2", 11, 49), ("number", "3", 11, 49)]
    assert LOGREG.parse("/greet")["intent"] == {"name": "greet", "confidence": 1.0}
    assert LOGREG.parse("/greet@7")["intent"]["confidence"] == 1.0
    assert LOGREG.parse("/greet@1.2.3")["intent"]["confidence"] == 0.0
    assert LOGREG.parse("/restart")["intent"]["name"] == "restart"      # default intent
    assert LOGREG.parse('/inform{"city": bad json}')["entities"] == []
    unknown = LOGREG.parse("/nope")
    assert unknown["intent"]["name"] in {"greet", "inform", "bye", "faq", "nlu_fallback"}
    assert "response_selector" in unknown


def test_entities_and_retrieval_output():
    r = LOGREG.parse("what is your name")
    assert r["intent"]["name"] == "faq"
    rs = r["response_selector"]
    assert rs["all_retrieval_intents"] == ["faq"]
    best = rs["default"]["response"]
    assert best["intent_response_key"] == "faq/ask_name"
    assert best["utter_action"] == "utter_faq/ask_name"
    assert best["responses"] == [{"text": "I am formc."}]
    assert {x["intent_response_key"] for x in rs["default"]["ranking"]} == {"faq/ask_name",
                                                                         "faq/ask_age"}
    assert "full_retrieval_intent_name" not in r["intent"]
    own = nlu(retrieval_selectors=("faq",)).parse("how old are you")
    assert own["intent"]["full_retrieval_intent_name"] == "faq/ask_age"
    e = LOGREG.parse("fly to Paris with 3 friends")["entities"]
    assert [(x["entity"], x["value"]) for x in e] == [("number", "3"), ("city", "Paris")]


def test_tfidf_and_keyword_scorers():
    fast = nlu(intent_scorer="tfidf", fallback_threshold=0.3)
    r = fast.parse("good morning to you")
    assert r["intent"]["name"] == "greet" and 0 < r["intent"]["confidence"] <= 1
    gib = fast.parse("zzzz qqqq")
    assert gib["intent"]["name"] in {"nlu_fallback", "greet", "bye", "faq", "inform"}
    kw = nlu(pipeline=("WhitespaceTokenizer", "KeywordIntentClassifier"), fallback_threshold=0.3)
    assert kw.parse("well hello there")["intent"] == {"name": "greet", "confidence": 1.0}
    miss = kw.parse("nothing matches")
    assert miss["intent"] == {"name": "nlu_fallback", "confidence": 0.3}
    assert "intent_ranking" not in miss
    assert kw.parse("HELLO")["intent"]["name"] == "nlu_fallback"       # case-sensitive default


def test_scorer_choice_from_pipeline():
    assert choose_scorer(NluConfig(pipeline=("KeywordIntentClassifier",))) == "keyword"
    assert choose_scorer(NluConfig(pipeline=("DIETClassifier",))) == "logreg"
    assert choose_scorer(NluConfig(pipeline=())) == "logreg"
    assert choose_scorer(NluConfig(intent_scorer="tfidf")) == "tfidf"


def word(i: int) -> str:
    return "".join("bcdfghjklmnpqrstvwxz"[(i // 20 ** k) % 20] for k in range(3))


def test_big_bot_falls_back_to_tfidf_and_compiles_fast():
    ex = tuple(NluExample(f"please do task {word(i)} variant {word(j)} now", f"intent_{i}")
               for i in range(1000) for j in range(5))
    t0 = time.perf_counter()
    model, diags = compile_nlu(NluData(examples=ex), NluConfig(), Domain())
    compile_s = time.perf_counter() - t0
    assert model["scorer"]["kind"] == "tfidf" and any(d.code == "F313" for d in diags)
    text = json.dumps(model, sort_keys=True)
    t0 = time.perf_counter()
    n = Nlu.from_dict(json.loads(text))
    load_s = time.perf_counter() - t0
    assert n.parse(f"please do task {word(417)} variant {word(2)} now")["intent"]["name"] == "intent_417"
    assert compile_s < 5.0 and load_s < 1.0     # generous: shared CI machines (figures in bench)


def test_empty_and_whitespace_text():
    assert LOGREG.parse("") == {"text": "", "intent": {"name": None, "confidence": 0.0},
                                "entities": []}
    assert LOGREG.parse(" \n\t ")["intent"]["name"] is None


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_parses_and_spans_index_text(text):
    for model in (LOGREG, FAST):
        r = model.parse(text)
        assert r["text"] == text.strip()
        assert isinstance(r["intent"]["confidence"], float)
        for e in r["entities"]:
            if e["extractor"] == "RegexEntityExtractor":
                assert r["text"][e["start"]:e["end"]] == e["value"] or "processors" in e
            assert 0 <= e["start"] <= e["end"] <= len(r["text"])
        json.dumps(r)


FAST = nlu(intent_scorer="tfidf", fallback_threshold=0.5, entity_match="longest")
