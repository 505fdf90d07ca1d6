"""Private test servers: a ``redis-server`` of our own on a free port, for tests that break it.

The driver fault tests (tests/drivers) and the fault tests (tests/fault) kill and restart Redis;
they never touch the shared server, they start their own with :func:`private_redis_servers`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.conftest import server_missing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private ``redis-server`` that a test may stop, kill and start again on the same port.

    ``persistent=True`` keeps an append-only file fsynced on every write, so data written before a
    kill is there after the restart (what an RQ deployment needs); otherwise the server keeps
    nothing on disk.
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
        args += ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
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

    def stop(self) -> None:
        """SIGTERM: Redis shuts down politely (and flushes its append-only file)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to save or to close connections politely."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed child always ends
                pass
        self.process = None


def redis_binary() -> str:
    """The ``redis-server`` binary (skipped locally, failed in CI, when there is none)."""
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                              else None)
    if binary is None:
        server_missing("redis-server binary", "not on PATH (the fault tests start their own server)")
    return binary


def private_redis_servers(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """The body of a fixture: yields ``start(persistent=False, password=None)``, which starts a private
    server in a directory under ``tmp_path``; every server started is killed afterwards."""
    binary = redis_binary()
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
