"""formc's offline Duckling: each covered dimension shaped as Duckling answers it, the
reference time, `timezone` and `locale` honoured, Duckling's overlap rule."""

from __future__ import annotations

import pytest

from formc.nlu.duckling import to_rasa
from formc.nlu.duckling_offline import OFFLINE, OfflineDuckling, rfc3339

REF_MS = 1_764_864_000_000          # 2025-12-04T16:00:00Z: 08:00 in Los Angeles, a Thursday


def _parse(text, dims=None, locale=None, timezone=None, ref=REF_MS):
    return to_rasa(OfflineDuckling(dims, locale, timezone).matches(text, ref), dims)


def _brief(entities):
    return [(e["entity"], e["text"], e["start"], e["end"], e["value"]) for e in entities]


def test_numbers_digits_and_words():
    assert _brief(_parse("I want three pizzas, 2 cokes and twenty one napkins, 1,000.5 g",
                         ["number"])) == [
        ("number", "three", 7, 12, 3), ("number", "2", 21, 22, 2),
        ("number", "twenty one", 33, 43, 21), ("number", "1,000.5", 53, 60, 1000.5)]
    entity = _parse("3 people", ["number"])[0]
    assert entity == {"start": 0, "end": 1, "text": "3", "value": 3, "confidence": 1.0,
                      "additional_info": {"value": 3, "type": "value"}, "entity": "number",
                      "extractor": "DucklingEntityExtractor"}
    assert isinstance(entity["value"], int)               # Duckling prints 3, not 3.0


def test_decimal_comma_locales():
    assert _brief(_parse("drei Bier für 3,50 €", ["number", "amount-of-money"], "de_DE")) == [
        ("number", "drei", 0, 4, 3),
        ("amount-of-money", "3,50 €", 14, 20, 3.5)]


def test_ordinals():
    assert _brief(_parse("the 3rd one and the twenty first", ["ordinal"])) == [
        ("ordinal", "3rd", 4, 7, 3), ("ordinal", "twenty first", 20, 32, 21)]
    assert _parse("le premier", ["ordinal"], "fr_FR")[0]["additional_info"] == \
        {"value": 1, "type": "value"}


def test_email_and_url():
    entities = _parse("mail Foo.Bar@example.co.uk or see https://www.Example.com:8080/a?b=1",
                      ["email", "url"])
    assert [(e["entity"], e["value"], e["additional_info"]) for e in entities] == [
        ("email", "Foo.Bar@example.co.uk", {"value": "Foo.Bar@example.co.uk", "type": "value"}),
        ("url", "https://www.Example.com:8080/a?b=1",
         {"value": "https://www.Example.com:8080/a?b=1", "domain": "example.com",
          "type": "value"})]


def test_url_inside_an_email_is_not_a_url():
    assert [e["entity"] for e in _parse("write to a@b.com", ["email", "url"])] == ["email"]


def test_phone_numbers():
    assert [e["value"] for e in _parse("call +33 1 46 64 79 98 or 650-123-4567 ext 12",
                                       ["phone-number"])] == [
        "(+33) 146647998", "6501234567 ext 12"]


def test_amount_of_money():
    assert [(e["text"], e["additional_info"]) for e in _parse(
        "$10.50, 20 euros, 5 bucks, GBP 3 and 7 cents", ["amount-of-money"])] == [
        ("$10.50", {"value": 10.5, "unit": "$", "type": "value"}),
        ("20 euros", {"value": 20, "unit": "EUR", "type": "value"}),
        ("5 bucks", {"value": 5, "unit": "$", "type": "value"}),
        ("GBP 3", {"value": 3, "unit": "GBP", "type": "value"}),
        ("7 cents", {"value": 7, "unit": "cent", "type": "value"})]


def test_money_covers_its_number():
    assert [e["entity"] for e in _parse("pay $10 now", ["number", "amount-of-money"])] == [
        "amount-of-money"]


def test_durations():
    entity = _parse("for 3 hours", ["duration"])[0]
    assert (entity["text"], entity["value"]) == ("3 hours", 3)
    assert entity["additional_info"] == {"value": 3, "unit": "hour", "hour": 3, "type": "value",
                                         "normalized": {"value": 10800, "unit": "second"}}
    assert [(e["text"], e["additional_info"]["unit"], e["value"])
            for e in _parse("a week and 1.5 hours", ["duration"])] == [
        ("a week", "week", 1), ("1.5 hours", "minute", 90)]


@pytest.mark.parametrize("text,body,value,grain", [
    ("tomorrow", "tomorrow", "2025-12-05T00:00:00.000-08:00", "day"),
    ("book it for tomorrow at 8pm", "tomorrow at 8pm", "2025-12-05T20:00:00.000-08:00", "hour"),
    ("in 20 minutes", "in 20 minutes", "2025-12-04T08:20:00.000-08:00", "minute"),
    ("next week please", "next week", "2025-12-08T00:00:00.000-08:00", "week"),
    ("the 3rd of march", "the 3rd of march", "2026-03-03T00:00:00.000-08:00", "day"),
])
def test_times_from_the_reference_time(text, body, value, grain):
    entity = _parse(text, ["time"])[0]
    assert (entity["text"], entity["value"]) == (body, value)
    assert entity["additional_info"] == {"value": value, "grain": grain, "type": "value",
                                         "values": [{"value": value, "grain": grain,
                                                     "type": "value"}]}


def test_time_zone_and_reference_time_are_honoured():
    berlin = _parse("tomorrow", ["time"], timezone="Europe/Berlin")[0]["value"]
    assert berlin == "2025-12-05T00:00:00.000+01:00"
    later = _parse("tomorrow", ["time"], ref=REF_MS + 86_400_000)[0]["value"]
    assert later == "2025-12-06T00:00:00.000-08:00"
    summer = _parse("tomorrow", ["time"], ref=REF_MS - 150 * 86_400_000)[0]["value"]
    assert summer.endswith("-07:00")                    # daylight saving time in July


def test_locale_picks_the_language():
    assert _parse("morgen", ["time"], "de_DE", "Europe/Berlin")[0]["value"] == \
        "2025-12-05T00:00:00.000+01:00"
    assert _brief(_parse("für zwei Stunden", ["time", "duration"], "de_DE")) == [
        ("duration", "zwei Stunden", 4, 16, 2)]          # a bare duration is no time


def test_bare_numbers_are_not_times():
    assert _parse("I need 2 of them", ["time"]) == []


def test_only_configured_dimensions():
    assert OfflineDuckling(["number", "temperature"], None, None).covered == ["number"]
    assert OfflineDuckling(None, None, None).covered == list(OFFLINE)
    assert [e["entity"] for e in _parse("3 tickets for tomorrow", ["number"])] == ["number"]


def test_rfc3339_format():
    import datetime
    from zoneinfo import ZoneInfo
    assert rfc3339(datetime.datetime(2013, 2, 12, 4, 30, 0, 5000), ZoneInfo("America/Noronha")) \
        == "2013-02-12T04:30:00.005-02:00"


def test_chinese_numerals_ordinals_and_money():
    assert _brief(_parse("我们三个人，要第二桌，二十一点五元", ["number", "ordinal",
                                                         "amount-of-money"], "zh_CN")) == [
        ("number", "三", 2, 3, 3), ("ordinal", "第二", 7, 9, 2),
        ("amount-of-money", "二十一点五元", 11, 17, 21.5)]
