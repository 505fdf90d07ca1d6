"""A cache driver named ``tiered``: a small memory LRU (L1) in front of another driver (L2).

    SUBLARR_CACHE_DRIVER=tiered SUBLARR_TIERED_CACHE_BACKEND=redis SUBLARR_REDIS_URL=redis://... sublarr status

Reads hit L1 first; writes go to both. L1 entries live at most ``tiered_cache_l1_seconds`` so
that writes by other processes (which only reach L2) become visible within that time.
"""

from __future__ import annotations

import time
from typing import Any

from sublarr import hookimpl
from sublarr.core.settings import Setting
from sublarr.drivers.base import CacheDriver

SUBLARR_REQUIRES = ">=0.1,<1"
_BACKENDS = ("memory", "redis")


def _backend(name: str):
    # The built-in classes are importable; a driver never needs the kernel to build another one.
    if name == "redis":
        from sublarr.drivers.redis_cache import RedisCache

        return RedisCache
    from sublarr.drivers.memory_cache import MemoryCache

    return MemoryCache


class TieredCache(CacheDriver):
    name = "tiered"
    description = "memory LRU in front of another cache driver"

    def __init__(self, settings):
        super().__init__(settings)
        self.l2 = _backend(settings.tiered_cache_backend)(settings)
        self.l1_seconds = settings.tiered_cache_l1_seconds
        self.l1_max = settings.tiered_cache_l1_entries
        self._l1: dict[str, tuple[str, float]] = {}

    @classmethod
    def available(cls, settings) -> str | None:
        return _backend(settings.tiered_cache_backend).available(settings)

    def _remember(self, key: str, value: str, ttl_seconds: int) -> None:
        life = self.l1_seconds if ttl_seconds <= 0 else min(ttl_seconds, self.l1_seconds)
        if len(self._l1) >= self.l1_max:
            self._l1.pop(next(iter(self._l1)))
        self._l1[key] = (value, time.monotonic() + life)

    def get(self, key: str) -> str | None:
        hit = self._l1.get(key)
        if hit is not None and hit[1] > time.monotonic():
            self.hits += 1
            return hit[0]
        value = self.l2.get(key)
        if value is None:
            self.misses += 1
            self._l1.pop(key, None)
            return None
        self.hits += 1
        self._remember(key, value, 0)
        return value

    def set(self, key: str, value: str, ttl_seconds: int = 0) -> None:
        self.l2.set(key, value, ttl_seconds)
        self._remember(key, value, ttl_seconds)

    def delete(self, key: str) -> bool:
        self._l1.pop(key, None)
        return self.l2.delete(key)

    def exists(self, key: str) -> bool:
        return self.get(key) is not None

    def clear(self, prefix: str = "") -> int:
        for key in [k for k in self._l1 if k.startswith(prefix)]:
            del self._l1[key]
        return self.l2.clear(prefix)

    def stats(self) -> dict[str, Any]:
        return {"backend": "tiered", "hits": self.hits, "misses": self.misses, "size": self.l2.stats()["size"],
                "l1_size": len(self._l1), "l2": self.l2.stats(), "healthy": self.l2.healthy}

    @property
    def healthy(self) -> bool:
        return self.l2.healthy

    def close(self) -> None:
        self.l2.close()


@hookimpl
def sublarr_settings():
    def known(name: str) -> str | None:
        return None if name in _BACKENDS else f"must be one of {', '.join(_BACKENDS)}"

    return [
        Setting("tiered_cache_backend", "redis", str, "the L2 driver behind the memory tier", check=known),
        Setting("tiered_cache_l1_seconds", 5, int, "longest life of an L1 entry", minimum=0),
        Setting("tiered_cache_l1_entries", 1000, int, "size of the L1 tier", minimum=1),
    ]


@hookimpl
def sublarr_cache_drivers():
    return [TieredCache]
