"""SQLite conversation store: one row per sender (record JSON, save time, next reminder time)
plus one row per turn in table `log` holding that turn's new log entries of every stream
(numbered per sender by `conversations.log_seq`).

A real file in WAL mode; each turn is one transaction: the record upsert and one appended log
row (one row, not one per entry: measured, SQLite's per-row cost dominates). A turn reads
only the newest rows (its `keep` window); the rows are kept (--keep-events all) unless the
operator chose a retention, applied every 32 turns (see _trim). Several
server processes on one machine may share the file: the per-conversation cross-process lock
is a POSIX range lock on `<db>.locks` (dropped by the kernel if a process dies). Calls are
synchronous on the event loop on purpose: each is tens of microseconds, far less than a
thread hand-off would cost. The per-turn write goes through its own connection that never
waits inside SQLite: when another process holds the write lock it backs off with an
asyncio sleep, so the event loop keeps serving other conversations (SQLite's busy handler
would sleep 1-10 ms with the whole worker blocked). Commits never checkpoint the WAL (that
would fsync on the event loop): a background thread does it (_Checkpointer), and keeps the
WAL bounded (TRUNCATE checkpoints past 32 MB or when idle).
"""
from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import threading
import time
from typing import Any, Optional

from .locks import FileRangeLock
from .base import SAME, ConversationStore, StoreError, decode, encode

log = logging.getLogger("formc.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    sender_id TEXT PRIMARY KEY,
    record    TEXT NOT NULL,
    saved_at  REAL NOT NULL,
    next_fire REAL,
    rev       INTEGER NOT NULL DEFAULT 0,
    log_seq   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS log (
    id        INTEGER PRIMARY KEY,
    sender_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    body      BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS log_by_sender ON log(sender_id, seq);
CREATE INDEX IF NOT EXISTS conversations_next_fire
    ON conversations(next_fire) WHERE next_fire IS NOT NULL;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_UPSERT = ("INSERT INTO conversations(sender_id, record, saved_at, next_fire, rev, log_seq) "
           "VALUES (?,?,?,?,?,?) ON CONFLICT(sender_id) DO UPDATE SET record=excluded.record, "
           "saved_at=excluded.saved_at, next_fire=excluded.next_fire, rev=excluded.rev, "
           "log_seq=excluded.log_seq")
_REV = "SELECT rev, saved_at, log_seq FROM conversations WHERE sender_id=?"
_RECORD = "SELECT record, saved_at, log_seq FROM conversations WHERE sender_id=?"
_APPEND = "INSERT OR REPLACE INTO log(sender_id, seq, body) VALUES (?,?,?)"
_LOG = "SELECT body FROM log WHERE sender_id=? ORDER BY seq DESC LIMIT ?"
_TRIM = "DELETE FROM log WHERE sender_id=? AND seq<=?"
_OLDEST = "SELECT seq, body FROM log WHERE sender_id=? ORDER BY seq LIMIT 64"   # retention by days
_ALL_LOG = "SELECT body FROM log WHERE sender_id=? ORDER BY seq"                # GET tracker
_TRIM_EVERY = 32


def _log_row(append: dict) -> bytes:
    """A turn's new entries {stream: [entry]} as one JSON object; entries may be JSON bytes."""
    return b"{" + b",".join(b'"%s":[%s]' % (stream.encode(), b",".join(encode(e) for e in entries))
                            for stream, entries in append.items()) + b"}"


# The WAL stays bounded (issue 14): PASSIVE checkpoints never block a writer but cannot
# rewind a WAL that is written to all the time, so past WAL_TRUNCATE_BYTES (or once the
# server is idle) a TRUNCATE checkpoint waits for a gap between commits, copies the WAL back
# and empties it; journal_size_limit caps what a reset WAL keeps on disk.
WAL_TRUNCATE_BYTES = 32 * 1024 * 1024
JOURNAL_SIZE_LIMIT = 16 * 1024 * 1024
IDLE_SECONDS = 2.0
_BACKSTOP_EVERY = 64          # commits between two looks at the WAL's size from the writer


class _Checkpointer(threading.Thread):
    """Copies the WAL back into the database file every `every` seconds, off the event loop.

    Left to SQLite, the commit that takes the WAL past 1,000 pages does the checkpoint itself,
    fsync included, stalling its worker for milliseconds (measured here: p99 of a turn's
    commit 0.35 ms with automatic checkpoints, 0.13 ms without). SQLite releases the GIL while
    it works, so this thread costs the event loop nothing. PASSIVE never blocks writers;
    TRUNCATE (over WAL_TRUNCATE_BYTES, or when idle) makes writers back off for its duration.
    """

    def __init__(self, path: str, synchronous: str, every: float = 0.5) -> None:
        super().__init__(name="formc-sqlite-checkpoint", daemon=True)
        self.path, self.synchronous, self.every = path, synchronous, every
        self._stopping = threading.Event()

    def run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            db.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            db.execute("PRAGMA busy_timeout=2000")   # TRUNCATE waits for a gap between commits
            while not self._stopping.wait(self.every):
                try:
                    db.execute(f"PRAGMA wal_checkpoint({self._mode()})").fetchall()
                except sqlite3.Error as e:   # e.g. another process checkpointing: next round
                    log.debug("WAL checkpoint skipped: %s", e)
        finally:
            db.close()

    def _mode(self) -> str:
        """TRUNCATE when the WAL is large, or has content but was not written for a while."""
        try:
            st = os.stat(self.path + "-wal")
        except OSError:
            return "PASSIVE"
        if st.st_size > WAL_TRUNCATE_BYTES:
            return "TRUNCATE"
        if st.st_size > 0 and time.time() - st.st_mtime > IDLE_SECONDS:
            return "TRUNCATE"
        return "PASSIVE"

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)


class SQLiteStore(ConversationStore):
    def __init__(self, path: str, record_exp: Optional[float] = None,
                 synchronous: str = "normal", cache_size: int = 1000) -> None:
        super().__init__(record_exp, cache_size)
        self.path = os.path.abspath(path)
        if synchronous.lower() not in ("off", "normal", "full", "extra"):
            raise StoreError(f"sqlite option synchronous={synchronous!r}: use normal or full")
        self._synchronous = synchronous.upper()
        self._db: Optional[sqlite3.Connection] = None
        self._writer: Optional[sqlite3.Connection] = None
        self._locks: Optional[FileRangeLock] = None
        self._checkpointer: Optional[_Checkpointer] = None
        self._commits = 0

    async def open(self) -> None:
        self._open_sync()

    def _open_sync(self) -> None:
        if self._db is not None:
            return
        folder = os.path.dirname(self.path)
        if folder and not os.path.isdir(folder):
            raise StoreError(f"cannot open SQLite store {self.path}: folder {folder} does not exist")
        # Switching to WAL and creating the schema can fail with "database is locked" without
        # SQLite's busy handler being consulted while another process opens the same file at
        # the same moment: retry the whole setup for a while.
        deadline = time.monotonic() + 15.0
        while True:
            try:
                db = self._setup_connection()
                break
            except sqlite3.Error as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise StoreError(f"cannot open SQLite store {self.path}: {e}") from None
                time.sleep(0.05)
        writer = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        writer.execute("PRAGMA busy_timeout=0")
        writer.execute(f"PRAGMA synchronous={self._synchronous}")
        writer.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
        for conn in (db, writer):   # the checkpointer thread does it instead
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self._db, self._writer = db, writer
        self._locks = FileRangeLock(self.path + ".locks")
        self._checkpointer = _Checkpointer(self.path, self._synchronous)
        self._checkpointer.start()

    def _setup_connection(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
            # NORMAL in WAL mode: a committed turn survives a crash of the process (SIGKILL);
            # only an OS crash or power loss can drop the last turns. ?synchronous=full for that.
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            db.executescript(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(conversations)")}
            for column in ("rev", "log_seq"):   # a file written before these existed
                if column not in columns:
                    db.execute(f"ALTER TABLE conversations ADD COLUMN {column} INTEGER NOT NULL "
                               "DEFAULT 0")
        except sqlite3.Error:
            db.close()
            raise
        return db

    async def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._db is not None:
            self._db.close()
            self._writer.close()
            self._db = self._writer = None
        if self._locks is not None:
            self._locks.close()
            self._locks = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._open_sync()
        return self._db  # type: ignore[return-value]

    async def _begin(self, sender_id: str, known_rev: int) -> tuple[Any, Any, Optional[dict]]:
        """The lock token is (the conversation's log sequence number, whether it starts afresh:
        then log rows left by an expired conversation of this id are dropped with the write)."""
        db = self._conn()
        await self._locks.acquire(sender_id)  # type: ignore[union-attr]
        try:
            if known_rev:
                row = db.execute(_REV, (sender_id,)).fetchone()
                if row is None or self._expired(row[1]):
                    return (0, True), None, {}
                if row[0] == known_rev:
                    return (row[2], False), SAME, None
            row = db.execute(_RECORD, (sender_id,)).fetchone()
            if row is None or self._expired(row[1]):
                return (0, True), None, {}
            return (row[2], False), decode(row[0]), self._read_logs(db, sender_id)
        except BaseException:
            self._locks.release(sender_id)  # type: ignore[union-attr]
            raise

    async def _end(self, sender_id: str, token: Any, pending, rev: int) -> None:
        try:
            if pending is not None:
                await self._commit(sender_id, token, pending, rev)
        finally:
            if self._locks is not None:
                self._locks.release(sender_id)

    async def _commit(self, sender_id: str, token: tuple, pending, rev: int,
                      timeout: float = 10.0) -> None:
        seq, fresh = token
        writer: sqlite3.Connection = self._writer  # type: ignore[assignment]
        await self._begin_immediate(timeout)
        try:
            if fresh or pending.reset:
                writer.execute("DELETE FROM log WHERE sender_id=?", (sender_id,))
            if pending.append:
                seq += 1
                writer.execute(_APPEND, (sender_id, seq, _log_row(pending.append)))
                if seq % _TRIM_EVERY == 0:
                    self._trim(writer, sender_id, seq)
            writer.execute(_UPSERT, (sender_id, encode(pending.record), time.time(),
                                     pending.next_fire, rev, seq))
            writer.execute("COMMIT")
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        self._commits += 1
        if self._commits % _BACKSTOP_EVERY == 0:
            self._wal_backstop(writer)

    def _wal_backstop(self, writer: sqlite3.Connection) -> None:
        """Writes with no gap between them starve the checkpoint thread's TRUNCATE (it waits for
        one): past twice the limit, the writer empties the WAL itself, right after a commit,
        so the WAL stays bounded under any load (a few ms for this one turn, rarely)."""
        try:
            if os.path.getsize(self.path + "-wal") > 2 * WAL_TRUNCATE_BYTES:
                writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except (OSError, sqlite3.Error) as e:
            log.debug("WAL backstop checkpoint skipped: %s", e)

    def _trim(self, writer: sqlite3.Connection, sender_id: str, seq: int) -> None:
        """Log retention (--keep-events): rows are kept whole unless the operator chose a
        count (rows older than the newest N are dropped: each row holds at least one event)
        or days (the oldest rows whose events are all older than the cutoff are dropped)."""
        limit, cutoff = self.trim_length("events"), self.cutoff()
        if limit is not None:
            writer.execute(_TRIM, (sender_id, seq - max(limit, self.keep["trace"])))
        if cutoff is None:
            return
        last = None
        for row_seq, body in writer.execute(_OLDEST, (sender_id,)).fetchall():
            stamps = [e.get("timestamp") or cutoff for e in decode(body).get("events", ())]
            if stamps and max(stamps) >= cutoff:
                break
            last = row_seq
        if last is not None:
            writer.execute(_TRIM, (sender_id, last))

    def _full_log(self, sender_id: str, stream: str) -> list:
        out: list = []
        for (body,) in self._conn().execute(_ALL_LOG, (sender_id,)):
            out.extend(decode(body).get(stream, ()))
        return out

    async def full_log(self, sender_id: str, stream: str = "events") -> list:
        return self._full_log(sender_id, stream) if self._read(sender_id) else []

    async def _begin_immediate(self, timeout: float) -> None:
        """Take SQLite's write lock; while another process holds it, back off without blocking."""
        self._conn()
        delay, waited = 0.0002, 0.0
        while True:
            try:
                self._writer.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or waited >= timeout:
                    raise
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 0.005)

    def _read_logs(self, db: sqlite3.Connection, sender_id: str) -> dict[str, list]:
        """Newest rows first, read until every stream has its `keep` entries."""
        newest: dict[str, list] = {}   # stream -> entries, newest row's first
        for (body,) in db.execute(_LOG, (sender_id, max(self.keep.values()))):
            for stream, entries in decode(body).items():
                if stream in self.keep:
                    newest.setdefault(stream, []).append(entries)
            if all(sum(map(len, newest.get(s, ()))) >= keep for s, keep in self.keep.items()):
                break
        return {s: [e for entries in reversed(rows) for e in entries][-self.keep[s]:]
                for s, rows in newest.items()}

    def _read(self, sender_id: str) -> Optional[dict]:
        row = self._conn().execute(
            "SELECT record, saved_at FROM conversations WHERE sender_id=?", (sender_id,)).fetchone()
        if row is None or self._expired(row[1]):
            return None
        return decode(row[0])

    async def load(self, sender_id: str) -> Optional[dict]:
        return self._read(sender_id)

    async def logs(self, sender_id: str) -> dict[str, list]:
        return self._read_logs(self._conn(), sender_id) if self._read(sender_id) else {}

    async def due(self, now: float, limit: int = 100) -> list[str]:
        rows = self._conn().execute(
            "SELECT sender_id FROM conversations WHERE next_fire IS NOT NULL AND next_fire<=? "
            "ORDER BY next_fire LIMIT ?", (now, limit)).fetchall()
        return [r[0] for r in rows]

    async def clear_fire(self, sender_id: str) -> None:
        self._conn().execute("UPDATE conversations SET next_fire=NULL WHERE sender_id=?", (sender_id,))

    async def get_meta(self, key: str) -> Optional[str]:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    async def set_meta(self, key: str, value: str) -> None:
        self._conn().execute("INSERT INTO meta(key, value) VALUES (?,?) "
                             "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    async def purge_expired(self, now: Optional[float] = None) -> int:
        if self.record_exp is None:
            return 0
        cutoff = (now or time.time()) - self.record_exp
        db = self._conn()
        db.execute("DELETE FROM log WHERE sender_id IN "
                   "(SELECT sender_id FROM conversations WHERE saved_at<?)", (cutoff,))
        return db.execute("DELETE FROM conversations WHERE saved_at<?", (cutoff,)).rowcount

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM conversations").fetchone()[0]
