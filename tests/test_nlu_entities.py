"""Regex/lookup entity extraction, its options, CJK and full-width text, synonyms, roles/groups."""

from __future__ import annotations

import dataclasses
import sys

from hypothesis import given, settings, strategies as st

from formc.model import (Domain, Entity, EntityAnnotation, Intent, LookupDef, NluConfig, NluData,
                         NluExample, RegexDef, SynonymDef)
from formc.nlu.classify import Nlu
from formc.nlu.compile import build_synonyms, compile_nlu
from formc.nlu.entities import Extractor, compile_extractor

DOMAIN = Domain(intents=(Intent("inform"), Intent("greet")),
                entities=(Entity("city"), Entity("number"), Entity("cuisine")))


def ann(text, entity, surface=None, value=None, **kw):
    s = text.index(surface or text)
    e = s + len(surface or text)
    return NluExample(text, "inform", (EntityAnnotation(s, e, value or text[s:e], entity, **kw),))


def extractor(lookups=(), regexes=(), names=("city", "number"), **kw):
    d = compile_extractor(list(regexes), list(lookups), set(names), **kw)
    return Extractor(d, [elements for _name, elements in lookups])


def spans(ents):
    return [(e["entity"], e["start"], e["end"], e["value"]) for e in ents]


def test_rasa_alternation_order_quirk_and_longest_option():
    table = [("city", ["New", "New York"])]
    assert spans(extractor(table).extract("to New York now")) == [("city", 3, 6, "New")]
    longest = extractor(table, match="longest")
    assert spans(longest.extract("to New York now")) == [("city", 3, 11, "New York")]


def test_only_annotated_names_and_overlaps_kept_in_order():
    ex = extractor([("city", ["berlin"]), ("unused", ["berlin"])],
                   [("number", r"\d+"), ("city", r"ber\w+")], names=("city", "number"))
    got = spans(ex.extract("Berlin 12"))
    # regex patterns first (data order), then lookup tables; overlaps are all kept
    assert got == [("number", 7, 9, "12"), ("city", 0, 6, "Berlin"), ("city", 0, 6, "Berlin")]
    assert "confidence" not in ex.extract("Berlin 12")[0]
    longest = extractor([("city", ["berlin"])], [("number", r"\d+"), ("city", r"ber\w+")],
                        match="longest")
    assert spans(longest.extract("Berlin 12")) == [("city", 0, 6, "Berlin"), ("number", 7, 9, "12")]


def test_options_case_word_boundaries_regexes_lookups():
    table = [("city", ["rome"])]
    assert spans(extractor(table).extract("ROME")) == [("city", 0, 4, "ROME")]
    assert extractor(table, case_sensitive=True).extract("ROME") == []
    assert extractor(table).extract("romeo") == []
    assert spans(extractor(table, word_boundaries=False).extract("romeo")) == [("city", 0, 4, "rome")]
    assert extractor(table, use_lookup_tables=False).extract("rome") == []
    assert extractor(regexes=[("number", r"\d")], use_regexes=False).extract("1") == []


def test_cjk_without_word_boundaries_and_mixed_script():
    ex = extractor([("city", ["北京", "上海", "Paris"])])
    text = "我想从北京去Paris, 然后去上海玩"
    got = spans(ex.extract(text))
    assert got == [("city", 3, 5, "北京"), ("city", 6, 11, "Paris"), ("city", 16, 18, "上海")]
    strict = extractor([("city", ["北京"])], cjk_boundaries=True)
    assert strict.extract("我想从北京去") == []


def test_full_width_text_matches_but_spans_index_original():
    ex = extractor([("city", ["tokyo"])], [("number", r"\d+")])
    text = "ＴＯＫＹＯ に １２ 人"
    got = ex.extract(text)
    assert spans(got) == [("number", 8, 10, "１２"), ("city", 0, 5, "ＴＯＫＹＯ")]
    for e in got:
        assert text[e["start"]:e["end"]] == e["value"]
    assert extractor([("city", ["tokyo"])], normalize="none").extract("ＴＯＫＹＯ") == []


def test_nfkc_expansion_keeps_original_offsets():
    ex = extractor([("city", ["fine"])], word_boundaries=False)
    text = "a ﬁne day"          # U+FB01 ligature expands to two characters under NFKC
    got = ex.extract(text)
    assert spans(got) == [("city", 2, 5, "ﬁne")]


def test_synonyms_rules():
    data = NluData(
        examples=(ann("in NYC", "city", "NYC", "new york city"), ann("to Berlin", "city", "Berlin")),
        synonyms=(SynonymDef("big apple", "new york city"), SynonymDef("Big Apple", "NY")))
    diags = []
    table = build_synonyms(data, diags)
    assert table["nyc"] == "new york city"
    assert table["big apple"] == "NY" and diags[0].code == "F310"          # later one wins
    assert table["berlin"] == "Berlin" and table["new york city"] == "new york city"  # self-entries


def test_synonym_mapping_and_processors_via_parse():
    data = NluData(examples=(ann("i like mex food", "cuisine", "mex", "mexican"),
                             NluExample("hello", "greet")),
                   lookups=(LookupDef("cuisine", ("mexican", "mex", "Tex-Mex")),),
                   synonyms=(SynonymDef("tex-mex", "mexican"),))
    model, _ = compile_nlu(data, NluConfig(), DOMAIN)
    nlu = Nlu.from_dict(model)
    ents = nlu.parse("TEX-MEX or MEXICAN please")["entities"]
    assert [(e["value"], e["start"], e["end"], e.get("processors")) for e in ents] == [
        ("mexican", 0, 7, ["EntitySynonymMapper"]), ("mexican", 11, 18, ["EntitySynonymMapper"])]
    off = Nlu.from_dict(compile_nlu(data, dataclasses.replace(NluConfig(), synonyms_enabled=False),
                                    DOMAIN)[0])
    assert off.parse("tex-mex")["entities"][0]["value"] == "tex-mex"


def test_roles_and_groups_kept_in_training_data():
    ex = NluExample("from Rome to Paris", "inform", (
        EntityAnnotation(5, 9, "Rome", "city", role="from", group="1"),
        EntityAnnotation(13, 18, "Paris", "city", role="to", group="1")))
    data = NluData(examples=(ex,), lookups=(LookupDef("city", ("Rome", "Paris")),))
    model, diags = compile_nlu(data, NluConfig(), DOMAIN)
    assert not diags
    got = Nlu.from_dict(model).parse("from Paris to Rome")["entities"]
    assert [(e["value"], e["start"]) for e in got] == [("Paris", 5), ("Rome", 14)]


def test_bad_regex_is_f302_with_span():
    from formc.errors import Span
    data = NluData(examples=(ann("12", "number"),),
                   regexes=(RegexDef("number", "([0-9]", Span("nlu.yml", 4, 7, 4, 13)),))
    _, diags = compile_nlu(data, NluConfig(), DOMAIN)
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("F302", 4, 7)]


def test_regex_syntax_newer_than_rasas_python_is_f302():
    # Python 3.11 added possessive quantifiers and atomic groups; Rasa 3.6 (Python <= 3.10)
    # fails to train on them, so formc refuses them too instead of matching differently
    from formc.nlu.compile import rasa_re_error
    assert rasa_re_error(r"[A-Z]{2}-\d{2}") is None and rasa_re_error(r"c\+\+") is None
    for newer in ("c++", "a(?>b)", "(x(y*+))"):   # errors on Python 3.10 itself, found on 3.11+
        assert rasa_re_error(newer) is not None, newer
    if sys.version_info >= (3, 11):
        assert "possessive" in rasa_re_error("(x(y*+))")   # found inside groups too
    assert "look-behind" in rasa_re_error("(?<=a+)b")    # an error only compiling finds
    data = NluData(examples=(ann("12", "number"),), regexes=(RegexDef("number", r"\d++"),))
    assert [d.code for d in compile_nlu(data, NluConfig(), DOMAIN)[1]] == ["F302"]


def test_keyword_examples_that_rasa_cannot_compile_are_f315():
    from formc.errors import Span
    examples = (NluExample("i like c++", "inform", span=Span("nlu.yml", 5, 7)),
                NluExample("what?", "ask"), NluExample("hello", "greet"))
    keyword = dataclasses.replace(NluConfig(), intent_classifier="keyword")
    diags = compile_nlu(NluData(examples=examples), keyword, DOMAIN)[1]
    assert [(d.code, d.span.line, "'i like c++'" in d.message) for d in diags] == [
        ("F315", 5, True)]
    assert not compile_nlu(NluData(examples=examples), NluConfig(), DOMAIN)[1]   # logreg: fine


def test_large_lookup_uses_one_map():
    elements = [f"city{i}" for i in range(100_000)] + ["Springfield"]
    ex = extractor([("city", elements)])
    assert spans(ex.extract("to springfield and city99999")) == [
        ("city", 3, 14, "springfield"), ("city", 19, 28, "city99999")]
    assert len(ex.lookup) == 100_001


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab xyNEWYORK北京１２ﬁ.-_\u0301İ")), max_size=30))
def test_every_span_indexes_the_original_text(text):
    for ex in (extractor([("city", ["new", "new york", "北京", "ab", "fi"])], [("number", r"\d+")]),
               extractor([("city", ["new york", "b"])], match="longest", word_boundaries=False)):
        for e in ex.extract(text):
            assert 0 <= e["start"] < e["end"] <= len(text)
            assert text[e["start"]:e["end"]] == e["value"]


def test_regexes_sorted_by_name_and_pattern_like_rasa_training_data():
    # Rasa sorts regex features by "<name>+<pattern>" on load (recorded: nlu2/07), so the
    # `number` regex written first still yields its entity after the `city` regex's
    data = NluData(examples=(ann("Berlin", "city"), ann("12", "number")),
                   regexes=(RegexDef("number", r"\d+"), RegexDef("city", r"Ber\w+")))
    nlu = Nlu.from_dict(compile_nlu(data, NluConfig(), DOMAIN)[0])
    assert [e["entity"] for e in nlu.parse("12 Berlin")["entities"]] == ["city", "number"]


def test_featurizer_word_boundaries_independent_of_extractor():
    # RegexFeaturizer keeps its own default use_word_boundaries=true (recorded: nlu2/10)
    data = NluData(examples=(ann("rome", "city"), NluExample("hello", "greet")),
                   lookups=(LookupDef("city", ("rome",)),))
    config = dataclasses.replace(NluConfig(), use_word_boundaries=False)
    model, _ = compile_nlu(data, config, DOMAIN)
    assert model["extractor"]["word_boundaries"] is False
    assert model["scorer"]["patterns_word_boundaries"] is True
    off = dataclasses.replace(config, regex_featurizer_word_boundaries=False)
    assert compile_nlu(data, off, DOMAIN)[0]["scorer"]["patterns_word_boundaries"] is False
