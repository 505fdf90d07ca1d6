"""SQLite storage: WAL, busy_timeout, synchronous=NORMAL, foreign_keys=ON on every connection.

Write transactions start with BEGIN IMMEDIATE: a deferred transaction that later upgrades
from read to write fails at once with "database is locked" and ignores busy_timeout
(the top storage complaint of Bazarr users). Read transactions ask for a deferred BEGIN
through the ``sqlite_begin`` execution option (``read_options``), so readers never queue
behind writers.
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine

from sublarr.core.hookspecs import hookimpl
from sublarr.drivers.base import StorageDriver

_BEGIN = {"IMMEDIATE": "BEGIN IMMEDIATE", "DEFERRED": "BEGIN DEFERRED", "EXCLUSIVE": "BEGIN EXCLUSIVE"}


class SqliteStorage(StorageDriver):
    name = "sqlite"
    schemes = ("sqlite",)
    description = "embedded SQLite file (default)"

    @property
    def path(self) -> str | None:
        """The database file (None for in-memory databases). ``uri=true`` URLs such as
        ``sqlite:///file:/data/s.db?mode=ro&uri=true`` name the file after the ``file:`` scheme."""
        db = self.url.database
        if db and db.startswith("file:") and str(self.url.query.get("uri", "")).lower() in ("true", "1"):
            if self.url.query.get("mode") == "memory":
                return None
            db = db[len("file:"):]
            if db.startswith("//"):  # file://host/path or file:///path
                db = "/" + db[2:].split("/", 1)[-1]
        return None if not db or db == ":memory:" or db.startswith("file::memory:") else db

    def __init__(self, url, settings):
        # SQLite has one writer at a time. Its busy handler retries with sleeps, which is unfair:
        # under load a writer can starve past busy_timeout. Writers of this process queue on this
        # lock instead (reads never take it); busy_timeout still arbitrates between processes.
        # Reentrant, so a nested write in one thread meets SQLite's own "database is locked"
        # after busy_timeout instead of hanging.
        self._write_lock = threading.RLock()
        super().__init__(url, settings)

    def write_lock(self):
        return self._write_lock

    def create_engine(self) -> Engine:
        if self.path:
            Path(self.path).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)
        busy_ms = int(self.settings.db_busy_timeout_ms)
        engine = create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": busy_ms / 1000},
            pool_size=max(int(self.settings.db_pool_size), 5),
            max_overflow=int(self.settings.db_pool_max_overflow),
        ) if self.path else create_engine(self.url, connect_args={"check_same_thread": False})
        wal = self.path is not None

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            # Take transaction control away from pysqlite (SQLAlchemy's "sqlite transactions" recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            if wal:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection):
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            # straight to the driver: BEGIN through SQLAlchemy's execute path cost as much as the
            # statement of a small write transaction (measured on record_search)
            conn.connection.dbapi_connection.execute(_BEGIN[mode])

        return engine

    def read_options(self) -> dict[str, Any]:
        return {"sqlite_begin": "DEFERRED"}

    def migration_lock(self, connection: Connection):
        if not self.path:
            return contextlib.nullcontext()
        from filelock import FileLock

        # A file lock beside the database: SQLite's own locks would time out after busy_timeout,
        # while a long migration may take minutes.
        return FileLock(f"{self.path}.migrate.lock", timeout=600)

    def prepare_migration(self, connection: Connection) -> None:
        # Batch migrations copy tables; with foreign keys on, dropping the old table cascades
        # deletes into child rows (Bazarr 0ddadb273). PRAGMA is a no-op inside a transaction,
        # so it is set on the raw connection (autocommit) before Alembic begins one.
        connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")

    def finish_migration(self, connection: Connection) -> None:
        raw = connection.connection.dbapi_connection
        problems = raw.execute("PRAGMA foreign_key_check").fetchall()
        raw.execute("PRAGMA foreign_keys=ON")
        if problems:
            from sublarr.core.errors import MigrationError

            tables = sorted({row[0] for row in problems})
            raise MigrationError(f"foreign key check failed after migration in tables: {', '.join(tables)}")

    def describe(self) -> dict[str, Any]:
        with self.engine.execution_options(**self.read_options()).connect() as conn:
            pragmas = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
            version = conn.exec_driver_sql("select sqlite_version()").scalar()
            conn.rollback()
        return {
            "driver": self.name,
            "path": os.path.abspath(self.path) if self.path else ":memory:",
            "sqlite_version": version,
            "journal_mode": pragmas["journal_mode"],
            "busy_timeout_ms": pragmas["busy_timeout"],
            "foreign_keys": "on" if pragmas["foreign_keys"] else "off",
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(pragmas["synchronous"]),
            "pool": type(self.engine.pool).__name__,
        }


@hookimpl
def sublarr_storage_drivers():
    return [SqliteStorage]
