"""In-process cache: a bounded LRU with TTLs, used when there is no Redis.

One ``OrderedDict`` behind one lock. Expired entries are dropped when they are read
(lazy expiry) and by a sweep that runs after a number of writes proportional to the
size, so its cost stays O(1) per write on average. The legacy backend had no size
bound and swept the whole dict every 100th ``get``.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sublarr.drivers.base import CacheDriver

if TYPE_CHECKING:
    from sublarr.core.settings import Settings

_MIN_SWEEP_INTERVAL = 1024  # writes between sweeps of a small cache


class MemoryCache(CacheDriver):
    name = "memory"
    description = "in-process LRU cache with TTLs (not shared between processes)"

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        return 0  # always possible; any driver that ranks higher wins

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.max_entries: int = settings.memory_cache_max_entries
        # key -> (value, expiry on the monotonic clock; 0.0 = never). Order = least recently used first.
        self._data: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._writes_since_sweep = 0

    # The hot paths below are written out rather than sharing helpers: a method call per
    # operation costs more than the dict work itself.

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is not None:
                expires = item[1]
                if not expires or expires > time.monotonic():
                    self._data.move_to_end(key)
                    self.hits += 1
                    return item[0]
                del self._data[key]
            self.misses += 1
            return None

    def set(self, key: str, value: str, ttl_seconds: int = 0) -> None:
        if not isinstance(value, str):
            raise TypeError(f"cache values are strings (encode JSON first), got {type(value).__name__}")
        expires = time.monotonic() + ttl_seconds if ttl_seconds > 0 else 0.0
        with self._lock:
            data = self._data
            data[key] = (value, expires)
            data.move_to_end(key)
            if len(data) > self.max_entries:
                data.popitem(last=False)
            self._writes_since_sweep += 1
            if self._writes_since_sweep >= max(_MIN_SWEEP_INTERVAL, len(data)):
                self._sweep_locked()

    def delete(self, key: str) -> bool:
        with self._lock:
            item = self._data.pop(key, None)
            return item is not None and self._alive(item[1], time.monotonic())

    def exists(self, key: str) -> bool:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return False
            if self._alive(item[1], time.monotonic()):
                return True
            del self._data[key]
            return False

    def clear(self, prefix: str = "") -> int:
        with self._lock:
            now = time.monotonic()
            if not prefix:
                removed = sum(1 for _, expires in self._data.values() if self._alive(expires, now))
                self._data.clear()
                return removed
            doomed = [key for key in self._data if key.startswith(prefix)]
            removed = 0
            for key in doomed:
                _, expires = self._data.pop(key)
                removed += self._alive(expires, now)
            return removed

    def get_many(self, keys: Iterable[str]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        with self._lock:
            now = time.monotonic()
            data = self._data
            for key in keys:
                item = data.get(key)
                if item is not None and self._alive(item[1], now):
                    data.move_to_end(key)
                    self.hits += 1
                    found[key] = item[0]
                else:
                    if item is not None:
                        del data[key]
                    self.misses += 1
                    found[key] = None
        return found

    def set_many(self, mapping: Mapping[str, str], ttl_seconds: int = 0) -> None:
        for value in mapping.values():
            if not isinstance(value, str):
                raise TypeError(f"cache values are strings (encode JSON first), got {type(value).__name__}")
        expires = time.monotonic() + ttl_seconds if ttl_seconds > 0 else 0.0
        with self._lock:
            data = self._data
            for key, value in mapping.items():
                data[key] = (value, expires)
                data.move_to_end(key)
            while len(data) > self.max_entries:
                data.popitem(last=False)
            self._writes_since_sweep += len(mapping)
            if self._writes_since_sweep >= max(_MIN_SWEEP_INTERVAL, len(data)):
                self._sweep_locked()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self._sweep_locked()  # so that ``size`` counts live entries only
            return {
                "backend": self.name, "hits": self.hits, "misses": self.misses, "size": len(self._data),
                "max_entries": self.max_entries, "healthy": True,
            }

    def close(self) -> None:
        with self._lock:
            self._data.clear()

    @staticmethod
    def _alive(expires: float, now: float) -> bool:
        return not expires or expires > now

    def _sweep_locked(self) -> None:
        now = time.monotonic()
        expired = [key for key, (_, expires) in self._data.items() if expires and expires <= now]
        for key in expired:
            del self._data[key]
        self._writes_since_sweep = 0


# -- registration (the same hook a third-party driver plugin implements) --------------------------
from sublarr.core.hookspecs import hookimpl  # noqa: E402


@hookimpl
def sublarr_cache_drivers():
    return [MemoryCache]
