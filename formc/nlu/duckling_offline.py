"""formc's offline stand-in for a Duckling server: text -> Duckling-shaped matches for number, ordinal, email, url, phone-number, amount-of-money, duration and time.

Each match is what Duckling's /parse answers ({"body", "start", "end", "dim", "latent", "value"}
with the dimension's own value object), so duckling.to_rasa treats both alike. Number words
and word ordinals come from text2num (en, fr, es, pt, de, nl, da, it), Chinese numerals from
cn2an, times from dateparser
(its 200+ locales), digits, e-mails, URLs, phone numbers, currencies and duration units from
the patterns and tables below. As Duckling, a match lying inside a longer match of a requested
dimension is dropped, and the language is the `locale`'s (none: English, as Duckling), the time
zone the `timezone`'s (none: Duckling's default, America/Los_Angeles).
"""

from __future__ import annotations

import datetime
import re
from typing import Optional
from zoneinfo import ZoneInfo

TEXT2NUM = ("en", "fr", "es", "pt", "de", "nl", "da", "it")
DECIMAL_COMMA = ("de", "fr", "es", "pt", "it", "nl", "da", "ru", "pl", "tr", "sv", "nb", "cs")
DUCKLING_ZONE = "America/Los_Angeles"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(
    r"(?:[a-zA-Z]+://)?(?:w{2,3}\d*\.)?(?P<host>(?:[\w-]+\.)+[a-z]{2,4}|localhost)(?::\d+)?"
    r"(?:/[^?\s#]*)?(?:\?[^\s#]+)?(?:#[-,*=&a-z0-9]+)?"
    r"|[a-zA-Z]+://(?P<local>[\w-]+)(?::\d+)?(?:/[^?\s#]*)?(?:\?[^\s#]+)?")
_PHONE = re.compile(
    r"(?:\(?\+(?P<code>\d{1,2})\)?[\s.-]*)?(?P<num>\(?\d[\d()\s.-]{4,22}\d)"
    r"(?:\s*e?xt?\.?\s*(?P<ext>\d{1,20}))?")
_DIGITS = {".": re.compile(r"(?<![\d.,])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?![\d])"),
           ",": re.compile(r"(?<![\d.,])-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?(?![\d])")}
_ORDINAL_DIGITS = {"en": r"(\d+)(?:st|nd|rd|th)\b", "fr": r"(\d+)(?:er|re|e|ème|eme)\b",
                   "es": r"(\d+)[ºª°]", "pt": r"(\d+)[ºª°]", "it": r"(\d+)[ºª°]"}
_WORD_TOKEN = re.compile(r"\w+|[^\w\s]")
_CHINESE = re.compile(r"(?P<nth>第)?(?P<n>负?[零〇一二两三四五六七八九十百千万亿]+"
                      r"(?:点[零〇一二三四五六七八九]+)?)")

# currency words, symbols and codes -> Duckling's unit (its own names for $, £ and cents)
CURRENCIES = {
    "$": "$", "dollar": "$", "dollars": "$", "buck": "$", "bucks": "$", "us$": "USD",
    "€": "EUR", "euro": "EUR", "euros": "EUR", "£": "£", "pound": "£", "pounds": "£",
    "¢": "cent", "cent": "cent", "cents": "cent", "penny": "cent", "pennies": "cent",
    "pence": "cent", "¥": "JPY", "yen": "JPY", "yuan": "CNY", "rmb": "CNY", "元": "CNY",
    "块": "CNY", "₹": "INR", "rupee": "INR", "rupees": "INR", "rs": "INR", "₽": "RUB",
    "₪": "ILS", "shekel": "ILS", "shekels": "ILS", "₺": "TRY", "lira": "TRY", "₴": "UAH",
    "dinar": "dinar", "dinars": "dinar", "dirham": "dirham", "dirhams": "dirham",
    "riyal": "riyal", "riyals": "riyal", "rial": "rial", "rials": "rial",
}
CODES = ("aed", "aud", "bgn", "brl", "byn", "cad", "chf", "cny", "czk", "dkk", "egp", "eur",
         "gbp", "gel", "hkd", "hrk", "idr", "ils", "inr", "iqd", "jmd", "jod", "jpy", "krw",
         "kwd", "lbp", "mad", "mnt", "myr", "nok", "nzd", "pkr", "pln", "qar", "ron", "rub",
         "sar", "sek", "sgd", "thb", "ttd", "uah", "usd", "vnd", "zar")
_ALT = "|".join(sorted(map(re.escape, [*CURRENCIES, *CODES]), key=len, reverse=True))
_WORD_END = r"(?:(?<=[a-zA-Z])(?![a-zA-Z])|(?<![a-zA-Z]))"      # a word currency ends a word
_CURRENCY_AFTER = re.compile(r" ?(" + _ALT + ")" + _WORD_END, re.I)
_CURRENCY_BEFORE = re.compile(r"(?<![a-zA-Z])(" + _ALT + ") ?$", re.I)

# duration unit words -> Duckling grain
UNITS = {
    "second": ("s", "sec", "secs", "second", "seconds", "seconde", "secondes", "sekunde",
               "sekunden", "segundo", "segundos"),
    "minute": ("min", "mins", "minute", "minutes", "minuten", "minuto", "minutos"),
    "hour": ("h", "hr", "hrs", "hour", "hours", "heure", "heures", "stunde", "stunden", "hora",
             "horas"),
    "day": ("day", "days", "jour", "jours", "tag", "tage", "tagen", "día", "días", "dia", "dias"),
    "week": ("week", "weeks", "semaine", "semaines", "woche", "wochen", "semana", "semanas"),
    "month": ("month", "months", "mois", "monat", "monate", "monaten", "mes", "meses"),
    "quarter": ("quarter", "quarters", "trimestre", "trimestres", "quartal", "quartale"),
    "year": ("year", "years", "yr", "yrs", "an", "ans", "année", "années", "jahr", "jahre",
             "jahren", "año", "años"),
}
GRAIN_OF = {word: grain for grain, words in UNITS.items() for word in words}
SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800,
           "month": 2592000, "quarter": 7776000, "year": 31536000}   # Duckling's inSeconds
_UNIT = re.compile(r"\s*(" + "|".join(sorted(map(re.escape, GRAIN_OF), key=len, reverse=True))
                   + r")\b", re.I)
_ONE = re.compile(r"\b(an?|one|un|une|ein|eine|einen|uno|una)\s+$", re.I)


def match(text: str, dim: str, start: int, end: int, value: dict) -> dict:
    """One match as Duckling's /parse answers it."""
    return {"body": text[start:end], "start": start, "end": end, "dim": dim, "latent": False,
            "value": value}


def number_value(value: float):
    """Duckling prints a whole number without a fraction (aeson's encoding of a Double)."""
    return int(value) if float(value).is_integer() else float(value)


class _Word:
    """A text2num token."""

    __slots__ = ("word",)

    def __init__(self, word: str):
        self.word = word

    def text(self) -> str:
        return self.word

    def nt_separated(self, _previous) -> bool:
        return False

    def not_a_number_part(self) -> bool:
        return False


def numbers(text: str, language: str) -> list[tuple[int, int, float, bool]]:
    """(start, end, value, is_ordinal) of every number: digits, digit ordinals, number words."""
    decimal = "," if language in DECIMAL_COMMA else "."
    found = []
    for m in _DIGITS[decimal].finditer(text):
        digits = m.group().replace("," if decimal == "." else ".", "").replace(",", ".")
        found.append((m.start(), m.end(), float(digits), False))
    if language in _ORDINAL_DIGITS:
        for m in re.finditer(_ORDINAL_DIGITS[language], text, re.I):
            found = [f for f in found if not (f[0] == m.start() and f[1] == m.end(1))]
            found.append((m.start(), m.end(), float(m.group(1)), True))
    if language in TEXT2NUM and re.search(r"[^\W\d_]", text):
        found += _number_words(text, language)
    if language == "zh" and _CHINESE.search(text):
        found += _chinese_numbers(text)
    return sorted(found)


def _chinese_numbers(text: str) -> list[tuple[int, int, float, bool]]:
    """Chinese numerals through cn2an (三, 二十一, 两百, 三点五, 负三); 第 makes an ordinal."""
    import cn2an
    out = []
    for m in _CHINESE.finditer(text):
        try:
            value = float(cn2an.cn2an(m.group("n"), "normal"))
        except (ValueError, KeyError, TypeError):
            continue
        out.append((m.start(), m.end(), value, bool(m.group("nth"))))
    return out


def _number_words(text: str, language: str) -> list[tuple[int, int, float, bool]]:
    from text_to_num import find_numbers
    tokens = [(m.group(), m.start(), m.end()) for m in _WORD_TOKEN.finditer(text)]
    out = []
    for occ in find_numbers([_Word(t[0]) for t in tokens], language, 0.0):
        start, end = tokens[occ.start][1], tokens[occ.end - 1][2]
        if not text[start:end].replace(" ", "").isdigit():      # digits are found above
            out.append((start, end, float(occ.value), bool(occ.is_ordinal)))
    return out


def emails(text: str) -> list[dict]:
    return [match(text, "email", m.start(), m.end(), {"value": m.group(), "type": "value"})
            for m in _EMAIL.finditer(text)]


def urls(text: str) -> list[dict]:
    out = []
    for m in _URL.finditer(text):
        domain = (m.group("host") or m.group("local") or "").lower()
        out.append(match(text, "url", m.start(), m.end(),
                         {"value": m.group(), "domain": domain, "type": "value"}))
    return out


def phone_numbers(text: str) -> list[dict]:
    """Duckling's phone-number value: "(+<code>) <digits>" plus " ext <n>"; 6-16 characters."""
    out = []
    for m in _PHONE.finditer(text):
        body = m.group("num").rstrip("( ")
        digits = re.sub(r"[.\s()\t-]", "", body)
        if not (6 <= len(body) <= 16 and digits.isdigit()):
            continue
        value = (f"(+{int(m.group('code'))}) " if m.group("code") else "") + digits
        if m.group("ext"):
            value += f" ext {int(m.group('ext'))}"
        out.append(match(text, "phone-number", m.start(), m.end(),
                         {"value": value, "type": "value"}))
    return out


def amounts(text: str, found: list) -> list[dict]:
    """A positive number with a currency right after it (10 euros, 3元) or before it ($10)."""
    out = []
    for start, end, value, ordinal in found:
        if ordinal or value <= 0:
            continue
        after = _CURRENCY_AFTER.match(text, end)
        before = _CURRENCY_BEFORE.search(text, 0, start)
        if after:
            unit, span = after.group(1), (start, after.end())
        elif before:
            unit, span = before.group(1), (before.start(1), end)
        else:
            continue
        unit = CURRENCIES.get(unit.lower(), unit.upper())
        out.append(match(text, "amount-of-money", span[0], span[1],
                         {"value": number_value(value), "unit": unit, "type": "value"}))
    return out


def durations(text: str, found: list) -> list[dict]:
    """<number> <unit> (and "a/an <unit>"): Duckling's whole-number durations."""
    spans = [(s, e, v) for s, e, v, ordinal in found if not ordinal]
    spans += [(m.start(1), m.end(1), 1.0) for m in re.finditer(
        r"\b(an?|one)\s+(?=[a-z])", text, re.I) if not any(s == m.start(1) for s, _e, _v in spans)]
    out = []
    for start, end, value in spans:
        unit = _UNIT.match(text, end)
        if unit is None or value < 0:
            continue
        grain = GRAIN_OF[unit.group(1).lower()]
        if not float(value).is_integer():          # 1.5 hours -> 90 minutes, as Duckling
            grain, value = _smaller(grain, value)
            if grain is None:
                continue
        n = int(value)
        out.append(match(text, "duration", start, unit.end(), {
            "value": n, "unit": grain, grain: n, "type": "value",
            "normalized": {"value": n * SECONDS[grain], "unit": "second"}}))
    return out


def _smaller(grain: str, value: float) -> tuple[Optional[str], float]:
    order = list(SECONDS)
    for finer in reversed(order[:order.index(grain)]):
        scaled = value * SECONDS[grain] / SECONDS[finer]
        if abs(scaled - round(scaled)) < 1e-9:
            return finer, float(round(scaled))
    return None, value


def winners(candidates: list[dict]) -> list[dict]:
    """Duckling's ranking across requested dimensions: a match strictly inside another is
    dropped; equal spans of different dimensions both stay; sorted by (start, end)."""
    keep, seen = [], set()
    for c in candidates:
        inside = any(o is not c and o["start"] <= c["start"] and c["end"] <= o["end"]
                     and (o["end"] - o["start"]) > (c["end"] - c["start"]) for o in candidates)
        key = (c["dim"], c["start"], c["end"])
        if not inside and key not in seen:
            seen.add(key)
            keep.append(c)
    return sorted(keep, key=lambda c: (c["start"], c["end"]))


def times(text: str, language: str, zone: ZoneInfo, reftime_ms: int) -> list[dict]:
    """dateparser's dates and times in `text`, as Duckling's time values: truncated to their
    grain, in the time zone, RFC 3339 with milliseconds, `values` = [the value] (Duckling lists
    up to three candidates for ambiguous expressions; formc gives the first). Bare numbers are
    not times (Duckling calls them latent and leaves them out)."""
    from dateparser.date import DateDataParser
    from dateparser.search import search_dates
    ref = datetime.datetime.fromtimestamp(reftime_ms / 1000, zone).replace(tzinfo=None)
    settings = {"RELATIVE_BASE": ref, "TIMEZONE": zone.key, "RETURN_AS_TIMEZONE_AWARE": True,
                "PREFER_DATES_FROM": "future", "RETURN_TIME_AS_PERIOD": True}
    try:
        found = search_dates(text, languages=[language], settings=settings) or []
        periods = DateDataParser(languages=[language], settings=settings)
    except (ValueError, TypeError, OverflowError, KeyError):   # unknown language, odd input
        return []
    out, pos = [], 0
    for body, when in found:
        body = _TIME_TAIL.sub("", _TIME_HEAD.sub("", body))
        start = text.find(body, pos)
        if start < 0 or not body or re.fullmatch(r"[\d\s.,-]+", body):
            continue
        pos = start + len(body)
        local = when.astimezone(zone).replace(tzinfo=None)
        grain = _grain(periods.get_date_data(body).period, local)
        value = {"value": rfc3339(_truncate(local, grain), zone), "grain": grain, "type": "value"}
        out.append(match(text, "time", start, pos, dict(value, values=[dict(value)])))
    return out


_TIME_HEAD = re.compile(r"^(?:of|for)\s+", re.I)           # dateparser's, not Duckling's
_TIME_TAIL = re.compile(r"(?:\s+(?:and|or|a|an|the|of))+$", re.I)


def _grain(period: Optional[str], when: datetime.datetime) -> str:
    """The Duckling grain: dateparser's period, or hour/minute/second for a clock time."""
    if period in ("day", "week", "month", "year"):
        return period
    if when.second:
        return "second"
    return "minute" if when.minute else "hour"


def _truncate(when: datetime.datetime, grain: str) -> datetime.datetime:
    """The start of the grain that holds `when` (weeks start on Monday, as in Duckling)."""
    if grain == "second":
        return when.replace(microsecond=0)
    if grain == "minute":
        return when.replace(second=0, microsecond=0)
    if grain == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "week":
        return day - datetime.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    return day


def rfc3339(local: datetime.datetime, zone: ZoneInfo) -> str:
    """Duckling's time format: 2013-02-12T04:30:00.000-02:00."""
    aware = local.replace(tzinfo=zone)
    offset = aware.strftime("%z")
    return f"{aware:%Y-%m-%dT%H:%M:%S}.{aware.microsecond // 1000:03d}{offset[:3]}:{offset[3:]}"


def language_of(locale: Optional[str]) -> str:
    """The language of a Duckling locale (en_US -> en); Duckling's default is English."""
    return re.split(r"[_-]", locale)[0].lower() if locale else "en"


class OfflineDuckling:
    """The dimensions formc extracts without a server, for one configured extractor."""

    def __init__(self, dims: Optional[list], locale: Optional[str], timezone: Optional[str]):
        wanted = set(dims) if dims else None
        self.covered = [d for d in OFFLINE if wanted is None or d in wanted]
        self.language = language_of(locale)
        try:
            self.zone = ZoneInfo(timezone or DUCKLING_ZONE)
        except (ValueError, KeyError, OSError):         # refused at compile time already
            self.zone = ZoneInfo(DUCKLING_ZONE)
        if "time" in self.covered:                        # dateparser's first call: ~0.7 s
            times("tomorrow", self.language, self.zone, 0)

    def matches(self, text: str, reftime_ms: int) -> list[dict]:
        dims = self.covered
        found = numbers(text, self.language) if {"number", "ordinal", "amount-of-money",
                                                 "duration", "time"} & set(dims) else []
        candidates = []
        if "number" in dims:
            candidates += [match(text, "number", s, e, {"value": number_value(v), "type": "value"})
                           for s, e, v, ordinal in found if not ordinal]
        if "ordinal" in dims:
            candidates += [match(text, "ordinal", s, e, {"value": int(v), "type": "value"})
                           for s, e, v, ordinal in found if ordinal]
        for dim, extract in (("email", emails), ("url", urls), ("phone-number", phone_numbers)):
            if dim in dims:
                candidates += extract(text)
        if "amount-of-money" in dims:
            candidates += amounts(text, found)
        spans = durations(text, found) if {"duration", "time"} & set(dims) else []
        if "duration" in dims:
            candidates += spans
        if "time" in dims:       # a bare duration ("zwei Stunden") is no time for Duckling
            bare = {(d["start"], d["end"]) for d in spans}
            candidates += [t for t in times(text, self.language, self.zone, reftime_ms)
                           if (t["start"], t["end"]) not in bare]
        return winners(candidates)


OFFLINE = ("number", "ordinal", "email", "url", "phone-number", "amount-of-money", "time",
           "duration")
