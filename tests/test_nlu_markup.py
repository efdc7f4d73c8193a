"""Entity annotation markup -> plain text + EntityAnnotation (reference §3.2)."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from formc.errors import Span
from formc.model import EntityAnnotation
from formc.nlu.markup import parse_annotated


def test_reference_example():
    text = 'fly from [Rome]{"entity": "city", "role": "departure"} to [LA](city:Los Angeles)'
    plain, ents, diags = parse_annotated(text, None)
    assert plain == "fly from Rome to LA"
    assert ents == (EntityAnnotation(9, 13, "Rome", "city", role="departure"),
                    EntityAnnotation(17, 19, "Los Angeles", "city"))
    assert diags == []


def test_simple_and_group_and_numeric_value():
    plain, ents, _ = parse_annotated('[four]{"entity": "number", "value": 4, "group": "1"} of [us](who)')
    assert plain == "four of us"
    assert ents[0] == EntityAnnotation(0, 4, 4, "number", group="1")
    assert ents[1] == EntityAnnotation(8, 10, "us", "who")


def test_list_form_gives_one_entity_per_object():
    plain, ents, diags = parse_annotated(
        'to [Paris][{"entity": "city"}, {"entity": "place", "role": "to"}] now')
    assert plain == "to Paris now" and not diags
    assert [(e.entity, e.start, e.end, e.role) for e in ents] == [
        ("city", 3, 8, None), ("place", 3, 8, "to")]


def test_brackets_that_are_not_annotations_stay_text():
    plain, ents, diags = parse_annotated("see [this] and [x]() and a[ b")
    assert plain == "see [this] and [x]() and a[ b" and ents == () and diags == []


def test_bad_json_is_f301_with_column():
    _, ents, diags = parse_annotated('say [hi]{"entity": hi}', Span("nlu.yml", 7, 9, 7, 30))
    assert ents == ()
    assert [(d.code, d.span.line, d.span.col) for d in diags] == [("F301", 7, 13)]


def test_missing_entity_key_is_f301():
    _, ents, diags = parse_annotated('[x]{"value": "y"}', None)
    assert ents == () and diags[0].code == "F301" and "entity" in diags[0].message


def test_cjk_annotation_offsets():
    plain, ents, _ = parse_annotated("我想去[北京](city)玩")
    assert plain == "我想去北京玩"
    assert plain[ents[0].start:ents[0].end] == "北京"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_is_total_and_offsets_index_plain_text(text):
    plain, ents, diags = parse_annotated(text, None)
    for e in ents:
        assert 0 <= e.start <= e.end <= len(plain)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet=st.characters(blacklist_characters="[]()"), min_size=0,
                                  max_size=8),
                          st.text(alphabet=st.characters(blacklist_characters="[](){}:"),
                                  min_size=1, max_size=6),
                          st.text(alphabet="abcdefgh", min_size=1, max_size=5)), max_size=4))
def test_generated_annotations_round_trip(parts):
    src, expected_plain, spans = "", "", []
    for before, surface, entity in parts:
        src += before + f"[{surface}]({entity})"
        expected_plain += before
        spans.append((len(expected_plain), surface, entity))
        expected_plain += surface
    plain, ents, diags = parse_annotated(src)
    assert plain == expected_plain and not diags
    assert [(e.start, plain[e.start:e.end], e.entity) for e in ents] == spans
