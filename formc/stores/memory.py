"""In-process conversation store: sender id -> encoded record and logs in dicts (tests, one worker)."""
from __future__ import annotations

import time
from typing import Any, Optional

from .base import SAME, STREAMS, ConversationStore, decode, encode


class MemoryStore(ConversationStore):
    shared = False   # another process cannot see this dict: refuse --workers > 1

    def __init__(self, record_exp: Optional[float] = None, cache_size: int = 1000) -> None:
        super().__init__(record_exp, cache_size)
        # Kept encoded so callers never share mutable state with the store.
        self._records: dict[str, tuple[bytes, float, int]] = {}   # -> (JSON, saved at, revision)
        self._logs: dict[str, dict[str, list[bytes]]] = {}        # -> stream -> entries
        self._fire: dict[str, float] = {}
        self._meta: dict[str, str] = {}

    async def _begin(self, sender_id: str, known_rev: int) -> tuple[Any, Any, Optional[dict]]:
        entry = self._live_entry(sender_id)
        if entry is None:
            return None, None, {}
        if entry[2] == known_rev:
            return None, SAME, None
        return None, decode(entry[0]), self._read_logs(sender_id)

    async def _end(self, sender_id: str, token: Any, pending, rev: int) -> None:
        if pending is None:
            return
        self._records[sender_id] = (encode(pending.record), time.time(), rev)
        if pending.reset:
            self._logs.pop(sender_id, None)
        logs = self._logs.setdefault(sender_id, {})
        for stream, entries in pending.append.items():
            kept = logs.setdefault(stream, [])
            kept.extend(encode(e) for e in entries)
            limit = self.trim_length(stream)
            if limit is not None:
                del kept[:max(0, len(kept) - limit)]
        cutoff = self.cutoff()
        kept = logs.get("events")
        while cutoff is not None and kept and (decode(kept[0]).get("timestamp") or cutoff) < cutoff:
            del kept[0]
        if pending.next_fire is None:
            self._fire.pop(sender_id, None)
        else:
            self._fire[sender_id] = pending.next_fire

    def _live_entry(self, sender_id: str) -> Optional[tuple[bytes, float, int]]:
        entry = self._records.get(sender_id)
        if entry is None:
            return None
        if self._expired(entry[1]):
            self._forget(sender_id)
            return None
        return entry

    def _forget(self, sender_id: str) -> None:
        self._records.pop(sender_id, None)
        self._logs.pop(sender_id, None)
        self._fire.pop(sender_id, None)

    def _read_logs(self, sender_id: str) -> dict[str, list]:
        """The hot window: the newest `keep` entries of each log."""
        logs = self._logs.get(sender_id, {})
        return {s: [decode(e) for e in logs[s][max(0, len(logs[s]) - self.keep[s]):]]
                for s in STREAMS if s in logs}

    async def full_log(self, sender_id: str, stream: str = "events") -> list:
        if not self._live_entry(sender_id):
            return []
        return [decode(e) for e in self._logs.get(sender_id, {}).get(stream, ())]

    async def load(self, sender_id: str) -> Optional[dict]:
        entry = self._live_entry(sender_id)
        return None if entry is None else decode(entry[0])

    async def logs(self, sender_id: str) -> dict[str, list]:
        return self._read_logs(sender_id) if self._live_entry(sender_id) else {}

    async def due(self, now: float, limit: int = 100) -> list[str]:
        return sorted((s for s, t in self._fire.items() if t <= now), key=self._fire.get)[:limit]

    async def clear_fire(self, sender_id: str) -> None:
        self._fire.pop(sender_id, None)

    async def get_meta(self, key: str) -> Optional[str]:
        return self._meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    async def purge_expired(self, now: Optional[float] = None) -> int:
        gone = [s for s, (_, at, _rev) in self._records.items() if self._expired(at, now)]
        for s in gone:
            self._forget(s)
        return len(gone)
