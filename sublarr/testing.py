"""pytest plugin for plugin authors (entry point ``pytest11``: loaded automatically).

Fixtures:

``sublarr_kernel``
    A booted kernel on a scratch database, with migrations applied and no Redis. It is the active
    kernel during the test and is closed afterwards. Without ``SUBLARR_TEST_DATABASE_URL`` the
    database is a SQLite file in the test's temporary folder. With it set to a server URL (say
    ``postgresql://user:pw@host/postgres`` or ``mariadb://user:pw@host/test``), each test creates its
    own scratch database on that server (``<database>_sublarr_test_<pid>_<n>``; the user needs the
    right to create databases) and drops it afterwards: the database the URL names is never written.
    A URL whose database already holds sublarr tables is refused, in case it names real data.

``sublarr_plugin``
    Registers a throwaway plugin (module, class or object with ``@sublarr.hookimpl`` methods)
    for one test: ``kernel = sublarr_plugin(MyPlugin())`` boots a kernel with it registered
    and unregisters it afterwards.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

_numbers = itertools.count()
# the DBAPI each server scheme is opened with here (the storage drivers choose the same)
_ADMIN_DRIVERS = {"postgresql": "postgresql+psycopg2", "postgres": "postgresql+psycopg2",
                  "mariadb": "mariadb+mysqldb", "mysql": "mysql+mysqldb"}


@contextmanager
def scratch_database(tmp_path) -> Iterator[str]:
    """The URL of a database for one test, removed afterwards (see the module doc)."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url

    from sublarr.core.secrets import mask_url

    given = os.environ.get("SUBLARR_TEST_DATABASE_URL", "")
    url = make_url(given) if given else None
    if url is None or url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'sublarr-test.db'}"
        return
    admin_url = url.set(drivername=_ADMIN_DRIVERS.get(url.drivername, url.drivername))
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
    name = f"{url.database or 'sublarr'}_sublarr_test_{os.getpid()}_{next(_numbers)}"[:63]
    try:
        with admin.connect() as conn:
            if any(t.startswith("alembic_version_") for t in inspect(conn).get_table_names()):
                pytest.fail(f"SUBLARR_TEST_DATABASE_URL={mask_url(given)} names a database that holds sublarr "
                            "tables; the fixtures never touch such a database (point the URL at an empty database "
                            "on a server where the user may create databases)", pytrace=False)
            quoted = conn.dialect.identifier_preparer.quote(name)
            charset = " CHARACTER SET utf8mb4" if url.get_backend_name() in ("mariadb", "mysql") else ""
            conn.execute(text(f"CREATE DATABASE {quoted}{charset}"))
        try:
            yield url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                force = " WITH (FORCE)" if url.get_backend_name() in ("postgresql", "postgres") else ""
                conn.execute(text(f"DROP DATABASE IF EXISTS {quoted}{force}"))
    finally:
        admin.dispose()


def _boot(url, extra_plugins=(), **overrides):
    from sublarr import Kernel

    overrides.setdefault("redis_url", "")
    return Kernel.boot(database_url=url, settings_files=[], extra_plugins=extra_plugins, **overrides)


@pytest.fixture
def sublarr_kernel(tmp_path):
    with scratch_database(tmp_path) as url:
        kernel = _boot(url)
        try:
            yield kernel
        finally:
            kernel.close()


@pytest.fixture
def sublarr_plugin(tmp_path):
    kernels = []

    with scratch_database(tmp_path) as url:

        def register(*plugins, **overrides):
            kernel = _boot(url, extra_plugins=plugins, **overrides)
            kernels.append(kernel)
            return kernel

        try:
            yield register
        finally:
            for kernel in reversed(kernels):
                kernel.close()
