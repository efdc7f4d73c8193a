"""Property tests: Rasa-style interpolation never raises, never evaluates, and agrees with str.format."""
from __future__ import annotations

import random
import re

from hypothesis import given, settings, strategies as st

from formc.model import Response
from formc.runtime.responses import interpolate_text, render_response, to_rest_messages

# Templates are built from the characters that matter to the format mini-language.
TEMPLATE_CHARS = st.sampled_from(list("{}[]!:>0 1abn_\n.") + ["name", "__class__", "{name}",
                                                              "{{", "}}", "{}"])
templates = st.lists(TEMPLATE_CHARS, max_size=16).map("".join)
plain_text = st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)),
                     max_size=8)
scalars = st.none() | st.booleans() | st.integers(-1000, 1000) | \
    st.floats(allow_nan=False, allow_infinity=False) | plain_text
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) |
                      st.dictionaries(st.sampled_from(["a", "b", "0", "name"]), inner, max_size=3),
                      max_leaves=6)
slot_dicts = st.dictionaries(st.sampled_from(["a", "b", "ab", "name", "0", "__class__"]), values,
                             max_size=5)
SENTINEL = object()


def rasa_reference(template: str, slots: dict):
    """What Rasa 3.6 does (behaviour as documented in the reference, §2.6), via real str.format.

    Only used on templates without '.', so no attribute access can happen here.
    """
    try:
        text = re.sub(r"{([^\n{}]+?)}", r"{0[\1]}", template).format(slots)
        if "0[" in text:
            return template.format({})
        return text
    except KeyError:
        return template
    except Exception:   # Rasa would fail the action; formc leaves the text as written
        return SENTINEL


@settings(max_examples=200, deadline=None)
@given(templates, slot_dicts)
def test_interpolation_never_raises_and_never_evaluates(template, slots):
    out = interpolate_text(template, slots)
    assert isinstance(out, str)
    assert "<" not in out          # no object/method/class repr can appear


@settings(max_examples=300, deadline=None)
@given(templates.filter(lambda t: "." not in t), slot_dicts)
def test_interpolation_matches_str_format(template, slots):
    expected = rasa_reference(template, slots)
    out = interpolate_text(template, slots)
    assert out == (template if expected is SENTINEL else expected)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), slot_dicts, st.sampled_from([None, "collector", "slack"]))
def test_arbitrary_text_renders(text, slots, channel):
    r = Response("utter_t", ({"text": text, "buttons": [{"title": text, "payload": "/x"}]},))
    bot = render_response(r, slots, channel, random.Random(0))
    assert isinstance(bot["text"], str)
    for message in to_rest_messages(bot, "u"):
        assert message["recipient_id"] == "u"
