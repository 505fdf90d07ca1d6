"""Fault-test servers and helpers: private PostgreSQL clusters and redis-servers that tests may break.

Other test sessions share the PostgreSQL on 5432 and the Redis on 6379, so nothing here ever
touches those. A fault test starts its OWN servers on free ports:

``private_pg`` (module scope)
    A throwaway PostgreSQL cluster: ``initdb`` into a temporary directory owned by the
    ``postgres`` OS user (initdb and postgres refuse to run as root), password authentication
    (scram-sha-256) for TCP connections on 127.0.0.1, started with ``pg_ctl`` on a free port.
    Tests may ``restart()`` it; it is stopped and removed at teardown.

``redis_factory`` (function scope)
    ``redis_factory(persistent=False, password=None)`` starts a private ``redis-server``
    (:class:`tests.servers.RedisServer`, shared with the driver fault tests);
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
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import server_missing
from tests.servers import free_port, private_redis_servers

REPO = Path(__file__).resolve().parents[2]


# -- small helpers ---------------------------------------------------------------------------------

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

@pytest.fixture
def redis_factory(tmp_path):
    """``redis_factory(persistent=False, password=None)``: a private redis-server (tests/servers.py), killed
    at teardown."""
    yield from private_redis_servers(tmp_path)


# -- job functions (module level: RQ workers import them by name) ------------------------------------

def slow_job(seconds: float, marker: str) -> str:
    """Write ``marker`` (a file path) when it starts, then sleep: a test can SIGKILL its worker mid-job."""
    Path(marker).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "finished"


def add_job(a: int, b: int) -> int:
    return a + b
