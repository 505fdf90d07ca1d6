"""The cache driver contract, on the memory and the Redis driver (the ``cache`` fixture)."""

from __future__ import annotations

import threading
import time

import pytest

from sublarr.drivers.memory_cache import MemoryCache
from sublarr.drivers.redis_cache import RedisCache
from tests.drivers.conftest import make_settings


def test_set_get_and_miss(cache):
    assert cache.get("missing") is None
    cache.set("a", "1")
    assert cache.get("a") == "1"
    cache.set("a", "2")
    assert cache.get("a") == "2"
    cache.set("empty", "")
    assert cache.get("empty") == ""  # an empty string is a value, not a miss


def test_values_must_be_strings(cache):
    with pytest.raises(TypeError, match="strings"):
        cache.set("a", 1)
    with pytest.raises(TypeError, match="strings"):
        cache.set_many({"a": "1", "b": b"2"})
    assert cache.get("a") is None  # set_many checks every value before writing any


def test_ttl_expiry(cache):
    cache.set("short", "x", ttl_seconds=1)
    cache.set("forever", "y")
    cache.set("zero", "z", ttl_seconds=0)
    assert cache.get("short") == "x" and cache.exists("short")
    time.sleep(1.1)
    assert cache.get("short") is None
    assert not cache.exists("short")
    assert cache.get("forever") == "y"
    assert cache.get("zero") == "z"
    assert cache.stats()["size"] == 2


def test_delete_and_exists(cache):
    cache.set("a", "1")
    assert cache.exists("a")
    assert cache.delete("a") is True
    assert cache.delete("a") is False
    assert not cache.exists("a")
    assert cache.get("a") is None


def test_clear_by_prefix(cache):
    cache.set_many({"provider:a:1": "x", "provider:a:2": "x", "provider:b:1": "x", "other": "x"})
    assert cache.clear("provider:a:") == 2
    assert cache.get("provider:a:1") is None
    assert cache.get("provider:b:1") == "x"
    assert cache.clear("provider:") == 1
    assert cache.get("other") == "x"
    assert cache.clear() == 1
    assert cache.stats()["size"] == 0


def test_clear_prefix_is_literal_not_a_pattern(cache):
    # Redis MATCH treats * ? [ ] as a glob; the driver must escape them.
    cache.set_many({"a*1": "x", "ab": "x", "a?": "x", "a[b]": "x", "ac": "x"})
    assert cache.clear("a*") == 1
    assert cache.clear("a?") == 1
    assert cache.clear("a[b") == 1
    assert cache.get("ab") == "x" and cache.get("ac") == "x"


def test_get_many_and_set_many(cache):
    cache.set_many({"a": "1", "b": "2"})
    assert cache.get_many(["a", "b", "c"]) == {"a": "1", "b": "2", "c": None}
    assert cache.get_many([]) == {}
    cache.set_many({"t": "x"}, ttl_seconds=1)
    time.sleep(1.1)
    assert cache.get_many(["t", "a"]) == {"t": None, "a": "1"}
    cache.set_many({})  # nothing to write is not an error


def test_stats_counts_hits_and_misses(cache):
    stats = cache.stats()
    assert stats["backend"] == cache.name
    assert (stats["hits"], stats["misses"], stats["size"]) == (0, 0, 0)
    assert stats["healthy"] is True and cache.healthy
    cache.set("a", "1")
    cache.get("a")
    cache.get("a")
    cache.get("nope")
    cache.get_many(["a", "nope", "nope2"])
    cache.exists("a")  # exists is not a read of the value: not counted
    stats = cache.stats()
    assert (stats["hits"], stats["misses"], stats["size"]) == (3, 3, 1)


# -- memory cache -------------------------------------------------------------------------------

def test_memory_lru_bound():
    cache = MemoryCache(make_settings(memory_cache_max_entries=3))
    for key in "abc":
        cache.set(key, key)
    assert cache.get("a") == "a"  # a is now the most recently used; b is the oldest
    cache.set("d", "d")
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == ["a", "c", "d"]
    cache.set_many({"e": "e", "f": "f"})
    assert cache.stats()["size"] == 3
    assert cache.get_many(["d", "e", "f"]) == {"d": "d", "e": "e", "f": "f"}
    assert cache.stats()["max_entries"] == 3


def test_memory_sweep_removes_expired_entries():
    cache = MemoryCache(make_settings(memory_cache_max_entries=100_000))
    for i in range(500):
        cache.set(f"old{i}", "x", ttl_seconds=1)
    time.sleep(1.05)
    for i in range(2000):  # enough writes to trigger a sweep without any read of the old keys
        cache.set(f"new{i}", "x")
    assert len(cache._data) == 2000


def test_memory_concurrent_threads():
    cache = MemoryCache(make_settings(memory_cache_max_entries=500))
    errors: list[BaseException] = []
    rounds = 5000

    def hammer(worker: int) -> None:
        try:
            for i in range(rounds):
                key = f"k{(i * 7 + worker) % 800}"
                cache.set(key, str(i), ttl_seconds=60 if i % 3 else 0)
                cache.get(key)
                cache.get_many([key, f"k{i % 50}"])
                if i % 10 == 0:
                    cache.delete(key)
                if i % 500 == 0:
                    cache.clear(f"k{worker}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    stats = cache.stats()
    assert stats["size"] <= 500
    assert stats["hits"] + stats["misses"] == 8 * rounds * 3  # every read counted once, none lost


def test_memory_cache_is_fast():
    cache = MemoryCache(make_settings())
    keys = [f"key{i}" for i in range(20_000)]
    best = 0.0
    for _ in range(3):
        # CPU time of this process, not wall time: other processes on a busy CI machine must not fail it.
        start = time.process_time()
        for key in keys:
            cache.set(key, "value", 60)
        for key in keys:
            cache.get(key)
        best = max(best, 2 * len(keys) / max(time.process_time() - start, 1e-9))
    assert best >= 200_000, f"{best:,.0f} get/set per second"


# -- redis cache --------------------------------------------------------------------------------

def test_redis_keys_carry_the_prefix_and_ttl(redis_url, redis_client, namespace):
    prefix = f"sublarr-test:{namespace}:"
    cache = RedisCache(make_settings(redis_url=redis_url, cache_key_prefix=prefix))
    try:
        cache.set("a", "1", ttl_seconds=30)
        cache.set("b", "2")
        assert redis_client.get(prefix + "a") == "1"
        assert 0 < redis_client.pttl(prefix + "a") <= 30_000
        assert redis_client.ttl(prefix + "b") == -1  # no TTL: never expires
        assert cache.stats()["used_memory"]
    finally:
        cache.clear()
        cache.close()


def test_redis_clear_never_touches_foreign_keys(redis_url, redis_client, namespace):
    """clear("") removes this cache's keys only: RQ or another app may share the database."""
    cache = RedisCache(make_settings(redis_url=redis_url, cache_key_prefix=f"sublarr-test:{namespace}:"))
    neighbour = RedisCache(make_settings(redis_url=redis_url, cache_key_prefix=f"sublarr-test:{namespace}x:"))
    foreign = f"other:{namespace}:x"
    try:
        redis_client.set(foreign, "keep")
        neighbour.set("n", "keep")
        cache.set_many({f"k{i}": "v" for i in range(1200)})  # more than one SCAN/UNLINK batch
        assert cache.stats()["size"] == 1200
        assert cache.clear("") == 1200
        assert cache.stats()["size"] == 0
        assert redis_client.get(foreign) == "keep"
        assert neighbour.get("n") == "keep"
    finally:
        redis_client.delete(foreign)
        neighbour.clear()
        for driver in (cache, neighbour):
            driver.close()


def test_redis_available_names_the_setting():
    assert RedisCache.available(make_settings(redis_url="")) == (
        "setting 'redis_url' is empty: the redis cache needs a Redis server")
    assert RedisCache.available(make_settings(redis_url="redis://127.0.0.1:6379/0")) is None
    assert MemoryCache.available(make_settings()) is None
