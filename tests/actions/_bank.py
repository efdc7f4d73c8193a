"""financial-demo back end: a deterministic mock bank profile per sender, money and date parsing (no Action classes)."""
from __future__ import annotations

import calendar
import datetime as dt
import random
import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ._support import today

CARDS = ("iron bank", "credit all", "emblem", "justice bank")
RECIPIENTS = ("katy parrow", "evan oslo", "william baker", "karen lancaster", "kyle gardner",
              "john jacob", "percy donald", "lisa macintyre")
VENDORS = ("target", "starbucks", "amazon")
DEPOSITORS = ("interest", "employer")
BALANCE_TYPES = ("current balance", "minimum balance")


@dataclass
class Profile:
    currency: str
    init_balance: float
    balance: float
    cards: dict[str, dict[str, float]]          # title-cased card -> balance type -> amount
    recipients: tuple[str, ...]
    transactions: list[dict] = field(default_factory=list)   # kind, party, amount, date


def make_profile(sender_id: str) -> Profile:
    """Same sender -> same profile (seeded from the sender id; no clock, no global state)."""
    rng = random.Random(f"financial-demo:{sender_id}")
    balance = round(rng.uniform(2000, 10000), 2)
    cards = {}
    for card in CARDS:
        current = round(rng.uniform(50, 1500), 2)
        cards[card.title()] = {"current balance": current,
                               "minimum balance": round(current * 0.05 + 10, 2)}
    start = today() - dt.timedelta(days=400)
    transactions = []
    for offset in range(0, 430, 3):
        date = start + dt.timedelta(days=offset)
        transactions.append({"kind": "spend", "party": VENDORS[offset % 3],
                             "amount": round(rng.uniform(2, 120), 2), "date": date})
    for months in range(0, 15):
        year, month = start.year + (start.month - 1 + months) // 12, (start.month - 1 + months) % 12 + 1
        transactions.append({"kind": "deposit", "party": "employer",
                             "amount": round(rng.uniform(2500, 3500), 2),
                             "date": dt.date(year, month, 1)})
        transactions.append({"kind": "deposit", "party": "interest",
                             "amount": round(rng.uniform(1, 20), 2),
                             "date": dt.date(year, month, 15)})
    return Profile("$", balance, balance, cards, tuple(r.title() for r in RECIPIENTS), transactions)


_PROFILES: dict[str, Profile] = {}


def profile(sender_id: str, fresh: bool = False) -> Profile:
    if fresh or sender_id not in _PROFILES:
        _PROFILES[sender_id] = make_profile(sender_id)
    return _PROFILES[sender_id]


def find_card(p: Profile, value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    return next((card for card in p.cards if card.lower() == value.strip().lower()), None)


def find_recipient(p: Profile, value: Any) -> Optional[str]:
    """Full name or first name (case-insensitive) -> the title-cased full name."""
    if not isinstance(value, str) or not value.strip():
        return None
    wanted = value.strip().lower()
    for name in p.recipients:
        if name.lower() == wanted or name.lower().split()[0] == wanted:
            return name
    return None


def balance_type(value: Any) -> Optional[str]:
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    if "minimum" in lowered:
        return "minimum balance"
    if lowered.strip() in ("current balance", "balance", "full", "full balance", "current"):
        return "current balance"
    return None


_CURRENCY_WORDS = {"$": "$", "usd": "$", "dollar": "$", "dollars": "$", "€": "€", "eur": "€",
                   "euro": "€", "euros": "€", "£": "£", "gbp": "£", "pound": "£", "pounds": "£"}
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def parse_money(value: Any, entities: list[dict]) -> Optional[tuple[float, str]]:
    """A candidate amount -> (amount, currency); the unit comes from Duckling-style entities."""
    unit = None
    for e in entities:
        if e.get("entity") == "amount-of-money":
            info = e.get("additional_info") or {}
            unit = info.get("unit") or e.get("unit") or unit
    if isinstance(value, dict):
        unit = value.get("unit") or unit
        value = value.get("value")
    amount: Optional[float] = None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        amount = float(value)
    elif isinstance(value, str):
        match = _NUMBER.search(value)
        if match:
            amount = float(match.group().replace(",", ""))
            for word, symbol in _CURRENCY_WORDS.items():
                if word in value.lower():
                    unit = unit or symbol
                    break
    if amount is None or amount <= 0:
        return None
    if unit:
        unit = _CURRENCY_WORDS.get(str(unit).lower(), unit)
    return amount, unit or "$"


# ---------------------------------------------------------------------------- dates

GRAIN_FORMATS = {"second": "%I:%M %p, %A %b %d, %Y", "minute": "%I:%M %p, %A %b %d, %Y",
                 "hour": "%I:%M %p, %A %b %d, %Y", "day": "%A %b %d, %Y",
                 "week": "%A %b %d, %Y", "month": "%b %Y", "quarter": "%b %Y", "year": "%Y"}
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


def format_time(when: dt.datetime, grain: str) -> str:
    return when.strftime(GRAIN_FORMATS.get(grain, GRAIN_FORMATS["day"]))


def add_grain(when: dt.datetime, grain: str, count: int = 1) -> dt.datetime:
    if grain in ("month", "quarter", "year"):
        months = count * {"month": 1, "quarter": 3, "year": 12}[grain]
        index = when.month - 1 + months
        year, month = when.year + index // 12, index % 12 + 1
        day = min(when.day, calendar.monthrange(year, month)[1])
        return when.replace(year=year, month=month, day=day)
    step = {"second": dt.timedelta(seconds=1), "minute": dt.timedelta(minutes=1),
            "hour": dt.timedelta(hours=1), "week": dt.timedelta(days=7)}.get(grain, dt.timedelta(days=1))
    return when + count * step


def _iso(value: str) -> Optional[dt.datetime]:
    try:
        return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


def _entity_grain(entities: list[dict]) -> Optional[str]:
    for e in entities:
        if e.get("entity") == "time":
            info = e.get("additional_info") or {}
            if info.get("grain") or e.get("grain"):
                return info.get("grain") or e.get("grain")
    return None


def _words_to_time(text: str) -> Optional[tuple[dt.datetime, str]]:
    """A few English time expressions relative to the fixed today()."""
    t = text.strip().lower()
    base = dt.datetime.combine(today(), dt.time())
    relative = {"today": (0, "day"), "now": (0, "day"), "tomorrow": (1, "day"), "yesterday": (-1, "day")}
    for word, (days, grain) in relative.items():
        if re.search(rf"\b{word}\b", t):
            return base + dt.timedelta(days=days), grain
    match = re.search(r"\b(last|this|next)\s+(week|month|year)\b", t)
    if match:
        shift = {"last": -1, "this": 0, "next": 1}[match.group(1)]
        grain = match.group(2)
        if grain == "week":
            start = base - dt.timedelta(days=base.weekday())
        elif grain == "month":
            start = base.replace(day=1)
        else:
            start = base.replace(month=1, day=1)
        return add_grain(start, grain, shift), grain
    for match in re.finditer(r"\b([a-z]+)\s*(\d{4})?\b", t):
        if match.group(1) in _MONTHS:
            month = _MONTHS[match.group(1)]
            # A bare month means its latest occurrence (this year if not in the future).
            year = int(match.group(2)) if match.group(2) else (
                today().year if month <= today().month else today().year - 1)
            return dt.datetime(year, month, 1), "month"
    for token in re.findall(r"\S+", t):
        when = _iso(token)
        if when:
            return when, "day"
    return None


def parse_time(value: Any, entities: list[dict]):
    """-> ("single", when, grain) | ("interval", start, end, grain) | None."""
    grain = _entity_grain(entities)
    if isinstance(value, dict) and ("from" in value or "to" in value):
        start = _iso(value["from"]) if isinstance(value.get("from"), str) else None
        end = _iso(value["to"]) if isinstance(value.get("to"), str) else None
        if start is None and end is None:
            return None
        grain = grain or "day"
        start = start or add_grain(end, grain, -1)
        end = end or add_grain(start, grain)
        return "interval", start, end, grain
    if isinstance(value, dict):
        value = value.get("value")
    if not isinstance(value, str):
        return None
    when = _iso(value)
    if when is not None:
        return "single", when, grain or "day"
    found = _words_to_time(value)
    if found is None:
        return None
    return "single", found[0], grain or found[1]
