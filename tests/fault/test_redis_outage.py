"""Redis stopped and started again while a kernel's cache and queue are in use.

The kernel runs on SQLite with ``redis_url`` pointing at a private, persistent redis-server
(append-only file, fsync always), so it chooses the ``redis`` cache and the ``rq`` queue.

- cache: calls from several threads never raise, during the outage they are misses/no-ops and
  quick, and the cache serves real values again once Redis is back (fails OPEN);
- queue: ``enqueue`` raises ``QueueUnavailable`` while Redis is down (fails CLOSED: no job is
  silently dropped) and works again afterwards; jobs enqueued before the outage are kept by
  Redis and processed after it.
"""

from __future__ import annotations

import threading
import time

import pytest

from sublarr.core.errors import QueueUnavailable
from sublarr.drivers.base import JobStatus
from tests.conftest import boot
from tests.fault.conftest import add_job, report
from tests.polling import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.timeout(240)]

CACHE_THREADS = 3
JOBS_BEFORE = 25
OUTAGE_SECONDS = 3.0


class CacheLoad:
    """Threads that hammer kernel.cache; any exception is a failure of the fail-open promise."""

    def __init__(self, cache, threads: int):
        self.cache = cache
        self.stop = threading.Event()
        self.exceptions: list[BaseException] = []
        self.calls = 0
        self.hits = 0
        self.slowest = 0.0
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(threads)]

    def _run(self, number: int) -> None:
        i = 0
        while not self.stop.is_set():
            i += 1
            key = f"load:{number}:{i % 50}"
            started = time.monotonic()
            try:
                self.cache.set(key, f"value-{i}", ttl_seconds=60)
                got = self.cache.get(key)
                self.cache.get_many([key, "load:missing"])
                self.cache.exists(key)
                if i % 20 == 0:
                    self.cache.delete(key)
            except BaseException as exc:  # noqa: BLE001 - the point: nothing may escape
                with self.lock:
                    self.exceptions.append(exc)
                got = None
            took = time.monotonic() - started
            with self.lock:
                self.calls += 5
                self.hits += got is not None
                self.slowest = max(self.slowest, took)
            time.sleep(0.002)

    def __enter__(self) -> CacheLoad:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)
        assert not any(t.is_alive() for t in self.threads), "a cache thread hung"


@pytest.mark.parametrize("how", ["stop", "kill"], ids=["SIGTERM", "SIGKILL"])
def test_cache_fails_open_and_queue_fails_closed_across_an_outage(redis_factory, tmp_path, how):
    server = redis_factory(persistent=True)
    kernel = boot(f"sqlite:///{tmp_path / 'outage.db'}", redis_url=server.url, queue_name=f"outage-{how}")
    try:
        assert kernel.cache.name == "redis" and kernel.queue.name == "rq"
        before = [kernel.queue.enqueue(add_job, i, 1000) for i in range(JOBS_BEFORE)]
        kernel.cache.set("survivor", "kept-by-aof")
        with CacheLoad(kernel.cache, CACHE_THREADS) as load:
            time.sleep(1.0)
            hits_before = load.hits
            assert hits_before > 0, "the cache works before the outage"
            getattr(server, how)()
            outage_began = time.monotonic()
            refused = 0
            while time.monotonic() - outage_began < OUTAGE_SECONDS:
                started = time.monotonic()
                with pytest.raises(QueueUnavailable) as caught:
                    kernel.queue.enqueue(add_job, 1, 1)
                assert time.monotonic() - started < 10, "enqueue must fail fast, not hang"
                assert "job not enqueued" in str(caught.value)
                refused += 1
                time.sleep(0.2)
            assert kernel.cache.get("survivor") is None  # a miss while Redis is away, not an exception
            assert kernel.queue.info()["healthy"] is False  # status reports it, never raises
            hits_during = load.hits
            server.start()  # same port; the append-only file brings the data back
            outage = time.monotonic() - outage_began
            # the cache retries Redis after its retry interval (5 s) and serves values again
            wait_until(lambda: load.hits > hits_during + 20, timeout=30, what="cache hits after the outage")
            recovered_after = time.monotonic() - outage_began - outage
        assert not load.exceptions, [repr(e) for e in load.exceptions[:5]]
        assert load.slowest < 5.0, f"a cache round took {load.slowest:.2f} s"
        assert kernel.cache.get("survivor") == "kept-by-aof"
        assert kernel.cache.stats()["healthy"] is True

        after = [kernel.queue.enqueue(add_job, i, 2000) for i in range(5)]
        assert kernel.queue.queue_length() == JOBS_BEFORE + 5
        kernel.queue.work(stop=lambda: True, burst=True)
        results = {job_id: kernel.queue.get_job(job_id) for job_id in [*before, *after]}
        assert all(r is not None and r.status is JobStatus.COMPLETED for r in results.values()), \
            {k: (v.status if v else None) for k, v in results.items() if not v or v.status is not JobStatus.COMPLETED}
        assert [results[j].result for j in before] == [1000 + i for i in range(JOBS_BEFORE)]
        assert [results[j].result for j in after] == [2000 + i for i in range(5)]
        assert kernel.queue.failed_jobs() == []
        report(f"redis_outage_{how}", cache_threads=CACHE_THREADS, cache_calls=load.calls,
               cache_exceptions=len(load.exceptions), slowest_cache_round_s=round(load.slowest, 3),
               outage_s=round(outage, 1), cache_recovered_after_s=round(recovered_after, 1),
               enqueue_refused=refused, jobs_enqueued_before=JOBS_BEFORE, jobs_completed_after=len(results),
               lost=JOBS_BEFORE + 5 - sum(r.status is JobStatus.COMPLETED for r in results.values()))
    finally:
        kernel.close()
