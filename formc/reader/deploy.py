"""Deployment files as `rasa run` reads them: credentials.yml -> channels, endpoints.yml -> store
URL, lock store, model server, action endpoint; every unsupported entry an error at file:line.

Codes: F801 unknown channel or a custom channel class path (formc imports no user code),
F802 a channel option of the wrong kind, F803 a tracker/lock store type formc does not
support, F804 a store or model-server option of the wrong kind, F805 (warning) event_broker.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import quote

from ..errors import FormcError, Reporter, Span
from ..yaml_loader import load_yaml_file

#: The channels formc serves, and each one's options with their defaults (Rasa's names).
CHANNEL_OPTIONS = {
    "rest": {},
    "socketio": {"user_message_evt": "user_uttered", "bot_message_evt": "bot_uttered",
                 "namespace": None, "session_persistence": False, "socketio_path": "/socket.io",
                 "metadata_key": "metadata"},
    # url/headers/token as Rasa's EndpointConfig; timeout and retries are formc's own.
    "callback": {"url": None, "headers": {}, "token": None, "token_name": "token",
                 "basic_auth": None, "timeout": 10.0, "retries": 3},
}
#: Rasa's other built-in channels: named in the error so the user knows why.
RASA_ONLY_CHANNELS = ("facebook", "slack", "telegram", "mattermost", "twilio", "twilio_voice",
                      "botframework", "rocketchat", "hangouts", "webexteams", "cmdline")


@dataclass(frozen=True)
class Channel:
    name: str
    options: dict
    span: Span


@dataclass
class Deployment:
    """What endpoints.yml asks of the server; None where the file is silent."""

    store_url: Optional[str] = None
    store_span: Optional[Span] = None
    models: Optional[dict] = None          # url, token, wait_time_between_pulls
    notes: list = field(default_factory=list)   # one startup line each


def _fail_on_errors(rep: Reporter) -> None:
    if rep.has_errors:
        raise FormcError(rep.errors())


def _load_map(path: str, what: str, rep: Reporter) -> Any:
    doc, diagnostics = load_yaml_file(path)
    rep.extend(diagnostics)
    _fail_on_errors(rep)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        rep.error("F802" if what == "credentials" else "F804",
                  f"{what} file must be a mapping of names to settings", Span(path, 1, 1))
        _fail_on_errors(rep)
    return doc


def read_credentials(path: str) -> list[Channel]:
    """credentials.yml -> the channels to serve (rest is always served as well)."""
    return read_credentials_with_notes(path)[0]


def read_credentials_with_notes(path: str) -> tuple[list[Channel], list[str]]:
    """credentials.yml -> (channels, startup notes). `rasa:` (the Rasa X / Enterprise channel
    that `rasa init` writes into every project) is noted and skipped, not an error."""
    rep = Reporter()
    doc = _load_map(path, "credentials", rep)
    channels, notes = [], []
    for name, value in doc.items():
        span = doc.key_span(name)
        key = str(name)
        if key == "rasa":
            notes.append(f"{span}: channel 'rasa' (Rasa X / Rasa Enterprise) is not served by "
                         "formc; ignored")
            continue
        if key not in CHANNEL_OPTIONS:
            rep.error("F801", _unknown_channel(key), span,
                      "remove it, or serve that channel with Rasa; formc serves "
                      f"{', '.join(sorted(CHANNEL_OPTIONS))}")
            continue
        options = _channel_options(key, value, doc.value_span(name), rep)
        if options is not None:
            channels.append(Channel(key, options, span))
    _fail_on_errors(rep)
    return channels, notes


def _unknown_channel(name: str) -> str:
    if "." in name:
        return (f"channel {name!r} is a Python class path: formc does not import user code "
                "into its server, so custom input channels cannot be served")
    if name in RASA_ONLY_CHANNELS:
        return f"channel {name!r} is one of Rasa's connectors that formc does not serve"
    return f"unknown channel {name!r}"


def _channel_options(name: str, value: Any, span: Span, rep: Reporter) -> Optional[dict]:
    defaults = CHANNEL_OPTIONS[name]
    if value is None:
        value = {}
    if not isinstance(value, dict):
        rep.error("F802", f"channel {name!r} settings must be a mapping", span)
        return None
    options = dict(defaults)
    for key, given in value.items():
        where = value.key_span(key) if hasattr(value, "key_span") else span
        if key in ("jwt_key", "jwt_method") and name == "socketio":
            rep.error("F802", "socketio 'jwt_key' (JWT-authenticated sockets) is not supported "
                      "by formc", where, "remove it, or put the socket behind an auth proxy")
            continue
        if key not in defaults:
            continue   # Rasa ignores options a channel does not read; so does formc
        default = defaults[key]
        if default is not None and given is not None and not _same_kind(default, given):
            rep.error("F802", f"{name}: '{key}' must be {type(default).__name__}, found "
                      f"{type(given).__name__} {given!r}", where)
            continue
        options[key] = given
    if name == "callback" and not options.get("url"):
        rep.error("F802", "callback channel needs 'url': where the bot's messages are POSTed", span)
    return options


def _same_kind(default: Any, given: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(given, bool)
    if isinstance(default, float):
        return isinstance(given, (int, float)) and not isinstance(given, bool) and given > 0
    if isinstance(default, int):
        return isinstance(given, int) and not isinstance(given, bool) and given >= 0
    return isinstance(given, type(default))


# ---------------------------------------------------------------- endpoints.yml

def read_deployment(path: str) -> Deployment:
    """endpoints.yml -> the tracker store URL, model server and startup notes."""
    rep = Reporter()
    doc = _load_map(path, "endpoints", rep)
    out = Deployment()
    tracker = doc.get("tracker_store")
    if tracker is not None:
        out.store_url = _tracker_url(tracker, doc.value_span("tracker_store"), rep)
        out.store_span = doc.key_span("tracker_store")
    lock = doc.get("lock_store")
    if lock is not None:
        _lock_note(lock, doc.key_span("lock_store"), out, rep)
    if doc.get("models") is not None:
        out.models = _models(doc["models"], doc.value_span("models"), rep)
    if doc.get("event_broker") is not None:
        rep.warning("F805", "event_broker is not supported: formc publishes no events "
                    "(conversations stay readable through /conversations/{id}/tracker)",
                    doc.key_span("event_broker"))
    _fail_on_errors(rep)
    out.notes.extend(d.render() for d in rep.diagnostics)
    return out


def _section(value: Any, name: str, span: Span, rep: Reporter) -> Optional[dict]:
    if not isinstance(value, dict):
        rep.error("F804", f"'{name}' must be a mapping with 'type' and its settings", span)
        return None
    return value


def _opt_span(section: dict, key: str, default: Span) -> Span:
    return section.value_span(key) if hasattr(section, "value_span") and key in section else default


def _tracker_url(section: Any, span: Span, rep: Reporter) -> Optional[str]:
    section = _section(section, "tracker_store", span, rep)
    if section is None:
        return None
    kind = str(section.get("type") or "").lower()
    if kind == "redis":
        return _redis_url(section, span, rep, record_exp=True)
    if kind == "sql":
        return _sql_url(section, span, rep)
    if kind in ("in_memory", ""):
        return "memory://"
    rep.error("F803", f"tracker_store type {section.get('type')!r} is not supported by formc",
              _opt_span(section, "type", span),
              "use type: redis, type: sql (dialect sqlite or postgresql) or in_memory; "
              "custom tracker store classes are not imported")
    return None


def _num(section: dict, key: str, span: Span, rep: Reporter, default: Any = None) -> Any:
    value = section.get(key, default)
    if value is None:
        return default
    try:
        number = float(value)
        return int(number) if number == int(number) else number
    except (TypeError, ValueError):
        rep.error("F804", f"'{key}' must be a number, found {value!r}", _opt_span(section, key, span))
        return default


def _redis_url(section: dict, span: Span, rep: Reporter, record_exp: bool) -> str:
    host = str(section.get("url") or "localhost")
    port = _num(section, "port", span, rep, 6379)
    db = _num(section, "db", span, rep, 0)
    password = section.get("password")
    scheme = "rediss" if section.get("use_ssl") is True else "redis"
    auth = f":{quote(str(password), safe='')}@" if password else ""
    query = []
    if section.get("key_prefix"):
        query.append(f"key_prefix={quote(str(section['key_prefix']), safe='')}")
    if record_exp and section.get("record_exp") is not None:
        query.append(f"record_exp={_num(section, 'record_exp', span, rep)}")
    return f"{scheme}://{auth}{host}:{port}/{db}" + ("?" + "&".join(query) if query else "")


def _sql_url(section: dict, span: Span, rep: Reporter) -> Optional[str]:
    dialect = str(section.get("dialect") or "sqlite").lower()
    if dialect == "sqlite":
        # As Rasa: `db` is a file path, relative to the server's working directory.
        return "sqlite:///" + str(section.get("db") or "rasa.db")
    if dialect in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+asyncpg"):
        host = str(section.get("url") or "localhost")
        port = _num(section, "port", span, rep, 5432)
        user, password = section.get("username"), section.get("password")
        auth = quote(str(user), safe="") if user else ""
        if password:
            auth += ":" + quote(str(password), safe="")
        query = section.get("query")
        qs = ""
        if isinstance(query, dict) and query:
            qs = "?" + "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in query.items())
        db = quote(str(section.get("db") or "rasa"), safe="")
        return f"postgresql://{auth + '@' if auth else ''}{host}:{port}/{db}{qs}"
    rep.error("F803", f"sql tracker_store dialect {dialect!r} is not supported by formc",
              _opt_span(section, "dialect", span), "use dialect: sqlite or postgresql")
    return None


def _lock_note(section: Any, span: Span, out: Deployment, rep: Reporter) -> None:
    section = _section(section, "lock_store", span, rep)
    if section is None:
        return
    kind = str(section.get("type") or "").lower()
    if kind in ("redis", "in_memory", ""):
        out.notes.append(f"{span}: lock_store {kind or 'in_memory'}: formc takes "
                         "each conversation's lock inside its tracker store, atomically with the "
                         "turn's write (SQLite file lock, Redis key, PostgreSQL advisory lock)")
        return
    rep.error("F803", f"lock_store type {section.get('type')!r} is not supported by formc",
              _opt_span(section, "type", span), "use type: redis or in_memory")


def _models(section: Any, span: Span, rep: Reporter) -> Optional[dict]:
    if not isinstance(section, dict) or not section.get("url"):
        rep.error("F804", "'models' must be a mapping with 'url' (the model server)", span)
        return None
    wait = _num(section, "wait_time_between_pulls", span, rep, 100)
    return {"url": str(section["url"]), "token": section.get("token"),
            "wait_time_between_pulls": wait}
