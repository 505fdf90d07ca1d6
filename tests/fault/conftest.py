"""Fault-test servers and helpers: private PostgreSQL clusters and redis-servers that tests may break.

Other test sessions share the PostgreSQL on 5432 and the Redis on 6379, so nothing here ever
touches those. A fault test starts its OWN servers on free ports:

``private_pg`` (module scope)
    A throwaway PostgreSQL cluster: ``initdb`` into a temporary directory owned by the
    ``postgres`` OS user (initdb and postgres refuse to run as root), password authentication
    (scram-sha-256) for TCP connections on 127.0.0.1, started with ``pg_ctl`` on a free port.
    Tests may ``restart()`` it; it is stopped and removed at teardown.

``redis_factory`` (function scope)
    ``redis_factory(persistent=False, password=None)`` starts a private ``redis-server``;
    ``persistent=True`` keeps an append-only file fsynced on every write, so queued jobs survive
    a restart. Tests may ``stop()`` (SIGTERM), ``kill()`` (SIGKILL) and ``start()`` it again on
    the same port.

Helpers: :func:`free_port`, :func:`wait_until`, :func:`subprocess_env` (the environment of a
child process: repo importable, no SUBLARR_* of the caller), :func:`report` (prints a
``FIGURES`` line that docs/RELIABILITY.md quotes; run pytest with ``-s`` to see them).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import server_missing

REPO = Path(__file__).resolve().parents[2]


# -- small helpers ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something true; fail (never hang) after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {timeout} s")
        time.sleep(step)


def subprocess_env(**extra: str) -> dict[str, str]:
    """A child's environment: the caller's minus SUBLARR_* settings, the repo importable, ``extra`` added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUBLARR_") or k.startswith("SUBLARR_TEST_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def report(scenario: str, **figures: Any) -> None:
    """One ``FIGURES {...}`` line per scenario run: the numbers docs/RELIABILITY.md quotes."""
    print(f"\nFIGURES {json.dumps({'scenario': scenario, **figures}, default=str, sort_keys=False)}", flush=True)


def kill_process(process: subprocess.Popen) -> None:
    """SIGKILL a child we started (by its pid) and reap it."""
    if process.poll() is None:
        process.kill()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:  # pragma: no cover - a SIGKILLed child always ends
        pass


# -- a private PostgreSQL cluster ------------------------------------------------------------------

def _pg_bin() -> Path | None:
    explicit = os.environ.get("SUBLARR_TEST_PG_BIN")
    if explicit:
        return Path(explicit)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own: tests may restart it while the shared server stays untouched."""

    USER = "sublarr_fault"

    def __init__(self, bin_dir: Path, password: str):
        self.bin = bin_dir
        self.password = password
        # Not under pytest's tmp_path: /tmp/pytest-of-root is 0700 and the postgres user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="sublarr-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.restarts = 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if result.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}\n{tail}")
        return result

    @property
    def _options(self) -> str:
        return f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=60"

    def init(self) -> PrivatePostgres:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(pwfile, "postgres", "postgres")
        pwfile.chmod(0o600)
        # scram for TCP: the password is really checked (and must never be shown); trust on the socket.
        self._run("initdb", "-D", str(self.data), "-U", self.USER, f"--pwfile={pwfile}", "--auth-local=trust",
                  "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        return self

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", self._options, "start")

    def restart(self) -> float:
        """``pg_ctl restart -m fast``: every backend is terminated, the server comes back. Returns seconds."""
        started = time.monotonic()
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", "fast",
                  "-o", self._options, "restart")
        self.restarts += 1
        return time.monotonic() - started

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=self.USER, password=self.password,
                                dbname="postgres", connect_timeout=10)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.url(name)

    def remove(self) -> None:
        try:
            self.stop("immediate")
        except Exception:  # already stopped, or never started
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def start_private_postgres(password: str) -> PrivatePostgres:
    """Initialise and start a private cluster (skipped locally, failed in CI, when that is impossible)."""
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        server_missing("PostgreSQL binaries (initdb, pg_ctl)", "not found; set SUBLARR_TEST_PG_BIN")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        server_missing("runuser", "needed to run initdb/postgres as the postgres user")
    server = PrivatePostgres(bin_dir, password=password)
    try:
        server.init().start()
    except Exception as exc:
        server.remove()
        server_missing("private PostgreSQL cluster", str(exc).splitlines()[0])
    return server


@pytest.fixture(scope="module")
def private_pg():
    """A private PostgreSQL cluster for this test module (restartable; removed afterwards)."""
    server = start_private_postgres(f"pg-Fault-{os.getpid()}-s3cret")
    yield server
    server.remove()


# -- a private redis-server ------------------------------------------------------------------------

class PrivateRedis:
    """A ``redis-server`` of our own that a test may stop, kill and start again on the same port."""

    def __init__(self, binary: str, directory: Path, persistent: bool, password: str | None):
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

    def start(self) -> PrivateRedis:
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

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.exceptions.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM: Redis shuts down politely (and flushes its append-only file)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: no chance to save or to close connections."""
        if self.process is not None:
            kill_process(self.process)
        self.process = None


def redis_binary() -> str:
    binary = shutil.which("redis-server") or ("/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server")
                                              else None)
    if binary is None:
        server_missing("redis-server binary", "not on PATH (fault tests start their own server)")
    return binary


@pytest.fixture
def redis_factory(tmp_path):
    """``redis_factory(persistent=False, password=None)``: a private redis-server, killed at teardown."""
    binary = redis_binary()
    servers: list[PrivateRedis] = []

    def start(persistent: bool = False, password: str | None = None) -> PrivateRedis:
        directory = tmp_path / f"redis{len(servers)}"
        directory.mkdir()
        server = PrivateRedis(binary, directory, persistent, password)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.kill()


# -- job functions (module level: RQ workers import them by name) ------------------------------------

def slow_job(seconds: float, marker: str) -> str:
    """Write ``marker`` (a file path) when it starts, then sleep: a test can SIGKILL its worker mid-job."""
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


def add_job(a: int, b: int) -> int:
    return a + b
