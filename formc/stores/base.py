"""The conversation-store interface: sender id -> one stored record plus append-only logs.

Every store keeps, per conversation, one JSON record (the agent's bounded session without its
event history), the time its next reminder is due, and two append-only logs, newest last:
`events` (the tracker's event history) and `trace` (per-turn traces), each trimmed to its
`keep` length. A turn writes the small record and appends only its new log entries, so the
bytes written per turn do not grow with the conversation. A turn is

    async with store.conversation(sender_id) as conv:   # locked: in-process + cross-process
        record = conv.record                             # None for a new conversation
        logs = conv.logs                                 # read with a record from the store
        ...run the agent...
        conv.write(new_record, next_fire, append={"events": [...], "trace": [...]})

which commits record and appends together, once, on a clean exit. If the body raises, nothing
is written and the lock is released, so a failed turn (e.g. an action server error) never
leaves a half-updated conversation behind.
"""
from __future__ import annotations

import json
import random
import time
from collections import OrderedDict
from abc import ABC, abstractmethod
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, NamedTuple, Optional

import orjson

from .locks import KeyedLock

_rand = random.SystemRandom()


class StoreError(Exception):
    """A store could not be opened or used (bad URL, unreachable server, lost lock)."""


#: The append-only logs kept beside each record, and how many entries of each a turn reads
#: (the hot window; the trace log is also trimmed to it).
STREAMS = ("events", "trace")
DEFAULT_KEEP = {"events": 200, "trace": 20}
DAY = 86400.0


def parse_retention(text: str) -> Any:
    """`--keep-events`: 'all' -> None (every event is kept, the default), 'N' -> N (the newest N
    events), 'Nd' -> ("days", N) (events of the last N days). Raises ValueError with the reason."""
    value = (text or "").strip().lower()
    if value == "all":
        return None
    days = value.endswith("d")
    number = value[:-1] if days else value
    try:
        amount = float(number) if days else int(number)
    except ValueError:
        raise ValueError(f"--keep-events {text!r}: expected all, a number of events (500) or "
                         "a number of days (30d)") from None
    if amount <= 0:
        raise ValueError(f"--keep-events {text!r} must be more than 0 (or all)")
    return ("days", amount) if days else amount


def _tuple_like(value: Any) -> Any:
    # NamedTuples (DState) are plain JSON arrays, as the standard library writes them.
    if isinstance(value, tuple):
        return tuple(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode(record: dict | bytes) -> bytes:
    """A record -> UTF-8 JSON bytes (what every store keeps); bytes are already encoded JSON
    (the session's history events) and pass through."""
    if isinstance(record, bytes):
        return record
    try:  # orjson: ~10x faster than the standard library on a ~25 kB session record
        return orjson.dumps(record, default=_tuple_like)
    except (TypeError, ValueError):
        pass   # non-str keys, ints beyond 64 bits: the standard library decides
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def decode(text: str | bytes) -> dict:
    try:
        return orjson.loads(text)
    except ValueError:
        pass   # NaN / Infinity written by the standard library
    return json.loads(text)


class RecordCache:
    """sender id -> (revision, record, live object) for the records this process wrote last.

    A turn then reads only the small revision from the store and, when it matches, reuses
    the record (and the agent's session object kept beside it) instead of decoding the JSON.
    Revisions are random 62-bit numbers written with every record, so a record written by
    another process (or deleted and written again) never matches a stale entry here.
    Least recently used entries are dropped beyond `size`.
    """

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._entries: "OrderedDict[str, tuple[int, dict, Any]]" = OrderedDict()

    def get(self, sender_id: str) -> Optional[tuple[int, dict, Any]]:
        entry = self._entries.get(sender_id)
        if entry is not None:
            self._entries.move_to_end(sender_id)
        return entry

    def put(self, sender_id: str, rev: int, record: dict, live: Any) -> None:
        if self.size <= 0:
            return
        self._entries[sender_id] = (rev, record, live)
        self._entries.move_to_end(sender_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def drop(self, sender_id: str) -> None:
        self._entries.pop(sender_id, None)

    def __len__(self) -> int:
        return len(self._entries)


def new_rev() -> int:
    return _rand.getrandbits(62) + 1   # never 0: 0 stands for "no revision known"


#: `_begin` returns this instead of a record when the caller's cached revision is current.
SAME = object()


class Pending(NamedTuple):
    """What a turn writes: the record, its next reminder time, new log entries per stream;
    `reset`: the logs are emptied first (PUT /conversations/{id}/tracker/events)."""
    record: dict
    next_fire: Optional[float]
    append: dict
    reset: bool = False


class Conversation:
    """The view of one locked conversation inside `ConversationStore.conversation`.

    `record` is read-only (it may be the very object this process wrote last turn); `live` is
    whatever object the caller attached with `write(..., live=...)` on the previous turn of this
    process, or None when the record came from the store (changed elsewhere, or not cached).
    `logs` (stream -> kept entries, oldest first) is read together with a record that came from
    the store; it is None when the cached record was reused (`live` then holds what it needs).
    """

    __slots__ = ("sender_id", "record", "live", "logs", "pending", "pending_live")

    def __init__(self, sender_id: str, record: Optional[dict], live: Any = None,
                 logs: Optional[dict] = None) -> None:
        self.sender_id = sender_id
        self.record = record
        self.live = live
        self.logs = logs
        self.pending: Optional[Pending] = None
        self.pending_live: Any = None

    def write(self, record: dict, next_fire: Optional[float] = None, live: Any = None,
              append: Optional[dict] = None, reset: bool = False) -> None:
        """Stage the new record, the next reminder time and the entries to append to each log
        (stream -> list) for the commit at block exit; `live` (e.g. the decoded session) is
        cached with it for this process's next turn."""
        unknown = set(append or ()) - set(STREAMS)
        if unknown:
            raise ValueError(f"unknown log stream(s) {sorted(unknown)}; streams are {STREAMS}")
        self.pending = Pending(record, next_fire, {k: v for k, v in (append or {}).items() if v},
                               reset)
        self.pending_live = live


class ConversationStore(ABC):
    """Base class: subclasses implement the `_begin/_end` pair and the unlocked reads."""

    #: True when several server processes may share this store.
    shared = True

    def __init__(self, record_exp: Optional[float] = None, cache_size: int = 1000) -> None:
        self.record_exp = record_exp
        self._local = KeyedLock()
        self.cache = RecordCache(cache_size)
        self.keep = dict(DEFAULT_KEEP)   # entries kept per log stream (the server sets them)
        self.retain: Any = None          # the events log's retention (parse_retention)

    def trim_length(self, stream: str) -> Optional[int]:
        """How many entries of `stream` a write keeps (None: all). The events log is kept
        whole unless the operator chose a count (--keep-events N); the trace log keeps `keep`."""
        if stream != "events":
            return self.keep[stream]
        return self.retain if isinstance(self.retain, int) else None

    def cutoff(self, now: Optional[float] = None) -> Optional[float]:
        """Events older than this timestamp may be dropped (--keep-events Nd), else None."""
        if isinstance(self.retain, tuple):
            return (now or time.time()) - self.retain[1] * DAY
        return None

    async def full_log(self, sender_id: str, stream: str = "events") -> list:
        """Every kept entry of one log, oldest first (read only when asked: GET tracker); a
        store that cannot read more answers with its hot window."""
        return (await self.logs(sender_id)).get(stream, [])

    async def open(self) -> None:
        """Connect / create tables; called once per server process before serving."""

    async def close(self) -> None:
        """Release connections; called on shutdown after turns in flight have finished."""

    @asynccontextmanager
    async def conversation(self, sender_id: str) -> AsyncIterator[Conversation]:
        async with self._local.hold(sender_id):
            cached = self.cache.get(sender_id)
            token, record, logs = await self._begin(sender_id, cached[0] if cached else 0)
            if record is SAME:
                conv = Conversation(sender_id, cached[1], cached[2])   # type: ignore[index]
            else:
                conv = Conversation(sender_id, record, logs=logs)
            try:
                yield conv
            except BaseException:
                # The turn may have touched the cached objects: the next one reads the store.
                self.cache.drop(sender_id)
                await self._end(sender_id, token, None, 0)
                raise
            if conv.pending is None:
                await self._end(sender_id, token, None, 0)
                return
            rev = new_rev()
            try:
                await self._end(sender_id, token, conv.pending, rev)
            except BaseException:
                self.cache.drop(sender_id)
                raise
            self.cache.put(sender_id, rev, conv.pending.record, conv.pending_live)

    @abstractmethod
    async def _begin(self, sender_id: str, known_rev: int) -> tuple[Any, Any, Optional[dict]]:
        """Take the cross-process lock and read the record: (lock token, record, logs).
        The record is `SAME` when the stored revision equals `known_rev` (nothing decoded, logs
        None), None for a new (or expired) conversation (logs empty)."""

    @abstractmethod
    async def _end(self, sender_id: str, token: Any, pending: Optional[Pending], rev: int) -> None:
        """Write `pending` (if any: record with revision `rev`, log appends) and release the
        lock, as one atomic write."""

    @abstractmethod
    async def load(self, sender_id: str) -> Optional[dict]:
        """Read a record without locking (for read-only endpoints)."""

    @abstractmethod
    async def logs(self, sender_id: str) -> dict[str, list]:
        """The kept entries of every log stream, oldest first, without locking ({} if none)."""

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
