"""The conversation-store interface: sender id -> one stored record (bounded session JSON).

Every store keeps, per conversation, one JSON record (the agent's bounded session plus the
capped turn traces) and, beside it, the time its next reminder is due. A turn is

    async with store.conversation(sender_id) as conv:   # locked: in-process + cross-process
        record = conv.record                             # None for a new conversation
        ...run the agent...
        conv.write(new_record, next_fire)                # committed once, on a clean exit

If the body raises, nothing is written and the lock is released, so a failed turn (e.g. an
action server error) never leaves a half-updated conversation behind.
"""
from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional
from urllib.parse import parse_qs

from ..locks import KeyedLock


class StoreError(Exception):
    """A store could not be opened or used (bad URL, unreachable server, lost lock)."""


try:   # ujson ships with Sanic and halves the per-turn JSON cost of a ~25 kB session record
    import ujson as _fast
except ImportError:  # pragma: no cover
    _fast = None


def encode(record: dict) -> str:
    if _fast is not None:
        try:
            return _fast.dumps(record, ensure_ascii=False, escape_forward_slashes=False)
        except (OverflowError, TypeError, ValueError):
            pass   # NaN/inf or an exotic type: the standard library decides
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def decode(text: str | bytes) -> dict:
    if _fast is not None:
        try:
            return _fast.loads(text)
        except ValueError:
            pass
    return json.loads(text)


class Conversation:
    """The view of one locked conversation inside `ConversationStore.conversation`."""

    __slots__ = ("sender_id", "record", "pending")

    def __init__(self, sender_id: str, record: Optional[dict]) -> None:
        self.sender_id = sender_id
        self.record = record
        self.pending: Optional[tuple[dict, Optional[float]]] = None

    def write(self, record: dict, next_fire: Optional[float] = None) -> None:
        """Stage the new record (and the next reminder time) for the commit at block exit."""
        self.pending = (record, next_fire)


class ConversationStore(ABC):
    """Base class: subclasses implement the `_begin/_end` pair and the unlocked reads."""

    #: True when several server processes may share this store.
    shared = True

    def __init__(self, record_exp: Optional[float] = None) -> None:
        self.record_exp = record_exp
        self._local = KeyedLock()

    async def open(self) -> None:
        """Connect / create tables; called once per server process before serving."""

    async def close(self) -> None:
        """Release connections; called on shutdown after turns in flight have finished."""

    @asynccontextmanager
    async def conversation(self, sender_id: str) -> AsyncIterator[Conversation]:
        async with self._local.hold(sender_id):
            token, record = await self._begin(sender_id)
            conv = Conversation(sender_id, record)
            try:
                yield conv
            except BaseException:
                await self._end(sender_id, token, None)
                raise
            await self._end(sender_id, token, conv.pending)

    @abstractmethod
    async def _begin(self, sender_id: str) -> tuple[Any, Optional[dict]]:
        """Take the cross-process lock and read the record; returns (lock token, record)."""

    @abstractmethod
    async def _end(self, sender_id: str, token: Any,
                   pending: Optional[tuple[dict, Optional[float]]]) -> None:
        """Write `pending` (if any) and release the lock, atomically where the store allows."""

    @abstractmethod
    async def load(self, sender_id: str) -> Optional[dict]:
        """Read a record without locking (for read-only endpoints)."""

    @abstractmethod
    async def due(self, now: float, limit: int = 100) -> list[str]:
        """Sender ids whose next reminder is due at `now` or earlier."""

    @abstractmethod
    async def get_meta(self, key: str) -> Optional[str]:
        """Server-wide small values (e.g. the model every worker should serve)."""

    @abstractmethod
    async def set_meta(self, key: str, value: str) -> None:
        ...

    async def clear_fire(self, sender_id: str) -> None:
        """Forget the reminder time of a conversation that no longer exists (expired)."""

    async def purge_expired(self, now: Optional[float] = None) -> int:
        """Delete conversations idle longer than record_exp; returns how many were removed."""
        return 0

    def _expired(self, saved_at: float, now: Optional[float] = None) -> bool:
        return self.record_exp is not None and (now or time.time()) - saved_at > self.record_exp


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


def open_store(url: str) -> ConversationStore:
    """Build a store from a URL (not yet opened):

    * ``memory://`` — in-process dict (tests; one worker only)
    * ``sqlite:///relative/or/absolute.db`` (``sqlite:////abs/path.db`` also works)
    * ``redis://[:password@]host:port/db`` with ``?key_prefix=formc&lock_ttl=30``

    Every scheme accepts ``?record_exp=SECONDS`` (idle conversations expire).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise StoreError(f"store URL {url!r} has no scheme; use sqlite:///formc.db, "
                         "redis://localhost:6379/0 or memory://")
    rest, _, qs = rest.partition("?")
    params = _query(qs)
    record_exp = _float_opt(params, "record_exp")
    scheme = scheme.lower()
    if scheme == "memory":
        from .memory import MemoryStore
        return MemoryStore(record_exp=record_exp)
    if scheme == "sqlite":
        from .sqlite import SQLiteStore
        path = rest[1:] if rest.startswith("/") else rest
        if not path:
            raise StoreError(f"store URL {url!r} has no database path; e.g. sqlite:///formc.db")
        return SQLiteStore(path, record_exp=record_exp,
                           synchronous=params.get("synchronous", "normal"))
    if scheme in ("redis", "rediss"):
        from .redis import RedisStore
        return RedisStore(url.partition("?")[0], record_exp=record_exp,
                          key_prefix=params.get("key_prefix", "formc"),
                          lock_ttl=_float_opt(params, "lock_ttl") or 30.0)
    raise StoreError(f"unknown store scheme {scheme!r} in {url!r}; "
                     "expected sqlite://, redis:// or memory://")
