"""Redis cache: every key under ``cache_key_prefix``; fails open when Redis is unreachable.

Lessons kept here (LESSONS.md, "Redis, cache and queue"):

* ``clear()`` deletes only this cache's own keys with SCAN + UNLINK. Never FLUSHDB: the same
  Redis database may hold RQ's queues or another application's data (Django's ``clear()``).
* A cache must not take the application down. While Redis is unreachable every call is a
  miss / no-op, one warning is logged per ``WARNING_INTERVAL`` (not one per call), and
  ``healthy`` is False. After a failure, Redis is not asked again for ``retry_interval``
  seconds, so an unreachable host costs one connect timeout, not one per call.
* Writes that failed during an outage are remembered and their keys deleted when Redis
  comes back: a ``delete()`` lost in the outage must not let a stale value reappear from a
  server that kept its data (network split, restart with persistence).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sublarr.core.secrets import mask_url, scrub
from sublarr.drivers.base import CacheDriver

if TYPE_CHECKING:
    from sublarr.core.settings import Settings

log = logging.getLogger("sublarr.cache.redis")

T = TypeVar("T")

_BATCH = 500  # keys per SCAN page and per UNLINK
_MAX_PENDING = 10_000  # remembered failed writes; beyond this all own keys are cleared on recovery
_GLOB_SPECIAL = "\\*?[]"


def _glob_escape(text: str) -> str:
    """Escape Redis MATCH pattern characters so a prefix is matched literally."""
    return "".join("\\" + ch if ch in _GLOB_SPECIAL else ch for ch in text)


class RedisCache(CacheDriver):
    name = "redis"
    description = "Redis string cache under a key prefix (shared between processes, fails open)"

    @classmethod
    def auto_rank(cls, settings: Settings) -> int | None:
        return 10 if settings.redis_url and settings.redis_cache_enabled else None

    WARNING_INTERVAL = 60.0  # seconds between two "unreachable" warnings
    SOCKET_TIMEOUT = 2.0

    def __init__(self, settings: Settings, *, retry_interval: float = 5.0):
        super().__init__(settings)
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.prefix: str = settings.cache_key_prefix
        self.retry_interval = retry_interval
        self._shown_url = mask_url(settings.redis_url)
        # One immediate retry lets a pooled connection that died with a restarted server
        # reconnect; redis-py's default (exponential backoff, several tries) would stall each
        # call for seconds while Redis is down.
        self._client = redis.Redis.from_url(
            settings.redis_url, decode_responses=True, socket_connect_timeout=self.SOCKET_TIMEOUT,
            socket_timeout=self.SOCKET_TIMEOUT, retry=Retry(NoBackoff(), 1),
        )
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError, OSError)
        self._lock = threading.Lock()  # counters, health state, pending invalidations
        self._recovering = threading.Lock()
        self._healthy = True
        self._retry_at = 0.0
        self._last_warning = float("-inf")
        self._last_error = ""
        self._pending_keys: set[str] = set()
        self._pending_prefixes: set[str] = set()

    @classmethod
    def available(cls, settings: Settings) -> str | None:
        if not settings.redis_url:
            return "setting 'redis_url' is empty: the redis cache needs a Redis server"
        if importlib.util.find_spec("redis") is None:
            return "the redis cache needs the 'redis' package (pip install redis)"
        return None

    @property
    def healthy(self) -> bool:
        return self._healthy

    def health(self) -> str | None:
        # One PING, even inside the retry interval (it is the health check); a success also
        # replays the invalidations an outage left pending.
        if self._run(self._client.ping, False, force=True):
            return None
        return self._last_error or f"Redis at {self._shown_url} is unreachable"

    # -- the contract ---------------------------------------------------------------------------

    def get(self, key: str) -> str | None:
        # decode_responses=True: the client returns str, which redis-py's types cannot express
        value = cast("str | None", self._run(lambda: self._client.get(self.prefix + key), None))
        self._count(hits=value is not None, misses=value is None)
        return value

    def set(self, key: str, value: str, ttl_seconds: int = 0) -> None:
        if not isinstance(value, str):
            raise TypeError(f"cache values are strings (encode JSON first), got {type(value).__name__}")
        px = int(ttl_seconds * 1000) if ttl_seconds > 0 else None
        if not self._run(lambda: bool(self._client.set(self.prefix + key, value, px=px)), False):
            self._invalidate_later(keys=[key])

    def delete(self, key: str) -> bool:
        deleted = self._run(lambda: self._client.delete(self.prefix + key), None)
        if deleted is None:
            self._invalidate_later(keys=[key])
            return False
        return deleted > 0

    def exists(self, key: str) -> bool:
        return self._run(lambda: self._client.exists(self.prefix + key), 0) > 0

    def clear(self, prefix: str = "") -> int:
        removed = self._run(lambda: self._delete_matching(prefix), None)
        if removed is None:
            self._invalidate_later(prefixes=[prefix])
            return 0
        return removed

    def get_many(self, keys: Iterable[str]) -> dict[str, str | None]:
        keys = list(keys)
        if not keys:
            return {}
        values = self._run(lambda: self._client.mget([self.prefix + key for key in keys]), None)
        if values is None:
            values = [None] * len(keys)
        found = dict(zip(keys, cast("list[str | None]", values), strict=True))
        hits = sum(1 for value in values if value is not None)
        self._count(hits=hits, misses=len(keys) - hits)
        return found

    def set_many(self, mapping: Mapping[str, str], ttl_seconds: int = 0) -> None:
        if not mapping:
            return
        for value in mapping.values():
            if not isinstance(value, str):
                raise TypeError(f"cache values are strings (encode JSON first), got {type(value).__name__}")
        px = int(ttl_seconds * 1000) if ttl_seconds > 0 else None

        def write() -> bool:
            pipe = self._client.pipeline(transaction=False)  # one round trip, no MULTI needed
            for key, value in mapping.items():
                pipe.set(self.prefix + key, value, px=px)
            pipe.execute()
            return True

        if not self._run(write, False):
            self._invalidate_later(keys=list(mapping))

    def stats(self) -> dict[str, Any]:
        def read() -> dict[str, Any]:
            size = sum(1 for _ in self._scan(""))
            used = self._client.info("memory").get("used_memory_human")
            return {"size": size, "used_memory": used}

        # A status request asks Redis even inside the retry interval: it is the health check.
        details = self._run(read, None, force=True)
        with self._lock:
            out: dict[str, Any] = {"backend": self.name, "hits": self.hits, "misses": self.misses}
        if details is None:
            out.update(size=None, healthy=False)
        else:
            out.update(size=details["size"], healthy=True, used_memory=details["used_memory"])
        out.update(key_prefix=self.prefix, url=self._shown_url)
        return out

    def close(self) -> None:
        self._client.close()

    # -- failing open ---------------------------------------------------------------------------

    def _run(self, operation: Callable[[], T], fallback: T, *, force: bool = False) -> T:
        """``operation()``, or ``fallback`` when Redis is unreachable (never raises a Redis error)."""
        if not self._healthy:
            if not force and time.monotonic() < self._retry_at:
                return fallback
            if not self._recover():
                return fallback
        try:
            return operation()
        except self._errors as exc:
            self._failed(exc)
            return fallback

    def _failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._healthy = False
            self._retry_at = now + self.retry_interval
            self._last_error = (f"Redis at {self._shown_url} is unreachable "
                                f"({scrub(str(exc)) or type(exc).__name__}): serving cache misses")
            warn = now - self._last_warning >= self.WARNING_INTERVAL
            if warn:
                self._last_warning = now
        if warn:
            log.warning("redis cache at %s is unreachable (%s): serving cache misses until it is back",
                        self._shown_url, scrub(str(exc)) or type(exc).__name__)

    def _recover(self) -> bool:
        """Try Redis again; on success replay the remembered invalidations, then report healthy."""
        if not self._recovering.acquire(blocking=False):
            return False  # another thread is already trying; this call is a miss
        try:
            while True:
                with self._lock:
                    keys, prefixes = self._pending_keys, self._pending_prefixes
                    self._pending_keys, self._pending_prefixes = set(), set()
                try:
                    self._client.ping()
                    for prefix in prefixes:
                        self._delete_matching(prefix)
                    keys = {k for k in keys if not any(k.startswith(p) for p in prefixes)}
                    ordered = sorted(keys)
                    for start in range(0, len(ordered), _BATCH):
                        self._unlink([self.prefix + k for k in ordered[start:start + _BATCH]])
                except self._errors as exc:
                    self._invalidate_later(keys=keys, prefixes=prefixes)
                    self._failed(exc)
                    return False
                with self._lock:
                    # Writes that failed while we replayed are replayed in the next round.
                    if not self._pending_keys and not self._pending_prefixes:
                        self._healthy = True
                        break
            log.info("redis cache at %s is reachable again", self._shown_url)
            return True
        finally:
            self._recovering.release()

    def _invalidate_later(self, keys: Iterable[str] = (), prefixes: Iterable[str] = ()) -> None:
        with self._lock:
            self._pending_keys.update(keys)
            self._pending_prefixes.update(prefixes)
            if len(self._pending_keys) + len(self._pending_prefixes) > _MAX_PENDING:
                self._pending_keys, self._pending_prefixes = set(), {""}

    # -- helpers --------------------------------------------------------------------------------

    def _count(self, hits: int, misses: int) -> None:
        with self._lock:
            self.hits += hits
            self.misses += misses

    def _scan(self, prefix: str) -> Iterator[str]:
        return self._client.scan_iter(match=_glob_escape(self.prefix + prefix) + "*", count=_BATCH)

    def _delete_matching(self, prefix: str) -> int:
        removed = 0
        batch: list[str] = []
        for key in self._scan(prefix):
            batch.append(key)
            if len(batch) >= _BATCH:
                removed += self._unlink(batch)
                batch = []
        if batch:
            removed += self._unlink(batch)
        return removed

    def _unlink(self, keys: list[str]) -> int:
        # UNLINK frees memory in the background; it counts keys like DEL.
        return self._client.unlink(*keys) if keys else 0


# -- registration (the same hook a third-party driver plugin implements) --------------------------
from sublarr.core.hookspecs import hookimpl  # noqa: E402


@hookimpl
def sublarr_cache_drivers():
    return [RedisCache]
