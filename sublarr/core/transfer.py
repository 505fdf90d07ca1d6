"""``sublarr db copy``: every table of every loaded domain, from one database to another.

SQLite → PostgreSQL is the usual move; PostgreSQL → SQLite and PostgreSQL → PostgreSQL work the same
way. The peers send their users to pgloader, which breaks on real databases and leaves sequences
behind (LESSONS.md). Here:

* the target is migrated to the code's head first (the source must be at head too: the rows are
  read and written through the head ``Table`` definitions of the loaded domains, third-party
  plugins included);
* the whole copy is **one transaction on the target**: emptying it, the rows, the sequence
  counters, and the verification. A kill, a crash or a failed check leaves the target as it was
  (a fresh target: migrated and empty), never half-written. The source is only read, in one
  read-only snapshot (``REPEATABLE READ`` on PostgreSQL, one read transaction on SQLite);
* rows are streamed in batches (server-side cursor on PostgreSQL, ``yield_per``): memory stays
  flat for 10⁶ rows;
* parents are copied before children (foreign-key order); on a SQLite target, foreign keys are
  also switched off for the copy and checked before the commit;
* afterwards each table's row count and a SHA-256 over its rows (ordered by primary key, values
  in a dialect-neutral encoding) are compared with what was read from the source; any
  difference is an error that names the table;
* sequences (PostgreSQL) and ``sqlite_sequence`` (SQLite ``AUTOINCREMENT``) are set past the
  copied ids, and never below the source's own counter, so deleted ids are not reused.

A target that already holds rows is refused unless ``force`` is given. Rows that the migrations
themselves seed (the "Default" language profile and prompt preset) do not count as content.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.schema import sort_tables

from sublarr.core.errors import SublarrError
from sublarr.core.secrets import mask_url

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel

log = logging.getLogger("sublarr.transfer")

DEFAULT_BATCH_SIZE = 2000

# progress(table_name, total_rows) -> a context manager yielding update(n_rows_done_since_last_call)
Progress = Callable[[str, int], contextlib.AbstractContextManager[Callable[[int], None]]]


class CopyError(SublarrError):
    """The copy stopped; the target database is as it was before."""


@dataclass
class TableCopy:
    name: str
    rows: int
    sha256: str
    seconds: float


@dataclass
class CopyReport:
    source: str                                          # masked URLs
    target: str
    tables: list[TableCopy] = field(default_factory=list)
    sequences: dict[str, int] = field(default_factory=dict)  # table -> the last id handed out so far
    emptied: dict[str, int] = field(default_factory=dict)    # rows deleted from the target first
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def settings_line(self) -> str:
        """What the operator sets next (password masked)."""
        return f"SUBLARR_DATABASE_URL={self.target}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "target": self.target, "rows": self.rows, "seconds": round(self.seconds, 3),
            "tables": [{"name": t.name, "rows": t.rows, "sha256": t.sha256, "seconds": round(t.seconds, 3)}
                       for t in self.tables],
            "sequences": self.sequences, "emptied": self.emptied, "settings": self.settings_line,
        }


# -- checksums --------------------------------------------------------------------------------------

def canonical(value: Any) -> Any:
    """A dialect-neutral form of one value of a column that is not plain integer or text.

    The same data read from SQLite and from PostgreSQL gives the same form: integral floats and
    decimals become ints (SQLite hands back ``5`` where a PostgreSQL double gives ``5.0``), other
    numbers floats (``repr`` round-trips them exactly), booleans ints, times ISO text.
    """
    if value is None or type(value) in (int, str):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (float, Decimal)):
        if value == value and value not in (float("inf"), float("-inf")) and value == int(value):
            return int(value)
        return float(value)
    if isinstance(value, (datetime, date, dtime)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    return value


def row_encoder(table: sa.Table) -> Callable[[tuple], bytes]:
    """``encode(row) -> bytes`` for the checksum of ``table``: the ``repr`` of the row (unambiguous,
    computed in C), with :func:`canonical` applied to the columns that are not integer or text."""
    loose = [i for i, c in enumerate(table.columns) if not isinstance(c.type, (sa.Integer, sa.String))]
    if not loose:
        return lambda row: repr(row).encode("utf-8", "backslashreplace")

    def encode(row: tuple) -> bytes:
        values = list(row)
        for i in loose:
            values[i] = canonical(values[i])
        return repr(values).encode("utf-8", "backslashreplace")

    return encode


def ordering(table: sa.Table, dialect: str) -> list[Any]:
    """ORDER BY that gives the same row order on every dialect: the primary key, text compared by
    code point (PostgreSQL's "C" collation = SQLite's BINARY), or every column for a table without one."""
    keyed = bool(table.primary_key.columns)
    columns = list(table.primary_key.columns) if keyed else list(table.columns)
    order = []
    for column in columns:
        expr: Any = column
        if dialect == "postgresql" and isinstance(column.type, sa.String):
            expr = column.collate("C")
        if not keyed:
            expr = expr.asc().nulls_first()  # NULLs sort first on SQLite, last on PostgreSQL by default
        order.append(expr)
    return order


def table_checksum(conn: Connection, table: sa.Table, batch_size: int = DEFAULT_BATCH_SIZE) -> tuple[int, str]:
    """(row count, sha256 hex) of ``table`` as ``conn`` sees it, streamed."""
    digest = hashlib.sha256()
    encode = row_encoder(table)
    count = 0
    for batch in _stream(conn, table, batch_size):
        digest.update(b"".join(map(encode, batch)))
        count += len(batch)
    return count, digest.hexdigest()


def database_checksums(kernel: Kernel, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, tuple[int, str]]:
    """``{table: (rows, sha256)}`` for every table of every loaded domain (in one read snapshot)."""
    with _source_connection(kernel) as conn, conn.begin():
        return {t.name: table_checksum(conn, t, batch_size) for t in domain_tables(kernel)}


def _stream(conn: Connection, table: sa.Table, batch_size: int) -> Iterator[list[tuple]]:
    # yield_per on the statement, not the connection: the target connection also runs the INSERTs.
    query = (sa.select(*table.columns).order_by(*ordering(table, conn.dialect.name))
             .execution_options(yield_per=batch_size))
    result = conn.execute(query)
    for partition in result.partitions():
        yield [tuple(row) for row in partition]


# -- tables ----------------------------------------------------------------------------------------

def domain_tables(kernel: Kernel) -> list[sa.Table]:
    """Every table of every loaded domain, parents before children."""
    tables = [t for domain in kernel.domains.values() for t in domain.tables]
    return list(sort_tables(tables))


def _existing(conn: Connection, tables: Iterable[sa.Table]) -> list[sa.Table]:
    names = set(sa.inspect(conn).get_table_names())
    return [t for t in tables if t.name in names]


def row_counts(conn: Connection, tables: Iterable[sa.Table]) -> dict[str, int]:
    return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in _existing(conn, tables)}


# -- the copy --------------------------------------------------------------------------------------

def copy_database(source: Kernel, target: Kernel, *, force: bool = False,
                  batch_size: int = DEFAULT_BATCH_SIZE, progress: Progress | None = None) -> CopyReport:
    """Copy every domain table from ``source`` to ``target`` (see the module doc).

    Both kernels should be booted with ``auto_migrate=False``: the source is never changed, and
    the target is migrated here only after it has been found empty (or ``force`` is given).
    """
    started = time.monotonic()
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    report = CopyReport(source=mask_url(source.database_url), target=mask_url(target.database_url))
    if same_database(source, target):
        raise CopyError(f"source and target are the same database ({report.target})")
    if sorted(source.domains) != sorted(target.domains):
        raise CopyError("source and target kernels load different domain plugins: "
                        f"{sorted(set(source.domains) ^ set(target.domains))}")
    behind = source.migrator.pending()
    if behind:
        detail = ", ".join(f"{r.domain} at {r.current or 'nothing'} (head {r.head})" for r in behind[:4])
        raise CopyError(f"the source database is not at the code's schema head ({detail}); run "
                        "`sublarr db upgrade` on it first (a legacy file: `sublarr db adopt PATH`)")
    tables = domain_tables(source)
    content = user_rows(target)
    if content and not force:
        shown = ", ".join(f"{name} ({n})" for name, n in sorted(content.items())[:5])
        raise CopyError(f"the target database is not empty: {sum(content.values())} rows in {len(content)} "
                        f"tables ({shown}); use --force to replace its contents")
    target.migrate()
    if target.migrator.current() != source.migrator.current():
        raise CopyError("the target database could not be brought to the source's schema revisions")

    with _target_connection(target) as tconn:
        with tconn.begin():
            for table in reversed(tables):  # children first
                deleted = tconn.execute(table.delete()).rowcount
                if deleted:
                    report.emptied[table.name] = deleted
            expected: dict[str, tuple[int, str]] = {}
            with _source_connection(source) as sconn, sconn.begin():
                for table in tables:
                    expected[table.name] = _copy_table(sconn, tconn, table, batch_size, progress, report)
                counters = _source_counters(sconn, tables)
            report.sequences = _set_counters(tconn, tables, counters)
            _verify(tconn, tables, expected, batch_size)
    for copied in report.tables:
        target.storage.after_bulk_write(copied.name, copied.rows)
    report.seconds = time.monotonic() - started
    log.info("copied %d rows in %d tables to %s in %.1fs", report.rows, len(report.tables), report.target,
             report.seconds)
    return report


def _copy_table(sconn: Connection, tconn: Connection, table: sa.Table, batch_size: int,
                progress: Progress | None, report: CopyReport) -> tuple[int, str]:
    import psycopg2  # here, not at module level: the command line imports this module for every command

    started = time.monotonic()
    total = sconn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    write = _writer(tconn, table)
    encode = row_encoder(table)
    digest = hashlib.sha256()
    count = 0
    bar = progress(table.name, total) if progress else contextlib.nullcontext(lambda _n: None)
    with bar as update:
        for batch in _stream(sconn, table, batch_size):
            try:
                write(batch)
            except (sa.exc.DBAPIError, psycopg2.Error, sqlite3.Error) as exc:  # raw driver calls raise their own
                raise CopyError(f"table {table.name}: the target refused a row: {_first_line(exc)}") from None
            digest.update(b"".join(map(encode, batch)))
            count += len(batch)
            update(len(batch))
    report.tables.append(TableCopy(table.name, count, digest.hexdigest(), time.monotonic() - started))
    return count, digest.hexdigest()


def _writer(tconn: Connection, table: sa.Table) -> Callable[[list[tuple]], None]:
    """A function that inserts a batch of row tuples into ``table`` on the target connection.

    Tables of plain integer/float/text columns are written with the driver directly: PostgreSQL
    gets ``COPY ... FROM STDIN`` (several times faster than multi-row INSERTs), SQLite a plain
    ``executemany``. Other column types go through SQLAlchemy's insert, which applies each type's
    own conversion.
    """
    if tconn.dialect.name == "postgresql" and all(isinstance(c.type, _COPYABLE) for c in table.columns):
        preparer = tconn.dialect.identifier_preparer
        statement = (f"COPY {preparer.format_table(table)} "
                     f"({', '.join(preparer.quote(c.name) for c in table.columns)}) FROM STDIN")
        cursor = tconn.connection.dbapi_connection.cursor()

        def copy(batch: list[tuple]) -> None:
            buffer = io.StringIO("".join("\t".join(map(_copy_text, row)) + "\n" for row in batch))
            cursor.copy_expert(statement, buffer)

        return copy
    if tconn.dialect.name == "sqlite" and all(isinstance(c.type, _COPYABLE) for c in table.columns):
        preparer = tconn.dialect.identifier_preparer
        statement = (f"INSERT INTO {preparer.format_table(table)} "
                     f"({', '.join(preparer.quote(c.name) for c in table.columns)}) "
                     f"VALUES ({', '.join('?' * len(table.columns))})")
        cursor = tconn.connection.dbapi_connection.cursor()

        def insert_many(batch: list[tuple]) -> None:
            # The same DBAPI connection, so the same transaction; plain tuples skip SQLAlchemy's
            # per-row dict and parameter processing, which these column types do not need.
            cursor.executemany(statement, batch)

        return insert_many
    keys = [c.key for c in table.columns]
    insert = table.insert()

    def execute(batch: list[tuple]) -> None:
        tconn.execute(insert, [dict(zip(keys, row, strict=True)) for row in batch])

    return execute


_COPYABLE = (sa.Integer, sa.String, sa.Float)
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


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


def _verify(tconn: Connection, tables: list[sa.Table], expected: dict[str, tuple[int, str]],
            batch_size: int) -> None:
    """Read every table back inside the copy's transaction; any difference aborts the whole copy."""
    if tconn.dialect.name == "sqlite":
        problems = tconn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise CopyError(f"foreign key check failed in table {problems[0][0]} after the copy")
    for table in tables:
        count, digest = table_checksum(tconn, table, batch_size)
        want_count, want_digest = expected[table.name]
        if count != want_count:
            raise CopyError(f"table {table.name}: {count} rows in the target, {want_count} in the source")
        if digest != want_digest:
            raise CopyError(f"table {table.name}: the checksum of the copied rows differs from the source's")


# -- connections -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _source_connection(kernel: Kernel) -> Iterator[Connection]:
    """A read-only connection whose transaction is one consistent snapshot of every table."""
    options = dict(kernel.storage.read_options())
    if kernel.engine.dialect.name == "postgresql":
        options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    with kernel.engine.connect() as conn:
        yield conn.execution_options(**options)


@contextlib.contextmanager
def _target_connection(kernel: Kernel) -> Iterator[Connection]:
    with kernel.engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            yield conn
            return
        # PRAGMA foreign_keys is ignored inside a transaction: set it on the raw connection first.
        raw = conn.connection.dbapi_connection
        raw.execute("PRAGMA foreign_keys=OFF")
        ok = False
        try:
            yield conn
            ok = True
        finally:
            if ok:
                raw.execute("PRAGMA foreign_keys=ON")
            else:
                conn.invalidate()  # never hand a connection with foreign keys off back to the pool


# -- sequences -------------------------------------------------------------------------------------

def _autoincrement(table: sa.Table) -> sa.Column | None:
    column = table.autoincrement_column
    return column if column is not None and len(table.primary_key.columns) == 1 else None


def _pg_sequence(conn: Connection, table: sa.Table, column: sa.Column) -> str | None:
    return conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"),
                        {"t": '"' + table.name.replace('"', '""') + '"', "c": column.name}).scalar()


def _source_counters(conn: Connection, tables: list[sa.Table]) -> dict[str, int]:
    """The last id each table's counter handed out in the source (may be past max(id))."""
    counters: dict[str, int] = {}
    if conn.dialect.name == "sqlite":
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").first():
            counters.update({name: int(seq) for name, seq in
                             conn.exec_driver_sql("SELECT name, seq FROM sqlite_sequence").fetchall()})
    elif conn.dialect.name == "postgresql":
        for table in tables:
            column = _autoincrement(table)
            sequence = _pg_sequence(conn, table, column) if column is not None else None
            if sequence:
                last, called = conn.exec_driver_sql(f"SELECT last_value, is_called FROM {sequence}").one()
                counters[table.name] = int(last) if called else int(last) - 1
    return counters


def _set_counters(conn: Connection, tables: list[sa.Table], source: dict[str, int]) -> dict[str, int]:
    """Set each autoincrement counter of the target to max(max(id), the source's counter)."""
    result: dict[str, int] = {}
    dialect = conn.dialect.name
    autoincrement_tables: set[str] = set()
    if dialect == "sqlite":
        autoincrement_tables = {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")}
    for table in tables:
        column = _autoincrement(table)
        if column is None:
            continue
        top = conn.execute(sa.select(sa.func.max(column))).scalar() or 0
        value = max(int(top), source.get(table.name, 0))
        if dialect == "postgresql":
            sequence = _pg_sequence(conn, table, column)
            if not sequence:
                continue
            # setval(seq, v, true): the next id is v + 1; an empty table restarts at 1.
            conn.execute(sa.text("SELECT setval(:s, :v, :called)"),
                         {"s": sequence, "v": max(value, 1), "called": value >= 1})
        elif dialect == "sqlite":
            if table.name not in autoincrement_tables:
                continue  # a plain rowid table hands out max(rowid) + 1 by itself
            updated = conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (value, table.name))
            if updated.rowcount == 0 and value:
                conn.exec_driver_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, value))
        else:
            continue
        result[table.name] = value
    return result


# -- what counts as "not empty" --------------------------------------------------------------------

def user_rows(kernel: Kernel) -> dict[str, int]:
    """Rows per table in the kernel's database beyond what the migrations seed by themselves.

    A database that sublarr has booted on once holds the seeds of its migrations (the "Default"
    language profile and prompt preset): those are compared, timestamps aside, with the rows of a
    freshly migrated scratch database and do not count.
    """
    tables = domain_tables(kernel)
    with kernel.engine.connect() as conn:
        try:
            counts = {t: n for t, n in row_counts(conn, tables).items() if n}
        finally:
            conn.rollback()
    if not counts:
        return {}
    seeds = _seed_rows(kernel)
    content: dict[str, int] = {}
    with kernel.engine.connect() as conn:
        try:
            for table in tables:
                n = counts.get(table.name, 0)
                if not n:
                    continue
                expected = seeds.get(table.name, [])
                if n > len(expected) or _comparable(conn, table) != expected:
                    content[table.name] = n
        finally:
            conn.rollback()
    return content


def _comparable(conn: Connection, table: sa.Table) -> list[bytes]:
    """A table's rows without their timestamp columns (seeds carry the time they were made)."""
    from sublarr.core.adopt import is_timestamp_column

    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    columns = [c for c in table.columns if c.name in present and not is_timestamp_column(c.name)]
    rows = conn.execute(sa.select(*columns).order_by(*ordering(table, conn.dialect.name))).all()
    return [repr([canonical(v) for v in row]).encode() for row in rows]


def _seed_rows(kernel: Kernel) -> dict[str, list[bytes]]:
    """The rows a fresh database holds right after migrating to head (scratch SQLite file)."""
    from sublarr.core.migrate import Migrator
    from sublarr.drivers.sqlite import SqliteStorage

    with tempfile.TemporaryDirectory(prefix="sublarr-seeds-") as scratch:
        storage = SqliteStorage(make_url(f"sqlite:///{os.path.join(scratch, 'seed.db')}"), kernel.settings)
        try:
            Migrator(storage, kernel.domains.values(), kernel.settings).upgrade()
            with storage.engine.connect() as conn:
                return {t.name: _comparable(conn, t) for t in _existing(conn, domain_tables(kernel))}
        finally:
            storage.dispose()


# -- helpers ---------------------------------------------------------------------------------------

def same_database(a: Kernel, b: Kernel) -> bool:
    """True when both kernels point at one database (copying onto itself would wipe it)."""
    if a.storage.name != b.storage.name:
        return False
    path_a, path_b = getattr(a.storage, "path", None), getattr(b.storage, "path", None)
    if path_a or path_b:
        return bool(path_a and path_b and os.path.realpath(path_a) == os.path.realpath(path_b))
    url_a, url_b = make_url(a.database_url), make_url(b.database_url)
    return ((url_a.host or "localhost", url_a.port, url_a.database)
            == (url_b.host or "localhost", url_b.port, url_b.database))


def _first_line(exc: BaseException) -> str:
    from sublarr.core.secrets import scrub

    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return scrub(text[0] if text else type(exc).__name__)
