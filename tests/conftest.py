"""Shared fixtures: real SQLite files and real PostgreSQL and MariaDB servers, one fresh database per test.

Storage tests take the ``kernel`` fixture, which is parametrised over every storage driver
(``STORAGES``). Each session migrates one template database per driver; each test gets a copy
(a file copy for SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL, the template's
``SHOW CREATE TABLE`` and rows for MariaDB), so tests start at head quickly and never see each
other's rows.

Servers: ``SUBLARR_TEST_PG_URL`` (default postgresql://sublarr:sublarr-test-pw@127.0.0.1:5432/postgres,
a role allowed to create databases), ``SUBLARR_TEST_MARIADB_URL`` (default
mariadb://sublarr:sublarr-test-pw@127.0.0.1:3306/, a user allowed to create databases) and
``SUBLARR_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/15). Unreachable servers skip their
tests with a reason, except under ``CI=true``, where they fail: CI must run everything.
"""

from __future__ import annotations

import importlib
import itertools
import os
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sublarr import Kernel

PG_URL = os.environ.get("SUBLARR_TEST_PG_URL", "postgresql://sublarr:sublarr-test-pw@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("SUBLARR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
MARIADB_URL = os.environ.get("SUBLARR_TEST_MARIADB_URL", "mariadb://sublarr:sublarr-test-pw@127.0.0.1:3306/")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
STORAGES = ["sqlite", "postgresql", "mariadb"]
SERVERS = {"postgresql": "pg_server", "mariadb": "mariadb_server"}  # storage -> its server fixture

_counter = itertools.count()

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.parent for p in (REPO / "examples").glob("*/pyproject.toml"))
_example_site: str | None = None


def pytest_configure(config):
    """Make the example plugins findable through their entry points, for this run only.

    A throwaway folder holds a ``.dist-info`` per example (its name, version and entry points) and
    goes first on ``sys.path`` and ``PYTHONPATH`` (for the CLI processes the tests start), with the
    examples' source folders: the tests see them exactly as installed plugins, while the user's
    environment stays as it was (nothing is installed; every database the user opens later stays
    free of the examples' tables).
    """
    global _example_site
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        from dynaconf.vendor import tomllib  # type: ignore[no-redef]

    _example_site = tempfile.mkdtemp(prefix="sublarr-test-examples-")
    for folder in EXAMPLES:
        project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        info = Path(_example_site) / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\n"
                                       f"Version: {project['version']}\n")
        groups = project.get("entry-points", {})
        (info / "entry_points.txt").write_text("".join(
            f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()) + "\n"
            for group, points in groups.items()))
    paths = [_example_site, *map(str, EXAMPLES)]
    sys.path[:0] = paths
    os.environ["PYTHONPATH"] = os.pathsep.join([*paths, *filter(None, [os.environ.get("PYTHONPATH")])])
    importlib.invalidate_caches()


def pytest_unconfigure(config):
    if _example_site:
        shutil.rmtree(_example_site, ignore_errors=True)


_OURS = re.compile(r"^sublarr_(?:t|e|tpl)_(\d+)_")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_leftovers(server, names) -> list[str]:
    """Drop the test databases of earlier runs that were interrupted (their process is gone), so an
    interrupted run leaves nothing behind after the next one; databases of running sessions stay."""
    dropped = []
    for name in names:
        found = _OURS.match(name)
        if found and int(found.group(1)) != os.getpid() and not _pid_alive(int(found.group(1))):
            server.drop(name)
            dropped.append(name)
    return dropped


def server_missing(what: str, why: str):
    """Skip (locally) or fail (in CI) a test that needs a server that is not reachable."""
    message = f"{what} not reachable: {why}"
    if IN_CI:
        pytest.fail(f"{message} (CI must run every test)", pytrace=False)
    pytest.skip(message)


def boot(url: str, **overrides) -> Kernel:
    """Boot a kernel for tests: no settings files, no entry-point plugins, no Redis unless asked."""
    overrides.setdefault("redis_url", "")
    return Kernel.boot(database_url=url, settings_files=[], entry_points=False, **overrides)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    """Settings come only from what a test passes: drop SUBLARR_* variables of the caller's shell."""
    for name in list(os.environ):
        if name.startswith("SUBLARR_") and not name.startswith("SUBLARR_TEST_"):
            monkeypatch.delenv(name)


class PostgresServer:
    def __init__(self, admin_url: str):
        self.admin_url = make_url(admin_url)
        if self.admin_url.drivername in ("postgresql", "postgres"):
            # SQLAlchemy 2.1 defaults to psycopg 3; the project ships psycopg2 (as the kernel does)
            self.admin_url = self.admin_url.set(drivername="postgresql+psycopg2")
        self.admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT", pool_size=1,
                                   connect_args={"connect_timeout": 5})

    def url_for(self, name: str) -> str:
        return self.admin_url.set(drivername="postgresql", database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            tpl = f" TEMPLATE {template}" if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{tpl}'))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class MariadbServer:
    """Databases on a MariaDB server; a copy of a template is its tables' DDL and rows (MariaDB has no
    CREATE DATABASE ... TEMPLATE)."""

    def __init__(self, admin_url: str):
        url = make_url(admin_url)
        self.base = url.set(drivername="mariadb")
        self.admin = create_engine(url.set(drivername="mysql+mysqldb", database=None), isolation_level="AUTOCOMMIT",
                                   pool_size=1, connect_args={"connect_timeout": 5})

    def url_for(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            if template:
                tables = conn.execute(text("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = :s"),
                                      {"s": template}).scalars().all()
                conn.execute(text("SET SESSION foreign_key_checks = 0"))
                for table in tables:
                    ddl = conn.execute(text(f"SHOW CREATE TABLE `{template}`.`{table}`")).one()[1]
                    conn.execute(text(ddl.replace("CREATE TABLE ", f"CREATE TABLE `{name}`.", 1).replace("%", "%%")))
                    conn.execute(text(f"INSERT INTO `{name}`.`{table}` SELECT * FROM `{template}`.`{table}`"))
                conn.execute(text("SET SESSION foreign_key_checks = 1"))
        return self.url_for(name)

    def drop(self, name: str) -> None:
        """The database and the scratch databases of a restore into it that a test killed (the driver
        drops those at the next restore, which a killed test's database never has)."""
        with self.admin.connect() as conn:
            for database in (name, f"{name}__restore", f"{name}__replaced"):
                conn.execute(text(f"DROP DATABASE IF EXISTS `{database}`"))


def _open_server(what: str, make, url: str, list_ours: str):
    """Connect to a test server (skip or, in CI, fail when it is not reachable) and drop the
    databases that interrupted runs left behind."""
    try:
        server = make(url)
        with server.admin.connect() as conn:
            names = conn.execute(text(list_ours)).scalars().all()
    except Exception as exc:
        server_missing(what, f"{make_url(url).render_as_string()}: {str(exc).splitlines()[0]}")
    drop_leftovers(server, names)
    return server


@pytest.fixture(scope="session")
def mariadb_server():
    server = _open_server("MariaDB", MariadbServer, MARIADB_URL, "SHOW DATABASES LIKE 'sublarr\\_%'")
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def pg_server():
    server = _open_server("PostgreSQL", PostgresServer, PG_URL,
                          "SELECT datname FROM pg_database WHERE datname LIKE 'sublarr\\_%'")
    yield server
    server.admin.dispose()


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """Lazily migrated template databases, one per driver."""
    made: dict[str, str] = {}
    created: list[tuple[PostgresServer | MariadbServer, str]] = []

    def get(storage: str, request) -> str:
        if storage in made:
            return made[storage]
        if storage == "sqlite":
            path = tmp_path_factory.mktemp("template") / "template.db"
            boot(f"sqlite:///{path}").close()
            made[storage] = str(path)
        else:
            server = request.getfixturevalue(SERVERS[storage])
            name = f"sublarr_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            url = server.create(name)
            created.append((server, name))
            boot(url).close()
            made[storage] = name
        return made[storage]

    yield get
    for server, name in created:
        server.drop(name)


@pytest.fixture
def empty_database(request, tmp_path):
    """A factory of fresh, empty databases: ``empty_database("sqlite")`` -> URL."""
    dropped: list[tuple[PostgresServer | MariadbServer, str]] = []

    def make(storage: str) -> str:
        if storage == "sqlite":
            return f"sqlite:///{tmp_path / f'empty{next(_counter)}.db'}"
        server = request.getfixturevalue(SERVERS[storage])
        name = f"sublarr_e_{os.getpid()}_{next(_counter)}"
        dropped.append((server, name))
        return server.create(name)

    yield make
    for server, name in dropped:
        server.drop(name)


@pytest.fixture(params=STORAGES)
def storage(request) -> str:
    """The storage driver name under test (parametrised: sqlite, postgresql, mariadb)."""
    return request.param


@pytest.fixture
def database_url(storage, request, tmp_path, _templates) -> str:
    """A fresh database at head for this test, on the parametrised storage driver."""
    template = _templates(storage, request)
    if storage == "sqlite":
        path = tmp_path / "sublarr.db"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    server = request.getfixturevalue(SERVERS[storage])
    name = f"sublarr_t_{os.getpid()}_{next(_counter)}"
    url = server.create(name, template=template)
    request.addfinalizer(lambda: server.drop(name))
    return url


@pytest.fixture
def kernel(database_url):
    """A booted kernel on a fresh database (every storage driver), active for the test."""
    k = boot(database_url)
    yield k
    k.close()


@pytest.fixture
def make_kernel(database_url):
    """Boot more kernels on the test's database (with settings overrides)."""
    kernels: list[Kernel] = []

    def make(**overrides) -> Kernel:
        k = boot(overrides.pop("database_url", database_url), **overrides)
        kernels.append(k)
        return k

    yield make
    for k in reversed(kernels):
        k.close()


@pytest.fixture(scope="session")
def redis_url():
    """A reachable Redis URL (test DB 15 by default), flushed before the test session."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
        client.close()
    except Exception as exc:
        server_missing("Redis", f"{REDIS_URL}: {exc}")
    return REDIS_URL


def pytest_report_header(config):
    return [f"sublarr test servers: postgresql={make_url(PG_URL).render_as_string()} "
            f"mariadb={make_url(MARIADB_URL).render_as_string()} redis={REDIS_URL} ci={IN_CI}"]
