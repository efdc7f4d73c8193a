"""PostgreSQL conversation store (asyncpg): one row per sender plus one log row per turn, shared by
many servers and machines; the per-sender lock is a transaction-level advisory lock.

A turn is one transaction on one pooled connection:
  begin: BEGIN; pg_advisory_xact_lock(hash(sender)) -- waits while another process (or machine)
         runs a turn of this sender; then the record, unless its revision is the one this
         process wrote last (base.RecordCache), and the kept log entries;
  end:   upsert the record, insert the turn's log row, trim, COMMIT (which releases the lock).
The log rows hold every event (--keep-events all, the default) unless the operator chose a
retention (N events or N days, applied every 32 turns, see _trim); a turn reads only its newest
rows, the whole log is read only when asked (full_log: GET tracker, GET story).
With synchronous_commit on (PostgreSQL's default) an answered turn is on disk. A process that
dies mid-turn drops its connection, and PostgreSQL rolls the turn back and frees the lock.
Driver and network failures surface as StoreError (the server answers 503 and recovers when the
database returns: the pool opens new connections).
"""
from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional
from urllib.parse import urlsplit

from .base import SAME, STREAMS, ConversationStore, StoreError, decode, encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS {p}conversations (
    sender_id TEXT PRIMARY KEY,
    record    BYTEA NOT NULL,
    saved_at  DOUBLE PRECISION NOT NULL,
    next_fire DOUBLE PRECISION,
    rev       BIGINT NOT NULL DEFAULT 0,
    log_seq   BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS {p}log (
    sender_id TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    body      BYTEA NOT NULL,
    PRIMARY KEY (sender_id, seq)
);
CREATE INDEX IF NOT EXISTS {p}conversations_next_fire
    ON {p}conversations(next_fire) WHERE next_fire IS NOT NULL;
CREATE TABLE IF NOT EXISTS {p}meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_LOCK_NS = 0x666f726d   # 'form': advisory keys of formc, apart from other users of the database
_TRIM_EVERY = 32
#: Errors that mean "the database is not there right now" (503 and retry), not a bug.
_DOWN = (OSError, asyncio.TimeoutError, ConnectionError)


def _down_errors() -> tuple:
    import asyncpg
    return _DOWN + (asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                    asyncpg.CannotConnectNowError, asyncpg.ConnectionDoesNotExistError,
                    asyncpg.AdminShutdownError, asyncpg.PostgresError,
                    asyncpg.InternalClientError)   # e.g. a pooled connection lost mid-call


def _log_row(append: dict) -> bytes:
    return b"{" + b",".join(b'"%s":[%s]' % (stream.encode(), b",".join(encode(e) for e in entries))
                            for stream, entries in append.items()) + b"}"


class PostgresStore(ConversationStore):
    def __init__(self, url: str, record_exp: Optional[float] = None, table_prefix: str = "formc_",
                 lock_timeout: float = 60.0, pool_size: int = 16, cache_size: int = 1000) -> None:
        super().__init__(record_exp, cache_size)
        if not table_prefix.replace("_", "").isalnum():
            raise StoreError(f"postgresql table_prefix {table_prefix!r} must be letters, digits or _")
        self.url = url
        self.p = table_prefix
        self.lock_timeout = lock_timeout
        self.pool_size = pool_size
        self._pool = None
        self._opening: Optional[asyncio.Lock] = None

    def _where(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"

    async def open(self) -> None:
        if self._pool is not None:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                await self._connect()

    async def _connect(self) -> None:
        import asyncpg
        try:
            # min_size=0: no background refills that log tracebacks while the database is away
            # lock_timeout bounds the wait for a sender's advisory lock (set once per
            # connection rather than per turn: one round trip less)
            pool = await asyncpg.create_pool(
                self.url, min_size=0, max_size=self.pool_size, timeout=10,
                command_timeout=self.lock_timeout + 10,
                server_settings={"lock_timeout": str(int(self.lock_timeout * 1000))})
            async with pool.acquire() as conn:
                await conn.execute("SELECT pg_advisory_lock(%d)" % _LOCK_NS)   # one creator at a time
                try:
                    await conn.execute(_SCHEMA.format(p=self.p))
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(%d)" % _LOCK_NS)
        except _down_errors() + (ValueError,) as e:
            raise StoreError(f"cannot reach PostgreSQL store {self._where()}: "
                             f"{type(e).__name__}: {e}") from None
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), 10)
            except _down_errors():
                pool.terminate()

    @asynccontextmanager
    async def _conn(self) -> AsyncIterator[Any]:
        """A pooled connection for a read; driver/network failures become StoreError."""
        conn = await self._acquire()
        try:
            yield conn
        except BaseException as e:
            await self._abort(conn)
            raise self._wrap(e) from None
        await self._release(conn)

    # ---------------------------------------------------------------- turns

    async def _acquire(self) -> Any:
        await self.open()
        try:
            return await self._pool.acquire(timeout=self.lock_timeout)   # type: ignore[union-attr]
        except _down_errors() as e:
            raise self._wrap(e) from None

    async def _release(self, conn: Any) -> None:
        try:
            await self._pool.release(conn)   # type: ignore[union-attr]
        except _down_errors() + (AttributeError,):
            pass   # a broken connection: the pool replaces it

    def _wrap(self, e: BaseException) -> BaseException:
        if isinstance(e, _down_errors()) and not isinstance(e, StoreError):
            return StoreError(f"PostgreSQL store {self._where()} failed: {type(e).__name__}: {e}")
        return e

    async def _begin(self, sender_id: str, known_rev: int) -> tuple[Any, Any, Optional[dict]]:
        """The token is (connection, transaction, log seq, whether the conversation is fresh)."""
        conn = await self._acquire()
        try:
            tr = conn.transaction()
            await tr.start()
            await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_NS, sender_id)
            row = await conn.fetchrow(f"SELECT rev, saved_at, log_seq FROM {self.p}conversations "
                                      "WHERE sender_id=$1", sender_id)
            if row is None or self._expired(row["saved_at"]):
                return (conn, tr, 0, True), None, {}
            if known_rev and row["rev"] == known_rev:
                return (conn, tr, row["log_seq"], False), SAME, None
            record = await conn.fetchval(f"SELECT record FROM {self.p}conversations "
                                         "WHERE sender_id=$1", sender_id)
            logs = await self._read_logs(conn, sender_id)
            return (conn, tr, row["log_seq"], False), decode(record), logs
        except BaseException as e:
            await self._abort(conn)
            raise self._wrap(e) from None

    async def _abort(self, conn: Any) -> None:
        """Roll back whatever the connection has open (freeing the advisory lock) and return it."""
        try:
            if conn.is_in_transaction():
                await conn.execute("ROLLBACK")
        except BaseException:
            pass   # the connection is gone: PostgreSQL rolled back and freed the lock already
        await self._release(conn)

    async def _end(self, sender_id: str, token: Any, pending, rev: int) -> None:
        conn, tr, seq, fresh = token
        try:
            if pending is None:
                await tr.rollback()
            else:
                await self._write(conn, sender_id, seq, fresh, pending, rev)
                await tr.commit()
        except BaseException as e:
            await self._abort(conn)
            raise self._wrap(e) from None
        await self._release(conn)

    async def _write(self, conn: Any, sender_id: str, seq: int, fresh: bool, pending, rev: int) -> None:
        if fresh or getattr(pending, "reset", False):
            await conn.execute(f"DELETE FROM {self.p}log WHERE sender_id=$1", sender_id)
        row = None
        if pending.append:
            seq += 1
            row = _log_row(pending.append)
            if seq % _TRIM_EVERY == 0:
                await self._trim(conn, sender_id, seq)
        # The turn's log row and the record in one statement (one round trip).
        await conn.execute(
            f"WITH logged AS (INSERT INTO {self.p}log(sender_id, seq, body) "
            "SELECT $1, $6, $7 WHERE $7::bytea IS NOT NULL "
            "ON CONFLICT (sender_id, seq) DO UPDATE SET body=excluded.body) "
            f"INSERT INTO {self.p}conversations(sender_id, record, saved_at, next_fire, rev, log_seq) "
            "VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (sender_id) DO UPDATE SET "
            "record=excluded.record, saved_at=excluded.saved_at, next_fire=excluded.next_fire, "
            "rev=excluded.rev, log_seq=excluded.log_seq",
            sender_id, encode(pending.record), time.time(), pending.next_fire, rev, seq, row)

    async def _trim(self, conn: Any, sender_id: str, seq: int) -> None:
        """Log retention (--keep-events), inside the turn's transaction: rows are kept whole
        unless the operator chose a count (rows older than the newest N are dropped: each row
        holds at least one event) or days (the oldest rows whose events are all older than
        the cutoff are dropped, at most 64 rows a time), as the SQLite store does."""
        limit, cutoff = self.trim_length("events"), self.cutoff()
        if limit is not None:
            await conn.execute(f"DELETE FROM {self.p}log WHERE sender_id=$1 AND seq<=$2",
                               sender_id, seq - max(limit, self.keep["trace"]))
        if cutoff is None:
            return
        last = None
        for row in await conn.fetch(f"SELECT seq, body FROM {self.p}log WHERE sender_id=$1 "
                                    "ORDER BY seq LIMIT 64", sender_id):
            stamps = [e.get("timestamp") or cutoff for e in decode(row["body"]).get("events", ())]
            if stamps and max(stamps) >= cutoff:
                break
            last = row["seq"]
        if last is not None:
            await conn.execute(f"DELETE FROM {self.p}log WHERE sender_id=$1 AND seq<=$2",
                               sender_id, last)

    async def _read_logs(self, conn: Any, sender_id: str) -> dict[str, list]:
        """Newest rows first, until every stream has its `keep` entries."""
        newest: dict[str, list] = {}
        rows = await conn.fetch(f"SELECT body FROM {self.p}log WHERE sender_id=$1 "
                                "ORDER BY seq DESC LIMIT $2", sender_id, max(self.keep.values()))
        for row in rows:
            for stream, entries in decode(row["body"]).items():
                if stream in self.keep:
                    newest.setdefault(stream, []).append(entries)
            if all(sum(map(len, newest.get(s, ()))) >= keep for s, keep in self.keep.items()):
                break
        return {s: [e for entries in reversed(r) for e in entries][-self.keep[s]:]
                for s, r in newest.items()}

    # ---------------------------------------------------------------- reads

    async def _record(self, conn: Any, sender_id: str) -> Optional[dict]:
        row = await conn.fetchrow(f"SELECT record, saved_at FROM {self.p}conversations "
                                  "WHERE sender_id=$1", sender_id)
        if row is None or self._expired(row["saved_at"]):
            return None
        return decode(row["record"])

    async def load(self, sender_id: str) -> Optional[dict]:
        async with self._conn() as conn:
            return await self._record(conn, sender_id)

    async def logs(self, sender_id: str) -> dict[str, list]:
        async with self._conn() as conn:
            if await self._record(conn, sender_id) is None:
                return {}
            return await self._read_logs(conn, sender_id)

    async def full_log(self, sender_id: str, stream: str = "events") -> list:
        async with self._conn() as conn:
            if await self._record(conn, sender_id) is None:
                return []
            out: list = []
            for row in await conn.fetch(f"SELECT body FROM {self.p}log WHERE sender_id=$1 "
                                        "ORDER BY seq", sender_id):
                out.extend(decode(row["body"]).get(stream, ()))
            return out

    async def due(self, now: float, limit: int = 100) -> list[str]:
        async with self._conn() as conn:
            rows = await conn.fetch(f"SELECT sender_id FROM {self.p}conversations WHERE next_fire "
                                    "IS NOT NULL AND next_fire<=$1 ORDER BY next_fire LIMIT $2",
                                    now, limit)
            return [r["sender_id"] for r in rows]

    async def clear_fire(self, sender_id: str) -> None:
        async with self._conn() as conn:
            await conn.execute(f"UPDATE {self.p}conversations SET next_fire=NULL WHERE sender_id=$1",
                               sender_id)

    async def get_meta(self, key: str) -> Optional[str]:
        async with self._conn() as conn:
            return await conn.fetchval(f"SELECT value FROM {self.p}meta WHERE key=$1", key)

    async def set_meta(self, key: str, value: str) -> None:
        async with self._conn() as conn:
            await conn.execute(f"INSERT INTO {self.p}meta(key, value) VALUES ($1,$2) "
                               "ON CONFLICT (key) DO UPDATE SET value=excluded.value", key, value)

    async def purge_expired(self, now: Optional[float] = None) -> int:
        if self.record_exp is None:
            return 0
        cutoff = (now or time.time()) - self.record_exp
        async with self._conn() as conn:
            async with conn.transaction():
                await conn.execute(f"DELETE FROM {self.p}log WHERE sender_id IN (SELECT sender_id "
                                   f"FROM {self.p}conversations WHERE saved_at<$1)", cutoff)
                done = await conn.execute(f"DELETE FROM {self.p}conversations WHERE saved_at<$1",
                                          cutoff)
        return int(done.split()[-1])


__all__ = ["PostgresStore", "STREAMS"]
