"""``sublarr db copy``: every table of every loaded domain, from one database to another.

SQLite → PostgreSQL or MariaDB is the usual move; any storage driver to any other works the same
way: what differs per engine (bulk inserts, the foreign-key switch, snapshots, identity counters)
is the storage driver's. The peers send their users to pgloader, which breaks on real databases and leaves sequences
behind (LESSONS.md). Here:

* the target is migrated to the code's head first (the source must be at head too: the rows are
  read and written through the head ``Table`` definitions of the loaded domains, third-party
  plugins included);
* the whole copy is **one transaction on the target**: emptying it, the rows, the sequence
  counters, and the verification. A kill, a crash or a failed check leaves the target as it was
  (a fresh target: migrated and empty), never half-written. The source is only read, in one
  read-only snapshot (``StorageDriver.snapshot_options``);
* rows are streamed in batches (``yield_per``): memory stays flat for 10⁶ rows;
* parents are copied before children (foreign-key order); where the driver switches foreign keys
  off for the copy, they are checked before the commit;
* afterwards each table's row count and a SHA-256 over its rows (ordered by primary key, values
  in a dialect-neutral encoding) are compared with what was read from the source; any
  difference is an error that names the table;
* identity counters (sequences, ``AUTO_INCREMENT``, ``sqlite_sequence``) are set past the copied
  ids, and never below the source's own counter, so deleted ids are not reused.

A target that already holds rows is refused unless ``force`` is given. Rows that the migrations
themselves seed (the "Default" language profile and prompt preset) do not count as content.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as dtime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.schema import sort_tables

from sublarr.core.errors import SublarrError
from sublarr.core.secrets import first_line, mask_url

if TYPE_CHECKING:
    from sublarr.core.kernel import Kernel
    from sublarr.drivers.base import StorageDriver

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


def ordering(table: sa.Table, storage: StorageDriver) -> list[Any]:
    """ORDER BY that gives the same row order on every engine: the primary key (text compared by
    code point, ``StorageDriver.text_order``), or every column for a table without one (NULLs
    first: ``x IS NOT NULL`` sorts false before true everywhere)."""
    keyed = bool(table.primary_key.columns)
    columns = list(table.primary_key.columns) if keyed else list(table.columns)
    order: list[Any] = []
    for column in columns:
        expr: Any = storage.text_order(column) if isinstance(column.type, sa.String) else column
        if not keyed:
            order.append(column.is_not(None))
        order.append(expr)
    return order


def table_checksum(conn: Connection, table: sa.Table, storage: StorageDriver,
                   batch_size: int = DEFAULT_BATCH_SIZE) -> tuple[int, str]:
    """(row count, sha256 hex) of ``table`` as ``conn`` sees it, streamed."""
    digest = hashlib.sha256()
    encode = row_encoder(table)
    count = 0
    for batch in _stream(conn, table, storage, batch_size):
        digest.update(b"".join(map(encode, batch)))
        count += len(batch)
    return count, digest.hexdigest()


def database_checksums(kernel: Kernel, batch_size: int = DEFAULT_BATCH_SIZE) -> dict[str, tuple[int, str]]:
    """``{table: (rows, sha256)}`` for every table of every loaded domain (in one read snapshot)."""
    with _source_connection(kernel) as conn, conn.begin():
        return {t.name: table_checksum(conn, t, kernel.storage, batch_size) for t in domain_tables(kernel)}


def _stream(conn: Connection, table: sa.Table, storage: StorageDriver, batch_size: int) -> Iterator[list[tuple]]:
    # yield_per on the statement, not the connection: the target connection also runs the INSERTs.
    query = (sa.select(*table.columns).order_by(*ordering(table, storage))
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

    with target.engine.connect() as plain, target.storage.foreign_keys_off(plain) as tconn:
        with tconn.begin():
            for table in reversed(tables):  # children first
                deleted = tconn.execute(table.delete()).rowcount
                if deleted:
                    report.emptied[table.name] = deleted
            expected: dict[str, tuple[int, str]] = {}
            with _source_connection(source) as sconn, sconn.begin():
                for table in tables:
                    expected[table.name] = _copy_table(source, sconn, target, tconn, table, batch_size,
                                                       progress, report)
                counters = source.storage.read_counters(sconn, tables)
            _verify(target, tconn, tables, expected, batch_size)
            # last: an engine without transactional DDL commits here (MariaDB's ALTER TABLE)
            report.sequences = target.storage.reset_counters(tconn, tables, counters)
    for copied in report.tables:
        target.storage.after_bulk_write(copied.name, copied.rows)
    report.seconds = time.monotonic() - started
    log.info("copied %d rows in %d tables to %s in %.1fs", report.rows, len(report.tables), report.target,
             report.seconds)
    return report


def _copy_table(source: Kernel, sconn: Connection, target: Kernel, tconn: Connection, table: sa.Table,
                batch_size: int, progress: Progress | None, report: CopyReport) -> tuple[int, str]:
    started = time.monotonic()
    total = sconn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    write = target.storage.bulk_writer(tconn, table)
    refused = (sa.exc.DBAPIError, tconn.dialect.loaded_dbapi.Error)  # raw driver calls raise their own
    encode = row_encoder(table)
    digest = hashlib.sha256()
    count = 0
    bar = progress(table.name, total) if progress else contextlib.nullcontext(lambda _n: None)
    with bar as update:
        for batch in _stream(sconn, table, source.storage, batch_size):
            try:
                write(batch)
            except refused as exc:
                raise CopyError(f"table {table.name}: the target refused a row: {first_line(exc)}") from None
            digest.update(b"".join(map(encode, batch)))
            count += len(batch)
            update(len(batch))
    report.tables.append(TableCopy(table.name, count, digest.hexdigest(), time.monotonic() - started))
    return count, digest.hexdigest()


def _verify(target: Kernel, tconn: Connection, tables: list[sa.Table], expected: dict[str, tuple[int, str]],
            batch_size: int) -> None:
    """Read every table back inside the copy's transaction; any difference aborts the whole copy."""
    problems = target.storage.foreign_key_problems(tconn)
    if problems:
        raise CopyError(f"foreign key check failed in table {problems[0]} after the copy")
    for table in tables:
        count, digest = table_checksum(tconn, table, target.storage, batch_size)
        want_count, want_digest = expected[table.name]
        if count != want_count:
            raise CopyError(f"table {table.name}: {count} rows in the target, {want_count} in the source")
        if digest != want_digest:
            raise CopyError(f"table {table.name}: the checksum of the copied rows differs from the source's")


# -- connections -----------------------------------------------------------------------------------

@contextlib.contextmanager
def _source_connection(kernel: Kernel) -> Iterator[Connection]:
    """A read-only connection whose transaction is one consistent snapshot of every table."""
    with kernel.engine.connect() as conn:
        yield conn.execution_options(**kernel.storage.snapshot_options())


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
                if n > len(expected) or _comparable(conn, table, kernel.storage) != expected:
                    content[table.name] = n
        finally:
            conn.rollback()
    return content


def _comparable(conn: Connection, table: sa.Table, storage: StorageDriver) -> list[bytes]:
    """A table's rows without their timestamp columns (seeds carry the time they were made)."""
    from sublarr.core.adopt import is_timestamp_column

    present = {c["name"] for c in sa.inspect(conn).get_columns(table.name)}
    columns = [c for c in table.columns if c.name in present and not is_timestamp_column(c.name)]
    rows = conn.execute(sa.select(*columns).order_by(*ordering(table, storage))).all()
    return [repr([canonical(v) for v in row]).encode() for row in rows]


def _seed_rows(kernel: Kernel) -> dict[str, list[bytes]]:
    """The rows a fresh database holds right after migrating to head (scratch SQLite file)."""
    from sublarr.core.migrate import Migrator
    from sublarr.drivers.sqlite import SqliteStorage

    with tempfile.TemporaryDirectory(prefix="sublarr-seeds-") as scratch:
        storage = SqliteStorage.for_file(os.path.join(scratch, "seed.db"), kernel.settings)
        try:
            Migrator(storage, kernel.domains.values(), kernel.settings).upgrade()
            with storage.engine.connect() as conn:
                return {t.name: _comparable(conn, t, storage) for t in _existing(conn, domain_tables(kernel))}
        finally:
            storage.dispose()


# -- helpers ---------------------------------------------------------------------------------------

def same_database(a: Kernel, b: Kernel) -> bool:
    """True when both kernels point at one database (copying onto itself would wipe it)."""
    return a.storage.identity() == b.storage.identity()

