"""Fixtures for the cache and queue driver tests: real Redis only, no mocks.

The shared Redis (``redis_url`` from tests/conftest.py, DB 15 by default, flushed once per
session) serves the contract tests; every test uses its own key prefix and queue name, so
tests never see each other's data. Fault tests start their own ``redis-server`` on a free
port (:class:`RedisServer`), because they kill it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from sublarr.core.settings import Settings, load_settings
from sublarr.drivers.base import TERMINAL_STATUSES, JobInfo, QueueDriver
from sublarr.drivers.memory_cache import MemoryCache
from sublarr.drivers.memory_queue import MemoryQueue
from tests.conftest import server_missing

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


def wait_until(condition, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached within {timeout} s")
        time.sleep(0.02)


# -- our own redis-server -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private ``redis-server`` that a test may kill and restart on the same port.

    ``persistent=True`` keeps an append-only file fsynced on every write, so data written
    before a kill is there after the restart (what an RQ deployment needs); otherwise the
    server keeps nothing on disk.
    """

    def __init__(self, binary: str, directory: Path, persistent: bool = False, password: str | None = None):
        self.binary = binary
        self.directory = directory
        self.persistent = persistent
        self.password = password
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"redis-server on port {self.port} did not start:\n{log}")
            time.sleep(0.02)
        return self

    def ping(self) -> bool:
        import redis

        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except redis.exceptions.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to save or to close connections politely."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@pytest.fixture
def redis_server(tmp_path):
    """Factory: ``redis_server(persistent=False, password=None)`` starts a private server."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                              else None)
    if binary is None:
        server_missing("redis-server binary", "not on PATH (the fault tests start their own server)")
    servers: list[RedisServer] = []

    def start(persistent: bool = False, password: str | None = None) -> RedisServer:
        directory = tmp_path / f"redis{len(servers)}"
        directory.mkdir()
        server = RedisServer(binary, directory, persistent=persistent, password=password)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


def worker_env() -> dict[str, str]:
    """Environment of a worker subprocess: the repo importable, so are tests.drivers.jobs_for_tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env
