"""Per-conversation locks: sender id -> exclusive section, within one process and across processes.

`KeyedLock` serialises coroutines of one process per key (FIFO, like asyncio.Lock) and forgets
keys nobody holds, so memory stays O(conversations in flight). `FileRangeLock` extends that to
every process on the machine sharing one lock file: it takes a POSIX byte-range lock at an
offset derived from the key. The kernel drops such locks when a process dies, so a SIGKILLed
server never leaves a conversation locked (unlike a lock row with an expiry time).
"""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from contextlib import asynccontextmanager
from typing import AsyncIterator


class KeyedLock:
    """One asyncio.Lock per key, created on demand and dropped when unused."""

    def __init__(self) -> None:
        self._locks: dict[str, list] = {}   # key -> [lock, users]

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def _offset(key: str) -> int:
    # 62-bit stable hash: collisions only make two senders wait for each other.
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "big") >> 2


class FileRangeLock:
    """Cross-process lock per key on one file; callers must also hold a KeyedLock for the key.

    POSIX record locks belong to the process, not the coroutine, so two coroutines of one
    process must never hold the same range at once; the in-process KeyedLock guarantees that.
    """

    def __init__(self, path: str, poll_s: float = 0.001, max_poll_s: float = 0.02) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._poll_s = poll_s
        self._max_poll_s = max_poll_s

    async def acquire(self, key: str, timeout: float = 60.0) -> None:
        off = _offset(key)
        delay = self._poll_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, off)
                return
            except OSError:
                if loop.time() >= deadline:
                    raise TimeoutError(f"conversation lock for {key!r} not acquired within {timeout} s")
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_poll_s)

    def release(self, key: str) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, _offset(key))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)   # closing the fd drops every range this process still holds
            self._fd = -1
