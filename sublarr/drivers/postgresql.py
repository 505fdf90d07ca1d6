"""PostgreSQL storage through psycopg2: QueuePool with pre-ping, advisory lock for migrations."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.compiler import compiles

from sublarr.core.hookspecs import hookimpl
from sublarr.core.schema import legacy_now
from sublarr.drivers.base import (
    StorageDriver,
    StorageFeatures,
    TableProgress,
    find_tool,
    identity_columns,
    replaced_atomically,
    run_tool,
    server_pool_options,
)

if TYPE_CHECKING:
    from sublarr.core.transfer import Progress

log = logging.getLogger("sublarr.storage")

# What pg_dump/pg_restore --verbose say as they start a table's rows: the progress of a backup/restore.
_TOOL_TABLE = re.compile(r'(?:dumping contents of|processing data for) table "(?:[^"]*\.)?([^"]+)"')

# "Key (a, b)=(1, secret) already exists." / "... is not present in table "t"." / "... is still referenced
# from table "t"." / "... conflicts with existing key (a)=(other)."
_KEY_DETAIL = re.compile(r"(?s)^Key \((?P<columns>.*?)\)=\(.*\)(?P<rest> (?:already exists|is not present in table|"
                         r"is still referenced from table|conflicts with existing key).*)$")


def _masked_detail(detail: str) -> str:
    """A DETAIL line with the values of the row or key masked, names kept."""
    key = _KEY_DETAIL.match(detail)
    if key:
        rest = re.sub(r"(?s)\((.*?)\)=\(.*\)", r"(\1)=(***)", key["rest"])
        return f"Key ({key['columns']})=(***){rest}"
    if detail.startswith("Failing row contains ("):
        return "Failing row contains (***)."
    return "(hidden: it may quote values)"

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


@compiles(legacy_now, "postgresql")
def _legacy_now(element, compiler, **kw):
    return "to_char(timezone('UTC', now()), 'YYYY-MM-DD HH24:MI:SS')"


_COPYABLE = (sa.Integer, sa.String, sa.Float)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

_CLIENT_TOOLS = ("install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client, at least "
                 "the server's major version) to back up or restore a PostgreSQL database")


class PostgresqlStorage(StorageDriver):
    name = "postgresql"
    schemes = ("postgresql", "postgres")
    description = "PostgreSQL server (psycopg2)"
    # a database may be created with a linguistic default collation: text order is asked for explicitly
    features = StorageFeatures(transactional_ddl=True, binary_text=False, upsert_returning=True)
    backup_suffix = ".dump"
    insert_module = "sqlalchemy.dialects.postgresql"

    @classmethod
    def normalize_url(cls, url: URL) -> URL:
        # SQLAlchemy 2.1 defaults to psycopg 3; the project ships psycopg2
        if url.drivername in ("postgresql", "postgres"):
            return url.set(drivername="postgresql+psycopg2")
        return url

    def create_engine(self) -> Engine:
        s = self.settings
        return create_engine(
            self.url,
            **server_pool_options(s),
            connect_args={"connect_timeout": int(s.db_connect_timeout), "application_name": "sublarr"},
        )

    def check(self) -> None:
        try:
            super().check()
        except sa.exc.OperationalError as exc:
            # a refused login has no SQLSTATE on the client side: the server's FATAL line tells
            if f'database "{self.url.database}" does not exist' in str(exc.orig):
                raise self.missing_database() from None
            raise

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

    def hide_values(self, error: BaseException) -> None:
        # psycopg2's message is the server's text: the primary line, then DETAIL (the failing row,
        # the duplicate key's values) and CONTEXT (COPY lines) quote data. Rebuilt from the parts
        # (diag) with values masked; a detail of unknown shape (or another language) is left out.
        diag = getattr(error, "diag", None)
        primary = getattr(diag, "message_primary", None)
        if not primary:
            return  # not a server error (a refused connection, a client-side check)
        if str(getattr(error, "pgcode", "") or "").startswith("22"):  # data exception: quotes the bad value
            primary = re.sub(r'(?s)(: ).*$', r"\1***", re.sub(r'"[^"]*"', '"***"', primary))
        lines = [primary]
        if diag.message_detail:
            lines.append(f"DETAIL:  {_masked_detail(diag.message_detail)}")
        error.args = ("\n".join(lines) + "\n", *error.args[1:])

    def is_conflict(self, exc: BaseException) -> bool:
        # deadlock_detected, serialization_failure: the transaction was rolled back whole
        return getattr(getattr(exc, "orig", exc), "pgcode", None) in ("40P01", "40001")

    def snapshot_options(self) -> dict[str, Any]:
        return {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}

    def text_order(self, expression: Any) -> Any:
        return expression.collate("C")  # byte order of UTF-8 = code point order = SQLite's BINARY

    def bulk_writer(self, conn: Connection, table: sa.Table) -> Callable[[list[tuple]], None]:
        """``COPY ... FROM STDIN`` for tables of plain integer/float/text columns (several times
        faster than multi-row INSERTs); SQLAlchemy's insert for other types."""
        if not all(isinstance(c.type, _COPYABLE) for c in table.columns):
            return super().bulk_writer(conn, table)
        preparer = conn.dialect.identifier_preparer
        statement = (f"COPY {preparer.format_table(table)} "
                     f"({', '.join(preparer.quote(c.name) for c in table.columns)}) FROM STDIN")
        cursor = conn.connection.dbapi_connection.cursor()

        def copy(batch: list[tuple]) -> None:
            buffer = io.StringIO("".join("\t".join(map(_copy_text, row)) + "\n" for row in batch))
            cursor.copy_expert(statement, buffer)

        return copy

    def read_counters(self, conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
        counters = {}
        for table, column in identity_columns(tables):
            sequence = _sequence(conn, table, column)
            if sequence:
                last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {sequence}").one()
                counters[table.name] = int(last) if called else int(last) - 1
        return counters

    def reset_counters(self, conn: Connection, tables: Iterable[sa.Table], floor: Mapping[str, int]) -> dict[str, int]:
        result = {}
        for table, column in identity_columns(tables):
            sequence = _sequence(conn, table, column)
            if not sequence:
                continue
            value = max(int(conn.execute(sa.select(sa.func.max(column))).scalar() or 0), floor.get(table.name, 0))
            # setval(seq, v, true): the next id is v + 1; an empty table restarts at 1.
            conn.execute(sa.text("SELECT setval(:s, :v, :called)"),
                         {"s": sequence, "v": max(value, 1), "called": value >= 1})
            result[table.name] = value
        return result

    # -- backup: pg_dump / pg_restore -------------------------------------------------------------

    def backup_tools(self) -> str | None:
        from sublarr.core.backup import BackupError

        try:
            find_tool("pg_dump", _CLIENT_TOOLS)
            find_tool("pg_restore", _CLIENT_TOOLS)
        except BackupError as exc:
            return str(exc)
        return None

    def backup(self, target: Path, progress: Progress | None = None) -> tuple[dict[str, str | None], dict[str, int]]:
        """``pg_dump -Fc`` from the snapshot of a ``REPEATABLE READ`` transaction that also counts the
        rows and reads the schema revisions (``pg_export_snapshot``), so the manifest describes
        exactly what the dump holds, even while the service keeps writing. ``progress``: the rows of
        each table as ``pg_dump --verbose`` finishes it (the counts come from the same snapshot)."""
        from sublarr.core.backup import describe_connection

        pg_dump = find_tool("pg_dump", _CLIENT_TOOLS)
        with replaced_atomically(target) as tmp, self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                revisions, rows = describe_connection(conn)
                command = [pg_dump, "--no-password", "--format=custom", f"--snapshot={snapshot}", f"--file={tmp}"]
                with _tool_progress(progress, "pg_dump: rows", rows) as on_line:
                    run_tool(command + (["--verbose"] if on_line else []), client_environment(self.url),
                             "pg_dump", on_line=on_line)
        return revisions, rows

    def restore(self, backup_file: Path, progress: Progress | None = None) -> None:
        """``pg_restore --clean --single-transaction``: a failed or killed restore changes nothing
        (pg_restore dies with this process, so its transaction is rolled back). ``progress``: the
        rows of each table (from the manifest) as ``pg_restore --verbose`` finishes it."""
        from sublarr.core.backup import Manifest

        pg_restore = find_tool("pg_restore", _CLIENT_TOOLS)
        rows = Manifest.read(backup_file).rows if progress else {}
        self.engine.dispose()
        with self.engine.connect() as conn, self.migration_lock(conn), \
                _tool_progress(progress, "pg_restore: rows", rows) as on_line:
            # Owners and grants of the dumped server are not replayed: the configured user owns
            # what it restores.
            run_tool([pg_restore, "--no-password", "--clean", "--if-exists", "--single-transaction",
                      "--exit-on-error", "--no-owner", "--no-privileges", f"--dbname={self.url.database}",
                      *(["--verbose"] if on_line else []), str(backup_file)], client_environment(self.url),
                     "pg_restore", on_line=on_line)
        self.engine.dispose()

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


def _sequence(conn: Connection, table: sa.Table, column: sa.Column) -> str | None:
    return conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                        {"t": '"' + table.name.replace('"', '""') + '"', "c": column.name}).scalar()


def _copy_text(value: Any) -> str:
    """One value in COPY's text format (\\N is NULL; backslash, tab and line breaks escaped)."""
    kind = type(value)
    if kind is str:
        # most text needs no escape: two C-level checks are cheaper than translating every value
        return value if value.isprintable() and "\\" not in value else value.translate(_COPY_ESCAPES)
    if value is None:
        return "\\N"
    if kind is float:
        return repr(value)  # exact round trip; PostgreSQL reads inf/nan too
    return str(value)


# libpq settings that may ride in the URL query, and the environment variables the tools read them from.
_LIBPQ_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
              "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS",
              "application_name": "PGAPPNAME", "host": "PGHOST", "port": "PGPORT"}


def client_environment(url: URL) -> dict[str, str]:
    """The environment for pg_dump/pg_restore: connection and password through PG* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, var in _LIBPQ_ENV.items():
        value = url.query.get(key)
        if value:
            env[var] = value if isinstance(value, str) else value[-1]
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.database:
        env["PGDATABASE"] = url.database
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return env


@contextlib.contextmanager
def _tool_progress(progress: Progress | None, label: str,
                   rows: Mapping[str, int]) -> Iterator[Callable[[str], None] | None]:
    """An ``on_line`` for run_tool that moves a bar of ``rows`` on as the tool announces each table
    (None without a bar: the tool then runs without --verbose)."""
    if progress is None:
        yield None
        return
    with progress(label, sum(rows.values())) as update:
        tables = TableProgress(update, rows)

        def on_line(line: str) -> None:
            found = _TOOL_TABLE.search(line)
            if found:
                tables.started(found.group(1))

        yield on_line
        tables.done()


@hookimpl
def sublarr_storage_drivers():
    return [PostgresqlStorage]
