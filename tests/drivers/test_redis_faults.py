"""Redis outages, on a private redis-server that the tests kill and restart on the same port.

The cache fails OPEN (misses, one warning, ``healthy`` False, automatic recovery); the RQ
queue fails CLOSED (``QueueUnavailable``; no job silently dropped; jobs survive the outage
when Redis persists them).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest

from sublarr.core.errors import QueueUnavailable
from sublarr.drivers.base import JobStatus
from sublarr.drivers.redis_cache import RedisCache
from sublarr.drivers.rq_queue import RqQueue
from tests.drivers import jobs_for_tests as jobs
from tests.drivers.conftest import make_settings, wait_for, worker_env
from tests.servers import free_port

pytestmark = [pytest.mark.redis, pytest.mark.timeout(60)]

CACHE_LOG = "sublarr.cache.redis"
PASSWORD = "pw-s3cret-4711"


def cache_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == CACHE_LOG and r.levelno == logging.WARNING]


def test_cache_fails_open_and_recovers(redis_server, caplog):
    server = redis_server()
    cache = RedisCache(make_settings(redis_url=server.url), retry_interval=0.2)
    caplog.set_level(logging.INFO, logger=CACHE_LOG)
    cache.set("a", "1")
    assert cache.get("a") == "1" and cache.healthy

    server.kill()
    started = time.monotonic()
    for _ in range(50):
        assert cache.get("a") is None
        cache.set("b", "2")
        assert cache.delete("a") is False
        assert cache.exists("a") is False
        assert cache.get_many(["a", "b"]) == {"a": None, "b": None}
        cache.set_many({"c": "3"})
        assert cache.clear() == 0
    assert time.monotonic() - started < 3, "calls during the outage must not wait for Redis"
    assert cache.healthy is False
    stats = cache.stats()
    assert stats["healthy"] is False and stats["size"] is None
    assert stats["misses"] >= 50
    assert len(cache_warnings(caplog)) == 1, "one warning per outage, not one per call"
    assert "unreachable" in cache_warnings(caplog)[0].getMessage()

    server.start()  # same port, empty (not persistent)
    time.sleep(0.3)  # past retry_interval
    cache.set("a", "again")
    assert cache.get("a") == "again"
    assert cache.healthy is True
    assert cache.stats()["healthy"] is True
    assert any("reachable again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
    assert len(cache_warnings(caplog)) == 1
    cache.close()


def test_cache_replays_lost_invalidations_after_the_outage(redis_server):
    """A delete that failed during the outage must not let the old value come back with the server."""
    server = redis_server(persistent=True)
    cache = RedisCache(make_settings(redis_url=server.url), retry_interval=0.1)
    cache.set_many({"provider:a": "stale", "provider:b": "stale", "keep": "v"})
    server.kill()
    assert cache.delete("provider:a") is False  # lost: Redis is down
    cache.set("provider:b", "new")  # lost too; the old value must not survive either
    assert cache.clear("nothing-") == 0
    server.start()  # the append-only file brings the old values back
    time.sleep(0.2)
    assert cache.get("provider:a") is None
    assert cache.get("provider:b") is None
    assert cache.get("keep") == "v"
    assert cache.healthy
    cache.close()


def test_cache_never_logs_the_password(caplog):
    port = free_port()  # nothing listens here
    url = f"redis://user:{PASSWORD}@127.0.0.1:{port}/0"
    cache = RedisCache(make_settings(redis_url=url))
    caplog.set_level(logging.DEBUG)
    assert cache.get("x") is None
    stats = cache.stats()
    assert PASSWORD not in repr(stats) and "***" in stats["url"]
    assert caplog.records, "the outage is logged"
    for record in caplog.records:
        assert PASSWORD not in record.getMessage()
    cache.close()


def test_cache_with_server_down_from_the_start(redis_server, caplog):
    server = redis_server()
    server.kill()
    caplog.set_level(logging.WARNING, logger=CACHE_LOG)
    cache = RedisCache(make_settings(redis_url=server.url), retry_interval=0.1)
    assert [cache.get(f"k{i}") for i in range(20)] == [None] * 20
    assert len(cache_warnings(caplog)) == 1
    server.start()
    time.sleep(0.15)
    cache.set("k", "v")
    assert cache.get("k") == "v"
    cache.close()


def test_rq_fails_closed_and_keeps_jobs_across_the_outage(redis_server):
    server = redis_server(persistent=True, password=PASSWORD)
    queue = RqQueue(make_settings(redis_url=server.url, queue_name="outage"))
    before = [queue.enqueue(jobs.add, i, 10) for i in range(3)]

    server.kill()
    with pytest.raises(QueueUnavailable) as caught:
        queue.enqueue(jobs.add, 1, 1)
    message = str(caught.value)
    assert "'outage'" in message and "job not enqueued" in message
    assert PASSWORD not in message and "***" in message
    with pytest.raises(QueueUnavailable):
        queue.get_job(before[0])
    with pytest.raises(QueueUnavailable):
        queue.work(stop=lambda: True, burst=True)
    info = queue.info()  # status never raises
    assert info["healthy"] is False and PASSWORD not in repr(info)

    server.start()  # the append-only file brings the queued jobs back
    after = queue.enqueue(jobs.add, 100, 1)
    assert queue.queue_length() == 4
    queue.work(stop=lambda: True, burst=True)
    results = [wait_for(queue, job_id) for job_id in [*before, after]]
    assert [r.status for r in results] == [JobStatus.COMPLETED] * 4
    assert [r.result for r in results] == [10, 11, 12, 101]
    assert queue.info()["healthy"] is True
    queue.close()


WORKER_SCRIPT = """
import logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from sublarr.core.settings import load_settings
from sublarr.drivers.rq_queue import RqQueue
queue = RqQueue(load_settings({"redis_url": sys.argv[1], "queue_name": "outage"}, settings_files=[]))
print("ready", flush=True)
queue.work(stop=lambda: False)
print("stopped", flush=True)
"""


@pytest.mark.slow
def test_rq_worker_process_survives_an_outage(redis_server):
    server = redis_server(persistent=True)
    queue = RqQueue(make_settings(redis_url=server.url, queue_name="outage"))
    process = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT, server.url], env=worker_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "ready"
        assert wait_for(queue, queue.enqueue(jobs.add, 1, 1), timeout=10).result == 2
        server.kill()
        time.sleep(0.5)
        server.start()
        job_id = queue.enqueue(jobs.add, 2, 2)
        assert wait_for(queue, job_id, timeout=20).result == 4
        assert process.poll() is None, "the worker survived the outage"
        assert queue.info()["workers"] == 1  # the worker lost in the outage was unregistered
        process.terminate()
        out, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err[-3000:]
    assert "stopped" in out
    queue.close()
