"""Response rendering: variation choice, Rasa-style interpolation through the jinja2 sandbox, REST output."""
from __future__ import annotations

import random
from collections import Counter

import pytest

from formc.model import Domain, Response
from formc.runtime.responses import (eligible_variations, interpolate_text, render_action_response,
                                     render_jinja_text, render_response, to_rest_messages)

RNG = random.Random(0)


def resp(*variations, name="utter_x"):
    return Response(name, tuple(variations))


def texts(response, slots, channel):
    return [v["text"] for v in eligible_variations(response, slots, channel)]


# ------------------------------------------------------------------------- selection

CHANNELS = resp(
    {"text": "cond+slack", "channel": "slack", "condition": [{"type": "slot", "name": "vip", "value": True}]},
    {"text": "default+slack", "channel": "slack"},
    {"text": "cond", "condition": [{"type": "slot", "name": "vip", "value": True}]},
    {"text": "default"},
    {"text": "rest only", "channel": "rest"},
)


@pytest.mark.parametrize("slots,channel,expected", [
    ({"vip": True}, "slack", ["cond+slack"]),            # (a)
    ({"vip": False}, "slack", ["default+slack"]),        # (b)
    ({"vip": True}, "socketio", ["cond"]),               # (c)
    ({"vip": False}, "socketio", ["default"]),           # (d)
    ({"vip": True}, None, ["cond"]),
    ({}, "collector", ["default"]),                      # REST: `channel: rest` never matches
    ({}, "rest", ["rest only"]),
])
def test_channel_and_condition_groups(slots, channel, expected):
    assert texts(CHANNELS, slots, channel) == expected


def test_condition_comparison_rules():
    r = resp({"text": "a", "condition": [{"type": "slot", "name": "s", "value": "ThAi"}]},
             {"text": "n", "condition": [{"type": "slot", "name": "s", "value": None}]},
             {"text": "one", "condition": [{"type": "slot", "name": "s", "value": 1}]},
             {"text": "d", "condition": []})   # an empty condition list is a default variation
    assert texts(r, {"s": "thai"}, None) == ["a"]            # casefold for strings
    assert texts(r, {"s": "THAİ"}, None) == ["d"]
    assert texts(r, {}, None) == ["n"]                        # unknown slot counts as null
    assert texts(r, {"s": None}, None) == ["n"]
    assert texts(r, {"s": "1"}, None) == ["d"]                # no string/number coercion
    assert texts(r, {"s": 1.0}, None) == ["one"]
    multi = resp({"text": "both", "condition": [{"name": "a", "value": "x"}, {"name": "b", "value": "y"}]},
                 {"text": "d"})
    assert texts(multi, {"a": "x", "b": "y"}, None) == ["both"]
    assert texts(multi, {"a": "x", "b": "z"}, None) == ["d"]


def test_no_eligible_variation_renders_nothing():
    r = resp({"text": "only slack", "channel": "slack"},
             {"text": "vip", "condition": [{"name": "vip", "value": True}]})
    assert render_response(r, {"vip": False}, "collector", RNG) is None


def test_uniform_choice_is_seeded():
    r = resp({"text": "a"}, {"text": "b"}, {"text": "c"})
    draws = lambda seed: [render_response(r, {}, "collector", random.Random(seed))["text"]
                          for _ in range(1)]
    assert draws(7) == draws(7)
    rng = random.Random(1)
    counts = Counter(render_response(r, {}, "collector", rng)["text"] for _ in range(3000))
    assert set(counts) == {"a", "b", "c"} and min(counts.values()) > 850


def test_single_candidate_does_not_consume_randomness():
    rng = random.Random(3)
    before = rng.getstate()
    render_response(resp({"text": "a"}), {}, "collector", rng)
    assert rng.getstate() == before


# ---------------------------------------------------------------------- interpolation

SLOTS = {"name": "Ann", "none": None, "yes": True, "list": ["a", "b"], "f": 4.0, "i": 3,
         "d": {"k": 1}}


@pytest.mark.parametrize("template,expected", [
    ("Hi {name}!", "Hi Ann!"),
    ("{none} {yes} {list} {f} {i}", "None True ['a', 'b'] 4.0 3"),
    ("{name} and {missing}", "{name} and {missing}"),       # unknown -> whole string as written
    ("{{name}}", "{name}"),                                  # escape
    ("{{x}} {name}", "{{x}} {name}"),                        # mixed escape quirk
    ("a}}b{{c", "a}b{c"),
    ("{", "{"), ("}", "}"), ("{name", "{name"),
    ("{ name }", "{ name }"),                                # the key is ' name '
    ("{na\nme}", "{na\nme}"),
    ("{d][k}", "1"),                                         # item chains, as str.format does
    ("line\n{name}\n", "line\nAnn\n"),
    ("{\"a\": 1}", "{\"a\": 1}"),
    ("{name!r}", "{name!r}"), ("{name:>9}", "{name:>9}"),    # part of the key, so unknown
    ("{}", repr(SLOTS)),                                     # str.format's auto field 0
    ("{} {}", "{} {}"),
    ("no braces at all", "no braces at all"),
])
def test_interpolation_cases(template, expected):
    assert interpolate_text(template, SLOTS) == expected


def test_slot_value_containing_zero_bracket_triggers_the_fallback_quirk():
    assert interpolate_text("x {v}", {"v": "a0[b"}) == "x {v}"


@pytest.mark.parametrize("template", [
    "{name].__class__}", "{name].__class__.__mro__[1].__subclasses__[}", "{__class__}",
    "{name].upper}", "{d].keys}", "{__init__.__globals__}",
])
def test_no_attribute_access(template):
    out = interpolate_text(template, SLOTS)
    assert out == template
    assert "<" not in out


def test_huge_format_width_is_refused():
    assert interpolate_text("{name]:>999999[}", SLOTS) == "{name]:>999999[}"


def test_extra_arguments_override_slots_and_everything_is_interpolated():
    r = resp({"text": "Hi {name}", "image": "https://x/{i}.png",
              "buttons": [{"title": "{name}", "payload": "/inform{{\"n\": \"{name}\"}}"}],
              "custom": {"deep": [{"v": "{name}"}], "n": 1}, "attachment": {"url": "{i}"},
              "quick_replies": [{"title": "{i}"}], "elements": [{"title": "{name}"}]})
    bot = render_response(r, SLOTS, "collector", RNG, extra={"name": "Bob"})
    assert bot["text"] == "Hi Bob" and bot["image"] == "https://x/3.png"
    # escaped JSON braces around a real placeholder work (the escape holds no `{x}` itself)
    assert bot["buttons"] == [{"title": "Bob", "payload": "/inform{\"n\": \"Bob\"}"}]
    assert bot["custom"] == {"deep": [{"v": "Bob"}], "n": 1}
    assert bot["attachment"] == {"url": "3"} and bot["quick_replies"] == [{"title": "3"}]
    assert bot["elements"] == [{"title": "{name}"}]          # elements are not interpolated
    assert r.variations[0]["text"] == "Hi {name}"             # the model is not mutated


def test_escaped_payload_renders_json():
    r = resp({"text": "t", "buttons": [{"title": "cat", "payload": "/look{{\"img\":\"cat\"}}"}]})
    bot = render_response(r, {"requested_slot": None}, "collector", RNG)
    assert bot["buttons"][0]["payload"] == "/look{\"img\":\"cat\"}"


def test_no_values_means_no_interpolation_at_all():
    r = resp({"text": "{{x}} {y}"})
    assert render_response(r, {}, "collector", RNG)["text"] == "{{x}} {y}"


def test_bot_dict_shape_and_metadata():
    r = resp({"text": "t", "image": "https://i", "id": "v1", "button_type": "vertical",
              "channel": "collector", "metadata": {"x": 1}}, name="utter_pic")
    bot = render_response(r, {"a": 1}, "collector", RNG)
    assert set(bot) == {"text", "buttons", "image", "custom", "attachment", "elements",
                        "quick_replies", "metadata"}
    assert bot["attachment"] == "https://i"                  # Rasa copies the image here
    assert bot["metadata"] == {"id": "v1", "button_type": "vertical", "channel": "collector",
                               "metadata": {"x": 1}, "utter_action": "utter_pic"}


# -------------------------------------------------------------------------- jinja opt-in

def test_jinja_rendering_is_opt_in_and_sandboxed():
    r = resp({"text": "Hello {{ slots.name }}! {% if slots.yes %}VIP{% endif %}",
              "metadata": {"rendering": "jinja"}})
    assert render_response(r, SLOTS, "collector", RNG)["text"] == "Hello Ann! VIP"
    plain = resp({"text": "Hello {{ slots.name }}!"})
    assert render_response(plain, SLOTS, "collector", RNG)["text"] == "Hello { slots.name }!"
    assert render_jinja_text("{{ slots.__class__.__mro__ }}", SLOTS) == "{{ slots.__class__.__mro__ }}"
    assert render_jinja_text("{% for i in range(10**7) %}{% endfor %}", {}) == \
        "{% for i in range(10**7) %}{% endfor %}"           # the sandbox caps range()
    assert render_jinja_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", {}) == \
        "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    assert render_jinja_text("{% broken", {}) == "{% broken"
    assert render_jinja_text("{{ extra_arg }} {{ slots.name }}", SLOTS, {"extra_arg": 5}) == "5 Ann"
    assert render_jinja_text("a\n", {}) == "a\n"


# ---------------------------------------------------------------- action-server entries

DOMAIN = Domain(responses=(
    Response("utter_greet", ({"text": "Hi {name}, {text}", "buttons": [{"title": "A", "payload": "/a"}]},)),
    Response("utter_img", ({"image": "https://img/{name}"},)),
))


def sdk_entry(**kw):
    entry = {"text": None, "buttons": [], "elements": [], "custom": {}, "template": None,
             "response": None, "image": None, "attachment": None}
    entry.update(kw)
    return entry


def test_action_entry_with_named_response():
    entry = sdk_entry(response="utter_greet", template="utter_greet", name="Bob",
                      buttons=[{"title": "B", "payload": "/b"}])
    bot = render_action_response(entry, DOMAIN, {"name": "Ann"}, "collector", RNG)
    # all entry keys are interpolation arguments, so `{text}` sees text=None (as in Rasa)
    assert bot["text"] == "Hi Bob, None"
    assert bot["buttons"] == [{"title": "A", "payload": "/a"}, {"title": "B", "payload": "/b"}]
    assert bot["metadata"] == {"utter_action": "utter_greet", "template": "utter_greet",
                               "name": "Bob"}
    assert DOMAIN.response("utter_greet").variations[0]["buttons"] == [{"title": "A", "payload": "/a"}]


def test_action_entry_overrides_and_free_text():
    bot = render_action_response(sdk_entry(response="utter_img", text="caption"), DOMAIN,
                                 {"name": "x"}, "collector", RNG)
    assert bot["image"] == "https://img/x" and bot["text"] == "caption"
    free = render_action_response(sdk_entry(text="Hi {name}", custom={"k": 1}), DOMAIN,
                                  {"name": "Ann"}, "collector", RNG)
    assert free["text"] == "Hi {name}" and free["custom"] == {"k": 1}   # never interpolated
    assert free["metadata"] == {}


def test_action_entry_with_unknown_response_is_skipped():
    assert render_action_response(sdk_entry(response="utter_nope"), DOMAIN, {}, "collector", RNG) is None
    assert render_action_response("junk", DOMAIN, {}, "collector", RNG) is None


# --------------------------------------------------------------------------- REST output

def test_rest_messages_order_and_splitting():
    bot = {"text": "  one\n\ntwo\n\n", "custom": {"c": 1}, "image": "https://i",
           "attachment": "https://i", "elements": [{"title": "T", "subtitle": "S",
                                                    "buttons": [{"title": "b"}]}, "junk"],
           "buttons": None, "quick_replies": None, "metadata": {"utter_action": "u"}}
    assert to_rest_messages(bot, "u1") == [
        {"recipient_id": "u1", "text": "one"}, {"recipient_id": "u1", "text": "two"},
        {"recipient_id": "u1", "custom": {"c": 1}}, {"recipient_id": "u1", "image": "https://i"},
        {"recipient_id": "u1", "text": "T : S", "buttons": [{"title": "b"}]}]


def test_rest_buttons_quick_replies_and_attachment():
    assert to_rest_messages({"text": "a\n\nb", "buttons": [{"title": "x"}]}, "u") == [
        {"recipient_id": "u", "text": "a\n\nb", "buttons": [{"title": "x"}]}]
    assert to_rest_messages({"quick_replies": [{"title": "q"}], "buttons": [{"title": "x"}]}, "u") == [
        {"recipient_id": "u", "buttons": [{"title": "q"}]}]
    assert to_rest_messages({"attachment": {"type": "file"}, "text": ""}, "u") == [
        {"recipient_id": "u", "attachment": {"type": "file"}}]
    assert to_rest_messages({"text": None}, "u") == []


def test_rendered_response_to_rest():
    r = resp({"text": "Hi {name}\n\nBye", "image": "https://i"})
    bot = render_response(r, {"name": "Ann"}, "collector", RNG)
    assert to_rest_messages(bot, "u") == [{"recipient_id": "u", "text": "Hi Ann"},
                                          {"recipient_id": "u", "text": "Bye"},
                                          {"recipient_id": "u", "image": "https://i"}]
