"""Redis conversation store: key `<prefix>:tracker:<sender>` -> record JSON, shared by many servers.

The logs are lists `<prefix>:log:<stream>:<sender>`. Per turn two round trips, each one Lua
script (atomic on the server):
  begin: SET <prefix>:lock:<sender> <token> NX PX <lock_ttl>, and if taken, GET the record and
         the kept entries of its logs -- unless the record's revision (key <prefix>:rev:<sender>)
         is the one this process wrote last, in which case only that small number travels (see
         base.RecordCache);
  end:   only if the lock still holds our token: SET the record and its revision (PX
         record_exp), RPUSH the turn's log entries and LTRIM each list to its keep length,
         update the reminder index (sorted set <prefix>:reminders, score = next fire time),
         DEL the lock.
A lock whose holder died expires after lock_ttl; a turn that outlived its lock is refused
rather than written (no lost update).
"""
from __future__ import annotations

import asyncio
import os
from typing import Any, Optional

from .base import SAME, STREAMS, ConversationStore, StoreError, decode, encode

_BEGIN = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {0} end
local rev = redis.call('GET', KEYS[3])
if rev and rev == ARGV[3] and redis.call('EXISTS', KEYS[2]) == 1 then return {2, rev} end
local record = redis.call('GET', KEYS[2])
if not record then return {1} end
return {1, rev or '0', record, redis.call('LRANGE', KEYS[4], -tonumber(ARGV[4]), -1),
        redis.call('LRANGE', KEYS[5], -tonumber(ARGV[5]), -1)}
"""

_END = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then
  if ARGV[4] ~= '0' then
    redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
    redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[4])
  else
    redis.call('SET', KEYS[2], ARGV[3])
    redis.call('SET', KEYS[4], ARGV[7])
  end
  if ARGV[6] == '' then
    redis.call('ZREM', KEYS[3], ARGV[5])
  else
    redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
  end
  if ARGV[8] == '1' then redis.call('DEL', KEYS[5], KEYS[6]) end
  local i = 13
  for s = 0, 1 do
    local n = tonumber(ARGV[11 + s])
    if n > 0 then
      redis.call('RPUSH', KEYS[5 + s], unpack(ARGV, i, i + n - 1))
      redis.call('LTRIM', KEYS[5 + s], -tonumber(ARGV[9 + s]), -1)
      i = i + n
    end
    if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[5 + s], ARGV[4]) end
  end
end
redis.call('DEL', KEYS[1])
return 1
"""


# LTRIM length meaning "keep every entry" (--keep-events all)
ALL_ENTRIES = 10 ** 12   # (Lua prints larger numbers as 1e+15, which LTRIM refuses)

class RedisStore(ConversationStore):
    def __init__(self, url: str, record_exp: Optional[float] = None, key_prefix: str = "formc",
                 lock_ttl: float = 30.0, cache_size: int = 1000) -> None:
        super().__init__(record_exp, cache_size)
        if not key_prefix.replace("_", "").replace("-", "").isalnum():
            raise StoreError(f"redis key_prefix {key_prefix!r} must be letters, digits, _ or -")
        self.url = url
        self.prefix = key_prefix
        self.lock_ttl_ms = int(lock_ttl * 1000)
        self._redis = None
        self._begin_script = None
        self._end_script = None

    async def open(self) -> None:
        if self._redis is not None:
            return
        import redis.asyncio as aioredis
        from redis.exceptions import RedisError
        try:
            # A blocking pool: a burst of turns waits for a free connection instead of failing.
            pool = aioredis.BlockingConnectionPool.from_url(self.url, max_connections=64, timeout=30)
            self._redis = aioredis.Redis(connection_pool=pool)
            await self._redis.ping()
        except (RedisError, OSError, ValueError) as e:
            self._redis = None
            raise StoreError(f"cannot reach Redis store {self.url}: {e}") from None
        self._begin_script = self._redis.register_script(_BEGIN)
        self._end_script = self._redis.register_script(_END)

    async def close(self) -> None:
        if self._redis is not None:
            # The client was given its pool, so aclose() alone would leave the pool's sockets open.
            await self._redis.aclose(close_connection_pool=True)
            self._redis = None

    def _k(self, kind: str, sender_id: str) -> str:
        return f"{self.prefix}:{kind}:{sender_id}"

    def _log_keys(self, sender_id: str) -> list[str]:
        return [f"{self.prefix}:log:{stream}:{sender_id}" for stream in STREAMS]

    async def _begin(self, sender_id: str, known_rev: int) -> tuple[Any, Any, Optional[dict]]:
        """The lock token is (random token, whether the conversation starts afresh)."""
        await self.open()
        token = os.urandom(12).hex()
        keys = [self._k("lock", sender_id), self._k("tracker", sender_id), self._k("rev", sender_id),
                *self._log_keys(sender_id)]
        args = [token, self.lock_ttl_ms, known_rev, *(self.keep[s] for s in STREAMS)]
        delay = 0.001
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2 * self.lock_ttl_ms / 1000
        while True:
            got = await self._begin_script(keys=keys, args=args)
            if got[0] == 2:
                return (token, False), SAME, None
            if got[0] == 1:
                if len(got) < 3:
                    return (token, True), None, {}
                logs = {s: [decode(e) for e in entries] for s, entries in zip(STREAMS, got[3:])
                        if entries}
                return (token, False), decode(got[2]), logs
            if loop.time() >= deadline:
                raise StoreError(f"conversation lock for {sender_id!r} not acquired in time")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)

    async def _end(self, sender_id: str, token: Any, pending, rev: int) -> None:
        token, fresh = token
        keys = [self._k("lock", sender_id), self._k("tracker", sender_id), f"{self.prefix}:reminders",
                self._k("rev", sender_id), *self._log_keys(sender_id)]
        if pending is None:
            await self._end_script(keys=keys, args=[token, "0"])
            return
        px = int(self.record_exp * 1000) if self.record_exp else 0
        next_fire = "" if pending.next_fire is None else repr(pending.next_fire)
        entries = [pending.append.get(s, ()) for s in STREAMS]
        ok = await self._end_script(keys=keys, args=[
            token, "1", encode(pending.record), px, sender_id, next_fire, rev,
            "1" if fresh or pending.reset else "0",
            *(self.trim_length(s) or ALL_ENTRIES for s in STREAMS), *(len(e) for e in entries),
            *(encode(x) for e in entries for x in e)])
        if ok != 1:
            raise StoreError(f"conversation lock for {sender_id!r} expired before the turn was saved "
                             f"(lock_ttl {self.lock_ttl_ms} ms); the turn was not stored")
        if self.cutoff() is not None:
            await self._drop_old_events(sender_id)

    async def _drop_old_events(self, sender_id: str, most: int = 64) -> None:
        """--keep-events Nd: pop events older than the cutoff off the head of the log (the
        oldest first; bounded per turn, so a long backlog is dropped over several turns)."""
        key, cutoff = self._log_keys(sender_id)[0], self.cutoff()
        for _ in range(most):
            head = await self._redis.lindex(key, 0)
            if head is None or (decode(head).get("timestamp") or cutoff) >= cutoff:
                return
            await self._redis.lpop(key)

    async def full_log(self, sender_id: str, stream: str = "events") -> list:
        await self.open()
        key = self._log_keys(sender_id)[STREAMS.index(stream)]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(self._k("tracker", sender_id))
            pipe.lrange(key, 0, -1)
            exists, entries = await pipe.execute()
        return [decode(e) for e in entries] if exists else []

    async def load(self, sender_id: str) -> Optional[dict]:
        await self.open()
        raw = await self._redis.get(self._k("tracker", sender_id))
        return decode(raw) if raw is not None else None

    async def logs(self, sender_id: str) -> dict[str, list]:
        await self.open()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.exists(self._k("tracker", sender_id))
            for key, stream in zip(self._log_keys(sender_id), STREAMS):
                pipe.lrange(key, -self.keep[stream], -1)
            exists, *lists = await pipe.execute()
        if not exists:
            return {}
        return {s: [decode(e) for e in entries] for s, entries in zip(STREAMS, lists) if entries}

    async def due(self, now: float, limit: int = 100) -> list[str]:
        await self.open()
        found = await self._redis.zrangebyscore(f"{self.prefix}:reminders", "-inf", now,
                                                start=0, num=limit)
        return [s.decode("utf-8") for s in found]

    async def clear_fire(self, sender_id: str) -> None:
        await self.open()
        await self._redis.zrem(f"{self.prefix}:reminders", sender_id)

    async def get_meta(self, key: str) -> Optional[str]:
        await self.open()
        raw = await self._redis.get(self._k("meta", key))
        return raw.decode("utf-8") if raw is not None else None

    async def set_meta(self, key: str, value: str) -> None:
        await self.open()
        await self._redis.set(self._k("meta", key), value)
