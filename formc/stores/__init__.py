"""Conversation stores (memory, SQLite, Redis, PostgreSQL) behind one interface; `open_store(url)` picks one."""

from __future__ import annotations

from typing import Optional
from urllib.parse import parse_qs

from .base import Conversation, ConversationStore, StoreError

__all__ = ["Conversation", "ConversationStore", "StoreError", "open_store"]


def _query(qs: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()}


def _float_opt(params: dict, key: str) -> Optional[float]:
    if key not in params or params[key] == "":
        return None
    try:
        value = float(params[key])
    except ValueError:
        raise StoreError(f"store option {key}={params[key]!r} is not a number") from None
    if value <= 0:
        raise StoreError(f"store option {key} must be > 0, got {params[key]!r}")
    return value


def _int_opt(params: dict, key: str, default: int) -> int:
    if key not in params or params[key] == "":
        return default
    try:
        value = int(params[key])
    except ValueError:
        raise StoreError(f"store option {key}={params[key]!r} is not a whole number") from None
    if value < 0:
        raise StoreError(f"store option {key} must be >= 0, got {params[key]!r}")
    return value


def open_store(url: str, keep: Optional[dict] = None) -> ConversationStore:
    """Build a store from a URL (not yet opened):

    * ``memory://`` — in-process dict (tests; one worker only)
    * ``sqlite:///relative/or/absolute.db`` (``sqlite:////abs/path.db`` also works)
    * ``redis://[:password@]host:port/db`` with ``?key_prefix=formc&lock_ttl=30``
    * ``postgresql://user:password@host:port/db`` with ``?table_prefix=formc_&lock_timeout=60``

    Every scheme accepts ``?record_exp=SECONDS`` (idle conversations expire) and ``?cache=N``
    (sessions kept decoded per process, default 1000; 0 turns the cache off). `keep` overrides
    how many entries of each log stream are kept (DEFAULT_KEEP).
    """
    store = _open_store(url)
    store.keep.update(keep or {})
    return store


def _open_store(url: str) -> ConversationStore:
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreError(f"store URL {url!r} has no scheme; use sqlite:///formc.db, "
                         "redis://localhost:6379/0 or memory://")
    rest, _, qs = rest.partition("?")
    params = _query(qs)
    record_exp = _float_opt(params, "record_exp")
    cache_size = _int_opt(params, "cache", 1000)
    scheme = scheme.lower()
    if scheme == "memory":
        from .memory import MemoryStore
        return MemoryStore(record_exp=record_exp, cache_size=cache_size)
    if scheme == "sqlite":
        from .sqlite import SQLiteStore
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise StoreError(f"store URL {url!r} has no database path; e.g. sqlite:///formc.db")
        return SQLiteStore(path, record_exp=record_exp,
                           synchronous=params.get("synchronous", "normal"), cache_size=cache_size)
    if scheme in ("redis", "rediss"):
        from .redis import RedisStore
        return RedisStore(url.partition("?")[0], record_exp=record_exp,
                          key_prefix=params.get("key_prefix", "formc"),
                          lock_ttl=_float_opt(params, "lock_ttl") or 30.0, cache_size=cache_size)
    if scheme in ("postgresql", "postgres"):
        return _postgres(url, params, record_exp, cache_size)
    raise StoreError(f"unknown store scheme {scheme!r} in {url!r}; "
                     "expected sqlite://, redis://, postgresql:// or memory://")


_OWN_PG_OPTIONS = ("record_exp", "cache", "table_prefix", "lock_timeout", "pool_size")


def _postgres(url: str, params: dict, record_exp: Optional[float], cache_size: int):
    """postgresql://USER:PASSWORD@HOST:PORT/DB?table_prefix=formc_&lock_timeout=60&pool_size=16;
    other query parameters (sslmode, ...) go to the driver."""
    from urllib.parse import urlencode
    from .postgres import PostgresStore
    dsn = url.partition("?")[0]
    rest = {k: v for k, v in params.items() if k not in _OWN_PG_OPTIONS}
    if rest:
        dsn += "?" + urlencode(rest)
    return PostgresStore(dsn, record_exp=record_exp,
                         table_prefix=params.get("table_prefix", "formc_"),
                         lock_timeout=_float_opt(params, "lock_timeout") or 60.0,
                         pool_size=_int_opt(params, "pool_size", 16) or 16, cache_size=cache_size)
