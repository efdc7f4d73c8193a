"""DucklingEntityExtractor: Rasa 3.6's request to a Duckling server, its answer as Rasa's entities, and formc's offline stand-in.

With a `url` (or RASA_DUCKLING_HTTP_URL, which wins, as in Rasa) formc POSTs Rasa's form fields
(text, locale, tz, dims, reftime) to `<url>/parse` and turns the answer into Rasa's entity dicts
(convert_duckling_format_to_rasa + the dimension filter + the extractor name). The timeout is the
component's `timeout` (formc's default: 2 s; Rasa's: 3 s). A server that is down, slow or answers
badly never fails a parse: a warning is logged once per outage, the server is left alone for
RETRY_AFTER seconds, and meanwhile the message gets formc's offline extraction (below) or, with
`formc_offline: false`, no Duckling entities at all (what Rasa does).

Without a url (Rasa then extracts nothing and warns) formc extracts the configured dimensions
itself (duckling_offline.py), shaped exactly like Duckling's answers: formc going further than
Rasa, on by default, off with `formc_offline: false` on the component.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Callable, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import ERROR, WARNING, Diagnostic
from .jieba_tokens import component_options

log = logging.getLogger("formc.nlu.duckling")

NAME = "DucklingEntityExtractor"
CODE = "F317"
# Duckling's dimensions (its /targets) and the ones formc extracts without a server
DIMENSIONS = ("amount-of-money", "credit-card-number", "distance", "duration", "email", "number",
              "ordinal", "phone-number", "quantity", "temperature", "time", "url", "volume")
OFFLINE = ("number", "ordinal", "email", "url", "phone-number", "amount-of-money", "time",
           "duration")
DEFAULT_TIMEOUT = 2.0
RETRY_AFTER = 10.0
ENTITY_EXTRACTORS = ("CRFEntityExtractor", "DIETClassifier")


# ------------------------------------------------------------------------- compile time

def compile_duckling(config) -> tuple[Optional[dict], list[Diagnostic]]:
    """The compiled NLU's `duckling` entry (None without the component) and diagnostics."""
    names = [p.rsplit(".", 1)[-1] for p in config.pipeline]
    if NAME not in names:
        return None, []
    found = component_options(config.components, NAME)
    options, spans, entry = found if found else ({}, {}, None)
    diags: list[Diagnostic] = []
    dims = _dimensions(options.get("dimensions"), spans.get("dimensions", entry), diags)
    timeout = options.get("timeout")
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    elif isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or \
            not 0 < timeout <= 600 or math.isnan(timeout):
        diags.append(Diagnostic(ERROR, CODE, f"{NAME} timeout must be a number of seconds "
                                f"(0 < timeout <= 600), found {timeout!r}",
                                spans.get("timeout", entry)))
        timeout = DEFAULT_TIMEOUT
    zone = options.get("timezone")
    if zone is not None and not _known_zone(str(zone)):
        diags.append(Diagnostic(ERROR, CODE, f"{NAME} timezone '{zone}' is not an IANA time zone",
                                spans.get("timezone", entry), "e.g. Europe/Berlin, America/New_York"))
    index = names.index(NAME)
    others = [i for i, n in enumerate(names) if n in ENTITY_EXTRACTORS]
    regex = [i for i, n in enumerate(names) if n == "RegexEntityExtractor"]
    return {"dimensions": dims, "url": _text(options.get("url")),
            "locale": _text(options.get("locale")), "timezone": _text(zone),
            "timeout": float(timeout), "offline": options.get("formc_offline") is not False,
            "before_regex": bool(regex) and index < regex[0],
            "before_model": bool(others) and index < others[0]}, diags


def _text(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False


def _dimensions(value: Any, where, diags: list) -> Optional[list[str]]:
    """The `dimensions` list (None = every dimension, as Rasa); unknown names warn."""
    if value is None:
        return None
    if not isinstance(value, list):
        diags.append(Diagnostic(ERROR, CODE, f"{NAME} dimensions must be a list of Duckling "
                                f"dimensions, found {value!r}", where))
        return None
    dims = [str(d) for d in value]
    for dim in dims:
        if dim not in DIMENSIONS:
            diags.append(Diagnostic(WARNING, CODE, f"'{dim}' is not a Duckling dimension: it "
                                    "never matches", where, "Duckling's dimensions: "
                                    + ", ".join(DIMENSIONS)))
    return dims


# --------------------------------------------------------------------------- run time

def concat_url(base: str, path: str) -> str:
    """Rasa's endpoints.concat_url: exactly one '/' between the two."""
    return (base if base.endswith("/") else base + "/") + path.lstrip("/")


def request_fields(text: str, reftime_ms: int, d: dict) -> dict:
    """Rasa's DucklingEntityExtractor._payload; fields that are None are left out (as
    `requests` leaves them out of a form body)."""
    fields = {"text": text, "locale": d.get("locale"), "tz": d.get("timezone"),
              "dims": json.dumps(d.get("dimensions")), "reftime": reftime_ms}
    return {k: v for k, v in fields.items() if v is not None}


def to_rasa(matches: list, dimensions: Optional[list]) -> list[dict]:
    """Duckling's matches -> Rasa's entities (convert_duckling_format_to_rasa, the dimension
    filter, the extractor name); a malformed match is skipped with a warning."""
    out = []
    for match in matches:
        try:
            value = match["value"]
            if value.get("type") == "interval":
                plain = {"to": (value.get("to") or {}).get("value"),
                         "from": (value.get("from") or {}).get("value")}
            else:
                plain = value.get("value")
            entity = {"start": match["start"], "end": match["end"],
                      "text": match.get("body", match.get("text")), "value": plain,
                      "confidence": 1.0, "additional_info": value, "entity": match["dim"]}
        except (KeyError, TypeError, AttributeError):
            log.warning("Duckling answered a malformed match, skipped: %.200r", match)
            continue
        if not dimensions or entity["entity"] in dimensions:
            entity["extractor"] = NAME
            out.append(entity)
    return out


class Duckling:
    """The runtime extractor of one compiled `duckling` entry."""

    def __init__(self, d: dict, clock: Callable[[], float] = time.time):
        self.d = d
        self.dimensions = d.get("dimensions")
        self.clock = clock               # seconds since the epoch; tests inject a fixed one
        self.before_regex = bool(d.get("before_regex"))
        self.before_model = bool(d.get("before_model"))
        self._retry_at = 0.0
        self._lock = threading.Lock()
        self._offline = None
        if d.get("offline", True):
            from .duckling_offline import OfflineDuckling
            self._offline = OfflineDuckling(self.dimensions, d.get("locale"), d.get("timezone"))

    @classmethod
    def load(cls, d: Optional[dict]) -> Optional["Duckling"]:
        return cls(d) if d else None

    def url(self) -> Optional[str]:
        return os.environ.get("RASA_DUCKLING_HTTP_URL") or self.d.get("url")

    def extract(self, text: str, reftime: Optional[float] = None) -> list[dict]:
        """Rasa's entities for `text` (reference time: `reftime` or the clock, in seconds; Rasa
        sends whole seconds, in milliseconds)."""
        reftime_ms = int(self.clock() if reftime is None else reftime) * 1000
        url = self.url()
        if url and time.monotonic() >= self._retry_at:
            matches = self._ask(url, text, reftime_ms)
            if matches is not None:
                return to_rasa(matches, self.dimensions)
        if self._offline is None:
            return []
        return to_rasa(self._offline.matches(text, reftime_ms), self.dimensions)

    def _ask(self, url: str, text: str, reftime_ms: int) -> Optional[list]:
        """Duckling's answer, or None (logged) when the server fails to give one."""
        target = concat_url(url, "/parse")
        body = urllib.parse.urlencode(request_fields(text, reftime_ms, self.d)).encode("utf-8")
        request = urllib.request.Request(target, data=body, method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"})
        try:
            with urllib.request.urlopen(request, timeout=self.d.get("timeout", DEFAULT_TIMEOUT)) \
                    as reply:
                answer = json.loads(reply.read().decode("utf-8"))
            if not isinstance(answer, list):
                raise ValueError(f"expected a JSON list, got {type(answer).__name__}")
        except (OSError, ValueError, http.client.HTTPException) as exc:
            # URLError, timeouts, HTTP errors, a cut answer (IncompleteRead), bad JSON
            self._failed(target, exc)
            return None
        if self._retry_at:
            log.info("Duckling at %s answers again", target)
            self._retry_at = 0.0
        return answer

    def _failed(self, target: str, exc: Exception) -> None:
        with self._lock:
            first = self._retry_at == 0.0
            self._retry_at = time.monotonic() + RETRY_AFTER
        if first:
            instead = ("formc extracts " + ", ".join(self._offline.covered) + " itself"
                       if self._offline is not None else "no Duckling entities")
            log.warning("Duckling at %s failed (%s: %s); until it answers again (retried every "
                        "%.0f s): %s", target, type(exc).__name__, exc, RETRY_AFTER, instead)
