"""PostgreSQL storage through psycopg2: QueuePool with pre-ping, advisory lock for migrations."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from sublarr.core.hookspecs import hookimpl
from sublarr.drivers.base import StorageDriver

log = logging.getLogger("sublarr.storage")

# pg_advisory_lock key shared by every sublarr process migrating the same database.
MIGRATION_LOCK_KEY = 0x5B1A77

# VACUUM ANALYZE after a bulk write of at least this many rows that is also at least this share of
# what the planner believes the table holds. Autovacuum's own rules are alike (10-20%), but it runs
# up to a minute later. Until then a freshly scanned 100k-row table is planned as ~200 rows, every
# re-scan leaves 100k dead row versions that each count(*) and page still visit, and no index-only
# scan can skip the heap (the visibility map is empty), so deep pages of the wanted list sort the
# whole table on disk instead of walking an index.
MAINTAIN_MIN_ROWS = 1000
MAINTAIN_SHARE = 0.1


class PostgresqlStorage(StorageDriver):
    name = "postgresql"
    schemes = ("postgresql", "postgres")
    description = "PostgreSQL server (psycopg2)"

    def create_engine(self) -> Engine:
        url = self.url
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg2")
        s = self.settings
        return create_engine(
            url,
            pool_size=int(s.db_pool_size),
            max_overflow=int(s.db_pool_max_overflow),
            pool_recycle=int(s.db_pool_recycle),
            pool_pre_ping=True,
            connect_args={"connect_timeout": int(s.db_connect_timeout), "application_name": "sublarr"},
        )

    @contextlib.contextmanager
    def migration_lock(self, connection: Connection) -> Iterator[None]:
        # Session-level advisory lock on the dedicated migration connection: concurrent booters
        # wait here, then find the schema already at head (langflow#13204, romm#4486).
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")
        connection.commit()
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                connection.rollback()
            connection.exec_driver_sql(f"SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")
            connection.commit()

    def after_bulk_write(self, table: str, rows: int) -> None:
        if rows < MAINTAIN_MIN_ROWS:
            return
        try:
            with self.engine.connect() as conn:
                known = conn.execute(text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
                                     {"t": table}).scalar()
                conn.rollback()
                if known is None or (known >= 0 and rows < MAINTAIN_SHARE * known):  # -1: never analysed
                    return
                # VACUUM cannot run in a transaction; SKIP_LOCKED: never wait behind another
                # process's VACUUM or DDL of this table, autovacuum will catch up.
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    f"VACUUM (ANALYZE, SKIP_LOCKED) {conn.dialect.identifier_preparer.quote(table)}")
        except SQLAlchemyError as exc:  # upkeep is an optimisation: the rows are committed already
            log.warning("VACUUM ANALYZE %s after a bulk write failed: %s", table, str(exc).splitlines()[0])

    def describe(self) -> dict[str, Any]:
        pool = self.engine.pool
        with self.engine.connect() as conn:
            version = conn.exec_driver_sql("SHOW server_version").scalar()
        return {
            "driver": self.name,
            "server": f"{self.url.host or 'localhost'}:{self.url.port or 5432}/{self.url.database}",
            "server_version": version,
            "pool": type(pool).__name__,
            "pool_size": int(self.settings.db_pool_size),
            "max_overflow": int(self.settings.db_pool_max_overflow),
            "pool_recycle": int(self.settings.db_pool_recycle),
            "pre_ping": bool(getattr(pool, "_pre_ping", True)),
            "checked_out": pool.checkedout() if hasattr(pool, "checkedout") else None,
        }


@hookimpl
def sublarr_storage_drivers():
    return [PostgresqlStorage]
