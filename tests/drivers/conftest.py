"""Fixtures for the cache and queue driver tests: real Redis only, no mocks.

The shared Redis (``redis_url`` from tests/conftest.py, DB 15 by default, flushed once per
session) serves the contract tests; every test uses its own key prefix and queue name, so
tests never see each other's data. Fault tests start their own ``redis-server`` on a free
port (:class:`tests.servers.RedisServer`), because they kill it.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from sublarr.core.settings import Settings, load_settings
from sublarr.drivers.base import TERMINAL_STATUSES, JobInfo, QueueDriver
from sublarr.drivers.memory_cache import MemoryCache
from sublarr.drivers.memory_queue import MemoryQueue
from tests.servers import private_redis_servers

REPO = Path(__file__).resolve().parents[2]


def make_settings(**overrides) -> Settings:
    """Settings from code defaults plus ``overrides`` only (no files, no environment)."""
    return load_settings(overrides, settings_files=[])


@pytest.fixture
def namespace() -> str:
    """A name no other test uses: key prefixes and queue names are built from it."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def redis_client(redis_url):
    """A plain redis-py client on the test DB, to look behind the drivers' backs."""
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


# -- caches -------------------------------------------------------------------------------------

@pytest.fixture(params=["memory", "redis"])
def cache(request, namespace):
    """A cache driver (parametrised: memory, redis), empty, with its own key prefix."""
    if request.param == "memory":
        driver = MemoryCache(make_settings())
    else:
        from sublarr.drivers.redis_cache import RedisCache

        url = request.getfixturevalue("redis_url")
        driver = RedisCache(make_settings(redis_url=url, cache_key_prefix=f"sublarr-test:{namespace}:"))
    yield driver
    driver.clear()
    driver.close()


# -- queues -------------------------------------------------------------------------------------

@pytest.fixture(params=["memory", "rq"])
def queue_kind(request) -> str:
    return request.param


@pytest.fixture
def make_queue(queue_kind, namespace, request):
    """Build queues of the parametrised kind (memory, rq); each rq queue gets its own name."""
    made: list[QueueDriver] = []

    def make(**overrides) -> QueueDriver:
        if queue_kind == "memory":
            driver: QueueDriver = MemoryQueue(make_settings(**overrides))
        else:
            from sublarr.drivers.rq_queue import RqQueue

            overrides.setdefault("redis_url", request.getfixturevalue("redis_url"))
            overrides.setdefault("queue_name", f"sublarr-test-{namespace}-{len(made)}")
            driver = RqQueue(make_settings(**overrides))
        made.append(driver)
        return driver

    yield make
    for driver in made:
        driver.close(wait=False)


@pytest.fixture
def queue(make_queue) -> QueueDriver:
    return make_queue()


def drain(queue: QueueDriver) -> None:
    """Run what is queued: an RQ burst worker in this process; the memory queue runs by itself."""
    if queue.name == "rq":
        queue.work(stop=lambda: True, burst=True)


def wait_for(queue: QueueDriver, job_id: str, timeout: float = 10.0, statuses=TERMINAL_STATUSES) -> JobInfo:
    """Poll until the job reaches one of ``statuses``; fail (never hang) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        job = queue.get_job(job_id)
        if job is not None and job.status in statuses:
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} did not reach {sorted(map(str, statuses))} within {timeout} s: {job}")
        time.sleep(0.01)


# -- our own redis-server -----------------------------------------------------------------------

@pytest.fixture
def redis_server(tmp_path):
    """Factory: ``redis_server(persistent=False, password=None)`` starts a private server (tests/servers.py)."""
    yield from private_redis_servers(tmp_path)


def worker_env() -> dict[str, str]:
    """Environment of a worker subprocess: the repo importable, so are tests.drivers.jobs_for_tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
